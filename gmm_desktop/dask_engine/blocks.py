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
@dataclass(frozen=True)
class MomentStats:
    """Sufficient statistics of some rows for the M-step, and their log-likelihood.

    The moments are taken about a reference point per component (``a``: the means the
    responsibilities were computed with), so nothing cancels however far the data lie from the
    origin. Two values add; :meth:`to_params` is scikit-learn's M-step from the sum.

    Attributes
    ----------
    log_likelihood : float
        Total over the rows (NaN when the statistics come from a hard assignment).
    n : int
    a : ndarray of shape (n_components, n_features)
    s0 : ndarray of shape (n_components,)
        ``sum_n resp[n, k]``.
    s1 : ndarray of shape (n_components, n_features)
        ``sum_n resp[n, k] (x_n - a_k)``.
    s2 : ndarray of shape (n_components, n_features, n_features)
        ``sum_n resp[n, k] (x_n - a_k)(x_n - a_k)^T``.
    """

    log_likelihood: float
    n: int
    a: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray

    def __add__(self, other: "MomentStats") -> "MomentStats":
        return MomentStats(self.log_likelihood + other.log_likelihood, self.n + other.n, self.a,
                           self.s0 + other.s0, self.s1 + other.s1, self.s2 + other.s2)

    @classmethod
    def from_resp(cls, X, resp, a, log_likelihood=math.nan) -> "MomentStats":
        """From responsibilities ``resp`` of shape (n_components, n_rows)."""
        k, d = a.shape
        s1 = np.empty((k, d))
        s2 = np.empty((k, d, d))
        for j in range(k):
            diff = X - a[j]
            rd = resp[j][:, None] * diff
            s1[j] = rd.sum(axis=0)
            s2[j] = rd.T @ diff
        return cls(float(log_likelihood), int(X.shape[0]), a, resp.sum(axis=1), s1, s2)

    def to_params(self, covariance_type: str, reg_covar: float):
        """The M-step: parameters from the summed statistics (the rules of ``core.em.m_step``)."""
        from gmm_desktop.core.params import GMMParams

        s0, s1, s2, a = self.s0, self.s1, self.s2, self.a
        d = a.shape[1]
        nk = s0 + 10.0 * np.finfo(np.float64).eps
        delta = (s1 - (nk - s0)[:, None] * a) / nk[:, None]  # new mean - a (the mean is sum r x / nk)
        means = a + delta
        scatter = (s2 - np.einsum("ki,kj->kij", delta, s1) - np.einsum("ki,kj->kij", s1, delta)
                   + s0[:, None, None] * np.einsum("ki,kj->kij", delta, delta))
        if covariance_type == "full":
            cov = scatter / nk[:, None, None]
            cov[:, np.arange(d), np.arange(d)] += reg_covar
        elif covariance_type == "tied":
            cov = scatter.sum(axis=0) / nk.sum()
            cov.flat[:: d + 1] += reg_covar
        else:
            diag = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
            cov = diag if covariance_type == "diag" else diag.mean(axis=1)
        return GMMParams(nk / nk.sum(), means, cov, covariance_type)


def em_stats(X: np.ndarray, params) -> MomentStats:
    """E-step of one chunk: its log-likelihood and M-step statistics.

    Up to ``core.fast.MAX_FAST_FEATURES`` features, by the core's fast path (``fast.Moments``: two
    small matrix products, components too narrow for it computed directly), on this thread only;
    else by the reference ``em.e_step``. Both agree to ~1e-10, as in memory.
    """
    from gmm_desktop.core import fast
    from gmm_desktop.core.em import e_step, precision_cholesky

    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] and X.shape[1] <= fast.MAX_FAST_FEATURES:
        return _fast_stats(X, params, fast, precision_cholesky(params))
    with np.errstate(under="ignore"):
        log_prob_norm, log_resp = e_step(X, params)
        resp = np.exp(log_resp)
    return MomentStats.from_resp(X, resp, params.means, math.fsum(log_prob_norm))


def _fast_stats(X, params, fast, prec_chol) -> MomentStats:
    """``fast.Moments`` statistics of the chunk (about its own centre ``c``), moved to be about the means."""
    moments = fast.Moments(X)
    P, log_det, U = fast.full_precisions(params, prec_chol)
    with np.errstate(under="ignore", divide="ignore"):
        ll, (S, shifted), _ = moments.e_step(params, P, log_det, U, False, 1)
    k, d = params.means.shape
    c = moments.center
    i, j = moments.iu
    s0 = S[:, 0].copy()
    u = S[:, 1 : 1 + d]
    m2 = np.empty((k, d, d))
    m2[:, i, j] = S[:, 1 + d :]
    m2[:, j, i] = S[:, 1 + d :]
    off = params.means - c  # a - c
    s1 = u - s0[:, None] * off
    s2 = (m2 - np.einsum("ki,kj->kij", off, u) - np.einsum("ki,kj->kij", u, off)
          + s0[:, None, None] * np.einsum("ki,kj->kij", off, off))
    for comp, (a_c, t0, t1, t2) in shifted.items():  # computed directly about (mean - c): exact
        delta = a_c - off[comp]  # ~0: the direct rows are taken about the component's mean
        s0[comp] = t0
        s1[comp] = t1 + t0 * delta
        s2[comp] = t2 + np.outer(delta, t1) + np.outer(t1, delta) + t0 * np.outer(delta, delta)
    return MomentStats(float(ll), int(X.shape[0]), params.means, s0, s1, s2)


def hard_assignment_stats(X: np.ndarray, means: np.ndarray) -> MomentStats:
    """Statistics of assigning every row of the chunk to its nearest mean (the k-means start)."""
    X = np.asarray(X, dtype=np.float64)
    d2 = np.stack([((X - m) ** 2).sum(axis=1) for m in means], axis=0)
    labels = np.argmin(d2, axis=0)
    resp = np.zeros((len(means), X.shape[0]))
    resp[labels, np.arange(X.shape[0])] = 1.0
    return MomentStats.from_resp(X, resp, means)


def log_likelihood(X: np.ndarray, params) -> float:
    """Total log-likelihood of the chunk."""
    from gmm_desktop.core.em import e_step

    return math.fsum(e_step(np.asarray(X, dtype=np.float64), params)[0])


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
