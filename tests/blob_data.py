"""Well-separated random blobs for model-selection tests (core and command line)."""

import numpy as np

from gmm_desktop.io.generator import generate


def separated_centers(k, seed, min_distance=8.0, half_width=15.0):
    """``k`` random 2-D centres at least ``min_distance`` apart (rejection sampling)."""
    rng = np.random.default_rng(1000 + seed)
    out = []
    while len(out) < k:
        c = rng.uniform(-half_width, half_width, size=2)
        if all(np.linalg.norm(c - o) >= min_distance for o in out):
            out.append(c)
    return np.array(out)


def blobs(k=3, n_per=60, seed=0):
    """``n_per`` points around each of ``k`` separated centres."""
    return generate(centers=separated_centers(k, seed), seed=seed, n_samples=n_per * k).X
