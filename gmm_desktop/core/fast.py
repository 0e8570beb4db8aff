"""The fitter's fast path: one EM iteration as two small matrix products per block of points.

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
data's mean. A component for which more than 4 of the 16 digits would be lost (see
:meth:`Moments.condition`) is computed directly instead, in every block, and its M-step moments are
taken about its own mean, so results agree with the direct computation of
:mod:`gmm_desktop.core.em` (and with scikit-learn) to about 1e-10 whatever the data; the error of the summed log-likelihood stays far below ``tol``.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gmm_desktop.core.params import GMMParams

#: Largest loss of precision accepted on the fast path: R^2 / lambda_min. At 1e4 a log density is
#: off by ~2e-12, so even summed over millions of points the total log-likelihood stays far below
#: the default tol of 1e-4 (at 1e9 rounding noise decided convergence and showed as decreases).
MAX_CONDITION = 1e4
#: The fast path is used up to this many features (the feature count grows as D^2 / 2).
MAX_FAST_FEATURES = 8
#: Points per block times components times features. Below OpenBLAS's threshold for threading a
#: product (65536 * 4), so each block's products run on the calling thread: the blocks themselves
#: are spread over threads, and BLAS threads never spin against them. Also keeps blocks in cache.
BLOCK_ELEMENTS = 200_000
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


class Moments:
    """Quadratic features of a data set about its mean, laid out features x points.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    """

    def __init__(self, X: np.ndarray):
        n, d = X.shape
        self.n_samples, self.n_features = n, d
        self.center = X.mean(axis=0)
        Xc = X - self.center
        self.iu = np.triu_indices(d)
        n_feat = 1 + d + len(self.iu[0])
        F = np.empty((n_feat, n))
        F[0] = 1.0
        F[1 : 1 + d] = Xc.T
        for col, (i, j) in enumerate(zip(*self.iu)):
            np.multiply(F[1 + i], F[1 + j], out=F[1 + d + col])
        self.F = F
        self.radius2 = float(np.max(np.einsum("ij,ij->i", Xc, Xc))) if n else 0.0

    # ---------------------------------------------------------------- conditioning
    def condition(self, params: GMMParams) -> np.ndarray:
        """``R_k^2 / lambda_min(Sigma_k)`` per component: ~ the digits the expansion loses, as a power of 10.

        Returns
        -------
        ndarray of shape (n_components,)
            ``inf`` for a covariance that is not positive definite.
        """
        lam_min = np.linalg.eigvalsh(params.full_covariances())[:, 0]
        off = params.means - self.center
        r2 = np.maximum(self.radius2, np.einsum("ij,ij->i", off, off))
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = np.where(lam_min > 0, r2 / lam_min, np.inf)
        return np.where(np.isfinite(cond), cond, np.inf)

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

    def _direct_rows(self, params, prec_chol_full):
        """Components too narrow for the expansion, computed directly: (k, centred mean, U, const)."""
        bad = np.flatnonzero(self.condition(params) > MAX_CONDITION)
        m = params.means - self.center
        log_det = np.sum(np.log(np.diagonal(prec_chol_full, axis1=1, axis2=2)), axis=1)
        with np.errstate(divide="ignore"):
            const = log_det - 0.5 * self.n_features * _LOG_2PI + np.log(params.weights)
        return [(int(j), m[j], prec_chol_full[j], const[j]) for j in bad]

    def e_step(self, params: GMMParams, prec_full, log_det, prec_chol_full, want_resp=False, n_threads=None):
        """Log-likelihood, M-step statistics, and optionally responsibilities.

        Returns
        -------
        log_likelihood : float
            Total over points.
        stats : tuple
            ``S`` of shape (n_components, n_feat), ``sum_n resp[n, k] f(x_n)``; and a dict
            ``{k: (a_k, s0, s1, s2)}`` of the moments about ``a_k`` (the component's centred mean)
            of the components computed directly.
        resp : tuple or None
            With ``want_resp``: the responsibilities, ndarray of shape (n_samples, n_components),
            float32, and the most responsible component of each point, (n_samples,) int32.
        """
        W = self.weights_matrix(params, prec_full, log_det)
        direct = self._direct_rows(params, prec_chol_full)
        k = params.n_components
        n = self.n_samples
        resp_out = (np.empty((n, k), dtype=np.float32), np.empty(n, dtype=np.int32)) if want_resp else None
        block = max(256, BLOCK_ELEMENTS // (k * self.F.shape[0]))
        bounds = list(range(0, n, block)) + [n]
        spans = list(zip(bounds[:-1], bounds[1:]))
        threads = (n_threads or default_threads()) if n >= MIN_PARALLEL_SAMPLES else 1
        if threads == 1:
            parts = [self._e_step_span(W, direct, spans, resp_out)]
        else:
            groups = [spans[t::threads] for t in range(threads)]
            parts = list(_pool().map(lambda g: self._e_step_span(W, direct, g, resp_out), groups))
        ll = math.fsum(p[0] for p in parts)
        stats = sum(p[1] for p in parts[1:]) + parts[0][1]
        shifted = {j: (m, *(sum(p[2][j][i] for p in parts) for i in range(3))) for j, m, *_ in direct}
        return ll, (stats, shifted), resp_out

    def _e_step_span(self, W, direct, spans, resp_out):
        F = self.F
        d = self.n_features
        k = W.shape[0]
        stats = np.zeros((k, F.shape[0]))
        # moments of the directly computed components about their own means (no cancellation)
        shifted = {j: [0.0, np.zeros(d), np.zeros((d, d))] for j, *_ in direct}
        ll_parts = []
        for lo, hi in spans:
            Fb = F[:, lo:hi]
            logp = W @ Fb  # (K, n)
            diffs = {}
            for j, m, U, const in direct:
                diffs[j] = Fb[1 : 1 + d].T - m
                y = diffs[j] @ U
                logp[j] = const - 0.5 * np.einsum("ij,ij->i", y, y)
            top = logp.max(axis=0)
            finite_top = np.where(np.isfinite(top), top, 0.0)
            logp -= finite_top
            np.exp(logp, out=logp)
            total = logp.sum(axis=0)
            logp /= total
            ll_parts.append(float(np.sum(np.log(total) + finite_top)))
            stats += logp @ Fb.T
            for j, diff in diffs.items():
                rd = logp[j][:, None] * diff
                acc = shifted[j]
                acc[0] += logp[j].sum()
                acc[1] += rd.sum(axis=0)
                acc[2] += rd.T @ diff
            if resp_out is not None:
                resp_out[0][lo:hi] = logp.T
                resp_out[1][lo:hi] = logp.argmax(axis=0)  # along the long axis: cheap
        return math.fsum(ll_parts), stats, shifted

    # ---------------------------------------------------------------- M-step
    def m_step(self, stats, covariance_type: str, reg_covar: float) -> GMMParams:
        """Parameters from the statistics of :meth:`e_step`, with scikit-learn's update rules."""
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
            delta = (s1 - (nk[c] - s0) * a) / nk[c]  # new mean - a; s1 / nk unless the component is empty
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
        # S0 / nk is 1 but for a component with no points: its mean goes to 0 / eps = the origin, as on
        # the direct path and in scikit-learn, not to the data's centre
        means = means_c + (S[:, 0] / nk)[:, None] * self.center
        return GMMParams(nk / nk.sum(), means, cov, covariance_type), set(shifted)


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
