"""Data for the Dask engine tests."""

import numpy as np


def blobs(n_per=1500, seed=0, centers=((2.0, 3.0), (7.0, 8.0), (11.0, 2.0))):
    """Three Gaussian clusters away from the origin (so relative comparisons of means are fair)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, c in enumerate(centers):
        a = rng.normal(size=(2, 2)) * 0.6 + np.eye(2)
        parts.append(rng.normal(size=(n_per, 2)) @ a + np.asarray(c))
    X = np.concatenate(parts)
    return X[rng.permutation(len(X))]


START_MEANS = [[3.0, 3.0], [6.0, 7.0], [10.0, 3.0]]
