"""Run ``python -m numser.cv``'s tasks on this machine: ``--jobs`` worker processes.

Each worker is a fresh (spawned) Python process with its share of the cores
(:func:`numser.thread_policy.threads_per_worker`: one Numba and BLAS thread each when there are
as many workers as cores). A task runs whole in one worker and its result comes back to the
command, which writes it. :func:`numser.distributed.dask_outcomes` does the same on a Dask
cluster; both yield one :class:`numser.tasks.Outcome` per task as it ends.

Stopping: Ctrl-C (or SIGTERM) in the command terminates the workers at once, and a worker whose
command is gone (even killed by SIGKILL) ends itself; either way each task in flight resumes from
its last epoch's checkpoint when the command is run again.
"""
import concurrent.futures
import multiprocessing
import os
import threading
import time
import traceback

import numba

from numser.errors import FileFormatError, ParameterError
from numser.tasks import Outcome, run_task
from numser.thread_policy import threads_per_worker, worker_environment


def _worker_init(threads):
    # Set before numba/numpy start their pools in this fresh (spawned) process. Numba read its
    # thread count when numser imported it: read it again, before its pool starts.
    os.environ.update(worker_environment(threads))
    numba.config.reload_config()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent):
    """End this worker once the command that started it is gone (killed, even by SIGKILL).

    Otherwise an orphaned worker trains on for up to half an hour, and a restarted command
    trains the same task beside it. Its last finished epoch is in the checkpoint.
    """
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _run_task_in_worker(task, job):
    return run_task(task, job), f"pid {os.getpid()}"


def _attempt(task, job):
    """Run one task in this process; an error becomes the Outcome's error (logged in full)."""
    try:
        return Outcome(task, run_task(task, job), None, "this process")
    except Exception as e:                               # noqa: BLE001 - reported, others go on
        if not isinstance(e, (ParameterError, FileFormatError)):   # these say it all in one line
            traceback.print_exc()
        return Outcome(task, None, f"{type(e).__name__}: {e}", "this process")


def local_outcomes(todo, job, jobs):
    """Run the tasks on this machine (``--jobs`` processes) and yield an Outcome per task as it
    ends. :func:`numser.distributed.dask_outcomes` is the same for a Dask cluster."""
    if jobs == 1:
        for task in todo:
            yield _attempt(task, job)
        return
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_worker_init,
            initargs=(threads_per_worker(jobs),)) as pool:
        futures = {pool.submit(_run_task_in_worker, t, job): t for t in todo}
        try:
            for fut in concurrent.futures.as_completed(futures):
                e = fut.exception()
                if e is None:
                    result, where = fut.result()
                    yield Outcome(futures[fut], result, None, where)
                else:
                    traceback.print_exception(e)
                    yield Outcome(futures[fut], None, f"{type(e).__name__}: {e}", "a worker process")
        except BaseException:
            # Ctrl-C, or the caller stopped: leaving the with-block would wait for the running
            # tasks to finish: stop the workers now; each task resumes from its last epoch's
            # checkpoint.
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in multiprocessing.active_children():
                worker.terminate()
            raise
