"""The component inspector: click a fitted mean or its ellipse to select that component; the panel
shows its weight, mean, covariance, axis lengths and angle and how many points it is most
responsible for, locks its mean, covariance or weight, and edits its start values. Hovering a point
of the canvas shows its coordinates and its most responsible components."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolTip,
    QVBoxLayout,
)

from gmm_desktop.core.errors import GMMError
from gmm_desktop.document import CURSOR, LOCKS, SETTINGS, VIEW
from gmm_desktop.gui import palette

_MEAN_HIT_PX = 12.0
_RING_HIT_PX = 6.0
_HOVER_PX = 8.0
HOVER_TOP = 3  # components listed in the tooltip


def axes_of(cov: np.ndarray) -> tuple[float, float, float]:
    """1-sigma semi-axis lengths (major, minor) and the major axis' angle in degrees from x."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=float)[:2, :2])
    major = vecs[:, 1]
    angle = math.degrees(math.atan2(major[1], major[0]))
    if angle <= -90:
        angle += 180
    elif angle > 90:
        angle -= 180
    return math.sqrt(max(vals[1], 0.0)), math.sqrt(max(vals[0], 0.0)), angle


class CanvasProbe(QObject):
    """Hit tests on the canvas: which component a click selects, which point the mouse is over."""

    selected = Signal(int)

    def __init__(self, canvas, session):
        super().__init__(canvas)
        self.canvas, self.session = canvas, session
        canvas.click_filter = self._on_click
        canvas.component_clicked.connect(self.selected)  # a click on a fitted mean (●)
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(60)
        self._hover_timer.timeout.connect(self._show_hover)
        self._hover_scene = None
        self.last_tooltip = ""
        canvas.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _px(self):
        vb = self.canvas.getPlotItem().vb
        dx, dy = vb.viewPixelSize()
        return max(dx, 1e-300), max(dy, 1e-300)

    def component_at(self, x: float, y: float, slack_px: float = 0.0) -> int | None:
        """The component whose fitted mean, or whose 1-sigma ellipse outline, is within a few
        pixels (plus ``slack_px``) of the data point (x, y); None elsewhere."""
        snap = self.session.shown
        if snap is None or self.session.snapshot is None:
            return None
        dx, dy = self._px()
        means = self.canvas._shown(snap.means)  # in the view shown (a pair, PCA)
        d2 = ((means[:, 0] - x) / dx) ** 2 + ((means[:, 1] - y) / dy) ** 2
        k = int(np.argmin(d2))
        if snap.iteration > 0 and d2[k] <= (_MEAN_HIT_PX + slack_px) ** 2:
            return k
        rings = self.canvas.ellipses.rings
        per = len(rings) // max(1, len(means))
        best, best_d = None, max(0.0, _RING_HIT_PX + slack_px) ** 2
        for j, ring in enumerate(rings):
            if j % max(1, per):  # only the 1-sigma outline selects: the thin 2- and 3-sigma rings cover
                continue         # so much of the canvas that clicks meant to place a mean hit them
            d = float(np.nanmin(((ring[:, 0] - x) / dx) ** 2 + ((ring[:, 1] - y) / dy) ** 2))
            if d <= best_d:
                best, best_d = j // max(1, per), d
        return best

    def _on_click(self, x: float, y: float) -> bool:
        k = self.component_at(x, y)
        if k is None:
            return False
        self.selected.emit(k)
        return True

    # -- hover
    def _on_mouse_moved(self, scene_pos) -> None:
        self._hover_scene = scene_pos
        self._hover_timer.start()

    def _show_hover(self) -> None:
        if self._hover_scene is None:
            return
        pos = self.canvas.getPlotItem().vb.mapSceneToView(self._hover_scene)
        text = self.hover_text(pos.x(), pos.y())
        self.last_tooltip = text
        self.canvas.viewport().setToolTip(text)
        if QGuiApplication.platformName() == "offscreen":  # no screen to show it on (Qt warns on raise)
            return
        if text:
            QToolTip.showText(QCursor.pos(), text, self.canvas)
        else:
            QToolTip.hideText()

    def hover_text(self, x: float, y: float) -> str:
        """The tooltip for the mouse at data point (x, y): the nearest point within a few pixels,
        its coordinates and its most responsible components; "" when no point is that close."""
        dataset = self.session.dataset
        if dataset is None:
            return ""
        dx, dy = self._px()
        X = dataset.X
        P = self.canvas.cloud.points  # the points as drawn in the view shown (a pair, PCA, 1-D)
        if len(P) != len(X):
            return ""
        near = np.flatnonzero((np.abs(P[:, 0] - x) <= _HOVER_PX * dx) & (np.abs(P[:, 1] - y) <= _HOVER_PX * dy))
        if len(near) == 0:
            return ""
        d2 = ((P[near, 0] - x) / dx) ** 2 + ((P[near, 1] - y) / dy) ** 2
        i = int(near[np.argmin(d2)])
        names = dataset.feature_names
        lines = [f"point {i + 1}: " + ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, X[i]))]
        snap = self.session.shown
        if snap is not None and snap.resp is not None and len(snap.resp) == len(X):
            r = np.asarray(snap.resp[i], dtype=float)
            for k in np.argsort(-r)[:HOVER_TOP]:
                if r[k] >= 0.005 or k == np.argmax(r):
                    lines.append(f"component {k + 1}: responsibility {r[k]:.3f}")
        return "\n".join(lines)


class Inspector(QGroupBox):
    """The selected component's numbers, its locks and its editable start values.

    ``selection_changed(k)`` (an int, or None) when the component shown changes, so the canvas can
    mark it.

    Parameters
    ----------
    window : MainWindow
        Its ``session``, ``lock_component`` and ``set_component``.
    """

    selection_changed = Signal(object)

    def __init__(self, window, parent=None):
        super().__init__("Component", parent)
        self.setObjectName("inspector")
        self._marked: int | None = None
        self._window = window
        self._session = window.session
        self.selected: int | None = None
        self.combo = QComboBox()
        self.combo.setObjectName("inspectorComponent")
        self.values = {}
        form = QFormLayout()
        form.addRow("Component", self.combo)
        for key, title in (("weight", "Weight"), ("mean", "Mean"), ("covariance", "Covariance"),
                           ("axes", "Axes (1σ)"), ("angle", "Angle"), ("count", "Most responsible for")):
            label = QLabel("–")
            label.setObjectName(f"inspector_{key}")
            label.setTextInteractionFlags(label.textInteractionFlags() | label.textInteractionFlags().TextSelectableByMouse)
            label.setWordWrap(key == "angle")  # "72.3° from the petal_width axis (… view)": the panel's width
            self.values[key] = label
            form.addRow(title, label)
        self.locks = {}
        lock_row = QHBoxLayout()
        for part in ("mean", "covariance", "weight"):
            check = QCheckBox(part)
            check.setObjectName(f"lock_{part}")
            check.setToolTip(f"Lock this component's {part}: the M-step keeps it")
            check.toggled.connect(self._on_lock_toggled)
            self.locks[part] = check
            lock_row.addWidget(check)
        form.addRow("Lock", lock_row)
        self.edits = {}
        for key, title, tip in (("weight", "Start weight", "e.g. 0.25"), ("mean", "Start mean", "x, y"),
                                ("covariance", "Start covariance", "a, b; b, c")):
            edit = QLineEdit()
            edit.setObjectName(f"edit_{key}")
            edit.setPlaceholderText(tip)
            self.edits[key] = edit
            form.addRow(title, edit)
        self.apply_button = QPushButton("Apply start values")
        self.apply_button.setObjectName("inspectorApply")
        self.apply_button.setToolTip("Restart EM from these start values (undoable)")
        self.apply_button.clicked.connect(self.apply_edits)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("QLabel { color: #B00020; }")
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.apply_button)
        box.addWidget(self.message)
        self.combo.currentIndexChanged.connect(self._on_combo)
        self._session.fit_changed.connect(self._update)
        self._session.means_changed.connect(lambda _m: self._update())
        self._session.document.subscribe(lambda _change: self._update(), kinds=(LOCKS, CURSOR, VIEW, SETTINGS))

    def select(self, k: int) -> None:
        """Show component ``k`` (0-based)."""
        self.selected = k
        if self.combo.currentIndex() != k and k < self.combo.count():
            self.combo.setCurrentIndex(k)
        self._update()
        self._fill_edits()

    def clear_for_new_data(self, feature_names) -> None:
        """New data: no component is selected, the start values typed for the old data are gone, and
        the hints name the new data's features."""
        self.selected = None
        for edit in self.edits.values():
            edit.clear()
        self.message.setText("")
        names = list(feature_names)
        d = len(names)
        self.edits["mean"].setPlaceholderText(", ".join(names) if 0 < d <= 4 else f"{d} numbers, comma-separated")
        self.edits["covariance"].setPlaceholderText(
            {1: "a", 2: "a, b; b, c"}.get(d, f"{d} rows of {d} numbers, rows separated by ;"))
        self._update()

    def _on_combo(self, index: int) -> None:
        if index >= 0 and index != self.selected:
            self.select(index)

    def _on_lock_toggled(self, _on: bool) -> None:
        if self.selected is None or self._updating:
            return
        self._window.lock_component(self.selected, **{p: c.isChecked() for p, c in self.locks.items()})

    _updating = False

    def _update(self, *_args) -> None:
        session = self._session
        snap = session.shown
        k_total = len(session.means)
        self._updating = True
        try:
            if self.combo.count() != k_total:
                self.combo.blockSignals(True)
                self.combo.clear()
                self.combo.addItems([f"{j + 1}" for j in range(k_total)])
                self.combo.blockSignals(False)
            if self.selected is not None and self.selected >= k_total:
                self.selected = None
            k = self.selected
            if k is None or snap is None or k >= snap.means.shape[0]:
                for label in self.values.values():
                    label.setText("–")
                for check in self.locks.values():
                    check.setChecked(False)
                self.setTitle("Component (click a fitted mean or ellipse)")
                self._mark(None)
                return
            self._mark(k)
            self.combo.setCurrentIndex(k)
            color = palette.component_color(k).name()
            self.setTitle(f"Component {k + 1}")
            self.setStyleSheet(f"QGroupBox#inspector::title {{ color: {color}; font-weight: bold; }}")
            cov = snap.covariances[k]
            self.values["weight"].setText(f"{snap.weights[k]:.4f}")
            self.values["mean"].setText("(" + ", ".join(f"{v:.4g}" for v in snap.means[k]) + ")")
            self.values["covariance"].setText("\n".join("[" + "  ".join(f"{v:9.4g}" for v in row) + "]" for row in cov))
            # the ellipse as drawn: the component's projection onto the view shown
            view = session.document.view
            shown = view.project_covariances(np.asarray(snap.params.full_covariances()[k])[None])[0]
            names = view.axis_labels(session.dataset.feature_names) if session.dataset is not None else ["x", "y"]
            if shown.shape == (1, 1):
                self.values["axes"].setText(f"σ = {math.sqrt(max(shown[0, 0], 0.0)):.4g} along {names[0]}")
                self.values["angle"].setText("– (one feature shown)")
            else:
                major, minor, angle = axes_of(shown)
                self.values["axes"].setText(f"{major:.4g} and {minor:.4g}")
                axis = "the x axis" if list(names) == ["x", "y"] else f"the {names[0]} axis ({names[0]} × {names[1]} view)"
                self.values["angle"].setText(f"{angle:.1f}° from {axis}")
            if snap.resp is not None:
                labels = snap.labels if snap.labels is not None else np.argmax(snap.resp, axis=1)
                self.values["count"].setText(f"{int(np.count_nonzero(labels == k)):,} points")
            else:
                self.values["count"].setText("(computing…)")
            lock = session.document.locks[k]
            vb = session.settings.get("method") == "vb"
            for part, check in self.locks.items():
                check.setChecked(bool(getattr(lock, part)))
                check.setEnabled(not vb)  # a variational fit updates every component: locks are EM's
                check.setToolTip("Locks apply to EM only: switch Method to EM to use them" if vb
                                 else f"Lock this component's {part}: the M-step keeps it")
        finally:
            self._updating = False

    def _mark(self, k) -> None:
        if k != self._marked:
            self._marked = k
            self.selection_changed.emit(k)

    def _fill_edits(self) -> None:
        k = self.selected
        try:
            start = self._session.start_params()
        except GMMError:
            return
        if k is None or k >= start.n_components:
            return
        cov = start.full_covariances()[k]
        self.edits["weight"].setText(f"{start.weights[k]:.6g}")
        self.edits["mean"].setText(", ".join(f"{v:.6g}" for v in start.means[k]))
        self.edits["covariance"].setText("; ".join(", ".join(f"{v:.6g}" for v in row) for row in cov))

    def apply_edits(self) -> bool:
        """Restart EM from the start values typed in; False (and a message) when they are unusable."""
        if self.selected is None:
            return False
        try:
            weight = float(self.edits["weight"].text())
            mean = [float(v) for v in self.edits["mean"].text().split(",")]
            cov = [[float(v) for v in row.split(",")] for row in self.edits["covariance"].text().split(";")]
            self._window.set_component(self.selected, weight=weight, mean=mean, covariance=cov)
        except ValueError as exc:  # GMMError is a ValueError; float() of bad text too
            text = str(exc)
            if "could not convert" in text:
                text = "type numbers: the weight as 0.25, the mean as x, y, the covariance as a, b; b, c"
            self.message.setText(text)
            return False
        self.message.setText("")
        return True
