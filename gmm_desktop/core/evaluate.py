"""A fitted mixture evaluated on any number of points, block by block.

Log densities, responsibilities and hard labels of new data, computed directly (no expansion of the
quadratic form, so as exact as scikit-learn's) through the Cholesky factors of the precisions: per
block of points one product ``X_b @ [U_1 ... U_K]`` gives every component's whitened coordinates,
whose squared norms are the Mahalanobis distances. Nothing of size (n_samples, n_components) is
allocated but the responsibilities asked for; blocks stay in cache and are spread over the E-step's
thread pool (NumPy releases the GIL).
"""

from __future__ import annotations

import math

import numpy as np

from gmm_desktop.core import fast as _fast
from gmm_desktop.core.em import precision_cholesky
from gmm_desktop.core.params import GMMParams

_LOG_2PI = math.log(2.0 * math.pi)
#: Multiply-adds of a block's product (components x features x points x features). At most OpenBLAS's
#: threshold for threading a product (65536 * 4): each product runs on the thread that calls it, and the
#: blocks are spread over threads instead (BLAS threads woken for tiny products cost milliseconds each
#: on a busy machine).
BLOCK_PRODUCT = 262_144


class MixtureEvaluator:
    """Evaluates one mixture on data.

    Parameters
    ----------
    params : GMMParams
    prec_chol : ndarray, optional
        The compact Cholesky factors of the precisions (as :func:`gmm_desktop.core.em.precision_cholesky`
        returns them), when the caller has them already.

    Raises
    ------
    FitError
        When a covariance is not positive definite.
    """

    def __init__(self, params: GMMParams, prec_chol=None):
        if prec_chol is None:
            prec_chol = precision_cholesky(params)
        k, d = params.n_components, params.n_features
        _, log_det, U = _fast.full_precisions(params, np.asarray(prec_chol, dtype=np.float64))
        self.n_components, self.n_features = k, d
        # whitened coordinates of every component at once, components x points:
        # row k*d + i of  U_all @ x - shift  is  (U_k' (x - mu_k))_i
        self._U_all = np.ascontiguousarray(np.transpose(U, (0, 2, 1)).reshape(k * d, d))
        self._shift = np.einsum("kj,kji->ki", params.means, U).reshape(k * d, 1)
        with np.errstate(divide="ignore"):
            self._const = (log_det - 0.5 * d * _LOG_2PI + np.log(params.weights))[:, None]

    def _weighted_log_prob(self, Xb: np.ndarray) -> np.ndarray:
        """``log w_k + log N(x | k)`` of a block, ndarray of shape (n_components, n_block)."""
        d = self.n_features
        y = self._U_all @ Xb.T
        y -= self._shift
        y *= y
        logp = y[0::d].copy()
        for i in range(1, d):
            logp += y[i::d]
        logp *= -0.5
        logp += self._const
        return logp

    def _block_rows(self) -> int:
        return max(64, BLOCK_PRODUCT // (self.n_components * self.n_features**2))

    def evaluate(self, X, *, resp=None, log_density=None, labels=None, n_threads=None) -> None:
        """Fill the given outputs for the rows of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features), float64
        resp : ndarray of shape (n_samples, n_components), optional
            Receives the responsibilities.
        log_density : ndarray of shape (n_samples,), optional
            Receives the log density of each point under the mixture.
        labels : ndarray of shape (n_samples,), optional
            Receives the most responsible component of each point (argmax of the weighted log
            densities, first on ties).
        n_threads : int, optional
            Threads to spread the blocks over (default: the E-step's, see
            :func:`gmm_desktop.core.fast.default_threads`).
        """
        n = X.shape[0]
        block = self._block_rows()
        spans = [(lo, min(n, lo + block)) for lo in range(0, n, block)]
        threads = (n_threads or _fast.default_threads()) if n >= _fast.MIN_PARALLEL_SAMPLES else 1

        def run(group):
            for lo, hi in group:
                logp = self._weighted_log_prob(X[lo:hi])  # components x points
                if labels is not None:
                    labels[lo:hi] = logp.argmax(axis=0)
                if resp is None and log_density is None:
                    continue
                top = logp.max(axis=0)
                top[~np.isfinite(top)] = 0.0
                logp -= top
                with np.errstate(under="ignore"):
                    np.exp(logp, out=logp)
                total = logp.sum(axis=0)
                if resp is not None:
                    logp /= total
                    resp[lo:hi] = logp.T
                if log_density is not None:
                    with np.errstate(divide="ignore"):
                        log_density[lo:hi] = np.log(total) + top

        if threads == 1 or len(spans) == 1:
            run(spans)
        else:
            list(_fast._pool().map(run, [spans[t::threads] for t in range(threads)]))

    # -- conveniences
    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities, ndarray of shape (n_samples, n_components)."""
        out = np.empty((X.shape[0], self.n_components))
        self.evaluate(X, resp=out)
        return out

    def score_samples(self, X) -> np.ndarray:
        """Log density of each point under the mixture, ndarray of shape (n_samples,)."""
        out = np.empty(X.shape[0])
        self.evaluate(X, log_density=out)
        return out

    def predict(self, X) -> np.ndarray:
        """Most responsible component of each point, ndarray of shape (n_samples,), int64."""
        out = np.empty(X.shape[0], dtype=np.int64)
        self.evaluate(X, labels=out)
        return out
