"""The Dask engine out of core: 100M points x 2 features x 16 components from a .npy on disk.

Measures, in one run (so the ratios are fair on a loaded machine):

* time per EM iteration of the in-memory engine at 10M points (the reference);
* time per iteration of the Dask engine at 10M and at 100M points, with 1 and 2 worker processes,
  the data *not* persisted: every iteration re-reads its chunks from the memory-mapped file;
* the cost of one chunk's statistics on a worker, and the size of what the reduction moves;

and prints an estimate for 1B points on a 32-node cluster from those two measured figures.

    python benchmarks/bench_dask.py                      # the full run (needs ~1.8 GB of disk)
    python benchmarks/bench_dask.py --iters 1 --scaling-n 20000000   # what docs/performance.md reports
    python benchmarks/bench_dask.py --n 4000000 --n-memory 1000000 --iters 2   # a quick check
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gmm_desktop.core.em import EMFitter  # noqa: E402
from gmm_desktop.core.params import GMMParams  # noqa: E402
from gmm_desktop.dask_engine import blocks  # noqa: E402
from gmm_desktop.dask_engine.cluster import client_for  # noqa: E402
from gmm_desktop.dask_engine.engine import DaskEngine  # noqa: E402
from gmm_desktop.dask_engine.readers import open_data  # noqa: E402

K = 16


def centres(k=K, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-20, 20, size=(k, 2))


def write_npy(path, n, chunk=5_000_000, seed=0):
    """n points from K Gaussian blobs, written chunk by chunk into a .npy (never all in memory)."""
    c = centres()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, 2))
    rng = np.random.default_rng(seed)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        lab = rng.integers(0, K, size=hi - lo)
        out[lo:hi] = c[lab] + rng.normal(size=(hi - lo, 2)) * rng.uniform(0.5, 2.0, size=(K, 1))[lab]
    out.flush()
    del out


def start_params():
    c = centres() + 0.5
    return GMMParams(np.full(K, 1.0 / K), c, np.tile(np.eye(2) * 4.0, (K, 1, 1)), "full")


def time_memory(path, n, iters):
    X = np.array(np.load(path, mmap_mode="r")[:n])
    fitter = EMFitter(X, start_params(), tol=0.0, max_iter=iters + 1)
    fitter.step()  # warm-up
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fitter.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), fitter.trace[-1]


def time_dask(path, n_workers, iters, chunk_rows, n=None):
    with client_for(n_workers=n_workers) as client:
        data = open_data(path, chunk_rows=chunk_rows)
        if n is not None and n < data.n_samples:
            data = type(data)(data.array[:n], data.feature_names, data.source, data.kind)
        engine = DaskEngine(data, client, persist=False)
        fit = engine.fit(start_params(), tol=0.0, max_iter=iters + 1)
        per_iter = statistics.median(fit.seconds_per_iteration[1:])  # the first is a warm-up

        def one_chunk(rows, params, center, anchors):
            X = np.array(np.load(path, mmap_mode="r")[:rows])
            t0 = time.perf_counter()
            s = blocks.em_stats(X, params, center, anchors)
            return time.perf_counter() - t0, len(pickle.dumps(s))

        params = start_params()
        chunk_cost, stats_bytes = client.submit(one_chunk, chunk_rows, params, engine.center,
                                                engine.direct_anchors(params), pure=False).result()
    return per_iter, fit.trace[-1], chunk_cost, stats_bytes, engine.n_chunks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000_000)
    ap.add_argument("--n-memory", type=int, default=10_000_000)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--chunk-rows", type=int, default=2_000_000)
    ap.add_argument("--scaling-n", type=int, default=None,
                    help="points for the 1 -> 2 workers comparison (default: all of --n)")
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the .npy file is written")
    args = ap.parse_args()

    need = args.n * 16 * 1.1
    free = shutil.disk_usage(args.dir).free
    print(f"disk: {free / 1e9:.1f} GB free in {args.dir}, the file needs {args.n * 16 / 1e9:.2f} GB")
    if free < need + 1e9:
        sys.exit("error: not enough free disk for the data file; give --dir elsewhere or a smaller --n")
    path = os.path.join(args.dir, f"bench_dask_{args.n}.npy")
    try:
        if not os.path.exists(path):
            t0 = time.perf_counter()
            write_npy(path, args.n)
            print(f"wrote {path} ({os.path.getsize(path) / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
        mem, mem_ll = time_memory(path, args.n_memory, args.iters)
        print(f"memory engine, {args.n_memory:,} points: {mem:.3f} s per iteration")
        rows = {}
        d10, ll10, *_ = time_dask(path, 2, args.iters, args.chunk_rows, n=args.n_memory)
        print(f"dask engine, 2 workers, {args.n_memory:,} points: {d10:.3f} s per iteration "
              f"({d10 / mem:.2f}x the memory engine; log-likelihoods differ by {abs(ll10 - mem_ll) / abs(mem_ll):.1e} rel.)")
        big = time_dask(path, 2, args.iters, args.chunk_rows)
        per, _, chunk_cost, stats_bytes, n_chunks = big
        print(f"dask engine, 2 workers, {args.n:,} points, {n_chunks} chunks, out of core: {per:.2f} s per "
              f"iteration ({per / mem:.1f}x the memory engine at {args.n_memory:,}; "
              f"{per / mem * args.n_memory / args.n:.2f}x per point)")
        scaling_n = min(args.scaling_n or args.n, args.n)
        for w in (1, 2):
            rows[w] = time_dask(path, w, args.iters, args.chunk_rows, n=scaling_n)
            print(f"dask engine, {w} worker(s), {scaling_n:,} points: {rows[w][0]:.2f} s per iteration")
        print(f"scaling 1 -> 2 workers at {scaling_n:,} points: {rows[1][0] / rows[2][0]:.2f}x faster")
        print(f"one chunk of {args.chunk_rows:,} rows: {chunk_cost:.3f} s on a worker; its statistics pickle to "
              f"{stats_bytes:,} bytes")
        # estimate: 1B points, 32 nodes x 16 cores (one worker per core), 10 Gbit/s, 0.5 ms per hop,
        # and a scheduler that dispatches ~5,000 tasks/s
        n_big, nodes, cores = 1_000_000_000, 32, 16
        workers = nodes * cores
        chunks = -(-n_big // args.chunk_rows)
        waves = -(-chunks // workers)
        compute = waves * chunk_cost
        depth = max(1, int(np.ceil(np.log(chunks) / np.log(8))))
        reduce_t = depth * (5e-4 + 8 * stats_bytes / 1.25e9)
        sched = chunks * (1 + 1 / 8) / 5000
        total = compute + reduce_t + sched + 0.05
        print(f"estimate, 1B points on {nodes} nodes x {cores} cores: {chunks} chunks in {waves} wave(s) of "
              f"{workers} workers = {compute:.2f} s compute + {reduce_t * 1e3:.1f} ms for a {depth}-level tree "
              f"of {stats_bytes:,}-byte values + {sched:.2f} s scheduling + 0.05 s broadcast/M-step "
              f"= ~{total:.1f} s per iteration")
    finally:
        if os.environ.get("BENCH_DASK_KEEP") != "1" and os.path.exists(path):
            os.unlink(path)


if __name__ == "__main__":
    main()
