"""Expectation-maximisation for Gaussian mixtures, in log space.

Standard EM, with the update rules of scikit-learn's ``GaussianMixture``:

* E-step: ``log_resp = log_prob - logsumexp(log_prob)`` where ``log_prob[n, k]`` is
  ``log w_k + log N(x_n | mu_k, Sigma_k)`` evaluated through the Cholesky factor of each
  covariance, so a point a thousand standard deviations from every mean still gets a finite
  log density and well-defined responsibilities.
* M-step: ``nk = sum_n resp[n, k] + 10 eps``, means ``resp.T @ X / nk``, covariances around the
  *new* means (the teaching notebook used the previous means; we do not), ``reg_covar`` added to
  every diagonal, weights ``nk / sum(nk)``.

One iteration is one M-step (from the responsibilities of the current parameters) followed by
the E-step of the new parameters, whose log-likelihood is the one reported for that iteration;
its responsibilities are kept for the next M-step, so each iteration costs one E- and one M-step.

This module is the reference computation (whole arrays, SciPy's ``logsumexp``). The fitter is
:mod:`gmm_desktop.core.fitter`, its E-step runs on an engine (:mod:`gmm_desktop.core.engine`: the
blocked one of :mod:`gmm_desktop.core.fast` by default) and its M-step from sufficient statistics
(:mod:`gmm_desktop.core.stats`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from gmm_desktop.core.errors import DataError, FitError, ParamsError
from gmm_desktop.core.options import EM_SETTINGS, OPTIONS, TOL_MODES  # noqa: F401 (TOL_MODES: re-exported)
from gmm_desktop.core.params import GMMParams, check_covariance_type

_LOG_2PI = math.log(2.0 * math.pi)

#: Largest magnitude accepted in data: squared distances of larger values overflow float64.
MAX_ABS_VALUE = 1e100

_SINGULAR_HINT = (
    "Try fewer components, a larger reg_covar, or scale the data; "
    "or re-seed or remove the collapsed component."
)


# --------------------------------------------------------------------------- input checks
def check_data(X) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 array of shape (n_samples, n_features), or raise DataError."""
    try:
        X = np.ascontiguousarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"data must be a numeric array: {exc}") from None
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise DataError(f"data must be a 2-D array with at least one row and one column, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"data contain NaN or infinite values (first at row {bad[0]}, column {bad[1]}); remove or fix those rows"
        )
    biggest = float(np.max(np.abs(X)))
    if biggest > MAX_ABS_VALUE:
        raise DataError(
            f"data values reach {biggest:.3g}, too large for EM in double precision (squared distances "
            f"overflow above {MAX_ABS_VALUE:.0e}); divide the data by a constant, e.g. standardise each column"
        )
    return X


def _check_compatible(X: np.ndarray, params: GMMParams) -> None:
    if X.shape[1] != params.n_features:
        raise DataError(
            f"the data have {X.shape[1]} features but the model has {params.n_features}; "
            "choose the same columns the model was fitted on"
        )


# --------------------------------------------------------------------------- E-step
def precision_cholesky(params: GMMParams) -> np.ndarray:
    """Cholesky factors of the precision matrices, in the compact form of the covariance type.

    Returns
    -------
    prec_chol : ndarray
        ``full``: (n_components, n_features, n_features) upper-triangular ``U`` with
        ``U @ U.T = inv(Sigma)``; ``tied``: (n_features, n_features); ``diag``:
        (n_components, n_features); ``spherical``: (n_components,).

    Raises
    ------
    FitError
        When a covariance is not positive definite.
    """
    cov = params.covariances
    ctype = params.covariance_type
    if ctype in ("full", "tied"):
        mats = cov if ctype == "full" else cov[None]
        try:
            chol = np.linalg.cholesky(mats)
        except np.linalg.LinAlgError:
            raise FitError(
                "a covariance matrix is not positive definite (a component has collapsed onto too few "
                "points). " + _SINGULAR_HINT
            ) from None
        # inverses of the triangular factors, all components in one call of NumPy's LAPACK: SciPy's
        # solve_triangular (LAPACK trtrs) hands even a 2 x 2 system to its BLAS threads, and waited
        # ~7 ms per component for them on a busy machine (NumPy's inverse of all: ~10 us)
        prec = np.swapaxes(np.tril(np.linalg.inv(chol)), -1, -2)
        return prec if ctype == "full" else prec[0]
    if np.any(cov <= 0.0) or not np.all(np.isfinite(cov)):
        raise FitError("a variance is zero or negative (a component has collapsed). " + _SINGULAR_HINT)
    return 1.0 / np.sqrt(cov)


def estimate_log_gaussian_prob(X, params: GMMParams) -> np.ndarray:
    """Log density of every point under every component (unweighted).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : GMMParams

    Returns
    -------
    log_prob : ndarray of shape (n_components, n_samples)
        Laid out components x points, so that every reduction runs along the long axis.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = params.n_components
    means = params.means
    prec = precision_cholesky(params)
    ctype = params.covariance_type
    out = np.empty((k, n))
    if ctype in ("full", "tied"):
        precs = prec if ctype == "full" else np.broadcast_to(prec, (k, d, d))
        log_det = np.sum(np.log(np.diagonal(precs, axis1=1, axis2=2)), axis=1)
        for j in range(k):
            y = X @ precs[j]
            y -= means[j] @ precs[j]
            np.einsum("ij,ij->i", y, y, out=out[j])
    elif ctype == "diag":
        log_det = np.sum(np.log(prec), axis=1)
        precisions = prec**2
        for j in range(k):
            diff = X - means[j]
            diff *= diff
            np.dot(diff, precisions[j], out=out[j])
    else:  # spherical
        log_det = d * np.log(prec)
        for j in range(k):
            diff = X - means[j]
            np.einsum("ij,ij->i", diff, diff, out=out[j])
            out[j] *= prec[j] ** 2
    out *= -0.5
    out += (log_det - 0.5 * d * _LOG_2PI)[:, None]
    return out


def estimate_weighted_log_prob(X, params: GMMParams) -> np.ndarray:
    """``log w_k + log N(x_n | mu_k, Sigma_k)``, ndarray of shape (n_components, n_samples)."""
    out = estimate_log_gaussian_prob(X, params)
    with np.errstate(divide="ignore"):
        out += np.log(params.weights)[:, None]
    return out


def e_step(X, params: GMMParams) -> tuple[np.ndarray, np.ndarray]:
    """The E-step.

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
        Log density of each point under the mixture.
    log_resp : ndarray of shape (n_components, n_samples)
        Log responsibilities (components x points).
    """
    log_resp = estimate_weighted_log_prob(X, params)
    log_prob_norm = logsumexp(log_resp, axis=0)
    log_resp -= log_prob_norm[None, :]
    return log_prob_norm, log_resp


# --------------------------------------------------------------------------- M-step
def m_step(X, resp, covariance_type: str = "full", reg_covar: float = 1e-6) -> GMMParams:
    """The M-step: new parameters from responsibilities.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_components, n_samples)
        Responsibilities, components x points.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}
    reg_covar : float
        Added to every covariance diagonal.

    Returns
    -------
    GMMParams
    """
    check_covariance_type(covariance_type)
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    nk = resp.sum(axis=1) + 10.0 * np.finfo(np.float64).eps
    means = (resp @ X) / nk[:, None]
    if covariance_type == "full":
        cov = np.empty((len(nk), d, d))
        for j in range(len(nk)):
            diff = X - means[j]
            cov[j] = (resp[j][:, None] * diff).T @ diff / nk[j]
            cov[j].flat[:: d + 1] += reg_covar
    elif covariance_type == "tied":
        cov = np.zeros((d, d))
        for j in range(len(nk)):
            diff = X - means[j]
            cov += (resp[j][:, None] * diff).T @ diff
        cov /= nk.sum()
        cov.flat[:: d + 1] += reg_covar
    else:
        # around each new mean, like the full case: scikit-learn's E[x^2] - mean^2 loses every digit
        # for data far from the origin (negative variances at an offset of 1e8)
        cov = np.empty((len(nk), d))
        for j in range(len(nk)):
            diff = X - means[j]
            cov[j] = resp[j] @ (diff * diff) / nk[j]
        cov += reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(axis=1)
    weights = nk / nk.sum()
    return GMMParams(weights, means, cov, covariance_type)


# --------------------------------------------------------------------------- scoring
def score_samples(X, params: GMMParams) -> np.ndarray:
    """Log density of each point under the mixture, ndarray of shape (n_samples,)."""
    X = check_data(X)
    _check_compatible(X, params)
    return logsumexp(estimate_weighted_log_prob(X, params), axis=0)


def log_likelihood(X, params: GMMParams) -> float:
    """Total log-likelihood of ``X`` (the sum over points of :func:`score_samples`)."""
    return float(score_samples(X, params).sum())


def predict_proba(X, params: GMMParams) -> np.ndarray:
    """Responsibilities, ndarray of shape (n_samples, n_components) (points x components)."""
    X = check_data(X)
    _check_compatible(X, params)
    _, log_resp = e_step(X, params)
    return np.exp(log_resp).T


def predict(X, params: GMMParams) -> np.ndarray:
    """Most responsible component of each point, ndarray of shape (n_samples,)."""
    X = check_data(X)
    _check_compatible(X, params)
    return np.argmax(estimate_weighted_log_prob(X, params), axis=0)


def sample(params: GMMParams, n_samples: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Draw points from the mixture.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice(params.n_components, size=n_samples, p=params.weights / params.weights.sum())
    full = params.full_covariances()
    X = np.empty((n_samples, params.n_features))
    for j in range(params.n_components):
        idx = np.flatnonzero(labels == j)
        if idx.size:
            X[idx] = rng.multivariate_normal(params.means[j], full[j], size=idx.size, method="cholesky")
    return X, labels


def count_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Free parameters of a mixture, counted as scikit-learn does.

    ``K - 1`` weights, ``K D`` mean coordinates, and per covariance type:
    ``full`` ``K D (D+1)/2``, ``tied`` ``D (D+1)/2``, ``diag`` ``K D``, ``spherical`` ``K``.
    """
    k, d = int(n_components), int(n_features)
    cov = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[check_covariance_type(covariance_type)]
    return cov + k * d + k - 1


def n_parameters(params: GMMParams) -> int:
    """Number of free parameters of ``params`` (see :func:`count_parameters`)."""
    return count_parameters(params.n_components, params.n_features, params.covariance_type)


def information_criteria(log_likelihood: float, n_parameters: int, n_samples: int) -> tuple[float, float]:
    """``(bic, aic)`` from a total log-likelihood: ``-2 LL + p log n`` and ``-2 LL + 2 p`` (lower is better)."""
    ll = float(log_likelihood)
    return -2.0 * ll + n_parameters * math.log(n_samples), -2.0 * ll + 2.0 * n_parameters


def bic(X, params: GMMParams) -> float:
    """Bayesian information criterion (lower is better): ``-2 LL + p log n``."""
    X = check_data(X)
    return information_criteria(log_likelihood(X, params), n_parameters(params), X.shape[0])[0]


def aic(X, params: GMMParams) -> float:
    """Akaike information criterion (lower is better): ``-2 LL + 2 p``."""
    X = check_data(X)
    return information_criteria(log_likelihood(X, params), n_parameters(params), X.shape[0])[1]


# --------------------------------------------------------------------------- collapse handling
def collapsed_components(params: GMMParams, n_samples: int, reg_covar: float = 1e-6) -> tuple[int, ...]:
    """Components that have collapsed: less than one point's worth of weight, or a covariance whose
    smallest eigenvalue is no more than about ``reg_covar`` (all of its points at one spot)."""
    weak = params.weights * n_samples < 1.0
    eig_min = np.linalg.eigvalsh(params.full_covariances()).min(axis=1)
    flat = eig_min <= 2.0 * reg_covar
    return tuple(int(j) for j in np.flatnonzero(weak | flat))


def reseed_component(X, params: GMMParams, component: int) -> GMMParams:
    """Move ``component``'s mean to the worst-explained point (lowest mixture density), give it the
    data's overall spread and an equal share of the weight; the others keep theirs, rescaled."""
    X = check_data(X)
    _check_compatible(X, params)
    worst = X[int(np.argmin(score_samples(X, params)))]
    k = params.n_components
    means = params.means.copy()
    means[component] = worst
    weights = params.weights.copy()
    weights[component] = 0.0
    weights = weights / weights.sum() * (1.0 - 1.0 / k) if weights.sum() > 0 else np.full(k, 0.0)
    weights[component] = 1.0 / k
    weights /= weights.sum()
    cov = params.covariances.copy()
    spread = _data_covariance(X, 1e-6)
    if params.covariance_type == "full":
        cov[component] = spread
    elif params.covariance_type == "diag":
        cov[component] = np.diag(spread)
    elif params.covariance_type == "spherical":
        cov[component] = np.diag(spread).mean()
    return GMMParams(weights, means, cov, params.covariance_type)


def remove_component(params: GMMParams, component: int) -> GMMParams:
    """The mixture without ``component``; the other weights are renormalised."""
    if params.n_components < 2:
        raise ParamsError("cannot remove the only component")
    keep = np.arange(params.n_components) != component
    weights = params.weights[keep]
    weights = weights / weights.sum()
    cov = params.covariances if params.covariance_type == "tied" else params.covariances[keep]
    return GMMParams(weights, params.means[keep], cov, params.covariance_type)


def _data_covariance(X: np.ndarray, reg_covar: float) -> np.ndarray:
    """Unbiased covariance of the whole data set (as ``numpy.cov``), (n_features, n_features).

    If it is not positive definite (identical or collinear points, or a single point),
    ``reg_covar`` is added to its diagonal so EM can start.
    """
    d = X.shape[1]
    if X.shape[0] < 2:
        cov = np.zeros((d, d))
    else:
        cov = np.atleast_2d(np.cov(X, rowvar=False))
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        cov = cov + max(reg_covar, 1e-300) * np.eye(d)
    return cov


# --------------------------------------------------------------------------- settings
def check_settings(tol: float, tol_mode: str, max_iter: int, reg_covar: float) -> None:
    """Raise ParamsError for settings EM cannot use (the ranges of :mod:`gmm_desktop.core.options`)."""
    for name, value in zip(EM_SETTINGS, (tol, tol_mode, max_iter, reg_covar)):
        OPTIONS[name].check(value)


# --------------------------------------------------------------------------- the fitter, moved
_MOVED = {"EMFitter": "gmm_desktop.core.fitter", "EMSnapshot": "gmm_desktop.core.fitter",
          "fit": "gmm_desktop.core.fitter"}


def __getattr__(name):
    """``EMFitter``, ``EMSnapshot`` and ``fit`` live in :mod:`gmm_desktop.core.fitter`; importing them
    from here keeps working. (Imported by name when asked for: the fitter imports this module.)"""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
