"""Mixture parameters: weights, means, covariances and the covariance model, validated.

Covariances are held in the compact form of each covariance type, as scikit-learn does:

==============  =====================================
``full``        ndarray of shape (n_components, n_features, n_features)
``tied``        ndarray of shape (n_features, n_features)
``diag``        ndarray of shape (n_components, n_features)
``spherical``   ndarray of shape (n_components,)
==============  =====================================

:meth:`GMMParams.full_covariances` expands any of them to (n_components, n_features, n_features),
which is what views and model files use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmm_desktop.core.errors import ParamsError

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")

#: Tolerance for the sum of the weights, as the model file format requires.
WEIGHTS_SUM_TOL = 1e-6


def check_covariance_type(covariance_type: str) -> str:
    if covariance_type not in COVARIANCE_TYPES:
        raise ParamsError(
            f"unknown covariance type {covariance_type!r}: choose one of {', '.join(COVARIANCE_TYPES)}"
        )
    return covariance_type


def compact_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    """Shape of the compact covariance array of ``covariance_type``."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[check_covariance_type(covariance_type)]


def expand_covariances(covariances, covariance_type: str, n_components: int) -> np.ndarray:
    """Full matrices of shape (n_components, n_features, n_features) from the compact form."""
    c = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        return c.copy()
    if covariance_type == "tied":
        return np.broadcast_to(c, (n_components,) + c.shape).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in c])
    if covariance_type == "spherical":
        raise ValueError("spherical covariances need n_features: use GMMParams.full_covariances()")
    check_covariance_type(covariance_type)
    raise AssertionError("unreachable")


def compact_from_full(full_covariances, covariance_type: str) -> np.ndarray:
    """Compact covariances of ``covariance_type`` from full matrices (K, D, D).

    ``diag`` keeps each diagonal, ``spherical`` the mean of each diagonal, ``tied`` the
    average of the matrices (they are equal when the full ones came from a tied model).
    """
    full = np.asarray(full_covariances, dtype=float)
    check_covariance_type(covariance_type)
    if covariance_type == "full":
        return full.copy()
    if covariance_type == "tied":
        return full.mean(axis=0)
    diag = np.diagonal(full, axis1=1, axis2=2)
    if covariance_type == "diag":
        return diag.copy()
    return diag.mean(axis=1)


def _is_spd(matrices: np.ndarray) -> bool:
    """True when every matrix in the stack (..., D, D) is symmetric positive definite."""
    if not np.allclose(matrices, np.swapaxes(matrices, -1, -2), rtol=1e-8, atol=1e-12 * max(1.0, float(np.max(np.abs(matrices))))):
        return False
    try:
        np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        return False
    return True


@dataclass(frozen=True, eq=False)
class GMMParams:
    """The parameters of a Gaussian mixture.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
        Mixing weights, non-negative, summing to 1.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        Compact covariances of ``covariance_type`` (see the module docstring).
    covariance_type : {'full', 'diag', 'spherical', 'tied'}

    The arrays are copied and made read-only, so a ``GMMParams`` can be shared across threads.
    Use :meth:`validated` (or :func:`make_params`) to check user-supplied values.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"

    def __post_init__(self):
        for name in ("weights", "means", "covariances"):
            arr = np.array(getattr(self, name), dtype=float, copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    def full_covariances(self) -> np.ndarray:
        """Covariances as full matrices, ndarray of shape (n_components, n_features, n_features)."""
        k, d = self.means.shape
        if self.covariance_type == "spherical":
            return self.covariances[:, None, None] * np.eye(d)[None, :, :]
        return expand_covariances(self.covariances, self.covariance_type, k)

    def validated(self) -> "GMMParams":
        """Return ``self`` after checking shapes, finiteness, weights and positive definiteness.

        Raises
        ------
        ParamsError
            With a message naming the problem.
        """
        check_covariance_type(self.covariance_type)
        if self.means.ndim != 2 or self.means.shape[0] < 1 or self.means.shape[1] < 1:
            raise ParamsError(
                f"means must be a 2-D array (n_components, n_features), got shape {self.means.shape}"
            )
        k, d = self.means.shape
        if self.weights.shape != (k,):
            raise ParamsError(f"weights must have shape ({k},) for {k} components, got {self.weights.shape}")
        expected = compact_shape(self.covariance_type, k, d)
        if self.covariances.shape != expected:
            raise ParamsError(
                f"{self.covariance_type} covariances must have shape {expected}, got {self.covariances.shape}"
            )
        for name in ("weights", "means", "covariances"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ParamsError(f"{name} contain NaN or infinite values")
        if np.any(self.weights < 0):
            raise ParamsError("weights must be non-negative")
        total = float(self.weights.sum())
        if abs(total - 1.0) > WEIGHTS_SUM_TOL:
            raise ParamsError(f"weights must sum to 1 (within {WEIGHTS_SUM_TOL:g}), they sum to {total:.10g}")
        if self.covariance_type in ("diag", "spherical"):
            if np.any(self.covariances <= 0):
                raise ParamsError(f"{self.covariance_type} covariances must be positive")
        elif not _is_spd(self.covariances):
            raise ParamsError(
                "covariances must be symmetric positive definite; "
                "try a larger reg_covar, fewer components, or check the file"
            )
        return self

    def with_covariance_type(self, covariance_type: str) -> "GMMParams":
        """The same mixture re-expressed in another covariance model (see :func:`compact_from_full`)."""
        return GMMParams(
            self.weights, self.means, compact_from_full(self.full_covariances(), covariance_type), covariance_type
        )



class ParamsReadout:
    """The mixture of a snapshot (its ``params``), read as attributes: a mixin for the fitters'
    snapshots (:class:`~gmm_desktop.core.fitter.EMSnapshot`, :class:`~gmm_desktop.core.vb.VBSnapshot`),
    which give ``params``, ``log_likelihood`` and ``n_samples``."""

    @property
    def weights(self) -> np.ndarray:
        return self.params.weights

    @property
    def means(self) -> np.ndarray:
        return self.params.means

    @property
    def covariances(self) -> np.ndarray:
        """Full covariance matrices, ndarray of shape (n_components, n_features, n_features)."""
        return self.params.full_covariances()

    @property
    def covariance_type(self) -> str:
        return self.params.covariance_type

    @property
    def mean_log_likelihood(self) -> float:
        return self.log_likelihood / self.n_samples

def make_params(weights, means, covariances, covariance_type: str = "full") -> GMMParams:
    """Build and validate :class:`GMMParams`; ``covariances`` may be compact or full (K, D, D)."""
    check_covariance_type(covariance_type)
    means_arr = np.asarray(means, dtype=float)
    cov = np.asarray(covariances, dtype=float)
    if means_arr.ndim == 2 and covariance_type != "full" and cov.ndim == 3:
        cov = compact_from_full(cov, covariance_type)
    return GMMParams(weights, means_arr, cov, covariance_type).validated()
