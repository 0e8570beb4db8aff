"""Edits of one component of a mixture's parameters, as new values (no EM here)."""

from __future__ import annotations

import numpy as np

from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.params import GMMParams


def with_component(params: GMMParams, k: int, weight=None, mean=None, covariance=None) -> GMMParams:
    """``params`` with component ``k``'s weight, mean or covariance replaced (None keeps it).

    A new weight keeps the others in proportion, so that all sum to 1. A covariance is a full
    ``(D, D)`` matrix; a diagonal model keeps its diagonal, a spherical one its mean variance, a
    tied one takes it as the shared matrix.

    Raises
    ------
    ParamsError
        For a component that does not exist, a weight outside (0, 1), a mean or covariance of the
        wrong shape, or a covariance that is not symmetric positive definite.
    """
    K, D = params.means.shape
    if not 0 <= k < K:
        raise ParamsError(f"no component {k + 1}: the model has {K} (numbered 1 to {K})")
    weights, means, covs = params.weights.copy(), params.means.copy(), params.covariances.copy()
    if weight is not None:
        weight = float(weight)
        if not 0.0 < weight < 1.0 or (K == 1 and weight != 1.0):
            raise ParamsError(f"a weight must be between 0 and 1 (exclusive), got {weight:g}")
        others = np.delete(np.arange(K), k)
        rest = weights[others].sum()
        weights[others] = (1.0 - weight) * (weights[others] / rest if rest > 0 else 1.0 / len(others))
        weights[k] = weight
    if mean is not None:
        mean = np.asarray(mean, dtype=float)
        if mean.shape != (D,) or not np.all(np.isfinite(mean)):
            raise ParamsError(f"a mean needs {D} finite numbers, got {mean.tolist()}")
        means[k] = mean
    if covariance is not None:
        cov = np.asarray(covariance, dtype=float)
        if cov.shape != (D, D) or not np.all(np.isfinite(cov)):
            raise ParamsError(f"a covariance must be a {D}x{D} matrix of finite numbers")
        if not np.allclose(cov, cov.T, rtol=1e-9, atol=1e-12):
            raise ParamsError("a covariance must be symmetric: make the two off-diagonal entries equal")
        if np.linalg.eigvalsh(cov)[0] <= 0:
            raise ParamsError("a covariance must be positive definite: make the variances larger "
                              "than the covariance between them")
        ctype = params.covariance_type
        if ctype == "full":
            covs[k] = cov
        elif ctype == "diag":
            covs[k] = np.diag(cov)
        elif ctype == "spherical":
            covs[k] = float(np.mean(np.diag(cov)))
        else:  # tied: one matrix for all
            covs = cov
    return GMMParams(weights, means, covs, params.covariance_type).validated()
