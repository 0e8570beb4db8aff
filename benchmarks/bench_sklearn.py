"""The scikit-learn estimator against scikit-learn's own, through the estimator API.

Same data, same start (``weights_init``, ``means_init``, ``precisions_init``: no k-means, which is
scikit-learn's code on both sides), one run of each. Per cell of N x 16 components x covariance type:

* per-iteration time of ``fit``: two fits of ``M1`` and ``M2`` iterations (``tol=0``); the
  difference divided by ``M2 - M1``, so set-up (validation, the first E-step) cancels out;
* ``predict_proba`` on the training data (its N x K result is the same size on both sides);
* peak memory (tracemalloc, which sees NumPy's allocations) of a fit and of ``predict_proba``;
* the largest difference between the two fits' means, weights and covariances after ``M2`` iterations.

The machines are shared and noisy: read the ratios, measured in the same run, not the seconds.

    python benchmarks/bench_sklearn.py                 # 100k and 1M points, full and diag
    python benchmarks/bench_sklearn.py --n 100000      # one size
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gmm_desktop.sklearn import GaussianMixture

K = 16
M1, M2 = 2, 12


def make_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-20, 20, size=(K, 2))
    X = centers[rng.integers(0, K, size=n)] + rng.normal(size=(n, 2))
    means = X[rng.choice(n, K, replace=False)]
    return X, means, np.cov(X.T)


def estimator(cls, ctype, means, cov, iters):
    prec = np.linalg.inv(cov)
    precisions = np.broadcast_to(prec, (K, 2, 2)).copy() if ctype == "full" else np.tile(np.diag(prec), (K, 1))
    return cls(K, covariance_type=ctype, tol=0.0, max_iter=iters, weights_init=np.full(K, 1.0 / K),
               means_init=means, precisions_init=precisions)


def timed_fit(cls, X, ctype, means, cov, iters):
    est = estimator(cls, ctype, means, cov, iters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        est.fit(X)
        return time.perf_counter() - t, est


def peak_mb(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def cell(n, ctype):
    X, means, cov = make_problem(n)
    row = {}
    fitted = {}
    for name, cls in (("ours", GaussianMixture), ("sklearn", SklearnGaussianMixture)):
        t1, _ = timed_fit(cls, X, ctype, means, cov, M1)
        t2, est = timed_fit(cls, X, ctype, means, cov, M2)
        row[name + "_iter"] = max(t2 - t1, 1e-9) / (M2 - M1)
        t = time.perf_counter()
        est.predict_proba(X)
        row[name + "_proba"] = time.perf_counter() - t
        row[name + "_fit_mb"] = peak_mb(lambda: timed_fit(cls, X, ctype, means, cov, M1))
        row[name + "_proba_mb"] = peak_mb(lambda: est.predict_proba(X))
        fitted[name] = est
    a, b = fitted["ours"], fitted["sklearn"]
    row["diff"] = max(float(np.max(np.abs(getattr(a, f) - getattr(b, f))))
                      for f in ("weights_", "means_", "covariances_"))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--types", nargs="*", default=["full", "diag"])
    args = parser.parse_args()
    print(f"fit: per-iteration time from fits of {M1} and {M2} iterations; K = {K}, 2 features\n")
    print("| N | cov | ours ms/iter | sklearn ms/iter | speed-up | ours predict_proba ms | sklearn predict_proba ms "
          "| speed-up | ours fit MB | sklearn fit MB | ours predict_proba MB | sklearn predict_proba MB | max diff |")
    print("| ---: | :-- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.n:
        for ctype in args.types:
            r = cell(n, ctype)
            print(f"| {n:,} | {ctype} | {1e3 * r['ours_iter']:,.2f} | {1e3 * r['sklearn_iter']:,.2f} | "
                  f"{r['sklearn_iter'] / r['ours_iter']:.1f}× | {1e3 * r['ours_proba']:,.1f} | "
                  f"{1e3 * r['sklearn_proba']:,.1f} | {r['sklearn_proba'] / r['ours_proba']:.1f}× | "
                  f"{r['ours_fit_mb']:,.0f} | {r['sklearn_fit_mb']:,.0f} | {r['ours_proba_mb']:,.0f} | "
                  f"{r['sklearn_proba_mb']:,.0f} | {r['diff']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
