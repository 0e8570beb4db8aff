"""EM speed and memory against scikit-learn, same data, same start, same run.

Prints, per cell of N x K x covariance type, the time of one EM iteration for gmm_desktop and for
scikit-learn's GaussianMixture and their ratio, plus the peak memory (tracemalloc) of a fit of each.
gmm_desktop's fitter steps one iteration at a time, so each step is timed (median of several);
scikit-learn's per-iteration time is the difference of two fits (``m2`` and ``m1`` iterations,
best of ``repeats``) divided by ``m2 - m1``, so its set-up and final E-step cancel out. Both sides use the same NumPy,
BLAS and threads; the machines are shared and noisy, so read the ratios, not the seconds.

    python benchmarks/bench_em.py                # the full grid (a few minutes)
    python benchmarks/bench_em.py --quick        # N = 10k and 100k only
    python benchmarks/bench_em.py --width        # only the width grid: D = 2, 5, 16, 32 at N = 10k, 100k
                                                 # (and spherical at D = 16, 32)

With more than ``core.fast.MAX_FAST_FEATURES`` features the fitter takes the direct path for full
covariances (no quadratic features) and the expansion in ``[1, x_i, x_i^2]`` for diagonal and
spherical ones, so D = 16 and 32 measure those paths.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

from gmm_desktop.core.em import EMFitter
from gmm_desktop.core.params import GMMParams, compact_from_full


def make_problem(n, k, ctype, seed=0, d=2):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-20, 20, size=(k, d))
    X = centers[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    means = X[rng.choice(n, k, replace=False)]
    full = np.broadcast_to(np.cov(X.T), (k, d, d))
    return X, GMMParams(np.full(k, 1.0 / k), means, compact_from_full(full, ctype), ctype)


def ours(X, p0, iters):
    t = time.perf_counter()
    EMFitter(X, p0, tol=0.0, max_iter=iters).run()
    return time.perf_counter() - t


def ours_per_step(X, p0, steps):
    fitter = EMFitter(X, p0, tol=0.0, max_iter=steps + 2)
    fitter.step()  # warm-up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fitter.step()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def sklearn(X, p0, iters):
    ct = p0.covariance_type
    prec = np.linalg.inv(p0.covariances) if ct == "full" else 1.0 / p0.covariances
    gm = GaussianMixture(p0.n_components, covariance_type=ct, tol=0.0, max_iter=iters,
                         weights_init=p0.weights, means_init=p0.means, precisions_init=prec)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    return time.perf_counter() - t


def per_iteration(fn, X, p0, m1, m2, repeats):
    a = min(fn(X, p0, m1) for _ in range(repeats))
    b = min(fn(X, p0, m2) for _ in range(repeats))
    return max(b - a, 1e-9) / (m2 - m1)


def peak_mb(fn, X, p0):
    tracemalloc.start()
    fn(X, p0, 1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip N = 1M")
    ap.add_argument("--width", action="store_true", help="only the width grid (D = 2, 5, 16, 32)")
    args = ap.parse_args()
    ns = [10_000, 100_000] + ([] if args.quick or args.width else [1_000_000])
    print(f"{'N':>9} {'D':>3} {'K':>3} {'cov':>5} | {'ours ms/it':>10} {'sklearn ms/it':>13} {'speed-up':>8} | "
          f"{'ours MB':>8} {'sklearn MB':>10} {'mem ratio':>9}")
    grid = [] if args.width else [(n, 2, k, c) for n in ns for k in (4, 16) for c in ("full", "diag")]
    grid += [(n, d, 4, c) for n in (10_000, 100_000) for d in (2, 5, 16, 32)
             for c in (("full", "diag", "spherical") if args.width and d > 8 else ("full", "diag"))
             if args.width or d != 2]
    for n, d, k, ctype in grid:
        X, p0 = make_problem(n, k, ctype, d=d)
        m1, m2 = (2, 12) if n <= 100_000 else (1, 4)
        reps = 3 if n <= 100_000 else 2
        t_ours = ours_per_step(X, p0, 15 if n <= 100_000 else 7)
        t_sk = per_iteration(sklearn, X, p0, m1, m2, reps)
        mem_ours, mem_sk = peak_mb(ours, X, p0), peak_mb(sklearn, X, p0)
        print(f"{n:>9} {d:>3} {k:>3} {ctype:>5} | {t_ours * 1e3:>10.2f} {t_sk * 1e3:>13.2f} {t_sk / t_ours:>7.1f}x | "
              f"{mem_ours:>8.0f} {mem_sk:>10.0f} {mem_sk / mem_ours:>8.1f}x", flush=True)


if __name__ == "__main__":
    main()
