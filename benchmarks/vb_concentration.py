"""How the weight concentration changes the number of surviving components of a variational fit.

The notebook's four clusters (``generate("medium")``, or ``--preset``: 1,050 points around (1,-1), (5,5), (8,7),
(10,0), standard deviation 1), K = 12 components started by k-means++, fitted to convergence
(tol 1e-3) for each weight prior and concentration, over several seeds of the start. A component
survives when its expected weight is at least 1 %. Prints a Markdown table (median and range of
the surviving count over the seeds), as recorded in docs/bayesian.md.

    python benchmarks/vb_concentration.py            # 5 seeds
    python benchmarks/vb_concentration.py --seeds 2  # quicker
    python benchmarks/vb_concentration.py --preset small   # 105 points: the prior matters more

On a shared machine, ``OPENBLAS_NUM_THREADS=1`` makes it several times faster (small matrices).
"""

from __future__ import annotations

import argparse

import numpy as np

from gmm_desktop.io.generator import generate
from gmm_desktop.core.init import initial_params
from gmm_desktop.core.vb import PRUNED_WEIGHT, WEIGHT_PRIORS, VBFitter

CONCENTRATIONS = (1e-3, 1 / 12, 1.0, 10.0, 100.0, 1e3, 1e4)


def survivors(X, weight_prior, concentration, covariance_type, seed, k=12):
    p0 = initial_params(X, k, method="kmeans++", covariance_type=covariance_type, seed=seed)
    snap = VBFitter(X, p0, weight_prior=weight_prior, weight_concentration=concentration,
                    tol=1e-3, max_iter=2000).run()
    return int(np.sum(snap.weights >= PRUNED_WEIGHT)), snap.iteration


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--covariance-type", default="full")
    ap.add_argument("--preset", default="medium", choices=["small", "medium", "large"],
                    help="the data set: 105, 1,050 or 10,500 points on the notebook's four clusters")
    args = ap.parse_args(argv)
    X = generate(args.preset, seed=0).X
    print(f"K = 12, {X.shape[0]} points on 4 clusters, covariance {args.covariance_type}, "
          f"{args.seeds} starts; surviving components (weight >= 1 %): median [min-max]\n")
    print("| concentration | " + " | ".join(WEIGHT_PRIORS) + " |")
    print("| ---: | " + " | ".join(":---:" for _ in WEIGHT_PRIORS) + " |")
    for c in CONCENTRATIONS:
        cells = []
        for prior in WEIGHT_PRIORS:
            counts = [survivors(X, prior, c, args.covariance_type, s)[0] for s in range(args.seeds)]
            cells.append(f"{int(np.median(counts))} [{min(counts)}-{max(counts)}]")
        label = "1/K = 0.083" if c == 1 / 12 else f"{c:g}"
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
