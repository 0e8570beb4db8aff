"""Components that become narrow mid-fit: the slowest EM iteration against the median one.

The fast E-step expands each component's quadratic form about the data's centre; a component whose
covariance becomes too narrow for that (``R^2 / lambda_min > 1e4``) is computed directly from then
on. This times every iteration of fits in which that happens to several components at different
iterations (elongated clusters, width 0.05-0.15 against a data radius of ~30, started from the
whole data's covariance), and prints per problem: the iterations at which components became narrow,
the median and the slowest iteration, and their ratio (the goal: at most 2x). A reference of the same
run, scikit-learn's iteration time on the same problem, gives the seconds a scale.

    python benchmarks/bench_narrow.py              # 300k and 1M points (a minute or two)
    python benchmarks/bench_narrow.py --quick      # 300k only
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from gmm_desktop.core import fast
from gmm_desktop.core.em import EMFitter
from gmm_desktop.core.init import params_from_means


def make_problem(n, k=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(k, 2))
    angles = rng.uniform(0, np.pi, size=k)
    minor = rng.uniform(0.05, 0.15, size=k)
    labels = rng.integers(0, k, size=n)
    z = rng.normal(size=(n, 2)) * np.column_stack([np.full(k, 2.0), minor])[labels]
    c, s = np.cos(angles)[labels], np.sin(angles)[labels]
    X = centres[labels] + np.column_stack([c * z[:, 0] - s * z[:, 1], s * z[:, 0] + c * z[:, 1]])
    guess = centres + rng.normal(scale=0.5, size=centres.shape)
    return X, params_from_means(X, guess, "full")


def sklearn_per_iteration(X, p0, m1=2, m2=6):
    from sklearn.mixture import GaussianMixture

    def run(iters):
        gm = GaussianMixture(p0.n_components, covariance_type="full", tol=0.0, max_iter=iters,
                             weights_init=p0.weights, means_init=p0.means,
                             precisions_init=np.linalg.inv(p0.covariances))
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.fit(X)
        return time.perf_counter() - t

    return max(run(m2) - run(m1), 1e-9) / (m2 - m1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300k points only")
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn reference")
    args = ap.parse_args()
    print(f"{'N':>9} {'seed':>4} | {'narrow from iteration (count)':<34} | {'median ms':>9} {'slowest ms':>10} "
          f"{'at it':>5} {'ratio':>6} | {'sklearn ms/it':>13}")
    for n in [300_000] + ([] if args.quick else [1_000_000]):
        for seed in (0, 1):
            X, p0 = make_problem(n, seed=seed)
            fitter = EMFitter(X, p0, tol=0.0, max_iter=args.iterations)
            data = fitter.engine.data if hasattr(fitter, "engine") else fitter._moments
            times, narrow = [], []
            for _ in range(args.iterations):
                t = time.perf_counter()
                fitter.step()
                times.append(time.perf_counter() - t)
                narrow.append(int(np.sum(data.condition(fitter.params) > fast.MAX_CONDITION)))
            became = {}
            for i, c in enumerate(narrow, start=1):
                if c > (narrow[i - 2] if i > 1 else 0):
                    became[i] = c
            times = np.array(times) * 1e3
            med, worst = float(np.median(times)), float(times.max())
            sk = float("nan") if args.no_sklearn else sklearn_per_iteration(X, p0) * 1e3
            desc = ", ".join(f"{i} ({c})" for i, c in list(became.items())[:5]) or "none"
            print(f"{n:>9} {seed:>4} | {desc:<34} | {med:>9.1f} {worst:>10.1f} {int(times.argmax()) + 1:>5} "
                  f"{worst / med:>5.2f}x | {sk:>13.1f}", flush=True)


if __name__ == "__main__":
    main()
