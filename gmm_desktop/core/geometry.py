"""Ellipse outlines of Gaussian components, for drawing."""

from __future__ import annotations

import numpy as np


def ellipse_axes(covariance) -> tuple[np.ndarray, np.ndarray]:
    """Half-axis lengths at one sigma and their directions.

    Parameters
    ----------
    covariance : array-like of shape (2, 2)

    Returns
    -------
    radii : ndarray of shape (2,)
        Square roots of the eigenvalues, smallest first.
    axes : ndarray of shape (2, 2)
        Unit eigenvectors as columns.
    """
    vals, vecs = np.linalg.eigh(np.asarray(covariance, dtype=float))
    return np.sqrt(np.clip(vals, 0.0, None)), vecs


def ellipse_points(mean, covariance, n_sigma: float = 1.0, n_points: int = 100) -> np.ndarray:
    """Closed outline of the ``n_sigma`` ellipse of a 2-D Gaussian.

    Parameters
    ----------
    mean : array-like of shape (2,)
    covariance : array-like of shape (2, 2)
    n_sigma : float
        Mahalanobis radius of the outline.
    n_points : int
        Points on the outline; the last equals the first.

    Returns
    -------
    points : ndarray of shape (n_points, 2)
    """
    radii, axes = ellipse_axes(covariance)
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1) * (n_sigma * radii)
    return np.asarray(mean, dtype=float)[None, :] + circle @ axes.T


def ellipses_points(means, covariances, sigmas=(1.0, 2.0, 3.0), n_points: int = 100) -> np.ndarray:
    """Outlines for many components and radii at once.

    Parameters
    ----------
    means : array-like of shape (n_components, 2)
    covariances : array-like of shape (n_components, 2, 2)
    sigmas : sequence of float

    Returns
    -------
    points : ndarray of shape (n_components, len(sigmas), n_points, 2)
    """
    means = np.asarray(means, dtype=float)
    vals, vecs = np.linalg.eigh(np.asarray(covariances, dtype=float))
    radii = np.sqrt(np.clip(vals, 0.0, None))  # (K, 2)
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    unit = np.stack([np.cos(t), np.sin(t)], axis=1)  # (P, 2)
    s = np.asarray(sigmas, dtype=float)
    scaled = unit[None, None, :, :] * (s[None, :, None, None] * radii[:, None, None, :])  # (K, S, P, 2)
    return means[:, None, None, :] + np.einsum("kspj,kij->kspi", scaled, vecs)


def principal_axes(X, n_axes: int = 2) -> np.ndarray:
    """The data's first principal axes, as rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_axes : int
        How many axes (at most ``n_features``).

    Returns
    -------
    axes : ndarray of shape (n_axes, n_features)
        Orthonormal rows, largest variance first; each row's largest entry is positive, so the
        picture does not flip between calls.
    """
    X = np.asarray(X, dtype=float)
    n_axes = min(int(n_axes), X.shape[1])
    if X.shape[0] < 2:
        return np.eye(X.shape[1])[:n_axes]
    vals, vecs = np.linalg.eigh(np.atleast_2d(np.cov(X, rowvar=False)))
    axes = vecs[:, ::-1][:, :n_axes].T.copy()
    signs = np.sign(axes[np.arange(n_axes), np.argmax(np.abs(axes), axis=1)])
    return axes * np.where(signs == 0, 1.0, signs)[:, None]


def nearest_count(n_samples: int) -> int:
    """How many data points :func:`lift_point` averages: 5% of them, at least 10 (or all), at most 1000."""
    return int(min(n_samples, max(10, min(1000, n_samples // 20))))


def lift_point(X, A, shown, n_nearest: int | None = None) -> np.ndarray:
    """A full-dimensional point that a view shows at ``shown``: the rule for a click that places a mean.

    The view ``A`` (orthonormal rows: a pair of features, one feature, or principal axes) shows the
    data at ``X @ A.T``. The point returned projects exactly to ``shown``; along the hidden directions
    it sits at the mean of the ``n_nearest`` data points nearest ``shown`` in the view's plane. For a
    pair of features this is: the two shown coordinates are the clicked ones, and each hidden
    coordinate is the mean of that coordinate over the points nearest the click.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    A : array-like of shape (n_shown, n_features)
    shown : array-like of shape (n_shown,)
    n_nearest : int, optional
        Default :func:`nearest_count`.

    Returns
    -------
    point : ndarray of shape (n_features,)
    """
    X, A = np.asarray(X, dtype=float), np.asarray(A, dtype=float)
    shown = np.asarray(shown, dtype=float).reshape(-1)
    n = nearest_count(len(X)) if n_nearest is None else int(min(max(n_nearest, 1), len(X)))
    d2 = np.sum((X @ A.T - shown) ** 2, axis=1)
    near = np.argpartition(d2, n - 1)[:n] if n < len(X) else slice(None)
    centre = X[near].mean(axis=0)
    return centre + A.T @ (shown - A @ centre)


def move_in_view(point, A, shown) -> np.ndarray:
    """``point`` moved so that the view ``A`` (orthonormal rows) shows it at ``shown``; what the view
    hides stays (dragging a mean moves only the shown coordinates)."""
    point, A = np.asarray(point, dtype=float), np.asarray(A, dtype=float)
    return point + A.T @ (np.asarray(shown, dtype=float).reshape(-1) - A @ point)


def weighted_densities(grid, weights, means, variances) -> np.ndarray:
    """Each 1-D component's weighted density ``w_k N(x | mu_k, var_k)`` on ``grid``.

    Parameters
    ----------
    grid : array-like of shape (n_points,)
    weights, means, variances : array-like of shape (n_components,)

    Returns
    -------
    densities : ndarray of shape (n_components, n_points); their sum is the mixture's density.
    """
    x = np.asarray(grid, dtype=float)[None, :]
    w, mu = np.asarray(weights, dtype=float)[:, None], np.asarray(means, dtype=float)[:, None]
    var = np.maximum(np.asarray(variances, dtype=float), np.finfo(float).tiny)[:, None]
    return w * np.exp(-0.5 * (x - mu) ** 2 / var) / np.sqrt(2.0 * np.pi * var)
