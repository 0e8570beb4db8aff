"""Which features the canvas displays: a small model views subscribe to (as napari's ``Dims``).

The fit is always on every feature; the view only chooses a 2-D (or, for one feature, 1-D) picture
of it. Every mode is a linear map ``A`` of shape (n_shown, n_features): a pair ``(x, y)`` takes rows
``x`` and ``y`` of the identity (so a component's drawn ellipse is the exact marginal, its 2x2 block),
``"pca"`` takes the data's first two principal axes. Means are drawn at ``A @ mean`` and covariances
as ``A @ cov @ A.T``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmm_desktop.document.events import VIEW, Change, Observable

PCA = "pca"


@dataclass(frozen=True)
class ViewState:
    """What :meth:`View.capture` returns: enough to put a view back exactly."""

    n_features: int
    displayed: tuple | str
    pca_axes: np.ndarray | None


class View(Observable):
    """The displayed features of ``n_features``-dimensional data.

    Attributes
    ----------
    n_features : int
    displayed : tuple of int, or "pca"
        ``(x, y)`` feature indices, ``(0,)`` for 1-D data, or ``"pca"``.
    """

    def __init__(self, n_features: int = 2):
        super().__init__()
        self.n_features = 2
        self.displayed: tuple | str = (0, 1)
        self._pca_axes: np.ndarray | None = None
        self._reset(n_features)

    # -- reading
    @property
    def mode(self) -> str:
        """``"pair"``, ``"pca"`` or ``"1d"``."""
        if self.displayed == PCA:
            return PCA
        return "1d" if len(self.displayed) == 1 else "pair"

    @property
    def n_shown(self) -> int:
        return 2 if self.displayed == PCA else len(self.displayed)

    def matrix(self) -> np.ndarray:
        """The projection ``A``, ndarray of shape (n_shown, n_features)."""
        if self.displayed == PCA:
            return self._pca_axes.copy()
        return np.eye(self.n_features)[list(self.displayed)]

    def project_points(self, X) -> np.ndarray:
        """Coordinates on the canvas, ndarray of shape (n_points, n_shown)."""
        X = np.asarray(X, dtype=float)
        if self.displayed == PCA:
            return X @ self._pca_axes.T
        return X[:, list(self.displayed)]

    def project_covariances(self, covariances) -> np.ndarray:
        """``A @ cov @ A.T`` of each full covariance, ndarray of shape (n_components, n_shown, n_shown)."""
        A = self.matrix()
        return np.einsum("id,kde,je->kij", A, np.asarray(covariances, dtype=float), A)

    def axis_labels(self, feature_names) -> list[str]:
        """Titles of the shown axes."""
        if self.displayed == PCA:
            return ["principal component 1", "principal component 2"]
        return [feature_names[i] for i in self.displayed]

    # -- changes
    def set_displayed(self, x, y=None, *, pca_axes=None) -> None:
        """Show features ``x`` and ``y`` (0-based), only ``x`` for 1-D data, or ``"pca"``.

        ``"pca"`` needs the principal axes (``pca_axes``, shape (2, n_features)); the
        :class:`~gmm_desktop.document.Document` computes them from its data.

        Raises
        ------
        ValueError
            For an index out of range, twice the same feature, or PCA of fewer than two features.
        """
        if isinstance(x, str):
            if x != PCA:
                raise ValueError(f"unknown view {x!r}: give two feature indices or 'pca'")
            if self.n_features < 2:
                raise ValueError("principal components need at least two features")
            axes = np.asarray(pca_axes, dtype=float) if pca_axes is not None else None
            if axes is None or axes.shape != (2, self.n_features):
                raise ValueError(f"the PCA view needs two principal axes of {self.n_features} features")
            new, self._pca_axes = PCA, axes
        else:
            new = self._checked((x,) if y is None else (x, y))
        if new != self.displayed or new == PCA:
            self.displayed = new
            self._emit(Change(VIEW, details={"displayed": new}))

    def _checked(self, indices) -> tuple:
        want = 1 if self.n_features == 1 else 2
        if len(indices) != want:
            raise ValueError(f"the data has {self.n_features} feature(s): give {want} feature index(es)")
        out = []
        for i in indices:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.n_features:
                raise ValueError(f"feature index {i!r} is out of range: use 0 to {self.n_features - 1}")
            out.append(int(i))
        if len(set(out)) != len(out):
            raise ValueError(f"show two different features, not feature {out[0]} twice")
        return tuple(out)

    def reset(self, n_features: int) -> None:
        """The default view of data with ``n_features`` features: the first two (or the only one)."""
        before = (self.n_features, self.displayed)
        self._reset(n_features)
        if (self.n_features, self.displayed) != before:
            self._emit(Change(VIEW, details={"displayed": self.displayed}))

    def _reset(self, n_features: int) -> None:
        if n_features < 1:
            raise ValueError("a view needs at least one feature")
        self.n_features = int(n_features)
        self.displayed = (0,) if n_features == 1 else (0, 1)
        self._pca_axes = None

    def capture(self) -> ViewState:
        axes = None if self._pca_axes is None else self._pca_axes.copy()
        return ViewState(self.n_features, self.displayed, axes)

    def restore(self, state: ViewState) -> None:
        before = (self.n_features, self.displayed)
        self.n_features, self.displayed = state.n_features, state.displayed
        self._pca_axes = None if state.pca_axes is None else state.pca_axes.copy()
        if (self.n_features, self.displayed) != before or self.displayed == PCA:
            self._emit(Change(VIEW, details={"displayed": self.displayed}))
