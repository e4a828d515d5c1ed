"""Run ``python -m numser.cv``'s tasks on a Dask cluster: ``--scheduler tcp://host:8786``.

The command stays the client: it plans the tasks, extracts the features, and writes every result.
It sends each task still to do to the Dask scheduler, which runs it on some worker and reruns it
elsewhere when that worker dies; the worker returns the task's result dict, and the client writes
``OUT/tasks/<task>.json`` (so ``--out`` need not be visible to the workers). ``--scheduler local``
starts a ``LocalCluster`` of ``--jobs`` single-threaded worker processes instead.

What a worker needs (see docs/distributed.md, "Data placement"):

- numser, the same code as the client (checked: a digest of numser's sources on every worker);
- the feature arrays: *sent*. The client scatters each kind of array once; Dask copies it to a
  worker the first time that worker runs a task of that kind, and keeps it there;
- the checkpoint folder: the client's ``<cache>/checkpoints/<run>`` path, used as is when the
  worker sees the same folder (the same machine, or a shared filesystem: the client leaves a
  marker file there to tell). Then a task rerun on another worker resumes from its last epoch.
  A worker that does not see it checkpoints into its own local directory: a rerun elsewhere then
  starts that task again from epoch 0, with the same numbers (training is deterministic).

Dask is optional: this module imports without it, and ``--scheduler`` without it says in one line
what to install.
"""
import dataclasses
import hashlib
import os
import socket
import traceback
import uuid

import numpy as np

from numser import methods, tasks
from numser.atomic import write_text
from numser.errors import ParameterError
from numser.thread_policy import threads_per_worker

INSTALL_HINT = ("--scheduler needs Dask, which is not installed: pip install 'numser[dask]' "
                "(or pip install 'dask[distributed]')")
#: A task that raises is tried this many more times (a worker's death is Dask's business: its
#: ``distributed.scheduler.allowed-failures``, 3 by default, then the task fails as KilledWorker).
RETRIES = 1


def add_scheduler_argument(parser):
    """The ``--scheduler`` option of ``python -m numser.cv``."""
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run the tasks on the Dask scheduler at ADDRESS (tcp://host:8786), or 'local': a "
             "LocalCluster of --jobs single-threaded worker processes; results are written here "
             "(needs pip install 'numser[dask]'; see docs/distributed.md)")


def import_distributed():
    """The ``distributed`` module, or a ParameterError that says what to install."""
    try:
        import distributed       # here, not at the top: Dask is optional (pip install numser[dask])
    except ImportError:
        raise ParameterError(INSTALL_HINT) from None
    return distributed


def code_digest():
    """SHA-1 of numser's Python sources: equal on client and workers, or results could differ."""
    root = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha1()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:12]


def run_on_worker(task, job, arrays, marker):
    """A Dask task: run one cv task on this worker; returns (result dict, where it ran).

    ``arrays`` are this task's feature arrays (x, kept), sent by the client. ``marker`` names the
    file the client left in the checkpoint folder: present here means the folder is shared.
    """
    here = import_distributed().get_worker()
    job = dataclasses.replace(job, arrays={input_kind(task): arrays})
    shared = os.path.exists(os.path.join(job.checkpoints, marker))
    if not shared:
        job = dataclasses.replace(job, checkpoints=os.path.join(
            here.local_directory, "numser-checkpoints", os.path.basename(job.checkpoints)))
    result = tasks.run_task(task, job)
    if not shared:                  # the client cannot delete it; the result is on its way
        ckpt = os.path.join(job.checkpoints, task.name + ".npz")
        if os.path.exists(ckpt):
            os.remove(ckpt)
    return result, f"{here.address} ({socket.gethostname()})"


def input_kind(task):
    """The features a task's model reads ('volume', 'lld', 'waveform')."""
    return methods.get(task.method).input_kind


def _connect(distributed, args, log):
    """(client, cluster or None) for ``--scheduler``."""
    if args.scheduler == "local":
        threads = threads_per_worker(args.jobs)
        cluster = distributed.LocalCluster(
            n_workers=args.jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, env={"NUMBA_NUM_THREADS": str(threads)})
        log(f"dask: LocalCluster of {args.jobs} worker processes ({threads} Numba threads each) "
            f"at {cluster.scheduler_address}")
        return distributed.Client(cluster), cluster
    try:
        client = distributed.Client(args.scheduler, timeout="30s")
    except (OSError, ValueError, TypeError) as e:
        raise ParameterError(f"--scheduler: cannot reach a Dask scheduler at {args.scheduler!r}: "
                             f"{e}") from None
    workers = client.scheduler_info().get("workers", {})
    log(f"dask: scheduler {args.scheduler}, {len(workers)} workers with "
        f"{sum(w.get('nthreads', 0) for w in workers.values())} threads now")
    return client, None


def _check_code(client):
    ours = code_digest()
    other = {w: d for w, d in client.run(code_digest).items() if d != ours}
    if other:
        worker, digest = next(iter(other.items()))
        raise ParameterError(f"--scheduler: {len(other)} workers run other numser code than this "
                             f"client (e.g. {worker}: sources {digest}, here {ours}); install the "
                             f"same numser on every worker")


def _pause_memory_manager(client, log):
    """Stop the scheduler's Active Memory Manager if it runs; True if it was stopped here."""
    if not client.amm.running():
        return False
    client.amm.stop()
    log("dask: Active Memory Manager paused for this run (it would undo the second copy of the "
        "sent arrays); restarted at the end")
    return True


def dask_outcomes(todo, job, args, log):
    """Run ``todo`` on the Dask cluster of ``args.scheduler``; yield a tasks.Outcome per task as it
    ends. Closing the generator (Ctrl-C, or the end) cancels what has not run and disconnects."""
    distributed = import_distributed()
    client, cluster = _connect(distributed, args, log)
    folder = os.path.abspath(job.checkpoints)
    marker = f".client-{uuid.uuid4().hex}"
    futures = {}
    amm_paused = False
    try:
        _check_code(client)
        write_text(os.path.join(folder, marker), socket.gethostname() + "\n")
        remote_job = dataclasses.replace(job, checkpoints=folder, arrays=None)
        [job_future] = client.scatter([remote_job])
        arrays = {kind: tuple(client.scatter(np.load(path), hash=False) for path in paths)
                  for kind, paths in job.arrays.items()}
        # Sent data lives only on the workers that hold it: keep it on two, so that one worker's
        # death before any other has copied it does not lose it (and every task that needs it).
        # Dask's Active Memory Manager would drop the second copy again (its ReduceReplicas
        # policy keeps max(1, waiting workers) copies; Dask's docs: replicate() needs it off),
        # which once left the only copy on the worker that was then killed: paused for the run.
        if len(client.scheduler_info().get("workers", {})) >= 2:
            amm_paused = _pause_memory_manager(client, log)
            client.replicate([job_future, *(f for pair in arrays.values() for f in pair)], n=2)
        run = uuid.uuid4().hex[:8]
        for task in todo:
            fut = client.submit(run_on_worker, task, job_future, arrays[input_kind(task)],
                                marker, key=f"numser-{task.name}-{run}", retries=RETRIES,
                                pure=False)
            futures[fut] = task
        for fut in distributed.as_completed(list(futures)):
            task = futures.pop(fut)
            try:
                result, where = fut.result()
            except Exception as e:     # noqa: BLE001 - its error, KilledWorker, or its data lost
                if fut.status == "error":
                    traceback.print_exception(type(e), e, fut.traceback())
                yield tasks.Outcome(task, None, f"{type(e).__name__}: {e}", "the cluster")
                continue
            yield tasks.Outcome(task, result, None, where)
    finally:
        if futures:
            client.cancel(list(futures))          # not yet run: stays to do; resumes next time
        try:
            os.remove(os.path.join(folder, marker))
        except OSError:
            pass
        if amm_paused:
            try:
                client.amm.start()
            except OSError:                       # the scheduler is gone: nothing to restart
                pass
        client.close()
        if cluster is not None:
            cluster.close()
