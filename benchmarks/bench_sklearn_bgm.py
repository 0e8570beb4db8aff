"""gmm_desktop.sklearn.BayesianGaussianMixture against scikit-learn's, same data, same start.

Prints, per case, the time per iteration of each (a fixed number of iterations, tol=0, so both run
the same count), the ratio measured in this run, and the largest difference of the fitted means.

    PYTHONPATH=. python benchmarks/bench_sklearn_bgm.py [--sizes 100000] [--iters 20]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM

from gmm_desktop.sklearn import BayesianGaussianMixture


def data(n, d, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-10, 10, size=(4, d))
    return centers[rng.randint(4, size=n)] + rng.randn(n, d)


def timed(cls, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        est = cls(**kw).fit(X)
        return time.perf_counter() - t, est


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--k", type=int, default=12)
    args = ap.parse_args()
    print("| N | D | cov | K | ours ms/iter | sklearn ms/iter | speed-up | max |means diff| |")
    print("| ---: | ---: | :-- | ---: | ---: | ---: | ---: | ---: |")
    for n in args.sizes:
        for d, cov in ((2, "full"), (2, "diag"), (5, "full")):
            X = data(n, d)
            kw = dict(n_components=args.k, covariance_type=cov, max_iter=args.iters, tol=0.0, random_state=0,
                      init_params="k-means++")
            t_ours, ours = timed(BayesianGaussianMixture, X, **kw)
            t_sk, theirs = timed(SklearnBGM, X, **kw)
            diff = float(np.max(np.abs(ours.means_ - theirs.means_)))
            print(f"| {n:,} | {d} | {cov} | {args.k} | {1e3 * t_ours / args.iters:.1f} | "
                  f"{1e3 * t_sk / args.iters:.1f} | {t_sk / t_ours:.1f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
