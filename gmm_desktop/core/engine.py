"""Engines: where the E-step runs. The fitter asks an engine for the E-step of some parameters and gets
back the total log-likelihood and the summed sufficient statistics (and, for display, the
responsibilities); it does the M-step itself from the statistics (:meth:`SuffStats.to_params`).

The protocol (what a new engine, e.g. one over Dask chunks, implements)
-------------------------------------------------------------------
Subclass :class:`Engine` and set the attributes, then implement :meth:`Engine.expect`:

``n_samples``, ``n_features``
    Size of the data.
``center`` : ndarray of shape (n_features,)
    Reference point of the statistics' moments (the data's mean is the best choice: one pass).
``radius2`` : float
    Largest ``|x - center|^2`` over the data (same pass); decides which components are computed
    directly (:meth:`Engine.direct_anchors`).
``max_abs`` : float
    Largest ``|x|`` in the data (for error messages).
``expect(params, *, anchors=None, want_resp=False) -> Expectation``
    The E-step of ``params`` over all points. ``anchors`` (default ``self.direct_anchors(params)``,
    decided once, before any block) are passed unchanged to every block, e.g.
    ``SuffStats.from_block(chunk, params, center=self.center, anchors=anchors)`` mapped over the
    chunks and reduced with ``+`` (any order, a tree). ``want_resp``: also the responsibilities,
    (n_samples, n_components) float32 and the labels (n_samples,) int32, in data order; an engine
    whose data do not fit in memory may refuse it. Raises ``FitError`` (from
    :func:`gmm_desktop.core.em.precision_cholesky`) when a covariance is not positive definite.

Optional, with working defaults in :class:`Engine`:

``refine(params, stats, anchors) -> SuffStats``
    ``stats`` (from ``expect(params)``) with the moments of the components in ``anchors`` re-taken
    about those anchors. The default runs ``expect`` again; the in-memory engine keeps each point's
    log density from the last E-step and computes only those components.
``responsibilities(params) -> (resp, labels)``
    For display; the default is ``expect(params, want_resp=True)``.

The fitter calls ``refine`` after an M-step when :meth:`Engine.refine_needed` finds that a
component's new covariance is too narrow for the moments it was computed from (a component that has
just become narrow): that costs one component's densities, not a whole E-step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gmm_desktop.core import em, fast
from gmm_desktop.core.options import OPTIONS
from gmm_desktop.core.params import GMMParams
from gmm_desktop.core.stats import SuffStats


def check_dtype(dtype) -> str:
    """Return ``dtype`` (``'float64'`` or ``'float32'``, the E-step's data type) as a string, or raise
    ParamsError."""
    name = dtype if isinstance(dtype, str) else getattr(dtype, "__name__", None)
    if name not in fast.DTYPES:
        raise OPTIONS["dtype"].error(dtype)
    return name


class Expectation(NamedTuple):
    """The result of an E-step.

    log_likelihood : float
        Total log-likelihood of the data under the parameters.
    stats : SuffStats
        Summed statistics for the M-step.
    resp : ndarray of shape (n_samples, n_components), float32, or None
    labels : ndarray of shape (n_samples,), int32, or None
    """

    log_likelihood: float
    stats: SuffStats
    resp: np.ndarray | None = None
    labels: np.ndarray | None = None


class Engine:
    """Base class of the engines (see the module docstring for the protocol)."""

    n_samples: int
    n_features: int
    center: np.ndarray
    radius2: float
    max_abs: float

    def direct_anchors(self, params: GMMParams) -> dict:
        """Components the E-step of ``params`` computes directly, with their anchors (about the centre)."""
        return fast.direct_anchors(params, self.center, self.radius2, self.n_features)

    def expect(self, params: GMMParams, *, anchors: dict | None = None, want_resp: bool = False) -> Expectation:
        raise NotImplementedError

    def refine(self, params: GMMParams, stats: SuffStats, anchors: dict) -> SuffStats:
        """``stats`` (of ``params``) with the components of ``anchors`` re-taken about those anchors."""
        merged = {int(j): stats.anchors[j] for j in np.flatnonzero(stats.anchored)}
        merged.update(anchors)
        return self.expect(params, anchors=merged).stats

    def responsibilities(self, params: GMMParams) -> tuple[np.ndarray, np.ndarray]:
        """Responsibilities (n_samples, n_components) float32 and labels (n_samples,) int32."""
        e = self.expect(params, want_resp=True)
        return e.resp, e.labels

    def refine_needed(self, stats: SuffStats, new: GMMParams) -> dict:
        """Components whose moments in ``stats`` are too imprecise for the covariances of ``new``.

        An expanded component (moments about the centre) that ``new`` makes too narrow
        (:func:`~gmm_desktop.core.fast.condition` above ``MAX_CONDITION``), or an anchored one whose
        new mean moved too far from its anchor for its new width. Returns ``{component: new anchor}``:
        the new means, about which no digits cancel.
        """
        lam = np.linalg.eigvalsh(new.full_covariances())[:, 0]
        m_c = new.means - stats.center
        off = m_c - stats.anchors
        r2 = np.where(stats.anchored, np.einsum("ij,ij->i", off, off),
                      np.maximum(self.radius2, np.einsum("ij,ij->i", m_c, m_c)))
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = np.where(lam > 0, r2 / lam, np.inf)
        bad = ~(cond <= fast.MAX_CONDITION)  # NaN counts as bad
        return {int(j): m_c[j] for j in np.flatnonzero(bad)}


class InMemoryEngine(Engine):
    """The E-step over a data set in memory: blocks of points over the thread pool (:mod:`fast`).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Checked data (:func:`gmm_desktop.core.em.check_data`).
    n_threads : int, optional
        Threads for large data (default: every core, at most 4).
    dtype : {'float64', 'float32'}
        Type in which the blocks hold the data and compute (see :class:`~gmm_desktop.core.fast.Moments`);
        the log-likelihood and statistics are summed in float64 either way.
    """

    def __init__(self, X: np.ndarray, n_threads: int | None = None, dtype: str = "float64"):
        self.data = fast.Moments(X, dtype=check_dtype(dtype))
        self.dtype = str(self.data.dtype)
        self.n_samples, self.n_features = X.shape
        self.center, self.radius2 = self.data.center, self.data.radius2
        self.max_abs = float(np.max(np.abs(X)))
        self.n_threads = n_threads
        self._lognorm = np.empty(self.n_samples)  # each point's log density under the last E-step's params
        self._lognorm_of: GMMParams | None = None

    def direct_anchors(self, params: GMMParams) -> dict:
        return self.data.direct_anchors(params)

    def expect(self, params: GMMParams, *, anchors: dict | None = None, want_resp: bool = False) -> Expectation:
        self._lognorm_of = None
        ll, packed, resp = self.data.expect(params, anchors=anchors, want_resp=want_resp,
                                            n_threads=self.n_threads, lognorm_out=self._lognorm)
        self._lognorm_of = params
        stats = SuffStats.from_packed(self.n_samples, ll, packed, self.center, self.radius2, params.n_components)
        return Expectation(ll, stats, *(resp or (None, None)))

    def refine(self, params: GMMParams, stats: SuffStats, anchors: dict) -> SuffStats:
        if self._lognorm_of is not params:
            return super().refine(params, stats, anchors)
        packed = self.data.refine(params, anchors, self._lognorm, self.n_threads)
        return stats.with_components(packed.direct, packed.s0, packed.anchors, packed.s1, packed.s2, packed.diagonal)


class ReferenceEngine(Engine):
    """The direct computation of :mod:`gmm_desktop.core.em` over the whole data set at once.

    The reference the fast engine is tested against (``EMFitter(..., fast=False)``): SciPy's
    ``logsumexp`` over (n_components, n_samples) log densities, and each component's moments taken
    about its new mean (two passes, as scikit-learn). Holds the responsibilities, K x N numbers.
    """

    def __init__(self, X: np.ndarray):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.center = np.zeros(self.n_features)
        self.radius2 = float(np.max(np.einsum("ij,ij->i", X, X)))
        self.max_abs = float(np.max(np.abs(X)))
        self._resp = None
        self._resp_of: GMMParams | None = None

    def direct_anchors(self, params: GMMParams) -> dict:
        return {}  # every component is anchored at its new mean in _stats

    def expect(self, params: GMMParams, *, anchors: dict | None = None, want_resp: bool = False) -> Expectation:
        self._resp_of = None
        log_prob_norm, log_resp = em.e_step(self.X, params)
        ll = float(log_prob_norm.sum())
        resp = np.exp(log_resp)  # (K, n)
        self._resp, self._resp_of = resp, params
        nk = resp.sum(axis=1)
        means = (resp @ self.X) / (nk + 10.0 * np.finfo(np.float64).eps)[:, None]
        moved = {j: means[j] for j in range(params.n_components)}
        moved.update(anchors or {})
        idx = np.arange(params.n_components)
        s0, s1, s2, a = self._moments(resp, moved, idx)
        stats = SuffStats(self.n_samples, ll, s0, self.center, a, s1, s2, np.ones(params.n_components, bool),
                          self.radius2)
        out = Expectation(ll, stats)
        if want_resp:
            out = out._replace(resp=resp.T.astype(np.float32), labels=np.argmax(log_resp, axis=0).astype(np.int32))
        return out

    def _moments(self, resp, anchors: dict, idx):
        d = self.n_features
        a = np.array([anchors[j] for j in idx], dtype=np.float64).reshape(len(idx), d)
        s0 = resp[idx].sum(axis=1)
        s1 = np.empty((len(idx), d))
        s2 = np.empty((len(idx), d, d))
        for c, j in enumerate(idx):
            diff = self.X - a[c]
            rd = resp[j][:, None] * diff
            s1[c] = rd.sum(axis=0)
            s2[c] = rd.T @ diff
        return s0, s1, s2, a

    def refine(self, params: GMMParams, stats: SuffStats, anchors: dict) -> SuffStats:
        if self._resp_of is not params:
            return super().refine(params, stats, anchors)
        idx = np.array(sorted(anchors), dtype=np.intp)
        s0, s1, s2, a = self._moments(self._resp, anchors, idx)
        return stats.with_components(idx, s0, a, s1, s2)
