"""Paint data (``actionPaintData``): the mouse sprays points of a chosen true class, or erases them.

While Paint data is on, a left drag on the canvas sprays points around the cursor (uniformly in a
disc of the brush's radius, ``density`` points per dab, a dab every half radius along the drag), a
right drag (or a left drag with the eraser chosen) removes the points under the brush. The wheel
still zooms. A stroke is drawn as a preview while the button is held and becomes one undoable edit
when it is released (:class:`PaintCommand`): the data change, the placed means stay, and the fit
restarts from them on the new data; Undo brings back the data and the fit that existed before.

"New blank data" starts from an empty canvas (0 points, true classes on); File → Save data… writes
the data as CSV (``window.save_data(path)``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QUndoCommand
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QRadioButton, QSpinBox, QToolBar

from gmm_desktop.core.errors import GMMError
from gmm_desktop.gui import palette
from gmm_desktop.io import datasets
from gmm_desktop.io.fileio import atomic_write_text

N_CLASSES = 8  # true classes offered by the brush
BLANK_RANGE = ((-10.0, 10.0), (-10.0, 10.0))  # the view of a blank canvas
CSV_FILTER = "CSV files (*.csv);;All files (*)"


def provenance_path(csv_path) -> Path:
    """The sidecar next to saved data that records how they were made: ``data.csv`` ->
    ``data.generator.json`` (``generator.regenerate(path)`` makes generated data again from it)."""
    return Path(csv_path).with_suffix(".generator.json")


def blank_dataset() -> datasets.Dataset:
    """An empty 2-D data set with true classes, to paint on."""
    return datasets.Dataset(X=np.empty((0, 2)), feature_names=["x", "y"], labels=np.empty(0, dtype=np.int64),
                            source="painted data", all_feature_names=["x", "y"], label_name="label",
                            provenance={"painted": True})


def with_points(dataset, points: np.ndarray, label: int | None) -> datasets.Dataset:
    """``dataset`` with ``points`` added (of true class ``label`` when it has classes)."""
    X = np.ascontiguousarray(np.vstack([dataset.X, points]))
    labels, names = dataset.labels, dataset.label_names
    if labels is not None:
        labels = np.concatenate([labels, np.full(len(points), label, dtype=np.int64)])
        if names is not None and label >= len(names):
            names = list(names) + [f"class {j}" for j in range(len(names), label + 1)]
    return dataclasses.replace(dataset, X=X, labels=labels, label_names=names, source=_painted(dataset.source),
                               true_centers=None, provenance=_painted_provenance(dataset))


def without_points(dataset, erased: np.ndarray) -> datasets.Dataset:
    """``dataset`` without the rows where ``erased`` is True."""
    keep = ~erased
    labels = None if dataset.labels is None else dataset.labels[keep]
    return dataclasses.replace(dataset, X=np.ascontiguousarray(dataset.X[keep]), labels=labels,
                               source=_painted(dataset.source), true_centers=None,
                               provenance=_painted_provenance(dataset))


def _painted(source: str) -> str:
    return source if source.endswith("(painted)") or source == "painted data" else f"{source} (painted)"


def _painted_provenance(dataset) -> dict:
    before = getattr(dataset, "provenance", None)
    if before and before.get("painted"):
        return before
    return {"painted": True, "painted_over": before}  # by hand: the generator alone cannot remake it


class PaintCommand(QUndoCommand):
    """One stroke: the data become ``dataset``; the means, settings and locks stay, the fit restarts
    on the new data. Undo restores the document exactly (data and whatever fit existed)."""

    def __init__(self, window, dataset, text: str):
        super().__init__(text)
        self._window = window
        self._dataset = dataset
        self._before = window.session.capture()

    def redo(self) -> None:
        self._apply(dataclasses.replace(self._window.session.capture(), dataset=self._dataset, entries=(),
                                        cursor=None))

    def undo(self) -> None:
        self._apply(self._before)

    def _apply(self, state) -> None:
        vb = self._window.canvas.getPlotItem().vb
        (x0, x1), (y0, y1) = vb.viewRange()
        self._window.session.pause()
        self._window.session.restore(state)
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)  # painting never moves the view


class PaintTool(QObject):
    """The brush, the eraser and their options; it owns ``actionPaintData`` and "New blank data".

    Attributes
    ----------
    radius_px : int
        The brush's radius in screen pixels (the same on screen at any zoom).
    density : int
        Points sprayed per dab.
    label : int
        The true class painted.
    erasing : bool
        Left drags erase instead of spraying.
    """

    def __init__(self, window):
        super().__init__(window)
        self._window = window
        self._canvas = canvas = window.canvas
        self._vb = canvas.getPlotItem().vb
        self.radius_px, self.density, self.label, self.erasing = 24, 12, 0, False
        self._rng = np.random.default_rng(0)
        self._stroke: dict | None = None
        self._preview = pg.ScatterPlotItem(pxMode=True, size=6, pen=None)
        self._preview.setZValue(50)
        self._ring = pg.ScatterPlotItem(pxMode=True, symbol="o", brush=None,
                                        pen=pg.mkPen("#333333", width=1.2, style=Qt.PenStyle.DashLine))
        self._ring.setZValue(60)
        for item in (self._preview, self._ring):
            item.setVisible(False)
            canvas.addItem(item, ignoreBounds=True)
        self.action = window._action("actionPaintData", "&Paint data", self._on_toggled, ["P"],
                                     tip="Paint points with the mouse instead of placing means: left drag "
                                         "sprays, right drag erases")
        self.action.setCheckable(True)
        self.action.setIcon(_brush_icon())
        self.actionNewBlankData = window._action("actionNewBlankData", "New &blank data", self._on_new_blank_triggered,
                                                 tip="Start from an empty canvas and paint the data")
        self.toolbar = self._make_toolbar()
        canvas.viewport().installEventFilter(self)
        window.session.fit_changed.connect(self._colour_by_class)

    # ------------------------------------------------------------------ options
    def _make_toolbar(self) -> QToolBar:
        bar = QToolBar("Paint", self._window)
        bar.setObjectName("paintToolBar")
        bar.setMovable(False)
        bar.addWidget(QLabel(" Brush radius "))
        self.radius_spin = QSpinBox(minimum=2, maximum=200, value=self.radius_px, suffix=" px")
        self.radius_spin.setObjectName("paintRadius")
        self.radius_spin.valueChanged.connect(lambda v: setattr(self, "radius_px", v))
        bar.addWidget(self.radius_spin)
        bar.addWidget(QLabel("  Density "))
        self.density_spin = QSpinBox(minimum=1, maximum=500, value=self.density, suffix=" per dab")
        self.density_spin.setObjectName("paintDensity")
        self.density_spin.valueChanged.connect(lambda v: setattr(self, "density", v))
        bar.addWidget(self.density_spin)
        bar.addWidget(QLabel("  True class "))
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("paintClass")
        for j in range(N_CLASSES):
            self.class_combo.addItem(_swatch(palette.component_color(j)), f"class {j}", j)
        self.class_combo.currentIndexChanged.connect(lambda i: setattr(self, "label", i))
        bar.addWidget(self.class_combo)
        self.brush_radio, self.eraser_radio = QRadioButton("Brush"), QRadioButton("Eraser")
        self.brush_radio.setChecked(True)
        self.eraser_radio.setObjectName("paintEraser")
        self.eraser_radio.toggled.connect(lambda on: setattr(self, "erasing", on))
        bar.addSeparator()
        bar.addWidget(self.brush_radio)
        bar.addWidget(self.eraser_radio)
        bar.addSeparator()
        bar.addAction(self.actionNewBlankData)
        bar.setVisible(False)
        self._window.addToolBarBreak()
        self._window.addToolBar(bar)
        return bar

    def set_class(self, label: int) -> None:
        self.class_combo.setCurrentIndex(int(label))

    @property
    def active(self) -> bool:
        return self.action.isChecked()

    def _on_toggled(self, on: bool) -> None:
        dataset = self._window.session.dataset
        if on and dataset is not None and dataset.n_features != 2:
            self.action.setChecked(False)
            self._window._show_error("Cannot paint these data",
                                     f"Painting draws points of two features; {dataset.source} has "
                                     f"{dataset.n_features}. Use New blank data, or open data with two features.")
            return
        self.toolbar.setVisible(on)
        from gmm_desktop.gui.scatter_canvas import HINT

        self._canvas._hint.setText("Drag to paint points of the chosen class · right drag erases" if on else HINT)
        self._ring.setVisible(False)
        self._canvas.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        has_classes = dataset is not None and dataset.labels is not None
        self.class_combo.setEnabled(has_classes)
        self.class_combo.setToolTip("" if has_classes else "These data have no true classes: painted points "
                                    "have none either (New blank data starts with classes)")
        if on:
            self._window.statusBar().showMessage("Paint data: left drag sprays points of the chosen class, "
                                                 "right drag erases; every stroke can be undone", 8000)
        self._colour_by_class()

    # ------------------------------------------------------------------ the mouse
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if not self.active:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
                return False  # the middle button still pans
            erase = self.erasing or event.button() == Qt.MouseButton.RightButton
            self.begin_stroke(self._to_data(event.position()), erase=erase)
            return True
        if kind == QEvent.Type.MouseMove:
            xy = self._to_data(event.position())
            self._show_ring(xy)
            if self._stroke is not None:
                self.continue_stroke(xy)
                return True
            return False
        if kind in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick):
            if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
                return False
            if kind == QEvent.Type.MouseButtonRelease and self._stroke is not None:
                self.continue_stroke(self._to_data(event.position()))
                self.end_stroke()
            return True
        if kind == QEvent.Type.Leave:
            self._ring.setVisible(False)
        return False

    def _to_data(self, pos) -> np.ndarray:
        scene = self._canvas.mapToScene(pos.toPoint())
        p = self._vb.mapSceneToView(QPointF(scene))
        return np.array([p.x(), p.y()])

    def _show_ring(self, xy) -> None:
        self._ring.setData(pos=[xy], size=2 * self.radius_px)
        self._ring.setVisible(True)

    def _data_radius(self) -> np.ndarray:
        """The brush's radius in data units along x and y."""
        sx, sy = self._vb.viewPixelSize()
        return self.radius_px * np.array([abs(sx), abs(sy)])

    # ------------------------------------------------------------------ strokes
    def begin_stroke(self, xy, erase: bool = False) -> None:
        """Start a stroke at data coordinates ``xy`` (its first dab)."""
        dataset = self._window.session.dataset
        n = 0 if dataset is None else dataset.n_samples
        self._stroke = {"erase": erase, "last": np.asarray(xy, dtype=float), "added": [],
                        "erased": np.zeros(n, dtype=bool)}
        self._dab(self._stroke["last"])

    def continue_stroke(self, xy) -> None:
        """Drag to ``xy``: a dab every half radius along the way."""
        stroke = self._stroke
        if stroke is None:
            return
        xy = np.asarray(xy, dtype=float)
        r = self._data_radius()
        gap = np.hypot(*((xy - stroke["last"]) / r))  # in radii
        n = int(gap / 0.5)
        for t in np.arange(1, n + 1) / max(n, 1):
            self._dab(stroke["last"] + t * (xy - stroke["last"]))
        if n:
            stroke["last"] = xy

    def _dab(self, center) -> None:
        stroke, r = self._stroke, self._data_radius()
        dataset = self._window.session.dataset
        if stroke["erase"]:
            if dataset is not None and dataset.n_samples:
                d = (dataset.X[:, :2] - center) / r
                stroke["erased"] |= np.einsum("ij,ij->i", d, d) <= 1.0
                self._draw_preview(dataset.X[stroke["erased"], :2], QColor(palette.BACKGROUND), size=9)
            return
        angle = self._rng.uniform(0, 2 * np.pi, self.density)
        rho = np.sqrt(self._rng.uniform(0, 1, self.density))  # uniform over the disc
        stroke["added"].append(center + r * np.column_stack([rho * np.cos(angle), rho * np.sin(angle)]))
        self._draw_preview(np.vstack(stroke["added"]), self._class_color(), size=6)

    def _class_color(self) -> QColor:
        dataset = self._window.session.dataset
        if dataset is not None and dataset.labels is None:
            return QColor(palette.POINT_NEUTRAL)
        return palette.component_color(self.label)

    def _draw_preview(self, points, color: QColor, size: int) -> None:
        self._preview.setData(pos=points, size=size, brush=pg.mkBrush(color), pen=None)
        self._preview.setVisible(True)

    def end_stroke(self) -> bool:
        """Finish the stroke: one undoable edit. True when the data changed."""
        stroke, self._stroke = self._stroke, None
        self._preview.setVisible(False)
        self._preview.setData(pos=np.empty((0, 2)))
        if stroke is None:
            return False
        dataset = self._window.session.dataset
        if dataset is None:
            dataset = blank_dataset()
        if stroke["erase"]:
            n = int(stroke["erased"].sum())
            if n == 0:
                return False
            new, text = without_points(dataset, stroke["erased"]), f"erase {n} points"
        else:
            points = np.vstack(stroke["added"])
            label = self.label if dataset.labels is not None else None
            new = with_points(dataset, points, label)
            text = f"paint {len(points)} points" + ("" if label is None else f" of class {label}")
        self._window.undo_stack.push(PaintCommand(self._window, new, text))
        self._window.statusBar().showMessage(f"{text.capitalize()}: {new.n_samples:,} points now (Undo takes "
                                             "the stroke back)", 6000)
        return True

    def paint_stroke(self, path, erase: bool = False) -> bool:
        """A whole stroke along ``path`` (data coordinates, shape (n, 2)), as a drag would make it."""
        path = np.asarray(path, dtype=float).reshape(-1, 2)
        self.begin_stroke(path[0], erase=erase)
        for xy in path[1:]:
            self.continue_stroke(xy)
        return self.end_stroke()

    # ------------------------------------------------------------------ blank data, colours
    def _on_new_blank_triggered(self) -> None:
        if self._window.confirm_new_data():  # the menu's route asks about unsaved work first
            self.new_blank_data()

    def new_blank_data(self) -> None:
        """An empty canvas to paint on (the window copes with 0 points); Paint data turns on."""
        self._window.session.pause()
        self._window._set_dataset(blank_dataset())
        self._vb.setRange(xRange=BLANK_RANGE[0], yRange=BLANK_RANGE[1], padding=0)
        self.action.setChecked(True)
        self._on_toggled(True)
        self._window.statusBar().showMessage("Blank canvas: paint points (left drag), choose their class above; "
                                             "then place means and run EM", 10000)

    def _colour_by_class(self, *_args) -> None:
        """While painting with no fit shown, the points show their true class."""
        session = self._window.session
        dataset = session.dataset
        if not self.active or dataset is None or dataset.labels is None or session.shown is not None:
            return
        if len(dataset.labels) == self._canvas.cloud.n_points and len(dataset.labels):
            labels = np.asarray(dataset.labels)
            labels = labels - min(0, int(labels.min()))  # class j in class j's colour (as the brush)
            self._canvas.cloud.set_hard_labels(labels, palette.component_rgb(int(labels.max()) + 1))


class PaintDataMixin:
    """Paint data, New blank data and Save data… on the window (mixed into MainWindow)."""

    def _setup_paint(self) -> None:
        from gmm_desktop.gui.session_files import _menu, insert_after

        self.paint_tool = PaintTool(self)
        self.actionPaintData = self.paint_tool.action
        self.actionNewBlankData = self.paint_tool.actionNewBlankData
        self.actionSaveData = self._action("actionSaveData", "Save &data…", self._on_save_data_triggered,
                                           tip="Save the data (painted or generated) as CSV")
        insert_after(_menu(self, "&File"), self.actionGenerateData, [self.actionNewBlankData, self.actionSaveData])
        insert_after(_menu(self, "&Edit"), None, [None, self.actionPaintData])
        toolbar = self.findChild(QToolBar, "mainToolBar")
        if toolbar is not None:
            toolbar.addSeparator()
            toolbar.addAction(self.actionPaintData)

    def paint_stroke(self, path, label: int | None = None, erase: bool = False) -> bool:
        """Paint (or erase) along ``path`` in data coordinates, as one undoable stroke (Paint data on)."""
        if not self.actionPaintData.isChecked():
            self.actionPaintData.trigger()
        if label is not None:
            self.paint_tool.set_class(label)
        return self.paint_tool.paint_stroke(path, erase=erase)

    def new_blank_data(self) -> None:
        self.paint_tool.new_blank_data()

    def save_data(self, path) -> bool:
        """Write the data (features, and the true classes as ``label``) as CSV, atomically; generated
        data keep their generator's parameters in a ``# gmm-desktop:`` comment line."""
        dataset = self.session.dataset
        try:
            if dataset is None or dataset.n_samples == 0:
                raise GMMError("there are no points to save: paint some first (Paint data)")
            datasets.write_csv(dataset, path)
            sidecar = provenance_path(path)
            if getattr(dataset, "provenance", None):
                atomic_write_text(sidecar, json.dumps(dataset.provenance, indent=1) + "\n")
        except GMMError as exc:
            self._show_error("Could not save the data", str(exc))
            return False
        except OSError as exc:
            self._show_error("Could not save the data", f"cannot write {sidecar}: {exc.strerror or exc}")
            return False
        self._last_dir = str(Path(path).resolve().parent)
        self._kept_dataset = dataset  # saved: new data no longer lose them
        self.statusBar().showMessage(f"Saved {dataset.n_samples:,} points to {Path(path).name}", 6000)
        return True

    def _on_save_data_triggered(self) -> bool:
        start = os.path.join(self._last_dir, "data.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Save data", start, CSV_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".csv"
        return self.save_data(path)


def _swatch(color: QColor) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(color)
    return QIcon(pix)


def _brush_icon() -> QIcon:
    pix = QPixmap(20, 20)
    pix.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rng = np.random.default_rng(3)
    for j, (x, y) in enumerate(rng.uniform(3, 17, (14, 2))):
        painter.setBrush(palette.component_color(j % 3))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(QPointF(x, y), 1.8, 1.8)
    painter.end()
    return QIcon(pix)
