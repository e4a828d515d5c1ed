"""A Dask worker preload for tests/test_distributed.py: a task that always fails.

Loaded into the test's workers with ``dask worker --preload``. It wraps ``numser.tasks.run_task`` so
that fold 1 raises in every run whose ``--out`` folder is named ``inject-fault``; every other run
is untouched.
"""
import os

from numser import tasks

# Dask imports a preload file more than once: wrap the original run_task, never the wrapper.
_run_task = getattr(tasks.run_task, "unwrapped", tasks.run_task)


def run_task(task, job):
    if os.path.basename(os.path.normpath(job.out)) == "inject-fault" and task.fold == 1:
        raise RuntimeError(f"injected fault in {task.name}")
    return _run_task(task, job)


run_task.unwrapped = _run_task
tasks.run_task = run_task
