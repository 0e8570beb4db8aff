"""Agreement between two clusterings."""

from __future__ import annotations

import numpy as np


def _comb2(x):
    x = np.asarray(x, dtype=np.float64)
    return x * (x - 1.0) / 2.0


def _codes(labels: np.ndarray) -> np.ndarray:
    """Labels as small non-negative integers: as they are when they already are (no sort: fast
    for a million points), else their index among the distinct labels."""
    if labels.size and labels.dtype.kind in "iu" and labels.min() >= 0 and labels.max() < 4 * labels.size + 64:
        return labels.astype(np.intp, copy=False)
    return np.unique(labels, return_inverse=True)[1].reshape(-1)


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """Adjusted Rand index (Hubert and Arabie), as scikit-learn's ``adjusted_rand_score``.

    Parameters
    ----------
    labels_true, labels_pred : array-like of shape (n_samples,)

    Returns
    -------
    float
        1.0 for identical clusterings (up to renaming), about 0.0 for random ones.
    """
    a = np.asarray(labels_true).ravel()
    b = np.asarray(labels_pred).ravel()
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.shape[0]} and {b.shape[0]}")
    n = a.shape[0]
    if n == 0:
        return 1.0
    ai, bi = _codes(a), _codes(b)
    n_a, n_b = int(ai.max()) + 1, int(bi.max()) + 1
    pair = ai * n_b  # the contingency-table cell of each point
    pair += bi
    table = np.bincount(pair, minlength=n_a * n_b).reshape(n_a, n_b)
    sum_comb = _comb2(table).sum()
    sum_a = _comb2(table.sum(axis=1)).sum()  # the marginals, from the table rather than the points
    sum_b = _comb2(table.sum(axis=0)).sum()
    total = _comb2(n)
    if total == 0:
        return 1.0
    expected = sum_a * sum_b / total
    maximum = (sum_a + sum_b) / 2.0
    if maximum == expected:  # both trivial (one cluster each, or all singletons)
        return 1.0
    return float((sum_comb - expected) / (maximum - expected))
