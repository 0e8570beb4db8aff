"""float32 E-step (``dtype='float32'``) against float64: speed, memory and the accuracy cost.

Two parts, both from the same run (the machine is shared: read the ratios):

* **speed and memory** on large data: the engine's memory (``tracemalloc`` peak while building the
  in-memory engine, and what it holds afterwards) and the time of one E-step + M-step (median of
  ``--iterations`` plain EM iterations from the same start), float64 then float32;
* **accuracy**: each benchmark problem of ``bench_convergence.py`` (and the large ones) fitted to
  convergence with both types from the same start and rule; printed: iterations, the largest
  difference of the means (in units of the data's per-feature standard deviation), of the
  covariances (relative to each covariance's largest entry), of the weights, and the difference of
  the final log-likelihoods, both recomputed in float64 by one reference function
  (``core.em.log_likelihood``), total and per point; also how far float32's own reported
  log-likelihood is from the float64 value of its parameters.

    python benchmarks/bench_float32.py                 # everything (1M-point problems: minutes)
    python benchmarks/bench_float32.py --quick         # 200k points instead of 1M
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_convergence import problems as convergence_problems  # noqa: E402

from gmm_desktop.core.em import log_likelihood  # noqa: E402
from gmm_desktop.core.engine import InMemoryEngine  # noqa: E402
from gmm_desktop.core.fitter import EMFitter  # noqa: E402
from gmm_desktop.core.init import initial_params  # noqa: E402


def large_problems(n: int):
    """(title, key, X, start) for large data: 2-D (the expanded path) and 16-D (every component direct)."""
    rng = np.random.default_rng(1)
    grid = np.array([(i, j) for i in range(4) for j in range(4)], dtype=float) * 10.0
    X = grid[rng.integers(0, 16, size=n)] + rng.normal(size=(n, 2)) @ np.array([[1.0, 0.3], [0.0, 0.8]])
    yield f"separated 16 ({n:,} x 2, K=16)", "sep2", X, initial_params(X, 16, method="kmeans++", seed=0)
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=4.0, size=(8, 16))
    labels = rng.integers(0, 8, size=n)
    X = centres[labels] + rng.normal(size=(n, 16)) * rng.uniform(0.5, 2.0, size=(8, 16))[labels]
    yield f"8 clusters ({n:,} x 16, K=8)", "d16", X, initial_params(X, 8, method="kmeans++", seed=0)


def engine_memory(X, dtype):
    tracemalloc.start()
    engine = InMemoryEngine(X, dtype=dtype)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del engine
    return held, peak


def iteration_time(X, p0, dtype, iterations):
    fitter = EMFitter(X, p0, tol=0.0, max_iter=iterations, dtype=dtype)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        fitter.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def agreement(X, p0, settings):
    out = {}
    for dtype in ("float64", "float32"):
        fitter = EMFitter(X, p0, dtype=dtype, **settings)
        t = time.perf_counter()
        snap = fitter.run()
        out[dtype] = (snap, time.perf_counter() - t)
    a, b = out["float64"][0], out["float32"][0]
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    d_mean = float(np.max(np.abs(a.means - b.means) / scale))
    ca, cb = a.params.full_covariances(), b.params.full_covariances()
    d_cov = float(np.max(np.abs(ca - cb).reshape(len(ca), -1).max(axis=1) / np.abs(ca).reshape(len(ca), -1).max(axis=1)))
    d_w = float(np.max(np.abs(a.weights - b.weights)))
    ll_a, ll_b = log_likelihood(X, a.params), log_likelihood(X, b.params)
    reported = b.log_likelihood - ll_b
    return a, b, out["float64"][1], out["float32"][1], d_mean, d_cov, d_w, ll_b - ll_a, reported


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 points for the large problems instead of 1M")
    ap.add_argument("--n", type=int, help="points of the large problems (overrides --quick)")
    ap.add_argument("--iterations", type=int, default=10, help="EM iterations timed per type (median)")
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--tol-mode", choices=["total", "per-sample"], default="per-sample")
    ap.add_argument("--only", help="comma list of problem keys (demo,large,elongated,faithful,iris,sep2,d16)")
    ap.add_argument("--no-accuracy-large", action="store_true", help="skip fitting the large problems to convergence")
    args = ap.parse_args()
    n = args.n or (200_000 if args.quick else 1_000_000)
    only = set(args.only.split(",")) if args.only else None
    settings = {"tol": args.tol, "tol_mode": args.tol_mode, "max_iter": 1000, "reg_covar": 1e-6}
    large = [p for p in large_problems(n) if not only or p[1] in only]

    print(f"speed and memory: median of {args.iterations} iterations (one E-step + M-step each)")
    print(f"{'problem':<36} {'float64 ms':>10} {'float32 ms':>10} {'speed-up':>8} "
          f"{'engine MB f64':>13} {'f32':>6} {'peak MB f64':>11} {'f32':>6} {'X MB':>6}")
    speed_rows = []
    for title, _key, X, p0 in large:
        t64 = iteration_time(X, p0, "float64", args.iterations)
        t32 = iteration_time(X, p0, "float32", args.iterations)
        h64, pk64 = engine_memory(X, "float64")
        h32, pk32 = engine_memory(X, "float32")
        mb = 1e-6
        print(f"{title:<36} {t64 * 1e3:>10.1f} {t32 * 1e3:>10.1f} {t64 / t32:>7.2f}x {h64 * mb:>13.1f} "
              f"{h32 * mb:>6.1f} {pk64 * mb:>11.1f} {pk32 * mb:>6.1f} {X.nbytes * mb:>6.1f}", flush=True)
        speed_rows.append((title, t64, t32, h64, h32, pk64, pk32, X.nbytes))

    print(f"\naccuracy: fits to convergence from the same start, tol {args.tol:g} ({args.tol_mode})")
    print(f"{'problem':<36} {'its f64':>7} {'f32':>4} {'s f64':>7} {'s f32':>7} {'max dmean/sd':>12} "
          f"{'max dcov rel':>12} {'max dw':>9} {'dLL total':>11} {'dLL/point':>10} {'f32 LL err':>10}")
    acc_rows = []
    probs = [p for p in convergence_problems(True) if not only or p[1] in only]
    if not args.no_accuracy_large:
        probs += large
    for title, _key, X, p0 in probs:
        a, b, s64, s32, d_mean, d_cov, d_w, d_ll, rep = agreement(X, p0, settings)
        print(f"{title:<36} {a.iteration:>7} {b.iteration:>4} {s64:>7.2f} {s32:>7.2f} {d_mean:>12.2e} {d_cov:>12.2e} "
              f"{d_w:>9.2e} {d_ll:>11.4f} {d_ll / X.shape[0]:>10.2e} {rep:>10.4f}", flush=True)
        acc_rows.append((title, a.iteration, b.iteration, d_mean, d_cov, d_w, d_ll, d_ll / X.shape[0], rep))

    print("\nmarkdown:")
    print("| problem | iteration float64 (ms) | float32 (ms) | speed-up | engine memory float64 → float32 (MB) "
          "| peak while building (MB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for title, t64, t32, h64, h32, pk64, pk32, _xb in speed_rows:
        print(f"| {title} | {t64 * 1e3:.1f} | {t32 * 1e3:.1f} | {t64 / t32:.2f}× | {h64 / 1e6:.0f} → {h32 / 1e6:.0f} "
              f"| {pk64 / 1e6:.0f} → {pk32 / 1e6:.0f} |")
    print()
    print("| problem | iterations float64 / float32 | max Δmean (SDs) | max Δcov (relative) | max Δweight "
          "| ΔLL total (float32 − float64) | ΔLL per point | float32's reported LL − exact |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for title, i64, i32, d_mean, d_cov, d_w, d_ll, d_pp, rep in acc_rows:
        print(f"| {title} | {i64} / {i32} | {d_mean:.1e} | {d_cov:.1e} | {d_w:.1e} | {d_ll:+.4f} | {d_pp:+.1e} "
              f"| {rep:+.4f} |")


if __name__ == "__main__":
    main()
