"""The canvas of 1-D data: a histogram with each component's weighted density and the mixture's.

A left click places an initial mean at the clicked x (the x marks sit on the axis), a drag moves one,
a right click removes one (as on the scatter canvas). A left click on a fitted mean (the ● on the axis)
or near its density's peak selects that component (``component_clicked``) instead of placing a mean. Each component's ±1/2/3σ band is drawn in a
strip below the axis, the 1-D counterpart of the 1/2/3-sigma ellipses.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QCursor

from gmm_desktop.core.geometry import weighted_densities
from gmm_desktop.gui import palette
from gmm_desktop.gui.em_worker import RUNNING
from gmm_desktop.gui.scatter_canvas import (SIGMAS, _CanvasViewBox, _FittedMeansItem, _Legend, _LegendSample,
                                            _MeansItem, hint_overlay)

HINT = "Click on the axis to place initial means, or press k-means++"
GRID_POINTS = 400
MAX_BINS = 80
#: Band fill per σ (1, 2, 3): alpha of the component's colour.
_BAND_ALPHA = (150, 80, 35)
_HIT_PX = 12.0  # a click this close (screen pixels) to a fitted mean or its density's peak selects it
_SELECTED_WIDTH = 4.5  # the selected component's density curve (the inspector's), screen pixels


def histogram_bins(x: np.ndarray) -> np.ndarray:
    """Bin edges: NumPy's 'auto' rule (Freedman–Diaconis or Sturges), but at least 1.5 sqrt(n) bins
    (the rules smooth away the shape of a few hundred points) and at most MAX_BINS."""
    n_auto = len(np.histogram_bin_edges(x, bins="auto")) - 1
    return np.histogram_bin_edges(x, bins=int(min(MAX_BINS, max(n_auto, np.ceil(1.5 * np.sqrt(len(x)))))))


class _AxisMeans(_MeansItem):
    """The placed means as x marks on the axis (y = 0): dragging moves them along it."""

    def _update_spots(self) -> None:
        if len(self._means):
            self._means[:, 1] = 0.0
        super()._update_spots()


class HistogramCanvas(pg.PlotWidget):
    """1-D data: histogram (as a density), components' weighted densities, the mixture, σ bands.

    Signals carry data x coordinates: ``mean_added(x)``, ``mean_moved(k, x)``, ``mean_removed(k)``.
    """

    mean_added = Signal(float)
    mean_moved = Signal(int, float)
    mean_removed = Signal(int)
    component_clicked = Signal(int)  # a click on a fitted mean (●) or its density's peak: select it

    def __init__(self, session, parent=None):
        self._view = _CanvasViewBox()
        super().__init__(parent, background=palette.BACKGROUND, viewBox=self._view)
        self.setObjectName("histogramCanvas")
        self._session = session
        self._snapshot = None
        self.selected: int | None = None  # the component the inspector shows: its curve is drawn wide
        self._band_height = 1.0
        self._grid = np.linspace(0.0, 1.0, GRID_POINTS)
        plot = self.getPlotItem()
        palette.style_plot(plot)
        plot.setLabel("left", "density", **palette.label_style())
        plot.getAxis("left").enableAutoSIPrefix(False)
        self.bars = pg.PlotDataItem(stepMode="center", fillLevel=0, fillOutline=True,
                                    brush=pg.mkBrush(170, 170, 170, 150), pen=pg.mkPen("#8C8C8C", width=1))
        self.mixture_curve = pg.PlotDataItem(pen=pg.mkPen(palette.FOREGROUND, width=2.6))
        self.mixture_curve.setZValue(20)
        self.component_curves: list[pg.PlotDataItem] = []
        self.bands: list[pg.QtWidgets.QGraphicsRectItem] = []
        self.addItem(self.bars)
        self.addItem(self.mixture_curve)
        self._fitted_means = _FittedMeansItem()  # a left click on one selects it, never places a mean
        self._fitted_means.setZValue(40)
        self._fitted_means.clicked.connect(self.component_clicked)
        self.addItem(self._fitted_means)
        self._placed_means = _AxisMeans()
        self._placed_means.setZValue(30)
        self.addItem(self._placed_means)
        # the 2-D canvas's legend: a click on it is its own, never a mean placed under the box
        self._legend = _Legend(offset=(-12, 12), labelTextColor=palette.FOREGROUND, labelTextSize="10.5pt",
                               sampleType=_LegendSample, brush=pg.mkBrush(255, 255, 255, 220),
                               pen=pg.mkPen("#BBBBBB"))
        self._legend.setParentItem(plot.vb)
        self._hint = hint_overlay(self, HINT, "histogramHint")
        self._view.clicked.connect(self._on_clicked)
        self._placed_means.moved.connect(lambda k, x, _y: self.mean_moved.emit(k, x))
        self._placed_means.removal_requested.connect(self.mean_removed)
        self._placed_means.left_clicked.connect(self._select_at)  # on a fitted mean over its x
        session.data_changed.connect(self._on_data_changed)
        session.means_changed.connect(self._on_means_changed)
        session.fit_changed.connect(self._on_fit_changed)
        session.state_changed.connect(lambda state: setattr(self._placed_means, "editable", state != RUNNING))

    # -- reading (tests, screenshots)
    @property
    def grid(self) -> np.ndarray:
        return self._grid

    def mean_under_cursor(self) -> int | None:
        return self._placed_means.index_at(self.mapToScene(self.mapFromGlobal(QCursor.pos())))

    def data_point(self, x: float, y: float = 0.0):
        """Widget coordinates of the data point (x, y) (for tests and scripts)."""
        return self.mapFromScene(self._view.mapViewToScene(QPointF(x, y)))

    # -- events
    def _active(self) -> bool:
        dataset = self._session.dataset
        return dataset is not None and dataset.n_features == 1

    def component_at(self, x: float, y: float) -> int | None:
        """The fitted component whose mean on the axis (the ●), or whose weighted density's peak,
        is within a few pixels of the data point (x, y); None elsewhere or before a fit."""
        snap = self._snapshot
        if snap is None or snap.iteration == 0 or not self._active():
            return None
        dx, dy = (max(v, 1e-300) for v in self._view.viewPixelSize())
        means, var = snap.means[:, 0], snap.covariances[:, 0, 0]
        peaks = snap.weights / np.sqrt(2.0 * np.pi * np.maximum(var, 1e-300))
        d2 = np.minimum(((means - x) / dx) ** 2 + (y / dy) ** 2, ((means - x) / dx) ** 2 + ((peaks - y) / dy) ** 2)
        k = int(np.argmin(d2))
        return k if d2[k] <= _HIT_PX**2 else None

    def _select_at(self, x: float, y: float) -> bool:
        k = self.component_at(x, y)
        if k is not None:
            self.component_clicked.emit(k)
        return k is not None

    def set_selected(self, k: int | None) -> None:
        """Draw component ``k``'s density wide (the inspector's selection); None: none."""
        self.selected = k
        for j, curve in enumerate(self.component_curves):
            curve.setPen(pg.mkPen(palette.component_color(j), width=_SELECTED_WIDTH if j == k else 2.0))

    def _on_clicked(self, x: float, y: float) -> None:
        if self._select_at(x, y):
            return  # a click on a fitted mean or its peak selects it (the inspector shows it)
        if self._placed_means.editable and self._active():
            self.mean_added.emit(x)

    def _on_data_changed(self, dataset) -> None:
        if dataset.n_features != 1:
            return
        x = dataset.X[:, 0]
        edges = histogram_bins(x)
        counts, edges = np.histogram(x, bins=edges, density=True)
        self.bars.setData(edges, counts)
        lo, hi = float(x.min()), float(x.max())
        pad = 0.08 * (hi - lo or 1.0)
        self._grid = np.linspace(lo - pad, hi + pad, GRID_POINTS)
        self._band_height = 0.06 * float(counts.max() or 1.0)
        self.getPlotItem().setLabel("bottom", dataset.feature_names[0], **palette.label_style())
        self._snapshot = None
        self._draw_fit()
        self._view.setRange(xRange=(lo - pad, hi + pad), yRange=(-self._band_height * 2.5, counts.max() * 1.3),
                            padding=0.02)

    def _on_means_changed(self, means) -> None:
        means = np.asarray(means)
        shown = np.column_stack([means[:, 0], np.zeros(len(means))]) if means.shape[1] == 1 else np.empty((0, 2))
        self._placed_means.set_means(shown)
        self._hint.setVisible(len(means) == 0 and self._active())

    def _on_fit_changed(self, snapshot) -> None:
        if self._active():
            self._snapshot = snapshot if snapshot is None or snapshot.means.shape[1] == 1 else None
            self._draw_fit()

    # -- drawing
    def _draw_fit(self) -> None:
        snap = self._snapshot
        k = 0 if snap is None else snap.means.shape[0]
        while len(self.component_curves) < k:
            j = len(self.component_curves)
            width = _SELECTED_WIDTH if j == self.selected else 2.0
            curve = pg.PlotDataItem(pen=pg.mkPen(palette.component_color(j), width=width),
                                    fillLevel=0, brush=pg.mkBrush(palette.component_color(j, 45)))
            curve.setZValue(10)
            self.addItem(curve)
            self.component_curves.append(curve)
        for band in self.bands:
            self.removeItem(band)
        self.bands = []
        self._legend.clear()
        if snap is None:
            for curve in self.component_curves:
                curve.setData([], [])
            self.mixture_curve.setData([], [])
            self._fitted_means.setData(pos=np.empty((0, 2)))
            self._legend.setVisible(False)
            return
        means, sds = snap.means[:, 0], np.sqrt(snap.covariances[:, 0, 0])
        dens = weighted_densities(self._grid, snap.weights, means, snap.covariances[:, 0, 0])
        for j, curve in enumerate(self.component_curves):
            curve.setData(self._grid, dens[j]) if j < k else curve.setData([], [])
            if j < k:
                self._legend.addItem(curve, f"component {j + 1}  (weight {snap.weights[j]:.2f})")
        self.mixture_curve.setData(self._grid, dens.sum(axis=0))
        self._legend.addItem(self.mixture_curve, "mixture")
        self._legend.setVisible(True)
        h = self._band_height
        for j in range(k):
            y = -h * (0.4 + 1.6 * (j % 8) / max(1, min(k, 8)))
            for s, alpha in zip(reversed(SIGMAS), reversed(_BAND_ALPHA)):
                rect = pg.QtWidgets.QGraphicsRectItem(QRectF(means[j] - s * sds[j], y - 0.3 * h, 2 * s * sds[j], 0.6 * h))
                rect.setBrush(pg.mkBrush(palette.component_color(j, alpha)))
                rect.setPen(pg.mkPen(None))
                rect.setZValue(5)
                self.addItem(rect)
                self.bands.append(rect)
        shown = np.column_stack([means, np.zeros(k)]) if snap.iteration > 0 else np.empty((0, 2))
        self._fitted_means.setData(pos=shown, brush=[pg.mkBrush(palette.component_color(j)) for j in range(len(shown))])
