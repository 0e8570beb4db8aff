"""Starting parameters for EM.

``means``
    The teaching notebook's step 1: the user's means; every covariance the covariance of the whole
    data set (unbiased, as ``numpy.cov``); every weight 1/K. If that covariance is singular
    (identical or collinear points) ``reg_covar`` is added to its diagonal so EM can start.
``kmeans++``
    Means chosen by SciPy's k-means++ seeding (``scipy.cluster.vq.kmeans2(minit='++')``, one pass);
    then, as scikit-learn does, one M-step from the hard assignment of each point to its nearest mean.
``kmeans``
    As ``kmeans++``, with the means refined by SciPy's k-means (Lloyd's algorithm, 10 iterations).
``random``
    K distinct data points drawn at random as means, then as ``kmeans++``.

All random choices come from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.cluster.vq import kmeans2

from gmm_desktop.core.em import _data_covariance, check_data, m_step
from gmm_desktop.core.errors import DataError, ParamsError
from gmm_desktop.core.options import INIT_METHODS
from gmm_desktop.core.params import GMMParams, check_covariance_type, compact_from_full



def params_from_means(X, means, covariance_type: str = "full", reg_covar: float = 1e-6) -> GMMParams:
    """The notebook's initialisation from user-given means.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : array-like of shape (n_components, n_features)
    covariance_type : {'full', 'diag', 'spherical', 'tied'}
    reg_covar : float
        Only used when the data's covariance is singular.
    """
    X = check_data(X)
    check_covariance_type(covariance_type)
    means = np.asarray(means, dtype=float)
    if means.ndim != 2 or means.shape[0] < 1:
        raise ParamsError("give at least one mean")
    if means.shape[1] != X.shape[1]:
        raise ParamsError(
            f"each mean needs {X.shape[1]} coordinates (one per feature), got {means.shape[1]}"
        )
    if not np.all(np.isfinite(means)):
        raise ParamsError("means must be finite numbers")
    k = means.shape[0]
    if k > X.shape[0]:
        raise ParamsError(f"{k} means but only {X.shape[0]} points: use at most as many components as points")
    cov = _data_covariance(X, reg_covar)
    full = np.broadcast_to(cov, (k,) + cov.shape)
    compact = cov.copy() if covariance_type == "tied" else compact_from_full(full, covariance_type)
    return GMMParams(np.full(k, 1.0 / k), means, compact, covariance_type).validated()


def _hard_assignment_params(X, means, covariance_type, reg_covar) -> GMMParams:
    """One M-step from assigning each point to its nearest mean (scikit-learn's k-means start)."""
    d2 = ((X[:, None, :] - means[None, :, :]) ** 2).sum(axis=2) if X.shape[0] * len(means) < 4_000_000 else None
    if d2 is None:  # large data: avoid an (n, k, d) temporary
        d2 = np.stack([((X - m) ** 2).sum(axis=1) for m in means], axis=1)
    labels = np.argmin(d2, axis=1)
    resp = np.zeros((len(means), X.shape[0]))
    resp[labels, np.arange(X.shape[0])] = 1.0
    return m_step(X, resp, covariance_type, reg_covar)


def kmeanspp_means(X, n_components: int, seed=0) -> np.ndarray:
    """Means by SciPy's k-means++ seeding, ndarray of shape (n_components, n_features)."""
    X = check_data(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kmeans2 warns about empty clusters after its pass
        centroids, _ = kmeans2(X, n_components, iter=1, minit="++", missing="warn", seed=np.random.default_rng(seed))
    return centroids


def initial_params(
    X,
    n_components: int | None = None,
    *,
    method: str = "kmeans++",
    means=None,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    seed=0,
) -> GMMParams:
    """Starting parameters by ``method`` (see the module docstring).

    Raises
    ------
    ParamsError
        For an unknown method, a bad number of components, or missing/mismatched means.
    """
    X = check_data(X)
    check_covariance_type(covariance_type)
    if method not in INIT_METHODS:
        raise ParamsError(f"unknown init method {method!r}: choose one of {', '.join(INIT_METHODS)}")
    if method == "means":
        if means is None:
            raise ParamsError("init 'means' needs means: give --means or --means-file")
        means = np.asarray(means, dtype=float)
        if n_components is not None and means.ndim == 2 and means.shape[0] != n_components:
            raise ParamsError(f"--k is {n_components} but {means.shape[0]} means were given; make them agree")
        return params_from_means(X, means, covariance_type, reg_covar)
    n = X.shape[0]
    if n_components is None or int(n_components) != n_components or n_components < 1:
        raise ParamsError(f"the number of components must be a whole number >= 1, got {n_components!r}")
    n_components = int(n_components)
    if n_components > n:
        raise ParamsError(
            f"{n_components} components but only {n} points: use at most as many components as points"
        )
    n_distinct = len(np.unique(X, axis=0)) if n <= 200_000 else n
    if n_components > n_distinct:
        points, comps = ("point", "component") if n_distinct == 1 else ("points", "components")
        raise DataError(
            f"{n_components} components but only {n_distinct} distinct {points}: use at most {n_distinct} {comps}"
        )
    centers = initial_centers(X, n_components, method, seed)
    params = _hard_assignment_params(X, centers, covariance_type, reg_covar)
    return params


def initial_centers(X, n_components: int, method: str = "kmeans++", seed=0) -> np.ndarray:
    """The means ``kmeans++``, ``kmeans`` or ``random`` chooses on ``X`` (before the hard-assignment
    M-step of :func:`initial_params`), ndarray of shape (n_components, n_features).

    The Dask engine calls this on a sample of the data and does the M-step over all of it.
    """
    X = check_data(X)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    if method == "random":
        uniq = np.unique(X, axis=0) if n <= 200_000 else X
        return uniq[rng.choice(len(uniq), size=n_components, replace=False)]
    if method not in ("kmeans++", "kmeans"):
        raise ParamsError(f"no centres for init method {method!r}: choose kmeans++, kmeans or random")
    centers = kmeanspp_means(X, n_components, seed=rng)
    if method == "kmeans":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            centers, _ = kmeans2(X, centers, iter=10, minit="matrix", missing="warn")
    return centers
