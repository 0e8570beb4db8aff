"""The scatter-matrix dock: every pair of features as a small multiple, with live ellipses, and on
the diagonal each feature's marginal (data histogram, components, mixture). Clicking a cell makes it
the main view. Up to :data:`MAX_FEATURES` features (the first ones); large data is drawn as a
density image per cell.

The marginals dock (:class:`MarginalsPanel`) shows the diagonal alone, one feature a row, as MLDemos
does beside its canvas.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QScrollArea

from gmm_desktop.core.geometry import ellipses_points, weighted_densities
from gmm_desktop.gui import palette

MAX_FEATURES = 8
#: More points than this: a cell shows a density image instead of markers.
MAX_MARKERS = 3000
IMAGE_BINS = 64
GRID_POINTS = 160
NEUTRAL_RGBA = (120, 120, 120, 140)  # points before a fit has responsibilities
RING_SIGMAS = (1.0, 2.0)
#: The marginals' rows are at least this tall (screen pixels): more features scroll, never squash.
MARGINAL_ROW_MIN_HEIGHT = 150
#: The docks' minimum width: beside the canvas and the side panel at 1280 x 800.
DOCK_MIN_WIDTH = 300


def _range(x: np.ndarray) -> tuple[float, float]:
    if len(x) == 0:  # no points yet (a blank canvas being painted)
        return 0.0, 1.0
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 0.06 * (hi - lo or 1.0)
    return lo - pad, hi + pad


class _Cell:
    """One plot of the grid: the data of features (x, y), or of x alone on the diagonal."""

    def __init__(self, plot: pg.PlotItem, x: int, y: int, values: bool = False):
        self.plot, self.x, self.y = plot, x, y
        self.curves: list[pg.PlotCurveItem] = []
        self.points: pg.ScatterPlotItem | None = None  # markers (small data), coloured by component
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            plot.getAxis(side).setStyle(tickFont=palette.axis_font(), showValues=values)
            if not values:  # the scatter matrix' small multiples: no numbers; the marginals: numbers
                plot.getAxis(side).setTicks([])
            plot.getAxis(side).enableAutoSIPrefix(False)

    def curve(self, j: int, width: float = 1.3) -> pg.PlotCurveItem:
        while len(self.curves) <= j:
            k = len(self.curves)
            item = pg.PlotCurveItem(pen=pg.mkPen(palette.component_color(k).darker(120), width=width),
                                    connect="finite")
            item.setZValue(10)
            self.plot.addItem(item)
            self.curves.append(item)
        return self.curves[j]

    def clear_from(self, k: int) -> None:
        for item in self.curves[k:]:
            item.setData([], [])


class _Grid(pg.GraphicsLayoutWidget):
    """The small multiples; ``cell_clicked(x, y)`` names the features of the clicked cell."""

    cell_clicked = Signal(int, int)

    def __init__(self, session, rows_only: bool = False, parent=None):
        super().__init__(parent)
        self.setBackground(palette.BACKGROUND)
        self._session = session
        self._rows_only = rows_only  # the marginals panel: the diagonal, one feature a row
        self.cells: dict[tuple[int, int], _Cell] = {}
        self._X = None
        self._snapshot = None
        self._labels = None  # the most responsible component of each point, as the markers show it
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        session.data_changed.connect(self._on_data_changed)
        session.fit_changed.connect(self._on_fit_changed)

    @property
    def n_shown(self) -> int:
        return 0 if self._X is None else min(self._X.shape[1], MAX_FEATURES)

    def _on_data_changed(self, dataset) -> None:
        self.clear()
        self.cells = {}
        self._snapshot = None
        self._labels = None
        X = dataset.X
        self._X = X if X.shape[1] >= 1 else None
        d, names = self.n_shown, dataset.feature_names
        pairs = [(i, i) for i in range(d)] if self._rows_only else [(i, j) for i in range(d) for j in range(d)]
        for i, j in pairs:  # row i (the y feature), column j (the x feature)
            plot = self.addPlot(row=i, col=0 if self._rows_only else j)
            cell = self.cells[j, i] = _Cell(plot, j, i, values=self._rows_only)
            if i == j:
                self._draw_histogram(cell)
            else:
                self._draw_points(cell)
            if self._rows_only or i == d - 1:
                plot.setLabel("bottom", names[j], color=palette.FOREGROUND)
            if self._rows_only or j == 0:
                plot.setLabel("left", names[i] if not self._rows_only else "density", color=palette.FOREGROUND)
            if self._rows_only:
                plot.setTitle(names[i], color=palette.FOREGROUND, size="9pt")
        if self._rows_only:  # each row readable: the dock's scroll area scrolls beyond
            self.setMinimumHeight(MARGINAL_ROW_MIN_HEIGHT * d)
        self._draw_fit()

    def _draw_points(self, cell: _Cell) -> None:
        x, y = self._X[:, cell.x], self._X[:, cell.y]
        if len(x) <= MAX_MARKERS:
            cell.points = pg.ScatterPlotItem(x, y, size=3, pen=None, brush=pg.mkBrush(*NEUTRAL_RGBA), pxMode=True)
            cell.plot.addItem(cell.points)
        else:  # density image: log counts, light grey to black
            (x0, x1), (y0, y1) = _range(x), _range(y)
            counts, _, _ = np.histogram2d(x, y, bins=IMAGE_BINS, range=[[x0, x1], [y0, y1]])
            image = pg.ImageItem(np.log1p(counts))
            image.setLookupTable(np.linspace([255, 255, 255], [40, 40, 40], 256).astype(np.uint8))
            image.setRect(x0, y0, x1 - x0, y1 - y0)
            cell.plot.addItem(image)
        cell.plot.setRange(xRange=_range(x), yRange=_range(y), padding=0)

    def _draw_histogram(self, cell: _Cell) -> None:
        x = self._X[:, cell.x]
        counts = np.zeros(1)
        if len(x):  # no bars without points
            counts, edges = np.histogram(x, bins=min(40, max(8, int(np.sqrt(len(x))))), density=True)
            bars = pg.PlotCurveItem(edges, counts, stepMode="center", fillLevel=0,
                                    brush=pg.mkBrush(190, 190, 190, 160), pen=pg.mkPen("#999999"))
            cell.plot.addItem(bars)
        cell.grid = np.linspace(*_range(x), GRID_POINTS)
        cell.mixture = pg.PlotCurveItem(pen=pg.mkPen(palette.FOREGROUND, width=1.8))
        cell.mixture.setZValue(20)
        cell.plot.addItem(cell.mixture)
        cell.plot.setRange(xRange=_range(x), yRange=(0, counts.max() * 1.15 or 1.0), padding=0)

    def _on_fit_changed(self, snapshot) -> None:
        if snapshot is not None and self._X is not None and snapshot.means.shape[1] != self._X.shape[1]:
            snapshot = None  # the former data's fit
        self._snapshot = snapshot
        if self.isVisible():
            self._draw_fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._draw_fit()

    def _draw_labels(self, snap) -> None:
        """Colour the markers by each point's most responsible component (grey without them)."""
        labels = None
        if snap is not None and self._X is not None and len(self._X) <= MAX_MARKERS:
            if getattr(snap, "labels", None) is not None and len(snap.labels) == len(self._X):
                labels = np.asarray(snap.labels)
            elif snap.resp is not None and len(snap.resp) == len(self._X):
                labels = np.argmax(snap.resp, axis=1)
            elif self._labels is not None and len(self._labels) == len(self._X) and snap.phase == "M":
                return  # after an M-step the colours stay those of the last E-step (as on the canvas)
        if labels is None and self._labels is None:
            return
        if labels is not None and self._labels is not None and np.array_equal(labels, self._labels):
            return
        self._labels = labels
        if labels is None:
            brushes = pg.mkBrush(*NEUTRAL_RGBA)
        else:
            table = [pg.mkBrush(palette.component_color(j, alpha=170)) for j in range(int(labels.max()) + 1)]
            brushes = [table[j] for j in labels]
        for cell in self.cells.values():
            if cell.points is not None:
                cell.points.setBrush(brushes)

    def _draw_fit(self) -> None:
        snap = self._snapshot
        self._draw_labels(snap)
        for (x, y), cell in self.cells.items():
            if snap is None:
                cell.clear_from(0)
                if x == y:
                    cell.mixture.setData([], [])
                continue
            k = snap.means.shape[0]
            if x == y:
                dens = weighted_densities(cell.grid, snap.weights, snap.means[:, x], snap.covariances[:, x, x])
                for j in range(k):
                    cell.curve(j).setData(cell.grid, dens[j])
                cell.mixture.setData(cell.grid, dens.sum(axis=0))
            else:
                block = snap.covariances[:, [x, y]][:, :, [x, y]]  # the exact 2x2 marginal
                rings = ellipses_points(snap.means[:, [x, y]], block, RING_SIGMAS, n_points=48)
                for j in range(k):
                    xy = np.concatenate([np.vstack([ring, [np.nan, np.nan]]) for ring in rings[j]])
                    cell.curve(j).setData(xy[:, 0], xy[:, 1])
            cell.clear_from(k)

    def _on_scene_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for (x, y), cell in self.cells.items():
            if cell.plot.sceneBoundingRect().contains(ev.scenePos()):
                self.cell_clicked.emit(x, y)
                return


class ScatterMatrixDock(QDockWidget):
    """Dock holding the scatter matrix; a click on an off-diagonal cell asks for that pair view
    (``view_requested(x, y)``), on the diagonal for that feature against the next."""

    view_requested = Signal(object, object)

    def __init__(self, session, parent=None):
        super().__init__("Scatter matrix", parent)
        self.setObjectName("scatterMatrixDock")
        self.grid = _Grid(session)
        self.grid.setObjectName("scatterMatrix")
        self.setWidget(self.grid)
        self.setMinimumWidth(DOCK_MIN_WIDTH)
        self.grid.cell_clicked.connect(self._on_cell_clicked)

    def _on_cell_clicked(self, x: int, y: int) -> None:
        if self.grid._X is None or self.grid._X.shape[1] < 2:
            return
        if x == y:
            y = (x + 1) % self.grid._X.shape[1]
        self.view_requested.emit(x, y)


class MarginalsPanel(QDockWidget):
    """Dock of per-feature 1-D densities: the data's histogram, each component's weighted marginal
    density and the mixture's, one feature a row (at least MARGINAL_ROW_MIN_HEIGHT tall, scrolled),
    with numbers on both axes."""

    def __init__(self, session, parent=None):
        super().__init__("Marginals", parent)
        self.setObjectName("marginalsDock")
        self.grid = _Grid(session, rows_only=True)
        self.grid.setObjectName("marginals")
        self.scroll = QScrollArea()  # the rows keep MARGINAL_ROW_MIN_HEIGHT: many features scroll
        self.scroll.setObjectName("marginalsScroll")
        self.scroll.setWidget(self.grid)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(self.scroll)
        self.setMinimumWidth(DOCK_MIN_WIDTH)
