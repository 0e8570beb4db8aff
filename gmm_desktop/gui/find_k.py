"""Find K: fit a grid of K x covariance types on a worker thread, plot BIC (or AIC) against K, adopt one.

The sweep is :func:`gmm_desktop.core.selection.select_model`, one blocking call. Each sweep gets its
own ``QThread`` with a :class:`SweepWorker` on it (``thread.started`` runs the sweep); the thread quits
as soon as the sweep returns, so no thread is left idle between sweeps. The worker reports through
queued signals that :class:`SweepController` re-emits on the GUI thread (wait on those in tests).

Cancel
    The GUI calls ``thread.requestInterruption()``; the sweep's ``should_stop`` is
    ``QThread.currentThread().isInterruptionRequested`` on the worker thread, polled before every fit
    and after every EM iteration, so a sweep stops within one iteration.

What a cancelled sweep leaves
    The candidates finished before the cancel are *kept*: they stay on the plot and in the table,
    the best of them is marked "best of finished", and any of them can be adopted. The candidate
    being fitted when Cancel was pressed is dropped (as ``select_model`` does).

Lifetime
    A sweep never outlives the window: closing (hiding) the dialog, closing the window or quitting
    the application stops it with ``requestInterruption()``, ``quit()`` and ``wait()``. While a
    thread runs its controller is listed by ``em_worker.live_controllers()``, so ``shutdown_all``
    (at quit and exit) and the tests' check for left-over threads see it like an EM thread.
"""

from __future__ import annotations

import time

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QThread, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
    QHeaderView, QLabel, QProgressBar, QPushButton, QRadioButton, QSpinBox, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from gmm_desktop.core.errors import GMMError
from gmm_desktop.core.options import OPTIONS
from gmm_desktop.core.params import COVARIANCE_TYPES
from gmm_desktop.core.selection import CRITERIA, SelectionCancelled, SelectionResult, select_model
from gmm_desktop.gui import em_worker, palette

#: Colour and marker of each covariance type (as mclust draws one line per model).
TYPE_STYLE = {
    "full": ("#0072B2", "o"),
    "diag": ("#D55E00", "s"),
    "spherical": ("#009E73", "t"),
    "tied": ("#CC79A7", "d"),
}
BEST_COLOR = palette.FOREGROUND
ADOPTED_COLOR = "#F2B701"
ERROR_COLOR = "#C62828"
DEFAULT_K_MAX = 10
_TABLE_HEADER = ("K", "covariance", "BIC", "AIC", "log-likelihood", "note")


# --------------------------------------------------------------------------- pure helpers
def default_k_max(n_samples: int) -> int:
    """The default largest K: ``min(10, n_samples)`` (at least 1)."""
    return max(1, min(DEFAULT_K_MAX, int(n_samples)))


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def progress_text(done: int, total: int, elapsed: float) -> str:
    """The progress bar's text: fits done, time elapsed and (once a fit is done) an estimate of
    the time left at the pace so far, e.g. ``"12 / 60 fits · 0:05 elapsed · about 0:20 left"``."""
    text = f"{done} / {total} fits · {_clock(elapsed)} elapsed"
    if 0 < done < total:
        text += f" · about {_clock(elapsed / done * (total - done))} left"
    return text


def best_of(candidates, criterion: str):
    """The candidate ``SelectionResult.best_by(criterion)`` would choose among ``candidates``
    (finished so far); None when none succeeded."""
    return SelectionResult(tuple(candidates), criterion, 0, 0, 1, 1, (), 1, 0, complete=False).best_by(criterion)


def candidate_note(candidate, best) -> str:
    """A short note for the table: best, failed, collapsed, not converged."""
    if not candidate.ok:
        return f"failed: {candidate.error}"
    notes = []
    if candidate is best:
        notes.append("★ best")
    if candidate.collapsed:
        notes.append("collapsed component")
    if not candidate.converged:
        notes.append("not converged")
    return ", ".join(notes)


def find_k_icon(size: int = 32) -> QIcon:
    """A small criterion-against-K curve with its minimum ringed (the Find K action's icon)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 32.0
    points = [QPointF(4 * s, 6 * s), QPointF(11 * s, 17 * s), QPointF(18 * s, 24 * s), QPointF(26 * s, 19 * s)]
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    painter.setPen(QPen(QColor(TYPE_STYLE["full"][0]), 2.2 * s))
    painter.drawPath(path)
    painter.setBrush(QBrush(QColor(TYPE_STYLE["full"][0])))
    painter.setPen(Qt.PenStyle.NoPen)
    for p in points:
        painter.drawEllipse(p, 2.4 * s, 2.4 * s)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(BEST_COLOR), 1.8 * s))
    painter.drawEllipse(points[2], 5.5 * s, 5.5 * s)
    painter.end()
    return QIcon(pixmap)


# --------------------------------------------------------------------------- the worker and its controller
class SweepWorker(QObject):
    """Runs one :func:`select_model` sweep on its thread (started by ``thread.started``).

    Every signal carries the run number the controller gave it, so late signals of a stopped run
    are dropped.
    """

    progressed = Signal(int, int, int, object)  # run, done, total, Candidate or None
    completed = Signal(int, object)  # run, SelectionResult
    cancelled = Signal(int, object, str)  # run, partial SelectionResult, message
    failed = Signal(int, str)  # run, user-ready message

    def __init__(self, run: int, X: np.ndarray, options: dict):
        super().__init__()
        self._run = run
        self._X = X
        self._options = dict(options)

    @Slot()
    def run(self) -> None:
        em_worker.lower_thread_priority()
        run = self._run

        def progress(done, total, candidate):
            self.progressed.emit(run, done, total, candidate)

        try:
            result = select_model(self._X, **self._options, progress=progress,
                                  should_stop=QThread.currentThread().isInterruptionRequested)
        except SelectionCancelled as exc:
            self.cancelled.emit(run, exc.result, str(exc))
        except GMMError as exc:
            self.failed.emit(run, str(exc))
        except Exception as exc:  # noqa: BLE001 - every error must reach the dialog, never a traceback
            self.failed.emit(run, f"the search stopped because of an unexpected error "
                                  f"({type(exc).__name__}: {exc}); try other settings")
        else:
            self.completed.emit(run, result)


class SweepController(QObject):
    """The GUI-thread face of the sweeps: start, cancel, shut down; relays the worker's signals.

    The relay signals are emitted on the GUI thread, and ``completed`` / ``cancelled`` / ``failed``
    only once the sweep's thread has finished.
    """

    progressed = Signal(int, int)  # done, total (fits, counting restarts)
    candidate_finished = Signal(object)  # Candidate
    completed = Signal(object)  # SelectionResult
    cancelled = Signal(object, str)  # partial SelectionResult (finished candidates), message
    failed = Signal(str)  # user-ready message

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._run = 0
        self._thread: QThread | None = None
        self._worker: SweepWorker | None = None

    def is_running(self) -> bool:
        """True from :meth:`start` until the sweep's end has been relayed (or :meth:`shutdown`)."""
        return self._thread is not None

    def is_thread_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, X: np.ndarray, options: dict) -> None:
        """Start a sweep of ``select_model(X, **options)`` on a new thread (stopping any running one)."""
        self.shutdown()
        self._run += 1
        thread = QThread()
        thread.setObjectName("FindKThread")
        worker = SweepWorker(self._run, X, options)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        thread.finished.connect(worker.deleteLater)
        worker.progressed.connect(self._on_worker_progressed)
        worker.completed.connect(self._on_worker_completed)
        worker.cancelled.connect(self._on_worker_cancelled)
        worker.failed.connect(self._on_worker_failed)
        self._thread, self._worker = thread, worker
        em_worker._controllers.add(self)  # listed by live_controllers(): shut down at quit, checked by tests
        thread.start()

    def cancel(self) -> None:
        """Ask the sweep to stop; ``cancelled`` follows with the finished candidates."""
        if self._thread is not None:
            self._thread.requestInterruption()

    def shutdown(self) -> None:
        """Stop the sweep and wait for its thread; nothing more is relayed from it. Safe to call twice."""
        if self._thread is None:
            return
        self._run += 1  # whatever the stopped run still has queued for us is dropped
        self._thread.requestInterruption()
        self._end_thread()

    def _end_thread(self) -> None:
        self._thread.quit()
        self._thread.wait()
        self._thread = self._worker = None
        em_worker._controllers.discard(self)

    # -- relays (GUI thread)
    @Slot(int, int, int, object)
    def _on_worker_progressed(self, run: int, done: int, total: int, candidate) -> None:
        if run != self._run:
            return
        if candidate is not None:
            self.candidate_finished.emit(candidate)
        self.progressed.emit(done, total)

    @Slot(int, object)
    def _on_worker_completed(self, run: int, result) -> None:
        if run == self._run:
            self._end_thread()
            self.completed.emit(result)

    @Slot(int, object, str)
    def _on_worker_cancelled(self, run: int, result, message: str) -> None:
        if run == self._run:
            self._end_thread()
            self.cancelled.emit(result, message)

    @Slot(int, str)
    def _on_worker_failed(self, run: int, message: str) -> None:
        if run == self._run:
            self._end_thread()
            self.failed.emit(message)


# --------------------------------------------------------------------------- the plot
class _WholeNumberAxis(pg.AxisItem):
    """An axis of whole numbers of components: no ticks between them."""

    def tickSpacing(self, minVal, maxVal, size):
        return [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                if spacing >= 1] or [(1.0, 0.0)]


class _CriterionAxis(pg.AxisItem):
    """BIC/AIC values with thousands separators ("12,984,000", not "1.2984e+07"); the axis widens
    to fit them (a fixed width hid every label once the values reached millions)."""

    def tickStrings(self, values, scale, spacing):
        if spacing * scale >= 1 and all(abs(v * scale) < 1e15 for v in values):
            return [f"{v * scale:,.0f}" for v in values]
        return super().tickStrings(values, scale, spacing)


class _MarkerItem(pg.ScatterPlotItem):
    """A decoration (the best ring, the adopted halo): clicks go through to the candidates."""

    def mouseClickEvent(self, ev):
        ev.ignore()


class CriterionPlot(pg.PlotWidget):
    """The criterion against K, one line per covariance type; the best ringed; click a point to adopt.

    Attributes
    ----------
    curves : dict of str to pyqtgraph.PlotDataItem
        One per covariance type of the current sweep; each point's data is its candidate's index.
    best_ring : ScatterPlotItem
        A large ring on the best candidate (empty when there is none).
    best_label : TextItem
    """

    candidate_clicked = Signal(int)  # index of the candidate

    def __init__(self, parent=None):
        super().__init__(parent, background=palette.BACKGROUND,
                         axisItems={"bottom": _WholeNumberAxis("bottom"), "left": _CriterionAxis("left")})
        self.setObjectName("findKPlot")
        plot = self.getPlotItem()
        palette.style_plot(plot, auto_si_prefix=False)
        plot.setLabel("bottom", "number of components K", **palette.label_style())
        self.legend = plot.addLegend(offset=(-12, 12), brush=pg.mkBrush(255, 255, 255, 230),
                                     pen=pg.mkPen("#BBBBBB"), labelTextColor=palette.FOREGROUND,
                                     labelTextSize="10pt", verSpacing=-4)
        self.legend.setVisible(False)  # until set_types gives it lines
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.adopted_halo = _MarkerItem(symbol="o", size=24, pen=pg.mkPen(ADOPTED_COLOR, width=3),
                                        brush=pg.mkBrush(242, 183, 1, 70))
        self.adopted_halo.setZValue(-1)
        self.best_ring = _MarkerItem(symbol="o", size=30, pen=pg.mkPen(BEST_COLOR, width=2.5), brush=None)
        self.best_ring.setZValue(10)
        self.best_label = pg.TextItem(anchor=(0.5, -0.55), color=palette.FOREGROUND,
                                      fill=pg.mkBrush(255, 255, 255, 215), border=pg.mkPen("#BBBBBB"))
        font = QFont()
        font.setPointSizeF(10.0)
        self.best_label.setFont(font)
        self.best_label.setZValue(11)
        for item in (self.adopted_halo, self.best_ring, self.best_label):
            plot.addItem(item, ignoreBounds=True)
        self._legend_markers = (  # legend samples only: drawn smaller than the markers themselves
            (pg.ScatterPlotItem(symbol="o", size=16, pen=pg.mkPen(BEST_COLOR, width=2), brush=None), "best"),
            (pg.ScatterPlotItem(symbol="o", size=16, pen=pg.mkPen(ADOPTED_COLOR, width=2.5),
                                brush=pg.mkBrush(242, 183, 1, 70)), "on the canvas"),
        )
        self._criterion = "bic"

    def set_types(self, covariance_types) -> None:
        """One empty line per covariance type, in the legend in this order."""
        plot = self.getPlotItem()
        for curve in self.curves.values():
            plot.removeItem(curve)
        self.legend.clear()
        self.curves = {}
        for ctype in covariance_types:
            color, symbol = TYPE_STYLE[ctype]
            curve = pg.PlotDataItem([], [], pen=pg.mkPen(color, width=2.2), symbol=symbol, symbolSize=11,
                                    symbolPen=pg.mkPen(color, width=1.5), symbolBrush=pg.mkBrush(color),
                                    name=ctype, connect="finite")
            curve.sigPointsClicked.connect(self._on_points_clicked)
            plot.addItem(curve)
            self.curves[ctype] = curve
        if self.curves:
            for sample, name in self._legend_markers:
                self.legend.addItem(sample, name)
        self.legend.setVisible(bool(self.curves))  # no empty box before the first sweep

    def update_candidates(self, candidates, criterion: str, best, adopted, title: str) -> None:
        """Redraw every line, the best ring and label, and the adopted halo.

        Parameters
        ----------
        candidates : sequence of Candidate
        criterion : {'bic', 'aic'}
        best, adopted : Candidate or None
        title : str
            Describes ``best`` ('best', 'best so far', 'best of finished').
        """
        self._criterion = criterion
        self.getPlotItem().setLabel("left", f"{criterion.upper()}  (lower is better)", **palette.label_style())
        for ctype, curve in self.curves.items():
            rows = [(c.k, c.criterion_value(criterion), i, c) for i, c in enumerate(candidates)
                    if c.covariance_type == ctype and c.ok]
            color = TYPE_STYLE[ctype][0]
            brushes = [pg.mkBrush(palette.BACKGROUND if c.collapsed else color) for *_, c in rows]
            curve.setData([r[0] for r in rows], [r[1] for r in rows], data=[r[2] for r in rows],
                          symbolBrush=brushes or pg.mkBrush(color))
        self._mark(self.best_ring, best, criterion)
        self._mark(self.adopted_halo, adopted, criterion)
        ok = [c for c in candidates if c.ok]
        if ok:
            ks = [c.k for c in ok]
            values = [c.criterion_value(criterion) for c in ok]
            span = (max(values) - min(values)) or max(abs(max(values)), 1.0)
            # room below the lowest point for the label under the best ring
            self.getPlotItem().setRange(xRange=(min(ks) - 0.5, max(ks) + 0.5),
                                        yRange=(min(values) - 0.3 * span, max(values) + 0.06 * span), padding=0)
        if best is None:
            self.best_label.setText("")
            self.best_label.hide()
        else:
            ks = [c.k for c in ok]
            across = 0.5 if min(ks) < best.k < max(ks) else (0.0 if best.k == min(ks) < max(ks) else 1.0)
            self.best_label.setAnchor((across if len(set(ks)) > 1 else 0.5, -0.55))
            self.best_label.setText(f"{title}: K = {best.k}, {best.covariance_type}\n"
                                    f"{criterion.upper()} {best.criterion_value(criterion):,.1f}")
            self.best_label.setPos(best.k, best.criterion_value(criterion))
            self.best_label.show()

    @staticmethod
    def _mark(item, candidate, criterion: str) -> None:
        if candidate is None or not candidate.ok:
            item.setData([], [])
        else:
            item.setData([candidate.k], [candidate.criterion_value(criterion)])

    def point_position(self, candidate) -> QPointF:
        """Scene position of ``candidate``'s point (for clicks in tests)."""
        view = self.getPlotItem().vb
        return view.mapViewToScene(QPointF(candidate.k, candidate.criterion_value(self._criterion)))

    def _on_points_clicked(self, _item, points, _ev) -> None:
        if len(points):
            self.candidate_clicked.emit(int(points[0].data()))


# --------------------------------------------------------------------------- the dialog
class FindKDialog(QDialog):
    """Search K (and the covariance type) by BIC or AIC on the window's data; adopt a candidate.

    The sweep uses the session's data and EM settings (tol, tol_mode, max_iter, reg_covar). Finished
    candidates appear on the plot and in the table as they come. Clicking a point or selecting a row
    emits ``candidate_adopted``; the window then continues EM from that candidate's parameters.

    Parameters
    ----------
    session : Session
    parent : QWidget, optional
        The main window: when it closes (hides), a running sweep is stopped.
    """

    candidate_adopted = Signal(object)  # Candidate to continue EM from
    sweep_finished = Signal(object)  # SelectionResult: complete, or partial (complete False) if cancelled
    sweep_failed = Signal(str)  # user-ready message

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("findKDialog")
        self.setWindowTitle("Find K — choose the number of components")
        self._session = session
        self.sweep = SweepController(self)
        self.candidates: list = []
        self.result: SelectionResult | None = None
        self.adopted = None
        self._phase = "idle"  # idle | running | done | cancelled | failed
        self._X = None
        self._started = time.monotonic()  # of the sweep running or last run
        self._build()
        self._on_data_changed(session.dataset)

        self.find_button.clicked.connect(self._on_find_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.best_button.clicked.connect(self._on_best_clicked)
        self.close_button.clicked.connect(self.close)
        self.criterion_group.idToggled.connect(self._on_criterion_toggled)
        self.k_min_spin.valueChanged.connect(self._on_k_min_changed)
        self.plot.candidate_clicked.connect(self._on_candidate_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.sweep.progressed.connect(self._on_sweep_progressed)
        self.sweep.candidate_finished.connect(self._on_candidate_finished)
        self.sweep.completed.connect(self._on_sweep_completed)
        self.sweep.cancelled.connect(self._on_sweep_cancelled)
        self.sweep.failed.connect(self._on_sweep_failed)
        session.data_changed.connect(self._on_data_changed)
        self._window = parent
        if parent is not None:
            parent.installEventFilter(self)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.k_min_spin = QSpinBox(minimum=1, maximum=1, value=1)
        self.k_max_spin = QSpinBox(minimum=1, maximum=1, value=1)
        for spin in (self.k_min_spin, self.k_max_spin):
            spin.setKeyboardTracking(False)
        self.type_checks = {name: QCheckBox(name) for name in COVARIANCE_TYPES}
        for name in OPTIONS["covariance_types"].default:  # the defaults are select's (the options table)
            self.type_checks[name].setChecked(True)
        self.criterion_buttons = {name: QRadioButton(name.upper()) for name in CRITERIA}
        self.criterion_buttons[OPTIONS["criterion"].default].setChecked(True)
        self.criterion_buttons["bic"].setToolTip("Bayesian information criterion: -2 LL + p log n")
        self.criterion_buttons["aic"].setToolTip("Akaike information criterion: -2 LL + 2p")
        self.criterion_group = QButtonGroup(self)
        for i, name in enumerate(CRITERIA):
            self.criterion_group.addButton(self.criterion_buttons[name], i)
        self.n_init_spin = QSpinBox(minimum=int(OPTIONS["n_init"].minimum), maximum=100,
                                    value=OPTIONS["n_init"].default)
        self.n_init_spin.setToolTip("k-means++ starts per candidate (seeds seed, seed+1, ...); the best is kept")
        self.seed_spin = QSpinBox(minimum=int(OPTIONS["seed"].minimum), maximum=2**31 - 1, value=OPTIONS["seed"].default)
        self.find_button = QPushButton("Find K")
        self.find_button.setObjectName("findKButton")
        self.find_button.setDefault(True)
        self.find_button.setIcon(find_k_icon())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelSweepButton")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m fits")
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)  # no "0 / 100 fits" before the first sweep
        self.status_label = QLabel()
        self.status_label.setObjectName("findKStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settings_label = QLabel()
        self.settings_label.setWordWrap(True)
        self.settings_label.setStyleSheet("QLabel { color: #666666; }")

        search = QGroupBox("Search")
        form = QFormLayout(search)
        k_row = QHBoxLayout()
        k_row.addWidget(self.k_min_spin)
        k_row.addWidget(QLabel("to"))
        k_row.addWidget(self.k_max_spin)
        k_row.addStretch(1)
        form.addRow("K from:", k_row)
        types = QGridLayout()
        for i, name in enumerate(COVARIANCE_TYPES):
            check = self.type_checks[name]
            color = TYPE_STYLE[name][0]
            check.setStyleSheet(f"QCheckBox {{ color: {color}; font-weight: bold; }}")
            types.addWidget(check, i // 2, i % 2)
        form.addRow("Covariance:", types)
        crit_row = QHBoxLayout()
        for name in CRITERIA:
            crit_row.addWidget(self.criterion_buttons[name])
        crit_row.addStretch(1)
        form.addRow("Criterion:", crit_row)
        form.addRow("Restarts:", self.n_init_spin)
        form.addRow("Seed:", self.seed_spin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button, 1)
        buttons.addWidget(self.cancel_button)

        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(search)
        box.addLayout(buttons)
        box.addWidget(self.progress_bar)
        box.addWidget(self.status_label)
        box.addStretch(1)
        box.addWidget(self.settings_label)
        left.setMinimumWidth(270)
        left.setMaximumWidth(330)

        self.plot = CriterionPlot()
        self.table = QTableWidget(0, len(_TABLE_HEADER))
        self.table.setObjectName("findKTable")
        self.table.setHorizontalHeaderLabels(_TABLE_HEADER)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        for col in range(len(_TABLE_HEADER) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setToolTip("Select a row to put that model on the canvas")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plot)
        right.addWidget(self.table)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([360, 200])

        hint = QLabel("Click a point or a row to put that model on the canvas; Run or Step then continue EM from it.")
        hint.setWordWrap(True)
        hint.setStyleSheet("QLabel { color: #555555; }")
        self.best_button = QPushButton("Use the best")
        self.best_button.setObjectName("useBestButton")
        self.best_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(self.best_button)
        bottom.addWidget(self.close_button)

        top = QHBoxLayout()
        top.addWidget(left)
        top.addWidget(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(bottom)
        self.resize(1000, 640)

    # ------------------------------------------------------------------ values
    def criterion(self) -> str:
        return CRITERIA[max(self.criterion_group.checkedId(), 0)]

    def options(self) -> dict:
        """Keyword arguments of ``select_model`` from the dialog and the window's EM settings."""
        return {
            "k_min": self.k_min_spin.value(),
            "k_max": self.k_max_spin.value(),
            "covariance_types": tuple(n for n in COVARIANCE_TYPES if self.type_checks[n].isChecked()),
            "criterion": self.criterion(),
            "n_init": self.n_init_spin.value(),
            "seed": self.seed_spin.value(),
            **self._session.em_settings(),
        }

    def best(self):
        """The best candidate by the shown criterion (of the finished ones during or after a cancel)."""
        if self.result is not None:
            return self.result.best_by(self.criterion())
        return best_of(self.candidates, self.criterion())

    # ------------------------------------------------------------------ actions
    def start(self) -> None:
        """Start a sweep with the current options (what the Find K button does)."""
        dataset = self._session.dataset
        if dataset is None:
            return
        options = self.options()
        self.candidates, self.result, self.adopted = [], None, None
        self._X = dataset.X
        self.plot.set_types(options["covariance_types"])
        self.table.setRowCount(0)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%v / %m fits")
        self._started = time.monotonic()
        self.progress_bar.setTextVisible(True)
        self._set_phase("running", "Starting…")
        self._update_settings_label()
        self._update_views()
        self.sweep.start(dataset.X, options)

    def cancel(self) -> None:
        """Stop the running sweep; the finished candidates stay."""
        if self.sweep.is_running():
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling…")
            self.sweep.cancel()

    def adopt(self, candidate) -> bool:
        """Put ``candidate`` on the canvas (emit ``candidate_adopted``); False for a failed one."""
        if candidate is None or not candidate.ok or self._session.dataset is None \
                or self._session.dataset.X is not self._X:
            return False
        self.adopted = candidate
        self._select_row(self.candidates.index(candidate) if candidate in self.candidates else -1)
        self._update_views()
        self.candidate_adopted.emit(candidate)
        self._show_status(f"K = {candidate.k} ({candidate.covariance_type}) is on the canvas: "
                          "Run or Step continues EM from it.")
        return True

    # ------------------------------------------------------------------ event handlers
    def _on_find_clicked(self) -> None:
        self.start()

    def _on_cancel_clicked(self) -> None:
        self.cancel()

    def _on_best_clicked(self) -> None:
        self.adopt(self.best())

    def _on_k_min_changed(self, k_min: int) -> None:
        self.k_max_spin.setMinimum(k_min)

    def _on_criterion_toggled(self, _id: int, checked: bool) -> None:
        if checked:
            self._update_views()

    def _on_candidate_clicked(self, index: int) -> None:
        if 0 <= index < len(self.candidates):
            self.adopt(self.candidates[index])

    def _on_table_selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        candidate = self.candidates[rows[0].row()] if rows else None
        if candidate is None or candidate is self.adopted:
            return
        if candidate.ok:
            self.adopt(candidate)
        else:
            self._show_status(f"K = {candidate.k} ({candidate.covariance_type}) failed: {candidate.error}", error=True)

    @Slot(int, int)
    def _on_sweep_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(progress_text(done, total, time.monotonic() - self._started))
        if self._phase == "running" and self.cancel_button.isEnabled():
            self.status_label.setText(f"Fitting… {done} of {total} fits done")

    @Slot(object)
    def _on_candidate_finished(self, candidate) -> None:
        self.candidates.append(candidate)
        self._append_row(candidate)
        self._update_views()

    @Slot(object)
    def _on_sweep_completed(self, result) -> None:
        self.result = result
        best = result.best
        notes = "".join(f"\n• {note}" for note in result.notes)
        self._set_phase("done", f"Done: {len(result.candidates)} candidates; the best by "
                                f"{result.criterion.upper()} is K = {best.k} ({best.covariance_type}).{notes}")
        self._update_views()
        self.sweep_finished.emit(result)

    @Slot(object, str)
    def _on_sweep_cancelled(self, result, message: str) -> None:
        self.result = result
        kept = len(result.candidates)
        self._set_phase("cancelled", f"Cancelled: {kept} finished candidate{'s' if kept != 1 else ''} kept "
                                     "(the one being fitted was dropped).")
        self._update_views()
        self.sweep_finished.emit(result)

    @Slot(str)
    def _on_sweep_failed(self, message: str) -> None:
        self._set_phase("failed", message[:1].upper() + message[1:], error=True)
        self._update_views()
        self.sweep_failed.emit(message)

    def _on_data_changed(self, dataset) -> None:
        if dataset is None:
            return
        was_running = self.sweep.is_running()
        self.sweep.shutdown()
        n = dataset.n_samples
        self.k_min_spin.setMaximum(n)
        self.k_max_spin.setMaximum(n)
        self.k_max_spin.setValue(default_k_max(n))
        if self.candidates or was_running:
            self.candidates, self.result, self.adopted = [], None, None
            self.table.setRowCount(0)
            self.plot.set_types(())
            self.progress_bar.setValue(0)
            self._set_phase("idle", "The data changed: press Find K to search again.")
            self._update_views()
        self._update_settings_label()

    # ------------------------------------------------------------------ lifetime
    def eventFilter(self, watched, event) -> bool:
        """Stop the sweep when the window closes (its hide, not a minimise)."""
        if watched is self._window and event.type() == QEvent.Type.Hide and not event.spontaneous():
            self._stop_sweep("the window closed")
        return False

    def hideEvent(self, event) -> None:
        if not event.spontaneous():
            self._stop_sweep("the dialog closed")
        super().hideEvent(event)

    def showEvent(self, event) -> None:
        self._update_settings_label()
        super().showEvent(event)

    def _stop_sweep(self, why: str) -> None:
        if self.sweep.is_running():
            self.sweep.shutdown()
            self._set_phase("cancelled", f"Stopped because {why}: {len(self.candidates)} finished "
                                         "candidates kept.")
            self._update_views()

    # ------------------------------------------------------------------ redraws
    def _set_phase(self, phase: str, text: str, error: bool = False) -> None:
        self._phase = phase
        running = phase == "running"
        self.find_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.k_min_spin, self.k_max_spin, self.n_init_spin, self.seed_spin,
                       *self.type_checks.values()):
            widget.setEnabled(not running)
        self._show_status(text, error)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet(f"QLabel {{ color: {ERROR_COLOR if error else palette.FOREGROUND}; }}")
        self.status_label.setText(text)

    def _update_settings_label(self) -> None:
        s = self._session.em_settings()
        n = 0 if self._session.dataset is None else self._session.dataset.n_samples
        self.settings_label.setText(
            f"On the window's {n:,} points, with its EM settings: tol {s['tol']:g} ({s['tol_mode']}), "
            f"at most {s['max_iter']:,} iterations, reg_covar {s['reg_covar']:g}.")

    def _update_views(self) -> None:
        best = self.best()
        title = {"running": "best so far", "cancelled": "best of finished"}.get(self._phase, "best")
        self.plot.update_candidates(self.candidates, self.criterion(), best, self.adopted, title)
        self.best_button.setEnabled(best is not None)
        bold = QFont(self.table.font())
        bold.setBold(True)
        for row, candidate in enumerate(self.candidates):
            for col in range(self.table.columnCount()):
                item = self.table.item(row, col)
                item.setFont(bold if candidate is best else self.table.font())
            self.table.item(row, 5).setText(candidate_note(candidate, best))
        if best is not None and self.adopted is None and self._phase != "running":
            self.table.scrollToItem(self.table.item(self.candidates.index(best), 0))

    def _append_row(self, candidate) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = (str(candidate.k), candidate.covariance_type, _number(candidate.bic), _number(candidate.aic),
                  _number(candidate.log_likelihood), "")
        for col, text in enumerate(values):
            item = QTableWidgetItem(text)
            if col in (0, 2, 3, 4):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col == 1:
                item.setForeground(QColor(TYPE_STYLE[candidate.covariance_type][0]))
            if not candidate.ok:
                item.setForeground(QColor(ERROR_COLOR))
            self.table.setItem(row, col, item)

    def _select_row(self, row: int) -> None:
        self.table.blockSignals(True)
        try:
            if row < 0:
                self.table.clearSelection()
            else:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
        finally:
            self.table.blockSignals(False)


def _number(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:,.1f}"
