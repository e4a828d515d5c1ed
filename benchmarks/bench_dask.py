"""What ``--scheduler`` costs: per task (against a ``--jobs`` process pool) and for the arrays.

Part 1, per task: the same number of do-nothing tasks, each given what a cv task is given (the
task, the run's job dict for 1 747 utterances, the feature arrays), through a LocalCluster and
through the spawn ProcessPoolExecutor that ``--jobs`` uses, both with ``--workers`` processes;
the start-up of each is timed apart. Part 2, the arrays:

``python -m numser.cv --scheduler`` sends each kind of feature array to the workers (Dask copies
it to a worker the first time that worker runs a task of that kind). This measures, for arrays of
the sizes of a real run, (a) the client's scatter, (b) the first task on each worker that needs
the array (it waits for the copy) and (c) ``np.load`` of the same array from a file, as a worker
on a shared filesystem would read it (the second read comes from the page cache). The arrays are
random float32: incompressible, the worst case for the transfer.

    python benchmarks/bench_dask.py                 # 1 747 utterances (4 real corpora)
    python benchmarks/bench_dask.py --utterances 26056 --kinds lld   # the paper's corpora

Quoted in docs/distributed.md ("Data placement" and "Measured").
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

SHAPES = {"volume": (10, 10, 256), "lld": (198, 32), "waveform": (20, 1600)}


def _shape_of(x):
    return x.shape


def _noop(task, job, arrays=None):
    """A task that does nothing with what a cv task is given, and returns a small result."""
    return {"task": task, "n": len(job["use"])}, os.getpid()


def _job(n):
    """A job dict of the size cv sends for n utterances (speakers, labels, 5 folds)."""
    speakers = [f"corpus:{i % 69}" for i in range(n)]
    fold = {"index": 0, "test": speakers[:14], "val": speakers[14:28], "train": speakers[28:69]}
    return {"utterances": {"speaker": speakers, "label": [i % 4 for i in range(n)]},
            "use": list(range(n)), "folds": {0: [fold] * 5}, "out": "runs/x"}


def per_task(args):
    """Seconds per task through a LocalCluster and through the --jobs process pool."""
    import concurrent.futures
    import multiprocessing

    import distributed
    job = _job(args.utterances)
    kept = np.arange(args.utterances)
    t0 = time.perf_counter()
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        t_start = time.perf_counter() - t0
        [job_f] = client.scatter([job])
        kept_f = client.scatter(kept, hash=False)
        client.gather([client.submit(_noop, -1 - i, job_f, kept_f, pure=False)
                       for i in range(args.workers * 2)])          # warm: imports, the arrays
        t0 = time.perf_counter()
        futures = [client.submit(_noop, i, job_f, kept_f, pure=False) for i in range(args.tasks)]
        for _ in distributed.as_completed(futures, with_results=True):
            pass
        t_dask = time.perf_counter() - t0
    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(
            args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_noop, range(-args.workers * 2, 0), [job] * (args.workers * 2)))
        t_pool_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        futures = [pool.submit(_noop, i, job) for i in range(args.tasks)]
        for f in concurrent.futures.as_completed(futures):
            f.result()
        t_pool = time.perf_counter() - t0
    print(f"per task ({args.tasks} do-nothing tasks, {args.workers} workers): LocalCluster "
          f"{t_dask / args.tasks * 1e3:.1f} ms, --jobs pool {t_pool / args.tasks * 1e3:.1f} ms; "
          f"start-up: LocalCluster {t_start:.1f} s, pool {t_pool_start:.1f} s", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--utterances", type=int, default=1747)
    p.add_argument("--kinds", default="volume,lld,waveform")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tasks", type=int, default=200)
    args = p.parse_args(argv)
    per_task(args)
    import distributed
    rng = np.random.default_rng(0)
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, tempfile.TemporaryDirectory() as tmp:
        workers = list(client.scheduler_info()["workers"])
        for kind in args.kinds.split(","):
            x = rng.standard_normal((args.utterances, *SHAPES[kind]), dtype=np.float32)
            path = os.path.join(tmp, f"{kind}.npy")
            np.save(path, x)
            t0 = time.perf_counter()
            fut = client.scatter(x, hash=False)
            t_scatter = time.perf_counter() - t0
            fetch = []
            for w in workers:                      # one after the other: each copy on its own
                t0 = time.perf_counter()
                client.submit(_shape_of, fut, workers=[w], pure=False).result()
                fetch.append(time.perf_counter() - t0)
            loads = []
            for _ in range(2):
                t0 = time.perf_counter()
                np.array(np.load(path, mmap_mode="r"))
                loads.append(time.perf_counter() - t0)
            print(f"{kind:8s} {x.nbytes / 1e6:7.1f} MB  scatter {t_scatter:5.2f} s  first task "
                  f"per worker " + ", ".join(f"{t:.2f}" for t in fetch) + " s  np.load "
                  + ", ".join(f"{t:.2f}" for t in loads) + " s", flush=True)
            client.cancel(fut)
            del x, fut
    return 0


if __name__ == "__main__":
    sys.exit(main())
