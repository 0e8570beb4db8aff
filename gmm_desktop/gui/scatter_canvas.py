"""The scatter canvas: the data, the placed means (click, drag, right click) and the fit's overlays."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QPainterPath, QPen
from PySide6.QtWidgets import QLabel, QVBoxLayout

from gmm_desktop.core.geometry import ellipses_points
from gmm_desktop.gui import palette
from gmm_desktop.gui.em_worker import RUNNING
from gmm_desktop.gui.point_cloud import PointCloud

SIGMAS = (1.0, 2.0, 3.0)
#: Per ring (1, 2, 3 sigma): how far the outline's colour is from white (255: full colour), its
#: width in screen pixels, and whether a white halo is drawn under it. Outlines are opaque, and all
#: but the 1-sigma ring one pixel wide: Qt strokes translucent or wider pens through its general
#: path filler, and with 16 components that was most of every frame while EM ran on a million
#: points (30 ms for the rings translucent at 2.4/1.8/1.3 px, 11 opaque, 3.5 as now).
_SIGMA_ALPHA = (255, 200, 150)
_SIGMA_WIDTH = (2.4, 1.0, 1.0)
_SIGMA_HALO = (True, False, False)
_SELECTED_WIDTH = 5.0  # the selected component's 1-sigma outline (the inspector's), screen pixels
_HIT_RADIUS_PX = 12.0
TRUTH_Z = 5.0  # the dashed true clusters: under the fitted ellipses (z 10), over the points (z 0)
LEGEND_ROWS = 8  # more components than this: the legend takes two columns
_MAX_TRUE_CLUSTERS = 20  # more distinct labels than this are not drawn as clusters
VIEW_MARGIN = 0.04  # of the data's extent, on each side, in the default view
#: Equal scales on both axes (circles look round) only while the two shown axes' data ranges are
#: within this factor of each other (the demo's x/y: 1.2, iris petals: 2.5); beyond it (Old Faithful:
#: eruptions 1.6-5.1 min against waiting 43-96 min, 15) each axis fits its own data.
EQUAL_SCALE_MAX_RATIO = 4.0
HINT = "Click to place initial means, or press k-means++"
#: A variational fit's components fade with their weight: strength 1 (full colour) at the largest
#: weight down to FADE_MIN; a pruned one (weight below 1%) is drawn at PRUNED_STRENGTH, dotted.
FADE_MIN = 0.35
PRUNED_STRENGTH = 0.15


def fade_strengths(snapshot) -> np.ndarray | None:
    """Per component, how strongly it is drawn (1: full colour), or None (EM: all at full colour).

    A variational snapshot (one with ``pruned``): the square root of the weight relative to the
    largest, at least FADE_MIN, and PRUNED_STRENGTH for the pruned components; in steps of 0.05.
    """
    pruned = getattr(snapshot, "pruned", None)
    if snapshot is None or pruned is None or getattr(snapshot, "method", "em") != "vb":
        return None
    w = np.asarray(snapshot.weights, dtype=float)
    strength = np.clip(np.sqrt(w / max(float(w.max()), 1e-300)), FADE_MIN, 1.0)
    strength[list(pruned)] = PRUNED_STRENGTH
    return np.round(strength * 20) / 20


def equal_scales(points: np.ndarray) -> bool:
    """Whether the canvas keeps equal scales on both axes for ``points`` (n, 2) as shown: their x
    and y ranges within :data:`EQUAL_SCALE_MAX_RATIO` of each other (a flat axis: equal scales)."""
    if len(points) < 2:
        return True
    spans = np.ptp(np.asarray(points, dtype=float)[:, :2], axis=0)
    if not np.all(np.isfinite(spans)) or spans.min() <= 0:
        return True
    return bool(spans.max() / spans.min() <= EQUAL_SCALE_MAX_RATIO)


def _faded(color: QColor, strength: float) -> QColor:
    """``color`` moved towards white: all of it at strength 1, none at 0 (opaque: see _SIGMA_ALPHA)."""
    return QColor(*(round(255 - strength * (255 - c)) for c in color.getRgb()[:3]))


class _CanvasViewBox(pg.ViewBox):
    """Left clicks on empty canvas become ``clicked``; dragging pans, the wheel zooms."""

    clicked = Signal(float, float)  # data coordinates

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            # pyqtgraph's axes hand their clicks to the view box: a click on an axis (or on the part
            # of a tall legend hanging over one, clipped away) is not a click on the canvas
            if not ev.double() and self.sceneBoundingRect().contains(ev.scenePos()):
                pos = self.mapSceneToView(ev.scenePos())
                self.clicked.emit(pos.x(), pos.y())
        else:
            super().mouseClickEvent(ev)


class _LegendSample(pg.ItemSample):
    """A legend swatch that ignores clicks (pyqtgraph's toggles its item's visibility)."""

    def mouseClickEvent(self, ev):
        ev.ignore()


class _Legend(pg.LegendItem):
    """The legend: a click on it (or on its box's margin) is its own, never a click on the canvas
    under it (which added a mean hidden behind the box); dragging still moves it."""

    def mouseClickEvent(self, ev):
        ev.accept()


def hint_overlay(widget, text: str, name: str) -> QLabel:
    """The hint shown over an empty canvas (top centre; clicks go through it)."""
    hint = QLabel(text, widget)
    hint.setObjectName(name)
    hint.setStyleSheet(
        "QLabel { background: rgba(255,255,255,230); color: #222; border: 1px solid #BBB;"
        " border-radius: 6px; padding: 6px 12px; font-size: 12pt; }")
    hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    overlay = QVBoxLayout(widget)
    overlay.setContentsMargins(0, 16, 0, 0)
    overlay.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    return hint


class _FittedMeansItem(pg.ScatterPlotItem):
    """The fitted means (●): a left click on one is a click on that component (``clicked``), never
    on the canvas under it (which added a component); right clicks and drags go through to the
    initial means (×) drawn below."""

    clicked = Signal(int)  # component index

    def __init__(self):
        super().__init__(pxMode=True, symbol="o", size=13, pen=pg.mkPen(palette.FOREGROUND, width=1.5))
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)

    def index_at(self, scene_pos: QPointF) -> int | None:
        x, y = self.getData()
        if x is None or len(x) == 0:
            return None
        scene = [self.mapToScene(QPointF(a, b)) for a, b in zip(x, y)]
        d2 = [(p.x() - scene_pos.x()) ** 2 + (p.y() - scene_pos.y()) ** 2 for p in scene]
        k = int(np.argmin(d2))
        return k if d2[k] <= (self.opts["size"] / 2 + 2) ** 2 else None

    def mouseClickEvent(self, ev):
        k = self.index_at(ev.scenePos()) if ev.button() == Qt.MouseButton.LeftButton else None
        if k is None:
            ev.ignore()
            return
        ev.accept()
        self.clicked.emit(k)

    def mouseDragEvent(self, ev):
        ev.ignore()


class _MeansItem(pg.ScatterPlotItem):
    """The placed initial means: drag one to move it, right-click it to remove it."""

    moved = Signal(int, float, float)  # index, data coordinates
    removal_requested = Signal(int)  # index
    left_clicked = Signal(float, float)  # data coordinates of a left click on a mean

    def __init__(self):
        super().__init__(pxMode=True, symbol="x", size=17, pen=pg.mkPen("#FFFFFF", width=1.4))
        self._editable = True
        self._placed = np.empty((0, 2))  # the session's means
        self._means = self._placed.copy()  # as drawn: the placed ones, or one being dragged
        self._dragged: int | None = None

    @property
    def editable(self) -> bool:
        return self._editable

    @editable.setter
    def editable(self, editable: bool) -> None:
        """EM started (not editable): a drag in progress is dropped and the means drawn where they are."""
        self._editable = editable
        if not editable and self._dragged is not None:
            self.set_means(self._placed)

    def set_means(self, means: np.ndarray) -> None:
        """The session's means changed (an edit, undo, delete...): any drag in progress ends unapplied."""
        self._placed = np.array(means, dtype=float)
        self._means = self._placed.copy()
        self._dragged = None
        self._update_spots()

    def index_at(self, scene_pos: QPointF) -> int | None:
        """The mean within a few pixels of ``scene_pos``, the nearest one first."""
        if len(self._means) == 0:
            return None
        scene = [self.mapToScene(QPointF(x, y)) for x, y in self._means]
        d2 = [(p.x() - scene_pos.x()) ** 2 + (p.y() - scene_pos.y()) ** 2 for p in scene]
        k = int(np.argmin(d2))
        return k if d2[k] <= _HIT_RADIUS_PX**2 else None

    def mouseClickEvent(self, ev):
        k = self.index_at(ev.scenePos()) if self.editable else None
        if k is None:
            ev.ignore()
            return
        ev.accept()
        if ev.button() == Qt.MouseButton.RightButton:
            self.removal_requested.emit(k)
        elif ev.button() == Qt.MouseButton.LeftButton:
            self.left_clicked.emit(ev.pos().x(), ev.pos().y())

    def mouseDragEvent(self, ev):
        if ev.button() != Qt.MouseButton.LeftButton or not self.editable:
            ev.ignore()
            return
        if ev.isStart():
            self._dragged = self.index_at(ev.buttonDownScenePos())
        if self._dragged is None:  # not on a mean, or the means were replaced mid-drag
            ev.ignore()
            return
        ev.accept()
        self._means[self._dragged] = (ev.pos().x(), ev.pos().y())
        self._update_spots()
        if ev.isFinish():
            k, self._dragged = self._dragged, None
            self.moved.emit(k, *self._means[k])

    def _update_spots(self) -> None:
        brushes = [pg.mkBrush(palette.component_color(k)) for k in range(len(self._means))]
        self.setData(pos=self._means, brush=brushes)


class _EllipsesItem(pg.GraphicsObject):
    """Every component's 1/2/3-sigma outlines as one item: paths and pens are built when the fit
    changes, so ``paint()`` is one ``drawPath`` per ring (48 PlotCurveItems cost far more per frame)."""

    def __init__(self):
        super().__init__()
        self.rings: list[np.ndarray] = []  # (n_points, 2) outlines, component-major, 1 sigma first
        self.strengths: list[float] = []  # per component: 1 full colour, less faded (variational fits)
        self.width_scale = 1.0  # times the pens' widths (presentation mode: wider)
        self._outlines = np.empty((0, len(SIGMAS), 0, 2))
        self._paths: list[tuple[QPen, QPainterPath]] = []
        self._haloed: list[tuple[QPen, QPainterPath]] = []  # (halo pen, path) of the rings with one
        self._pens: dict[tuple[int, int, float], QPen] = {}  # (component, ring, strength) -> pen, made once
        self._halos: dict[float, QPen] = {}  # line width -> white pen drawn under the outline
        self._data_rect = QRectF()  # the outlines' extent in data coordinates
        self._bounds: QRectF | None = None  # that plus the widest pen's overhang; None: to compute
        self.selected: int | None = None  # the component the inspector shows: its 1-sigma ring is wide

    def set_outlines(self, outlines: np.ndarray, strengths=None) -> None:
        """``outlines`` of shape (n_components, n_sigmas, n_points, 2), as ``ellipses_points`` gives;
        ``strengths`` per component (see :func:`fade_strengths`; None: all 1)."""
        self.prepareGeometryChange()
        self._outlines = outlines
        self.rings = [ring for rings in outlines for ring in rings]
        self._paths, self._haloed = [], []
        self.strengths = [1.0] * len(outlines) if strengths is None else [float(v) for v in strengths]
        for j, rings in enumerate(outlines):
            for s, ring in enumerate(rings):
                pen, path = self._pen(j, s, self.strengths[j]), pg.arrayToQPath(ring[:, 0], ring[:, 1])
                self._paths.append((pen, path))
                if _SIGMA_HALO[s] and self.strengths[j] > 0.5:
                    self._haloed.append((self._halo(pen.widthF()), path))
        finite = [r for r in self.rings if np.isfinite(r).all()]
        if finite:
            lo, hi = np.min([r.min(axis=0) for r in finite], axis=0), np.max([r.max(axis=0) for r in finite], axis=0)
            self._data_rect = QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
        else:
            self._data_rect = QRectF()
        self._bounds = None
        self.update()

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self.prepareGeometryChange()
        self._bounds = None  # the pens' overhang, in data units, changes with the zoom

    def set_selected(self, component: int | None) -> None:
        """Draw ``component``'s 1-sigma outline wide (None: none)."""
        if component != self.selected:
            self.selected = component
            self.update()

    def selected_pen(self) -> QPen:
        """The pen of the selected component's wide outline."""
        pen = pg.mkPen(palette.component_color(self.selected or 0).darker(135), width=_SELECTED_WIDTH * self.width_scale)
        pen.setCosmetic(True)
        return pen

    def set_width_scale(self, scale: float) -> None:
        """Draw every outline ``scale`` times as wide (pens are rebuilt)."""
        self.width_scale = float(scale)
        self._pens.clear()
        self._halos.clear()
        self.set_outlines(self._outlines, self.strengths)

    def pen(self, component: int, ring: int = 0) -> QPen:
        """The pen component ``component``'s ``ring`` (0: 1 sigma) is drawn with now."""
        return self._pen(component, ring, self.strengths[component])

    def _pen(self, component: int, ring: int, strength: float = 1.0) -> QPen:
        key = (component, ring, strength)
        if key not in self._pens:
            color = palette.component_color(component).darker(135)  # stands out over its own points
            fade = _SIGMA_ALPHA[ring] / 255.0 * strength  # towards white, not translucent (see _SIGMA_ALPHA)
            pen = pg.mkPen(_faded(color, fade), width=_SIGMA_WIDTH[ring] * self.width_scale)
            if strength <= PRUNED_STRENGTH:
                pen.setStyle(Qt.PenStyle.DotLine)
            pen.setCosmetic(True)
            self._pens[key] = pen
        return self._pens[key]

    def boundingRect(self) -> QRectF:
        """The outlines' extent plus half the widest (halo) pen and a pixel of antialiasing.

        Without the pens' overhang, an outline at the edge of the extent was partly outside the
        rectangle Qt repaints when the outlines change, and that part stayed on screen as a ghost
        of an old fit (grabbed or exported images repaint everything, so they never showed it).
        """
        if self._bounds is None:
            if self._data_rect.isNull() and not self.rings:
                self._bounds = QRectF()
            else:
                overhang = (max(*_SIGMA_WIDTH, _SELECTED_WIDTH) * self.width_scale + 2.2) / 2 + 2.0  # screen pixels
                px, py = self.pixelVectors()
                pad_x = 0.0 if px is None else px.length() * overhang
                pad_y = 0.0 if py is None else py.length() * overhang
                self._bounds = self._data_rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)
        return self._bounds

    def paint(self, painter, *args) -> None:
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        for halo, path in self._haloed:  # white first, so 1-sigma outlines stay visible over dense points
            painter.setPen(halo)
            painter.drawPath(path)
        for pen, path in self._paths:
            painter.setPen(pen)
            painter.drawPath(path)
        k = self.selected
        if k is not None and len(SIGMAS) * k < len(self._paths) and len(self._paths) == len(SIGMAS) * len(self.strengths):
            painter.setPen(self.selected_pen())
            painter.drawPath(self._paths[len(SIGMAS) * k][1])

    def _halo(self, width: float) -> QPen:
        if width not in self._halos:
            pen = pg.mkPen(QColor(255, 255, 255), width=width + 2.2)  # opaque: see _SIGMA_ALPHA
            pen.setCosmetic(True)
            self._halos[width] = pen
        return self._halos[width]


class ScatterCanvas(pg.PlotWidget):
    """The data set with the placed means, each component's ellipses and mean, and the truth.

    Parameters
    ----------
    session : Session
        The canvas draws its data set, placed means and newest fit.
    """

    mean_added = Signal(float, float)  # data coordinates of a left click on empty canvas
    mean_moved = Signal(int, float, float)  # index, new data coordinates
    mean_removed = Signal(int)  # index
    component_clicked = Signal(int)  # index of the fitted mean (●) clicked; issue 12 selects it

    def __init__(self, session, parent=None):
        self._view = _CanvasViewBox()
        super().__init__(parent, background=palette.BACKGROUND, viewBox=self._view)
        self.setObjectName("scatterCanvas")
        self._session = session
        self.click_filter = None  # callable(x, y) -> True when it took the click
        self._hard_labels = False
        self._blend = False  # blend component colours by responsibility instead of fading the top one
        self._show_truth = False
        self._snapshot = None
        self.ellipses = _EllipsesItem()
        self.ellipses.setZValue(10)
        self._truth_curves: list[pg.PlotCurveItem] = []
        self._drawn_resp = None  # the responsibilities whose colours are on screen
        self._legend_k = 0
        self._setup_plot()
        self.cloud = PointCloud(self.getPlotItem())  # markers for small data, a density image for large
        self._fitted_means = _FittedMeansItem()
        # over the initial means, so a fitted mean that ends where it started is not hidden under
        # its x (shown alone at iteration 0, where they coincide); right clicks and drags go through
        self._fitted_means.setZValue(40)
        self._placed_means = _MeansItem()
        self._truth_sample = pg.PlotCurveItem(pen=pg.mkPen(palette.TRUTH_LIGHT, width=1.4, style=Qt.PenStyle.DashLine))
        self._initial_sample = pg.ScatterPlotItem(symbol="x", size=15, pen=pg.mkPen("#FFFFFF", width=1.2),
                                                  brush=pg.mkBrush(palette.FOREGROUND))
        self._placed_means.setZValue(30)
        for item in (self.ellipses, self._fitted_means, self._placed_means):
            self.addItem(item)
        self._legend = _Legend(offset=(12, 12), labelTextColor=palette.FOREGROUND, sampleType=_LegendSample,
                                     labelTextSize="10.5pt", brush=pg.mkBrush(255, 255, 255, 220),
                                     pen=pg.mkPen("#BBBBBB"))
        self._legend.setParentItem(self.getPlotItem().vb)
        self._legend.setVisible(False)  # until there is a fit to describe (no empty box at start)
        self._hint = hint_overlay(self, HINT, "canvasHint")

        self._view.clicked.connect(self._on_clicked)
        self._placed_means.moved.connect(self.mean_moved)
        self._placed_means.removal_requested.connect(self.mean_removed)
        self._fitted_means.clicked.connect(self.component_clicked)
        self._placed_means.left_clicked.connect(  # on a fitted mean over its x: select it
            lambda x, y: self.click_filter is not None and self.click_filter(x, y))
        session.data_changed.connect(self._on_data_changed)
        session.means_changed.connect(self._on_means_changed)
        session.fit_changed.connect(self._on_fit_changed)
        session.state_changed.connect(self._on_state_changed)
        session.view_changed.connect(self._on_view_changed)
        self.cloud.colors_drawn.connect(self._on_colors_drawn)

    def _setup_plot(self) -> None:
        plot = self.getPlotItem()
        plot.setAspectLocked(True)
        palette.style_plot(plot)

    # -- options
    def set_hard_labels(self, hard: bool) -> None:
        """Colour points by their most responsible component instead of blending colours."""
        self._hard_labels = hard
        self._drawn_resp = None
        self._update_points()

    def set_blend(self, blend: bool) -> None:
        """Blend the component colours by responsibility (mixed hues) instead of the default: the
        most responsible component's colour, faded towards white by the point's doubt."""
        self._blend = blend
        self._drawn_resp = None
        self._update_points()

    def set_truth_visible(self, visible: bool) -> None:
        self._show_truth = visible
        self._update_truth()
        self._update_legend()

    def mean_under_cursor(self) -> int | None:
        pos = self.mapToScene(self.mapFromGlobal(QCursor.pos()))
        return self._placed_means.index_at(pos)

    # -- events
    def _on_clicked(self, x: float, y: float) -> None:
        if self.click_filter is not None and self.click_filter(x, y):
            return  # a click on a fitted mean or its ellipse selects it (gui/inspector.py)
        if self._placed_means.editable and self._session.dataset is not None:
            self.mean_added.emit(x, y)

    @property
    def view(self):
        """The document's :class:`~gmm_desktop.document.View`: which 2-D picture of the data is drawn."""
        return self._session.document.view

    def _shown(self, X: np.ndarray) -> np.ndarray:
        """Canvas coordinates of full-dimensional points (a 1-D view draws them on the line y = 0)."""
        P = self.view.project_points(X)
        return P if P.shape[1] == 2 else np.column_stack([P[:, 0], np.zeros(len(P))])

    def _on_data_changed(self, dataset) -> None:
        # The old fit's overlays go now, not at the next frame: the view is framed on the new data
        # below, and nothing of the old fit may be drawn (or framed) over it meanwhile.
        self._snapshot = None
        self._update_outlines()
        self._draw_in_view(refit=False)

    def _on_view_changed(self, *_) -> None:
        self._draw_in_view(refit=True)

    def _draw_in_view(self, refit: bool) -> None:
        """New data or another view: points, means, outlines and truth drawn again in it (``refit``:
        the fit on screen too, as it is the same fit in another view)."""
        dataset = self._session.dataset
        if dataset is None:
            return
        shown = self._shown(dataset.X)
        self.cloud.set_points(shown)
        self.getPlotItem().setAspectLocked(equal_scales(shown))  # Old Faithful: not a vertical line
        self._drawn_resp = None
        names = self.view.axis_labels(dataset.feature_names) + [""]
        plot = self.getPlotItem()
        plot.setLabel("bottom", names[0], **palette.label_style())
        plot.setLabel("left", names[1], **palette.label_style())
        self._placed_means.set_means(self._shown(self._session.means))
        self._update_truth()
        if refit:
            self._update_points()
            self._update_outlines()
        self.fit_view()
        self.viewport().update()  # one full repaint: no fragment of the old drawing survives

    def fit_view(self) -> None:
        """Frame the data points with a small margin (not the means, rings or truth of a fit)."""
        self._view.autoRange(padding=VIEW_MARGIN, items=[self.cloud.extent_item])

    def _on_means_changed(self, means: np.ndarray) -> None:
        self._placed_means.set_means(self._shown(means))
        self._hint.setVisible(len(means) == 0 and self._session.dataset is not None)

    def _on_fit_changed(self, snapshot) -> None:
        self._snapshot = snapshot
        self._update_points()
        if not self.cloud.colors_pending:
            self._update_outlines()
        # else: the outlines follow when the new colours are drawn (_on_colors_drawn), so that both
        # show the same iteration and reach the screen in one paint instead of two

    def _on_colors_drawn(self) -> None:
        self._update_outlines()

    def _update_outlines(self) -> None:
        """Ellipses, fitted means and legend of the newest snapshot."""
        self._update_ellipses()
        self._update_legend()

    def _on_state_changed(self, state: str) -> None:
        self._placed_means.editable = state != RUNNING

    # -- drawing
    def _update_points(self) -> None:
        """Colour the points by the newest responsibilities; a snapshot without them (EM sends
        them at most a few times a second for large data) keeps the colours on screen."""
        snap = self._snapshot
        if snap is None:
            self._drawn_resp = None
            self.cloud.set_colors(None)
            return
        resp = snap.resp if snap.resp is not None and len(snap.resp) == self.cloud.n_points else None
        if resp is None or resp is self._drawn_resp:
            return
        self._drawn_resp = resp
        rgb = palette.component_rgb(resp.shape[1])
        if self._hard_labels:
            self.cloud.set_hard_labels(snap.labels if snap.labels is not None else np.argmax(resp, axis=1), rgb)
        elif self._blend:
            self.cloud.set_colors_from_responsibilities(resp, rgb)
        else:
            self.cloud.set_faded_colors(resp, rgb, snap.labels)

    def _update_ellipses(self) -> None:
        snap = self._snapshot
        if snap is None:
            self.ellipses.set_outlines(np.empty((0, len(SIGMAS), 0, 2)))
            self._fitted_means.setData(pos=np.empty((0, 2)))
            return
        k = snap.means.shape[0]
        strengths = fade_strengths(snap)
        means, covs = self._shown(snap.means), self.view.project_covariances(snap.covariances)
        if self.view.n_shown == 2:  # the exact projections of the full-dimensional components
            self.ellipses.set_outlines(ellipses_points(means, covs, SIGMAS), strengths)
        else:
            self.ellipses.set_outlines(np.empty((0, len(SIGMAS), 0, 2)))
        shown = means if snap.iteration > 0 else np.empty((0, 2))  # iteration 0: the x marks
        fg = QColor(palette.FOREGROUND)  # a faint component's mean has a faint outline too
        pens = [pg.mkPen(fg if strengths is None else _faded(fg, float(strengths[j])), width=1.5)
                for j in range(len(shown))]
        self._fitted_means.setData(pos=shown, pen=pens, brush=[pg.mkBrush(self._component_color(j, strengths))
                                                               for j in range(len(shown))])

    @staticmethod
    def _component_color(j: int, strengths) -> QColor:
        color = palette.component_color(j)
        return color if strengths is None else _faded(color, float(strengths[j]))

    def _update_truth(self) -> None:
        for curve in self._truth_curves:
            self.removeItem(curve)
        self._truth_curves = []
        dataset = self._session.dataset
        if (not self._show_truth or dataset is None or dataset.labels is None
                or len(np.unique(dataset.labels)) > _MAX_TRUE_CLUSTERS):
            return
        if self.view.n_shown != 2:
            return
        means, covs = _label_moments(self._shown(dataset.X), dataset.labels)
        if len(means) == 0:
            return
        pen = self._truth_sample.opts["pen"]
        for rings in ellipses_points(means, covs, SIGMAS):
            xy = np.concatenate([np.vstack([ring, [np.nan, np.nan]]) for ring in rings])
            curve = pg.PlotCurveItem(xy[:, 0], xy[:, 1], pen=pen, connect="finite")
            curve.setZValue(TRUTH_Z)  # under the fitted ellipses (10), over the points (0)
            self.addItem(curve)
            self._truth_curves.append(curve)

    def _update_legend(self) -> None:
        snap = self._snapshot
        k = 0 if snap is None else snap.means.shape[0]
        weights = [] if snap is None else snap.weights
        name = "component {}  (weight {:.2f})" if k <= LEGEND_ROWS else "{}: weight {:.2f}"  # two short columns
        entries = [name.format(j + 1, w) for j, w in enumerate(weights)]
        strengths = fade_strengths(snap)
        pruned = set(getattr(snap, "pruned", ()) if strengths is not None else ())
        entries = [f"{text}  pruned" if j in pruned else text for j, text in enumerate(entries)]
        entries += ["initial means"] * (k > 0) + ["true clusters"] * bool(self._truth_curves)
        fg = QColor(palette.FOREGROUND)
        colors = [fg.name() if strengths is None else _faded(fg, max(float(strengths[j]), 0.3)).name()
                  for j in range(k)] + [fg.name()] * (len(entries) - k)
        if len(entries) == len(self._legend.items) and self._legend_k == k:
            for j, ((sample, label), text, color) in enumerate(zip(self._legend.items, entries, colors)):
                if label.text != text or label.opts.get("color") != color:
                    label.setText(text, color=color)  # same entries, new weights: cheaper than rebuilding
                if j < k:
                    sample.item.setBrush(pg.mkBrush(self._component_color(j, strengths)))
            return
        self._legend.clear()
        self._legend_k = k
        self._legend.setColumnCount(2 if k > LEGEND_ROWS else 1)  # half as tall over the data
        samples = [pg.ScatterPlotItem(symbol="o", size=11, pen=pg.mkPen(palette.FOREGROUND, width=1),
                                      brush=pg.mkBrush(self._component_color(j, strengths))) for j in range(k)]
        samples += [self._initial_sample] * (k > 0) + [self._truth_sample] * bool(self._truth_curves)
        for sample, text, color in zip(samples, entries, colors):
            self._legend.addItem(sample, text)
            self._legend.items[-1][1].setText(text, color=color)
        self._legend.setVisible(bool(entries))


def _label_moments(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of each true cluster with at least three points.

    Returns
    -------
    means : ndarray of shape (n_clusters, 2)
    covariances : ndarray of shape (n_clusters, 2, 2)
    """
    groups = [X[labels == lab] for lab in np.unique(labels)]
    groups = [g for g in groups if len(g) >= 3]
    means = np.array([g.mean(axis=0) for g in groups]).reshape(-1, 2)
    covs = np.array([np.cov(g, rowvar=False) for g in groups]).reshape(-1, 2, 2)
    return means, covs
