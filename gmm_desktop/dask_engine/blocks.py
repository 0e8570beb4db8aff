"""What runs on the workers: pure NumPy functions of one chunk of rows, and small values to sum.

Every function here takes one chunk ``X`` of shape (n_rows, n_features) and returns a value whose
size does not depend on the number of rows, so that a tree reduction of them costs the same
whatever the size of the data. They call the core's mathematics; nothing here imports dask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmm_desktop.core.em import MAX_ABS_VALUE
from gmm_desktop.core.stats import SuffStats


# --------------------------------------------------------------------------- data summary
@dataclass(frozen=True)
class Summary:
    """Count, mean and scatter of a set of rows, and where the first unusable value is.

    ``scatter`` is about ``mean`` (no cancellation); two summaries add by Chan's formula.
    ``bad`` is ``(row, column, value)`` of the first non-finite or too-large value, or None;
    ``maxabs`` is the largest magnitude, ``radius2`` the largest squared distance from ``centre``
    (None until a centre is known).
    """

    n: int
    mean: np.ndarray
    scatter: np.ndarray
    maxabs: float
    bad: tuple | None

    def __add__(self, other: "Summary") -> "Summary":
        if other.n == 0:
            return self if self.bad is not None or other.bad is None else other._with(self)
        if self.n == 0:
            return other if other.bad is not None or self.bad is None else self._with(other)
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        scatter = self.scatter + other.scatter + np.outer(delta, delta) * (self.n * other.n / n)
        bad = min((b for b in (self.bad, other.bad) if b is not None), default=None)
        return Summary(n, mean, scatter, max(self.maxabs, other.maxabs), bad)

    def _with(self, other):
        bad = min((b for b in (self.bad, other.bad) if b is not None), default=None)
        return Summary(self.n, self.mean, self.scatter, max(self.maxabs, other.maxabs), bad)

    def covariance(self) -> np.ndarray:
        """Unbiased covariance, as ``numpy.cov`` (zeros for a single row)."""
        d = self.mean.shape[0]
        if self.n < 2:
            return np.zeros((d, d))
        return self.scatter / (self.n - 1)


def summarize(X: np.ndarray, offset: int) -> Summary:
    """:class:`Summary` of one chunk whose first row is row ``offset`` of the data."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if n == 0:
        return Summary(0, np.zeros(d), np.zeros((d, d)), 0.0, None)
    finite = np.isfinite(X)
    bad = None
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        bad = (offset + int(i), int(j), float(X[i, j]))
        X = np.where(finite, X, 0.0)
    maxabs = float(np.max(np.abs(X)))
    if bad is None and maxabs > MAX_ABS_VALUE:
        i, j = np.argwhere(np.abs(X) > MAX_ABS_VALUE)[0]
        bad = (offset + int(i), int(j), float(X[i, j]))
    mean = X.mean(axis=0)
    Xc = X - mean
    return Summary(n, mean, Xc.T @ Xc, maxabs, bad)


# --------------------------------------------------------------------------- sampling
def sample_rows(X: np.ndarray, count: int, seed) -> np.ndarray:
    """``count`` rows of the chunk drawn uniformly without replacement, in their order in the chunk."""
    X = np.asarray(X, dtype=np.float64)
    if count >= X.shape[0]:
        return np.array(X, copy=True)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(X.shape[0], size=count, replace=False))
    return X[idx]


def max_radius2(X: np.ndarray, centre: np.ndarray) -> float:
    """Largest squared distance of a row of the chunk from ``centre``."""
    if X.shape[0] == 0:
        return 0.0
    Xc = np.asarray(X, dtype=np.float64) - centre
    return float(np.max(np.einsum("ij,ij->i", Xc, Xc)))


# --------------------------------------------------------------------------- EM statistics
def em_stats(X: np.ndarray, params, center: np.ndarray, anchors: dict):
    """E-step of one chunk: the core's block code (:meth:`SuffStats.from_block`, on one thread).

    ``center`` and ``anchors`` are the engine's, the same for every chunk, so that the chunks'
    statistics add.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] == 0:
        return _no_rows(params.n_components, center, anchors)
    return SuffStats.from_block(X, params, center=center, anchors=anchors)


def _no_rows(k: int, center: np.ndarray, anchors: dict):
    """The statistics of an empty chunk, with the anchors :meth:`SuffStats.from_block` would give."""
    a = np.zeros((k, center.shape[0]))
    anchored = np.zeros(k, dtype=bool)
    for j, value in anchors.items():
        a[j], anchored[j] = value, True
    return SuffStats.zero(k, center, a, anchored)


def hard_assignment_stats(X: np.ndarray, means: np.ndarray, center: np.ndarray):
    """Statistics of assigning every row of the chunk to its nearest mean (the k-means start), as
    the core's :class:`SuffStats` with every component's moments about its mean (log-likelihood NaN)."""
    X = np.asarray(X, dtype=np.float64)
    k, d = means.shape
    anchors = means - center
    nk, s1, s2 = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d))
    if X.shape[0]:
        d2 = np.stack([((X - m) ** 2).sum(axis=1) for m in means], axis=0)
        labels = np.argmin(d2, axis=0)
        for j in range(k):
            diff = X[labels == j] - center - anchors[j]
            nk[j] = diff.shape[0]
            s1[j] = diff.sum(axis=0)
            s2[j] = diff.T @ diff
    return SuffStats(int(X.shape[0]), math.nan, nk, np.array(center, dtype=np.float64), anchors, s1, s2,
                     np.ones(k, dtype=bool), max_radius2(X, center))


def predictions_csv(X: np.ndarray, params) -> bytes:
    """The ``predict`` rows of the chunk as CSV text (``label,p0,..,log_density``, no header)."""
    import io

    from gmm_desktop.core.em import e_step

    log_density, log_resp = e_step(np.asarray(X, dtype=np.float64), params)
    resp = np.exp(log_resp).T
    labels = np.argmax(log_resp, axis=0)
    buf = io.StringIO()
    k = params.n_components
    np.savetxt(buf, np.column_stack([labels, resp, log_density]), delimiter=",",
               fmt=["%d"] + ["%.17g"] * (k + 1))
    return buf.getvalue().encode()


def add(values):
    """Sum of a non-empty sequence of values that add (a tree reduction's step)."""
    values = list(values)
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total
