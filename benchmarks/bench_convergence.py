"""Time to convergence: plain EM, SQUAREM-accelerated EM and scikit-learn, same data, start and rule.

For each problem, all three start from the same parameters (scikit-learn through ``weights_init``,
``means_init``, ``precisions_init``) and stop by the same rule: ours at ``--tol`` on the change of
the total log-likelihood (``--tol-mode total``, the default) or of its mean (``per-sample``);
scikit-learn at the equivalent per-sample tolerance (``tol / N`` for the total rule), since it
always compares mean log-likelihoods. Each is timed from the start parameters to the fitted model
(scikit-learn's ``fit``, our ``run()`` including building the fitter). The final log-likelihood of
every fit is recomputed by one reference function on the final parameters, so the three are
comparable. Printed per problem: EM steps (E-steps; for SQUAREM also the reported iterates),
seconds, final total log-likelihood, and time ratios against scikit-learn and plain EM, all from
the same run. The machine is shared and noisy: read the ratios.

    python benchmarks/bench_convergence.py               # every problem (1M x 16 takes minutes)
    python benchmarks/bench_convergence.py --quick       # without the 1M-point problem
    python benchmarks/bench_convergence.py --only separated16 --repeat 3
    python benchmarks/bench_convergence.py --only separated16 --sklearn-max-iter 100 --dtype float32

``--sklearn-max-iter N`` caps scikit-learn's iterations (its row then says "no" under converged and
shows its seconds per iteration): for a time-limited run where scikit-learn's whole fit is too slow.
Each fit's result is also printed as soon as it ends (``done:`` lines), so a run cut off by a time
limit keeps what finished. ``--dtype float32`` runs our fits with float32 data (scikit-learn stays float64).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture

from gmm_desktop.core.accel import SquaremFitter
from gmm_desktop.core.em import log_likelihood
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.init import initial_params, params_from_means
from gmm_desktop.io.datasets import load_data
from gmm_desktop.io.generator import demo_dataset, generate

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
NOTEBOOK_START = [[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]]


def problems(quick: bool):
    """(name, X, initial params) for each benchmark problem."""
    X = demo_dataset().X
    yield "demo (1,050 x 2, K=4)", "demo", X, params_from_means(X, NOTEBOOK_START)
    X = generate("large", seed=0).X
    yield "large preset (10,500 x 2, K=4)", "large", X, params_from_means(X, NOTEBOOK_START)
    rng = np.random.default_rng(0)
    n = 20_000
    X = np.concatenate([rng.normal(size=(n // 2, 2)) * [6.0, 0.5] + [0.0, y] for y in (0.0, 2.5)])
    yield "parallel elongated (20,000 x 2, K=2)", "elongated", X, params_from_means(X, [[-4.0, 1.0], [4.0, 1.5]])
    X = load_data(RESOURCES / "faithful.csv").X
    yield "Old Faithful (272 x 2, K=2)", "faithful", X, initial_params(X, 2, method="kmeans++", seed=0)
    X = load_data(RESOURCES / "iris.csv").X
    yield "iris (150 x 4, K=3)", "iris", X, initial_params(X, 3, method="kmeans++", seed=0)
    if not quick:
        rng = np.random.default_rng(1)
        grid = np.array([(i, j) for i in range(4) for j in range(4)], dtype=float) * 10.0
        n = 1_000_000
        X = grid[rng.integers(0, 16, size=n)] + rng.normal(size=(n, 2)) @ np.array([[1.0, 0.3], [0.0, 0.8]])
        yield "separated 16 (1,000,000 x 2, K=16)", "separated16", X, initial_params(X, 16, method="kmeans++", seed=0)


def run_ours(cls, X, p0, settings):
    t = time.perf_counter()
    fitter = cls(X, p0, **settings)
    snap = fitter.run()
    seconds = time.perf_counter() - t
    steps = getattr(fitter, "n_em_steps", snap.iteration)
    return seconds, steps, snap.iteration, snap.params, snap.converged, fitter


def run_sklearn(X, p0, settings, max_iter=None):
    tol = settings["tol"] / (X.shape[0] if settings["tol_mode"] == "total" else 1)
    ct = p0.covariance_type
    prec = np.linalg.inv(p0.covariances) if ct in ("full", "tied") else 1.0 / p0.covariances
    gm = GaussianMixture(p0.n_components, covariance_type=ct, tol=tol, max_iter=max_iter or settings["max_iter"],
                         reg_covar=settings["reg_covar"], weights_init=p0.weights, means_init=p0.means,
                         precisions_init=prec, init_params="random_from_data")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    seconds = time.perf_counter() - t
    from gmm_desktop.core.params import GMMParams

    return seconds, gm.n_iter_, gm.n_iter_, GMMParams(gm.weights_, gm.means_, gm.covariances_, ct), gm.converged_, gm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 1M-point problem")
    ap.add_argument("--only", help="comma list of problem keys: demo,large,elongated,faithful,iris,separated16")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--tol-mode", choices=["total", "per-sample"], default="total")
    ap.add_argument("--max-iter", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1, help="time each fit this many times, keep the fastest")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--sklearn-max-iter", type=int, help="cap scikit-learn's iterations (time-limited runs)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="our fits' data type")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    settings = {"tol": args.tol, "tol_mode": args.tol_mode, "max_iter": args.max_iter, "reg_covar": 1e-6}
    ours = dict(settings, dtype=args.dtype)
    print(f"rule: tol {args.tol:g} ({args.tol_mode}), max_iter {args.max_iter}; best of {args.repeat}; "
          f"ours in {args.dtype}" + (f"; scikit-learn capped at {args.sklearn_max_iter} iterations"
                                     if args.sklearn_max_iter else ""))
    print(f"{'problem':<38} {'method':<9} {'EM steps':>9} {'iterates':>8} {'seconds':>9} {'log-likelihood':>17} "
          f"{'conv':>4} {'vs sklearn':>10} {'vs plain':>8}")
    rows = []
    for title, key, X, p0 in problems(args.quick and not (only and "separated16" in only)):
        if only and key not in only:
            continue
        results = {}
        methods = [("plain", lambda: run_ours(EMFitter, X, p0, ours)),
                   ("squarem", lambda: run_ours(SquaremFitter, X, p0, ours))]
        if not args.no_sklearn:
            methods.append(("sklearn", lambda: run_sklearn(X, p0, settings, args.sklearn_max_iter)))
        for name, fn in methods:
            best = None
            for _ in range(args.repeat):
                out = fn()
                if best is None or out[0] < best[0]:
                    best = out
            results[name] = best
            sec, steps = best[0], best[1]
            print(f"done: {key} {name}: {steps} EM steps, {sec:.3f} s ({sec / max(steps, 1) * 1e3:.1f} ms per step), "
                  f"converged {best[4]}, log-likelihood {log_likelihood(X, best[3]):.4f}", flush=True)
        for name, (sec, steps, iterates, params, conv, _) in results.items():
            ll = log_likelihood(X, params)
            vs_sk = results["sklearn"][0] / sec if "sklearn" in results else float("nan")
            vs_plain = results["plain"][0] / sec
            print(f"{title:<38} {name:<9} {steps:>9} {iterates:>8} {sec:>9.3f} {ll:>17.4f} {'yes' if conv else 'no':>4} "
                  f"{vs_sk:>9.1f}x {vs_plain:>7.2f}x", flush=True)
            rows.append((title, name, steps, iterates, sec, ll, conv, vs_sk, vs_plain))
        fitter = results["squarem"][5]
        print(f"{'':<38} squarem: {fitter.n_extrapolations} extrapolations kept, {fitter.n_fallbacks} fallbacks, "
              f"{fitter.n_plain} plain cycles", flush=True)
    print("\nmarkdown:")
    print("| problem | method | EM steps | seconds | final log-likelihood | converged | time vs scikit-learn | vs plain |")
    print("| --- | --- | ---: | ---: | ---: | :-: | ---: | ---: |")
    for title, name, steps, iterates, sec, ll, conv, vs_sk, vs_plain in rows:
        label = {"plain": "ours, plain EM", "squarem": "ours, SQUAREM", "sklearn": "scikit-learn"}[name]
        extra = f" ({iterates} iterates)" if name == "squarem" else ""
        print(f"| {title} | {label} | {steps}{extra} | {sec:.3f} | {ll:,.4f} | {'yes' if conv else 'no'} | "
              f"{vs_sk:.1f}× | {vs_plain:.2f}× |")


if __name__ == "__main__":
    main()
