"""What sending the feature arrays to Dask workers costs, against reading them from a shared disk.

``python -m numser.cv --scheduler`` sends each kind of feature array to the workers (Dask copies
it to a worker the first time that worker runs a task of that kind). This measures, for arrays of
the sizes of a real run, (a) the client's scatter, (b) the first task on each worker that needs
the array (it waits for the copy) and (c) ``np.load`` of the same array from a file, as a worker
on a shared filesystem would read it (the second read comes from the page cache). The arrays are
random float32: incompressible, the worst case for the transfer.

    python benchmarks/bench_dask_transfer.py                 # 1 747 utterances (4 real corpora)
    python benchmarks/bench_dask_transfer.py --utterances 26056 --kinds lld   # the paper's corpora

Quoted in docs/distributed.md ("Data placement").
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--utterances", type=int, default=1747)
    p.add_argument("--kinds", default="volume,lld,waveform")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
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
            fut = client.scatter(x)
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
