"""Variational fit speed against scikit-learn's BayesianGaussianMixture and against EM, same run.

Per cell of N x covariance type (K = 12, 2 features, four clusters): the time of one iteration of
gmm_desktop's VBFitter (fast path, and the direct computation), of its EMFitter, and of scikit-learn's
BayesianGaussianMixture (the difference of fits of ``m2`` and ``m1`` iterations divided by ``m2 - m1``,
so set-up cancels), best of ``repeats``. Read the ratios, not the seconds: the machines are shared.

    python benchmarks/bench_vb.py           # N = 10k and 100k
    python benchmarks/bench_vb.py --n 1e6   # one size
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.mixture import BayesianGaussianMixture

from gmm_desktop.core.em import EMFitter
from gmm_desktop.core.init import initial_params
from gmm_desktop.core.vb import VBFitter

K = 12


def problem(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]])
    return centres[rng.integers(0, 4, size=n)] + rng.normal(size=(n, 2))


def per_step(make, steps=5, repeats=3):
    best = np.inf
    for _ in range(repeats):
        fitter = make()
        t = time.perf_counter()
        for _ in range(steps):
            fitter.step()
        best = min(best, (time.perf_counter() - t) / steps)
    return best


def sklearn_per_iter(X, resp, ctype, m1=2, m2=7, repeats=3):
    def fit(m):
        bgm = BayesianGaussianMixture(n_components=K, covariance_type=ctype, tol=0.0, max_iter=m)
        bgm._initialize_parameters = lambda X_, random_state, xp=None: bgm._initialize(X_, resp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            bgm.fit(X)
            return time.perf_counter() - t
    return max(1e-9, min(fit(m2) for _ in range(repeats)) - min(fit(m1) for _ in range(repeats))) / (m2 - m1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, action="append")
    args = ap.parse_args(argv)
    sizes = [int(n) for n in (args.n or [1e4, 1e5])]
    print("| N | covariance | VB fast ms | VB direct ms | EM ms | sklearn BGM ms | sklearn / VB fast | VB fast / EM |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in sizes:
        X = problem(n)
        for ctype in ("full", "diag"):
            p0 = initial_params(X, K, method="kmeans++", covariance_type=ctype, seed=0)
            resp = VBFitter(X, p0, max_iter=1).snapshot_with_responsibilities().resp.astype(float)
            resp /= resp.sum(axis=1, keepdims=True)
            fast = per_step(lambda: VBFitter.from_responsibilities(X, resp, ctype, tol=0.0, fast=True))
            direct = per_step(lambda: VBFitter.from_responsibilities(X, resp, ctype, tol=0.0, fast=False))
            em = per_step(lambda: EMFitter(X, p0, tol=0.0))
            sk = sklearn_per_iter(X, resp, ctype)
            print(f"| {n:,} | {ctype} | {fast * 1e3:.1f} | {direct * 1e3:.1f} | {em * 1e3:.1f} | {sk * 1e3:.1f} | "
                  f"{sk / fast:.1f} | {fast / em:.2f} |", flush=True)


if __name__ == "__main__":
    main()
