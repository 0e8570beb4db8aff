"""The block code of the E-step: an EM iteration as a few small matrix products per block of points.

A Gaussian log density is a linear function of the quadratic features of a point,

    log w_k + log N(x | mu_k, Sigma_k) = W[k] . f(x),   f(x) = [1, x_i, x_i x_j (i <= j)],

and the M-step needs only the responsibility-weighted sums of the same features
(``S[k] = sum_n resp[n, k] f(x_n)``: the counts, first and second moments). So the E-step is one
product ``W @ F`` per block of points, followed by log-sum-exp over components, and the M-step
statistics are one product ``resp @ F.T``. Nothing of size (n_components, n_samples) is ever held
in memory, blocks stay in cache, and blocks are shared between threads (NumPy releases the GIL).

Expanding the quadratic form trades exactness for speed: the terms cancel, losing about
``log10(R^2 / lambda_min)`` digits, where R is the largest distance of a point (or mean) from the
data's centre and lambda_min the smallest covariance eigenvalue. The features are taken about the
data's mean. A component for which more than 4 of the 16 digits would be lost (see :func:`condition`)
is computed *directly* instead: ``|U^T (x - mu_k)|^2`` with its M-step moments about its own mean, so
results agree with the direct computation of :mod:`gmm_desktop.core.em` (and with scikit-learn) to
about 1e-10 whatever the data. The directly computed components of a chunk of consecutive blocks are
done together, as a few batched products over the whole chunk, so that one narrow component costs
about what an expanded one does (no per-block, per-component Python work).

With more than :data:`MAX_FAST_FEATURES` features the quadratic features would be too many, and every
component of a full or tied covariance is computed directly (the same chunked code, without the
expanded product). Diagonal and spherical covariances have an expansion of their own at any width:
``log w_k + log N(x | mu_k, diag(v_k))`` is linear in ``[1, x_i, x_i^2]`` (2 D + 1 features, built per
block from the data), so their E-step is again one product per block, and their M-step needs only the
per-feature sums of ``r x`` and ``r x^2`` (the statistics' second moments are then diagonal:
``Packed.diagonal``). Components too narrow for it (the same :func:`condition`) are computed directly,
elementwise, with their moments about their own mean.

This module returns raw arrays; :mod:`gmm_desktop.core.stats` turns them into a
:class:`~gmm_desktop.core.stats.SuffStats` value and :mod:`gmm_desktop.core.engine` drives it.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from gmm_desktop.core.em import precision_cholesky
from gmm_desktop.core.params import GMMParams

#: Largest loss of precision accepted on the fast path: R^2 / lambda_min. At 1e4 a log density is
#: off by ~2e-12, so even summed over millions of points the total log-likelihood stays far below
#: the default tol of 1e-4 (at 1e9 rounding noise decided convergence and showed as decreases).
MAX_CONDITION = 1e4
#: The expanded path is used up to this many features (the feature count grows as D^2 / 2).
MAX_FAST_FEATURES = 8
#: Points per block times components times features. Below OpenBLAS's threshold for threading a
#: product (65536 * 4), so each block's products run on the calling thread: the blocks themselves
#: are spread over threads, and BLAS threads never spin against them. Also keeps blocks in cache.
BLOCK_ELEMENTS = 200_000
#: Size of the temporaries of the directly computed components of a chunk (directly computed
#: components x features x points): ~1 MB, in cache, and each batched product below OpenBLAS's
#: threading threshold too (see :data:`BLOCK_ELEMENTS`).
CHUNK_ELEMENTS = 131_072
#: Responsibilities below e^EXP_FLOOR are set to exactly 0. NumPy's ``exp`` takes a slow path for
#: arguments whose result is subnormal (-745 < x < -708: 45x slower per element), underflows
#: (x < -745: 15x) or is -inf (3x), and a narrow component's far points reach -1e6 (a block took 8x
#: longer). So arguments are raised to the floor, exponentiated at full speed, and e^EXP_FLOOR is
#: subtracted from every result (one fast pass; a masked assignment cost 3x the exp): no result moves
#: by more than ~1e-304, and a responsibility that underflowed to 0 before is still exactly 0 (a
#: component collapsed onto identical points still fails clearly).
EXP_FLOOR = -700.0
_EXP_FLOOR_VALUE = math.exp(EXP_FLOOR)
#: The same floor for float32 blocks (e^-87 is just above float32's smallest normal number).
EXP_FLOOR_32 = -87.0
_EXP_FLOOR_VALUE_32 = np.exp(np.full(64, EXP_FLOOR_32, dtype=np.float32))[0]  # the vector path's value
#: Types the blocks may hold the data in (:class:`Moments`' ``dtype``).
DTYPES = ("float64", "float32")
#: Covariance types whose log density is expanded in ``[1, x_i, x_i^2]`` (2 D + 1 features) when the
#: data have no quadratic features (more than :data:`MAX_FAST_FEATURES` features).
DIAGONAL_TYPES = ("diag", "spherical")
#: Smallest data set worth splitting across threads.
MIN_PARALLEL_SAMPLES = 50_000

_LOG_2PI = math.log(2.0 * math.pi)
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_thread_setup = None  # run by each pool thread as it starts (see set_thread_setup)


def set_thread_setup(setup) -> None:
    """Have every thread of the E-step's pool run ``setup()`` when it starts.

    The desktop app lowers their priority this way, so that the blocks of an EM iteration, not just
    the thread that drives it, leave the event loop ahead of them. Threads already started keep
    what they had: call this before the first fit.
    """
    global _thread_setup
    _thread_setup = setup


def _start_thread() -> None:
    if _thread_setup is not None:
        _thread_setup()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:  # the window's EM thread and a Find K sweep may both get here first
        if _POOL is not None:
            return _POOL
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                   thread_name_prefix="gmm-em", initializer=_start_thread)
    return _POOL


def default_threads() -> int:
    """Threads the E-step spreads blocks over by default: every core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def condition(params: GMMParams, center: np.ndarray, radius2: float) -> np.ndarray:
    """``max(R^2, |mu_k - center|^2) / lambda_min(Sigma_k)`` per component, ``R^2 = radius2``.

    About the number of digits (as a power of 10) lost by expanding component ``k``'s quadratic form
    about ``center`` when the data reach ``sqrt(radius2)`` from it.

    Returns
    -------
    ndarray of shape (n_components,)
        ``inf`` for a covariance that is not positive definite.
    """
    lam_min = np.linalg.eigvalsh(params.full_covariances())[:, 0]
    off = params.means - center
    r2 = np.maximum(radius2, np.einsum("ij,ij->i", off, off))
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(lam_min > 0, r2 / lam_min, np.inf)
    return np.where(np.isfinite(cond), cond, np.inf)


def direct_anchors(params: GMMParams, center: np.ndarray, radius2: float, n_features: int | None = None) -> dict:
    """The components an E-step computes directly, with the anchors of their moments.

    Every component when there are more than :data:`MAX_FAST_FEATURES` features (but for diagonal and
    spherical covariances, which have their own expansion at any width), else those whose
    :func:`condition` exceeds :data:`MAX_CONDITION`. Anchors are the components' means minus
    ``center`` (moments about the own mean: no cancellation).

    Returns
    -------
    dict {component: ndarray of shape (n_features,)}
    """
    d = params.n_features if n_features is None else n_features
    if d > MAX_FAST_FEATURES and params.covariance_type not in DIAGONAL_TYPES:
        idx = range(params.n_components)
    else:
        idx = np.flatnonzero(condition(params, center, radius2) > MAX_CONDITION).tolist()
    return {int(j): params.means[j] - center for j in idx}


def full_precisions(params: GMMParams, prec_chol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precisions from the compact Cholesky factors of :func:`gmm_desktop.core.em.precision_cholesky`.

    Returns
    -------
    prec_full : ndarray of shape (n_components, n_features, n_features)
    log_det : ndarray of shape (n_components,)
        Log-determinants of the Cholesky factors (half the log-determinant of each precision).
    prec_chol_full : ndarray of shape (n_components, n_features, n_features)
        The factors ``U`` as full matrices, ``U @ U.T = prec_full``.
    """
    k, d = params.n_components, params.n_features
    ctype = params.covariance_type
    if ctype == "full":
        U = prec_chol
    elif ctype == "tied":
        U = np.broadcast_to(prec_chol, (k, d, d))
    elif ctype == "diag":
        U = np.zeros((k, d, d))
        U[:, np.arange(d), np.arange(d)] = prec_chol
    else:
        U = prec_chol[:, None, None] * np.eye(d)[None]
    log_det = np.sum(np.log(np.diagonal(U, axis1=1, axis2=2)), axis=1)
    return U @ np.swapaxes(U, 1, 2), log_det, U


def _diagonal_matrices(diagonals: np.ndarray) -> np.ndarray:
    """(J, D) diagonals as (J, D, D) matrices, zeros off the diagonal."""
    j, d = diagonals.shape
    out = np.zeros((j, d, d))
    out[:, np.arange(d), np.arange(d)] = diagonals
    return out


class Packed(NamedTuple):
    """Raw statistics of an E-step (see :meth:`gmm_desktop.core.stats.SuffStats.from_packed`).

    ``S`` (n_components, n_feat): ``sum_n r_nk f(x_n)`` about the centre, or None with every
    component direct; ``direct`` (J,) the directly computed components, ``anchors`` (J, D) their
    anchors (about the centre), ``s0`` (J,), ``s1`` (J, D), ``s2`` (J, D, D) their moments about
    ``centre + anchors``. ``diagonal``: only the diagonals of the second moments were summed (a
    diagonal or spherical E-step beyond :data:`MAX_FAST_FEATURES` features); the off-diagonal
    entries of ``S`` and ``s2`` are zeros, not moments.
    """

    S: np.ndarray | None
    direct: np.ndarray
    anchors: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    diagonal: bool = False


class _Plan(NamedTuple):
    W: np.ndarray | None  # (K, n_feat) weights of the expanded features, or None (all direct)
    direct: np.ndarray  # (J,) components computed directly
    m: np.ndarray  # (J, D) their means minus the centre
    Ut: np.ndarray  # (J, D, D) U^T: |U^T (x - mu)|^2 is the Mahalanobis distance
    const: np.ndarray  # (J,) log w + log det U - D/2 log 2 pi
    anchor: np.ndarray  # (J, D) moments are about centre + anchor
    same_anchor: bool  # anchor == m (the moments' differences are the E-step's)
    diagonal: bool = False  # W over [1, x_i, x_i^2]; direct components through pc, not Ut
    pc: np.ndarray | None = None  # (J, D) square roots of the direct components' precisions (diagonal)


class Moments:
    """A data set laid out for the blocked E-step: features x points, about a centre.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    center : ndarray of shape (n_features,), optional
        Default: the data's mean.
    expand : bool, optional
        Build the quadratic features (default: when ``n_features <= MAX_FAST_FEATURES``); without
        them every component of a full or tied covariance is computed directly, and diagonal and
        spherical ones are expanded in ``[1, x_i, x_i^2]``, block by block (:meth:`diagonal`).
    dtype : {'float64', 'float32'}
        Type of the data held (``F``, ``Xt``) and of each block's arithmetic. With float32 the data
        take half the memory and a block's products and ``exp`` run about twice as fast; every
        block's log-likelihood and statistics are still summed into float64 totals (per-point log
        densities are then good to about 1e-6 relative instead of 1e-15; see docs/performance.md).

    Attributes
    ----------
    F : ndarray of shape (n_feat, n_samples) or None
        ``[1, x - c, (x - c)_i (x - c)_j (i <= j)]`` per point.
    Xt : ndarray of shape (n_features, n_samples)
        ``(x - c)^T`` (rows of ``F`` when expanded).
    radius2 : float
        Largest ``|x - c|^2``.
    """

    def __init__(self, X: np.ndarray, center=None, expand: bool | None = None, dtype="float64"):
        n, d = X.shape
        self.n_samples, self.n_features = n, d
        if str(np.dtype(dtype)) not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        single = self.dtype == np.float32
        self._floor, self._floor_value = ((EXP_FLOOR_32, _EXP_FLOOR_VALUE_32) if single
                                          else (EXP_FLOOR, _EXP_FLOOR_VALUE))
        self.center = X.mean(axis=0) if center is None else np.array(center, dtype=np.float64)
        Xc = X - self.center
        self.iu = np.triu_indices(d)
        self.expand = d <= MAX_FAST_FEATURES if expand is None else bool(expand)
        if self.expand:
            n_feat = 1 + d + len(self.iu[0])
            F = np.empty((n_feat, n), dtype=self.dtype)
            F[0] = 1.0
            F[1 : 1 + d] = Xc.T
            for col, (i, j) in enumerate(zip(*self.iu)):
                if single:  # the products of the float64 values, rounded once
                    F[1 + d + col] = Xc[:, i] * Xc[:, j]
                else:
                    np.multiply(F[1 + i], F[1 + j], out=F[1 + d + col])
            self.F = F
            self.Xt = F[1 : 1 + d]
        else:
            self.F = None
            self.Xt = np.ascontiguousarray(Xc.T, dtype=self.dtype)
        self.radius2 = float(np.max(np.einsum("ij,ij->i", Xc, Xc))) if n else 0.0

    # ---------------------------------------------------------------- conditioning
    def condition(self, params: GMMParams) -> np.ndarray:
        """:func:`condition` about this data set's centre and radius."""
        return condition(params, self.center, self.radius2)

    def direct_anchors(self, params: GMMParams) -> dict:
        """:func:`direct_anchors` for this data set."""
        if not self.expand and params.covariance_type not in DIAGONAL_TYPES:
            return {j: params.means[j] - self.center for j in range(params.n_components)}
        return direct_anchors(params, self.center, self.radius2, self.n_features)

    def diagonal(self, params: GMMParams) -> bool:
        """Whether the E-step of ``params`` expands in ``[1, x_i, x_i^2]`` (diagonal or spherical
        covariances without the quadratic features): only the diagonals of the second moments."""
        return not self.expand and params.covariance_type in DIAGONAL_TYPES

    # ---------------------------------------------------------------- E-step
    def weights_matrix(self, params: GMMParams, prec_full: np.ndarray, log_det: np.ndarray) -> np.ndarray:
        """``W`` of shape (n_components, n_feat) with ``W @ f(x) = log w_k + log N(x | k)``."""
        d = self.n_features
        m = params.means - self.center  # (K, D)
        pm = np.einsum("kij,kj->ki", prec_full, m)  # P m
        W = np.empty((params.n_components, self.F.shape[0]))
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        W[:, 0] = -0.5 * np.einsum("ki,ki->k", m, pm) + log_det - 0.5 * d * _LOG_2PI + log_w
        W[:, 1 : 1 + d] = pm
        i, j = self.iu
        W[:, 1 + d :] = np.where(i == j, -0.5, -1.0)[None, :] * prec_full[:, i, j]
        return W

    def diagonal_weights(self, params: GMMParams, pc: np.ndarray, log_det: np.ndarray) -> np.ndarray:
        """``W`` of shape (n_components, 1 + 2 D) with ``W @ [1, x - c, (x - c)^2] = log w_k + log N(x | k)``
        for diagonal precisions ``pc^2`` (``pc`` of shape (n_components, n_features))."""
        d = self.n_features
        m = params.means - self.center  # (K, D)
        prec = pc * pc
        pm = m * prec
        W = np.empty((params.n_components, 1 + 2 * d))
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        W[:, 0] = -0.5 * np.einsum("ki,ki->k", m, pm) + log_det - 0.5 * d * _LOG_2PI + log_w
        W[:, 1 : 1 + d] = pm
        W[:, 1 + d :] = -0.5 * prec
        return W

    def _plan(self, params: GMMParams, anchors: dict | None, expanded: bool = True) -> _Plan:
        prec_chol = precision_cholesky(params)  # FitError for a covariance that is not positive definite
        if self.diagonal(params):
            return self._diagonal_plan(params, prec_chol, anchors, expanded)
        P, log_det, U = full_precisions(params, prec_chol)
        if anchors is None:
            anchors = self.direct_anchors(params)
        direct = np.array(sorted(anchors), dtype=np.intp)
        d = self.n_features
        m = params.means[direct] - self.center
        anchor = np.array([anchors[j] for j in direct], dtype=np.float64).reshape(len(direct), d)
        with np.errstate(divide="ignore"):
            const = log_det[direct] - 0.5 * d * _LOG_2PI + np.log(params.weights[direct])
        W = self.weights_matrix(params, P, log_det) if (self.expand and expanded) else None
        Ut = np.ascontiguousarray(np.swapaxes(U[direct], 1, 2))
        same = bool(np.array_equal(anchor, m))
        if self.dtype != np.float64:  # the blocks' type; the anchors reported are the rounded ones used
            W = None if W is None else W.astype(self.dtype)
            m, Ut, const, anchor = (a.astype(self.dtype) for a in (m, Ut, const, anchor))
        return _Plan(W, direct, m, Ut, const, anchor, same)

    def _diagonal_plan(self, params: GMMParams, prec_chol, anchors: dict | None, expanded: bool) -> _Plan:
        """The plan of a diagonal or spherical E-step: ``W`` over ``[1, x_i, x_i^2]`` (2 D + 1 features,
        built block by block) and the components too narrow for it computed directly, elementwise."""
        d = self.n_features
        pc = prec_chol if params.covariance_type == "diag" else np.repeat(prec_chol[:, None], d, axis=1)
        log_det = np.sum(np.log(pc), axis=1)
        if anchors is None:
            anchors = self.direct_anchors(params)
        direct = np.array(sorted(anchors), dtype=np.intp)
        m = params.means[direct] - self.center
        anchor = np.array([anchors[j] for j in direct], dtype=np.float64).reshape(len(direct), d)
        with np.errstate(divide="ignore"):
            const = log_det[direct] - 0.5 * d * _LOG_2PI + np.log(params.weights[direct])
        W = self.diagonal_weights(params, pc, log_det) if expanded else None
        pc_direct = np.ascontiguousarray(pc[direct])
        same = bool(np.array_equal(anchor, m))
        if self.dtype != np.float64:
            W = None if W is None else W.astype(self.dtype)
            m, pc_direct, const, anchor = (a.astype(self.dtype) for a in (m, pc_direct, const, anchor))
        return _Plan(W, direct, m, None, const, anchor, same, True, pc_direct)

    def _chunks(self, k: int, n_direct: int, n_feat: int | None = None) -> list[tuple[int, int, int]]:
        """``(lo, hi, block)``: chunks of consecutive points, each run as blocks of ``block`` points
        (``n_feat``: the expanded features per point, None when every component is direct)."""
        n, d = self.n_samples, self.n_features
        direct_rows = max(1, min(CHUNK_ELEMENTS // max(1, n_direct * d), BLOCK_ELEMENTS // (d * d)))
        if n_feat:
            block = max(256, BLOCK_ELEMENTS // (k * n_feat))
            chunk = block if n_direct == 0 else block * max(1, direct_rows // block)
        else:
            block = chunk = max(256, direct_rows)
        bounds = list(range(0, n, chunk)) + [n]
        return [(lo, hi, block) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def _threads(self, n_threads) -> int:
        return (n_threads or default_threads()) if self.n_samples >= MIN_PARALLEL_SAMPLES else 1

    def _map(self, fn, chunks, n_threads):
        threads = min(self._threads(n_threads), len(chunks))
        if threads <= 1:
            return [fn(chunks)]
        groups = [chunks[t::threads] for t in range(threads)]
        return list(_pool().map(fn, groups))

    def expect(self, params: GMMParams, *, anchors: dict | None = None, want_resp: bool = False,
               n_threads: int | None = None, lognorm_out: np.ndarray | None = None):
        """Log-likelihood, M-step statistics, and optionally responsibilities.

        Parameters
        ----------
        params : GMMParams
        anchors : dict {component: ndarray of shape (n_features,)}, optional
            Components to compute directly, with the anchors (about the centre) of their moments.
            Default: :meth:`direct_anchors`.
        want_resp : bool
        n_threads : int, optional
        lognorm_out : ndarray of shape (n_samples,), optional
            Filled with each point's log density under the mixture (for :meth:`refine`).

        Returns
        -------
        log_likelihood : float
            Total over points.
        packed : Packed
        resp : tuple or None
            With ``want_resp``: the responsibilities, ndarray of shape (n_samples, n_components),
            float32, and the most responsible component of each point, (n_samples,) int32.

        Raises
        ------
        FitError
            When a covariance is not positive definite.
        """
        plan = self._plan(params, anchors)
        k, n = params.n_components, self.n_samples
        resp_out = (np.empty((n, k), dtype=np.float32), np.empty(n, dtype=np.int32)) if want_resp else None
        chunks = self._chunks(k, plan.direct.size, None if plan.W is None else plan.W.shape[1])
        parts = self._map(lambda g: self._e_step_span(plan, g, resp_out, lognorm_out), chunks, n_threads)
        ll = math.fsum(p[0] for p in parts)
        S = None if plan.W is None else sum(p[1] for p in parts[1:]) + parts[0][1]
        s0, s1, s2 = (sum(p[i] for p in parts[1:]) + parts[0][i] for i in (2, 3, 4))
        anchors_used = plan.anchor.astype(np.float64)
        if plan.diagonal:
            S, s2 = self._full_layout(S), _diagonal_matrices(s2)
        return ll, Packed(S, plan.direct, anchors_used, s0, s1, s2, plan.diagonal), resp_out

    def _full_layout(self, S: np.ndarray | None) -> np.ndarray | None:
        """Diagonal statistics ``[1, x_i, x_i^2]`` in the layout of the quadratic features (zeros off
        the diagonal)."""
        if S is None:
            return None
        d = self.n_features
        i, j = self.iu
        out = np.zeros((S.shape[0], 1 + d + i.size))
        out[:, : 1 + d] = S[:, : 1 + d]
        out[:, 1 + d + np.flatnonzero(i == j)] = S[:, 1 + d :]
        return out

    def _direct_log_prob(self, plan: _Plan, lo: int, hi: int):
        """Log densities (weighted) of the direct components over points lo:hi, and the differences."""
        diff = self.Xt[None, :, lo:hi] - plan.m[:, :, None]  # (J, D, n)
        if plan.diagonal:
            y = diff * plan.pc[:, :, None]
        else:
            y = np.matmul(plan.Ut, diff)
        y *= y
        logp = y.sum(axis=1)
        logp *= -0.5
        logp += plan.const[:, None]
        return logp, diff

    def _moments(self, plan: _Plan, r: np.ndarray, diff: np.ndarray, lo: int, hi: int, acc) -> None:
        if not plan.same_anchor:
            diff = self.Xt[None, :, lo:hi] - plan.anchor[:, :, None]
        acc[0] += r.sum(axis=1)
        if plan.diagonal:  # sum r (x - a) and sum r (x - a)^2 per feature: batched products with r
            rc = r[:, :, None]
            acc[1] += np.matmul(diff, rc)[:, :, 0]
            diff = diff * diff
            acc[2] += np.matmul(diff, rc)[:, :, 0]
            return
        rd = r[:, None, :] * diff
        acc[1] += rd.sum(axis=2)
        acc[2] += np.matmul(rd, diff.transpose(0, 2, 1))

    def _e_step_span(self, plan: _Plan, chunks, resp_out, lognorm_out):
        F = self.F
        W = plan.W
        direct = plan.direct
        n_direct = direct.size
        d = self.n_features
        S = None if W is None else np.zeros(W.shape)
        acc = [np.zeros(n_direct), np.zeros((n_direct, d)),
               np.zeros((n_direct, d) if plan.diagonal else (n_direct, d, d))]
        ll_parts = []
        floor, floor_value = self._floor, self._floor_value
        buf = None
        if plan.diagonal and W is not None:  # [1, x - c, (x - c)^2] of a block, built as it is used
            buf = np.empty((1 + 2 * d, max(c[2] for c in chunks)), dtype=self.dtype)
            buf[0] = 1.0
        for lo, hi, block in chunks:
            if n_direct:
                logp_direct, diff = self._direct_log_prob(plan, lo, hi)
            for b0 in range(lo, hi, block):
                b1 = min(b0 + block, hi)
                if W is not None:
                    if buf is None:
                        Fb = F[:, b0:b1]
                    else:
                        Fb = buf[:, : b1 - b0]
                        x = Fb[1 : 1 + d]
                        x[...] = self.Xt[:, b0:b1]
                        np.multiply(x, x, out=Fb[1 + d :])
                    logp = W @ Fb  # (K, n)
                    if n_direct:
                        logp[direct] = logp_direct[:, b0 - lo : b1 - lo]
                else:
                    logp = logp_direct[:, b0 - lo : b1 - lo]  # normalised in place: becomes the resp
                top = logp.max(axis=0)
                finite_top = np.where(np.isfinite(top), top, 0.0)
                logp -= finite_top
                np.maximum(logp, floor, out=logp)
                np.exp(logp, out=logp)
                logp -= floor_value  # the floor's e^-700 becomes exactly 0
                total = logp.sum(axis=0)
                logp /= total
                lognorm = np.log(total)
                lognorm += finite_top
                ll_parts.append(float(np.sum(lognorm, dtype=np.float64)))
                if lognorm_out is not None:
                    lognorm_out[b0:b1] = lognorm
                if W is not None:
                    S += logp @ Fb.T
                    if n_direct:
                        logp_direct[:, b0 - lo : b1 - lo] = logp[direct]
                if resp_out is not None:
                    resp_out[0][b0:b1] = logp.T
                    resp_out[1][b0:b1] = logp.argmax(axis=0)  # along the long axis: cheap
            if n_direct:
                self._moments(plan, logp_direct, diff, lo, hi, acc)
        return (math.fsum(ll_parts), S, *acc)

    # ---------------------------------------------------------------- the interface of before
    def e_step(self, params: GMMParams, prec_full=None, log_det=None, prec_chol_full=None, want_resp=False,
               n_threads=None):
        """:meth:`expect` in the form of before (kept for :mod:`gmm_desktop.core.vb`).

        Returns ``(log_likelihood, (S, shifted), resp)`` with ``shifted`` a dict ``{k: (a_k, s0, s1,
        s2)}`` of the moments about ``a_k`` (the component's centred mean) of the components computed
        directly. The precisions are recomputed from ``params``.
        """
        ll, packed, resp = self.expect(params, want_resp=want_resp, n_threads=n_threads)
        shifted = {int(j): (packed.anchors[c], packed.s0[c], packed.s1[c], packed.s2[c])
                   for c, j in enumerate(packed.direct)}
        return ll, (packed.S, shifted), resp

    def m_step(self, stats, covariance_type: str, reg_covar: float) -> tuple[GMMParams, set]:
        """Parameters from the statistics of :meth:`e_step`, with scikit-learn's update rules (the
        interface of before, kept for :mod:`gmm_desktop.core.vb`; the fitter uses
        :meth:`gmm_desktop.core.stats.SuffStats.to_params`)."""
        S, shifted = stats
        d = self.n_features
        k = S.shape[0]
        nk = S[:, 0] + 10.0 * np.finfo(np.float64).eps
        means_c = S[:, 1 : 1 + d] / nk[:, None]
        second = np.empty((k, d, d))
        i, j = self.iu
        second[:, i, j] = S[:, 1 + d :]
        second[:, j, i] = S[:, 1 + d :]
        scatter = second - nk[:, None, None] * np.einsum("ki,kj->kij", means_c, means_c)
        for c, (a, s0, s1, s2) in shifted.items():  # the same, about a nearby point: no cancellation
            delta = (s1 - (nk[c] - s0) * a) / nk[c]
            means_c[c] = a + delta
            scatter[c] = s2 - np.outer(delta, s1) - np.outer(s1, delta) + s0 * np.outer(delta, delta)
        if covariance_type == "full":
            cov = scatter / nk[:, None, None]
            cov[:, np.arange(d), np.arange(d)] += reg_covar
        elif covariance_type == "tied":
            cov = scatter.sum(axis=0) / nk.sum()
            cov.flat[:: d + 1] += reg_covar
        else:
            diag = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
            cov = diag if covariance_type == "diag" else diag.mean(axis=1)
        means = means_c + (S[:, 0] / nk)[:, None] * self.center
        return GMMParams(nk / nk.sum(), means, cov, covariance_type), set(shifted)

    # ---------------------------------------------------------------- re-taken moments
    def refine(self, params: GMMParams, anchors: dict, lognorm: np.ndarray, n_threads: int | None = None) -> Packed:
        """Moments of some components about new anchors, from the E-step of ``params`` that filled
        ``lognorm``: only those components' densities are computed (their responsibilities are
        ``exp(log p_k - lognorm)``), in chunks, on the pool.

        Returns
        -------
        Packed
            With ``S`` None; ``direct`` the components of ``anchors``.
        """
        plan = self._plan(params, anchors, expanded=False)
        chunks = [(lo, hi, hi - lo) for lo, hi, _ in self._chunks_direct(plan.direct.size)]

        def span(group):
            j, d = plan.direct.size, self.n_features
            acc = [np.zeros(j), np.zeros((j, d)), np.zeros((j, d) if plan.diagonal else (j, d, d))]
            for lo, hi, _ in group:
                logp, diff = self._direct_log_prob(plan, lo, hi)
                logp -= lognorm[None, lo:hi]
                np.maximum(logp, self._floor, out=logp)
                np.exp(logp, out=logp)
                logp -= self._floor_value  # the floor's e^-700 becomes exactly 0
                self._moments(plan, logp, diff, lo, hi, acc)
            return acc

        parts = self._map(span, chunks, n_threads)
        s0, s1, s2 = (sum(p[i] for p in parts[1:]) + parts[0][i] for i in range(3))
        if plan.diagonal:
            s2 = _diagonal_matrices(s2)
        return Packed(None, plan.direct, plan.anchor.astype(np.float64), s0, s1, s2, plan.diagonal)

    def _chunks_direct(self, n_direct: int):
        n, d = self.n_samples, self.n_features
        rows = max(256, min(CHUNK_ELEMENTS // max(1, n_direct * d), BLOCK_ELEMENTS // (d * d)))
        bounds = list(range(0, n, rows)) + [n]
        return [(lo, hi, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:])]
