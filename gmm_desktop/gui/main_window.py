"""The main window: actions, menus, toolbar and status bar; it wires the session, the views and the panel.

For scripts and tests (CONTRACTS.md section 4): :func:`create_main_window`, and on the window
``load_data(path)``, ``save_model(path)``, ``open_model(path)`` and the read-only ``snapshot``.
Errors are shown in a window-modal message box (never a crash) through :meth:`MainWindow._show_error`;
the last one's text is kept in ``last_error``.
"""

from __future__ import annotations

import math
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox, QDialog, QFileDialog, QLabel, QLineEdit,
    QMainWindow, QMessageBox, QPlainTextEdit, QSizePolicy, QSplitter, QStackedWidget, QStatusBar, QStyle, QTextEdit,
    QToolBar,
    QVBoxLayout, QWidget,
)

from gmm_desktop.core.em import check_data, check_settings, log_likelihood, remove_component, reseed_component
from gmm_desktop.core.errors import DataError, GMMError
from gmm_desktop.core.init import kmeanspp_means
from gmm_desktop.core.metrics import adjusted_rand_index
from gmm_desktop.core.options import OPTIONS
from gmm_desktop.core.vb import default_priors
from gmm_desktop.io import datasets, examples, generator, model_io
from gmm_desktop.io.provenance import Start, candidate_start, model_settings, start_from_settings
from gmm_desktop.gui.collapse_banner import CollapseBanner
from gmm_desktop.gui.dialogs import ColumnsDialog, GenerateDialog
from gmm_desktop.gui.export import export_plot
from gmm_desktop.gui.em_worker import DONE, IDLE, PAUSED, RUNNING, shutdown_all
from gmm_desktop.gui.find_k import FindKDialog, find_k_icon
from gmm_desktop.gui.examples_menu import ask_skip_invalid, build_examples_menu, data_error_text, open_example
from gmm_desktop.gui.history_bar import HistoryBar
from gmm_desktop.gui.inspector import CanvasProbe, Inspector
from gmm_desktop.gui.histogram_canvas import HistogramCanvas
from gmm_desktop.gui.loglik_plot import LogLikelihoodPlot
from gmm_desktop.gui.scatter_canvas import ScatterCanvas
from gmm_desktop.gui.scatter_matrix import MarginalsPanel, ScatterMatrixDock
from gmm_desktop.gui.paint_tool import PaintDataMixin
from gmm_desktop.gui.session import FinishedFitCommand, HistoryCommand, MeansCommand, Session, StateCommand
from gmm_desktop.gui.session_files import SessionFilesMixin
from gmm_desktop.gui.settings_panel import SettingsPanel
from gmm_desktop.gui.side_panel import SidePanelScroll
from gmm_desktop.gui.presentation import Presentation
from gmm_desktop.gui.teaching import Teaching
from gmm_desktop.gui.view_bar import ViewBar

APP_NAME = "gmm-desktop"
DATA_FILTER = "Data files (*.csv *.tsv *.txt *.npy *.npz);;All files (*)"
MODEL_FILTER = "Model files (*.json);;All files (*)"
IMAGE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
_STATE_TEXT = {  # state -> (text, colour) in the status bar
    IDLE: ("No means placed", "#555555"),
    PAUSED: ("Paused · not converged", "#555555"),
    RUNNING: ("Running…", "#0B5CAD"),
    DONE: ("Stopped at max iterations · not converged", "#B45F06"),
    "converged": ("✔ Converged", "#1B7F3B"),
}


def settings_store() -> QSettings:
    """The app's persistent settings (an ini file in the user's configuration folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP_NAME, APP_NAME)


class MainWindow(SessionFilesMixin, PaintDataMixin, QMainWindow):
    """Fit a Gaussian mixture by EM while you watch.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features), str, os.PathLike or None
        The data to open; None for the demo data set (the notebook's four clusters).
    """

    #: Ask before closing with a fitted model that was never saved (tests turn this off).
    ask_to_save_on_close = True
    #: The answer to "Save / Discard / Cancel?" when the window's own routes (File → Open data,
    #: Generate data, Examples, New blank data, Choose columns, Open session, a dropped file) would
    #: replace unsaved work: None asks; "save", "discard" or "cancel" answer without a dialog
    #: (tests, automation). The automation methods themselves (``load_data``, ``open_example``,
    #: ``generate_data``, ``new_blank_data``, ``open_session``) never ask: they replace the data as
    #: told, as they always did; call :meth:`confirm_new_data` first to ask.
    new_data_answer: str | None = None

    def __init__(self, data=None):
        super().__init__()
        self.setWindowTitle("GMM desktop")
        self.last_error = ""
        self.last_warning = ""
        self.session = Session(self)
        self.undo_stack = QUndoStack(self)
        self.canvas = ScatterCanvas(self.session)
        self.histogram = HistogramCanvas(self.session)  # the canvas of 1-D data
        self.view_bar = ViewBar(self.session)
        self.loglik_plot = LogLikelihoodPlot(self.session)
        self.panel = SettingsPanel(self.session)
        self.banner = CollapseBanner(self.session)
        self._store = settings_store()
        self._last_dir = str(self._store.value("paths/last_dir", str(Path.home())))
        self._model_path: str | None = None  # the model file last opened or saved (a starting folder)
        self._fit_file: _FitFile | None = None  # the file the fit on screen came from, if any
        self._data_path: str | None = None  # the data file shown (File → Choose columns… reads it again)
        self._data_drop_invalid: bool | None = None  # how Choose columns reads it again (None: the File menu's box)
        self._kept_dataset = None  # the data as opened or last saved: painting them makes unsaved work
        self._kmeanspp_seed = 0
        #: (start parameters or placed means, Start): how the starts the window made came about, newest last
        self._starts: list[tuple[object, Start]] = []
        self._create_actions()
        self._create_menus_and_toolbar()
        self._create_status_bar()
        self.teaching = Teaching(self)  # step back, E/M half-steps, undoable Reset, locks, edits
        self.teaching.install_toolbar(self.findChild(QToolBar, "mainToolBar"))
        self._create_layout()
        self._create_docks(self._view_menu)
        self.presentation = Presentation(self)  # F5: larger everything, the legend beside the data
        self.setAcceptDrops(True)
        self._restore_settings()
        self._connect()
        self._on_state_changed(IDLE)
        self._set_dataset(generator.demo_dataset())
        if isinstance(data, (str, os.PathLike)):
            self.load_data(data)
        elif data is not None:
            self._load_array(data)
        self._setup_sessions()  # session files and crash recovery (gui/session_files.py)
        self._setup_paint()  # Paint data, New blank data, Save data (gui/paint_tool.py)

    # ------------------------------------------------------------------ construction
    def _action(self, name: str, text: str, slot=None, shortcuts=(), icon=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        keys = ", ".join(QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts)
        action.setToolTip((tip or text.replace("&", "").replace("…", "")) + (f" ({keys})" if keys else ""))
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _create_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.actionOpenData = self._action("actionOpenData", "&Open data…", self._on_open_data_triggered,
                                           [QKeySequence.StandardKey.Open], sp.SP_DialogOpenButton)
        self.actionGenerateData = self._action("actionGenerateData", "&Generate data…",
                                               self._on_generate_data_triggered, ["Ctrl+G"], sp.SP_FileIcon)
        self.actionSkipInvalid = self._action("actionSkipInvalidRows", "Skip rows with invalid values",
                                              tip="Open data files leaving out rows with empty or non-numeric cells")
        self.actionSkipInvalid.setCheckable(True)
        self.actionChooseColumns = self._action("actionChooseColumns", "C&hoose columns…",
                                                self._on_choose_columns_triggered,
                                                tip="Choose the feature columns to fit on and the label column")
        self.actionOpenModel = self._action("actionOpenModel", "Open &model…", self._on_open_model_triggered,
                                            ["Ctrl+Shift+O"], sp.SP_DirOpenIcon)
        self.actionSaveModel = self._action("actionSaveModel", "&Save model", self._on_save_model_triggered,
                                            [QKeySequence.StandardKey.Save], sp.SP_DialogSaveButton)
        self.actionSaveModelAs = self._action("actionSaveModelAs", "Save model &as…",
                                              self._on_save_model_as_triggered, ["Ctrl+Shift+S"])
        self.actionExportCanvas = self._action("actionExportCanvas", "Export &canvas…",
                                               self._on_export_canvas_triggered)
        self.actionExportPlot = self._action("actionExportPlot", "Export &log-likelihood plot…",
                                             self._on_export_plot_triggered)
        self.actionQuit = self._action("actionQuit", "&Quit", self.close, [QKeySequence.StandardKey.Quit])
        self.actionRun = self._action("actionRun", "&Run", self._on_run_triggered, icon=sp.SP_MediaPlay,
                                      tip="Run EM to convergence (Space runs or pauses)")
        self.actionPause = self._action("actionPause", "&Pause", self.session.pause, icon=sp.SP_MediaPause,
                                        tip="Pause EM (Space runs or pauses)")
        self.actionRunPause = self._action("actionRunPause", "Run / pause", self._on_run_pause_triggered,
                                           ["Space"])
        self.actionStep = self._action("actionStep", "&Step", self._on_step_triggered, ["N"],
                                       sp.SP_MediaSkipForward, "One EM iteration")
        self.actionReset = self._action("actionReset", "R&eset", self.session.restart, ["R"],
                                        sp.SP_MediaSkipBackward, "Back to the placed means")
        self.actionUndo = self._action("actionUndo", "&Undo", self.undo_stack.undo,
                                       [QKeySequence.StandardKey.Undo], sp.SP_ArrowBack)
        self.actionRedo = self._action("actionRedo", "Re&do", self.undo_stack.redo,
                                       _redo_shortcuts(), sp.SP_ArrowForward)
        self.actionDeleteMean = self._action("actionDeleteMean", "&Delete mean", self._on_delete_mean_triggered,
                                             [QKeySequence.StandardKey.Delete, "Backspace"],
                                             tip="Delete the mean under the mouse, or the last one placed")
        self.actionClearMeans = self._action("actionClearMeans", "&Clear means", self._on_clear_means_triggered,
                                             icon=sp.SP_DialogDiscardButton)
        self.actionKmeansPP = self._action("actionKmeansPP", "Place means by &k-means++",
                                           self.panel.kmeanspp_button.click)
        self.actionFindK = self._action("actionFindK", "Find &K…", self._on_find_k_triggered, ["Ctrl+K"],
                                        tip="Choose K (and the covariance model) by BIC or AIC")
        self.actionFindK.setIcon(find_k_icon())

    def _create_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        menus = {
            "&File": [self.actionOpenData, self.actionGenerateData, self.actionChooseColumns, self.actionSkipInvalid, None,
                      self.actionOpenModel, self.actionSaveModel, self.actionSaveModelAs, None,
                      self.actionExportCanvas, self.actionExportPlot, None, self.actionQuit],
            "&Edit": [self.actionUndo, self.actionRedo, None, self.actionDeleteMean, self.actionClearMeans,
                      self.actionKmeansPP],
            "E&M": [self.actionRun, self.actionPause, self.actionRunPause, self.actionStep, self.actionReset],
        }
        for title, actions in menus.items():
            menu = bar.addMenu(title)
            for action in actions:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)
            if title == "&File":
                self.menuExamples = build_examples_menu(self, menu, before=self.actionChooseColumns)
        self._view_menu = bar.addMenu("&View")
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        # the files first, so that a narrow window (1024 px) never hides Open/Save model behind »;
        # Undo, Redo and Clear as icons alone (their tooltips name them and their keys)
        for action in (self.actionOpenData, self.actionGenerateData, self.actionOpenModel, self.actionSaveModel,
                       None, self.actionRun, self.actionPause, self.actionStep, self.actionReset, None,
                       self.actionUndo, self.actionRedo, self.actionClearMeans):
            if action is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(action)
        for action in (self.actionUndo, self.actionRedo, self.actionClearMeans):
            toolbar.widgetForAction(action).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        em_menu = next(a.menu() for a in bar.actions() if a.menu() is not None and a.text() == "E&M")
        em_menu.addSeparator()
        em_menu.addAction(self.actionFindK)
        toolbar.insertAction(toolbar.actions()[toolbar.actions().index(self.actionReset) + 1], self.actionFindK)

    def _create_docks(self, menu) -> None:
        """The scatter matrix and the marginals (hidden until asked for, View menu)."""
        self.scatter_matrix = ScatterMatrixDock(self.session, self)
        self.marginals = MarginalsPanel(self.session, self)
        for dock, name in ((self.scatter_matrix, "actionScatterMatrix"), (self.marginals, "actionMarginals")):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
            action = dock.toggleViewAction()
            action.setObjectName(name)
            action.triggered.connect(lambda on, d=dock: on and self._open_dock(d))
            menu.addAction(action)
        self.tabifyDockWidget(self.scatter_matrix, self.marginals)  # both open: tabs, each the full height
        self.scatter_matrix.view_requested.connect(self.set_view)

    def _open_dock(self, dock) -> None:
        """A dock just opened: in front of its tab mate, and as wide as the main area (canvas, view
        bar, side panel) can spare, at least its minimum (scatter_matrix.DOCK_MIN_WIDTH)."""
        dock.raise_()
        spare = self.width() - self.centralWidget().minimumSizeHint().width() - 40  # margins, separator
        self.resizeDocks([dock], [max(dock.minimumWidth(), min(spare, int(0.38 * self.width())))],
                         Qt.Orientation.Horizontal)

    def _create_status_bar(self) -> None:
        self.setStatusBar(_StatusBar(self))
        self._status = {}
        self._ari_of = None  # the fitted labels whose ARI is on screen
        for name in ("state", "iteration", "log_likelihood", "change", "points", "ari"):
            label = QLabel()
            label.setObjectName(f"status_{name}")
            label.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(label)
            self._status[name] = label
        # while a passing message shows, the change of log-likelihood (the least needed field) makes room
        self.statusBar().messageChanged.connect(lambda text: self._status["change"].setVisible(not text))

    def _create_layout(self) -> None:
        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addWidget(self.banner)
        box.addWidget(self.view_bar)
        self._canvases = QStackedWidget()
        self._canvases.addWidget(self.canvas)
        self._canvases.addWidget(self.histogram)
        box.addWidget(self._canvases, 1)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.panel)
        self.inspector = Inspector(self)
        side_layout.addWidget(self.inspector)
        side_layout.addStretch(1)
        self.canvas_probe = CanvasProbe(self.canvas, self.session)  # click selects, hover tells
        self.canvas_probe.selected.connect(self.inspector.select)
        self.inspector.selection_changed.connect(self.canvas.ellipses.set_selected)  # the selected one drawn wide
        self.histogram.component_clicked.connect(self.inspector.select)  # 1-D: a click on a fitted mean or peak
        self.inspector.selection_changed.connect(self.histogram.set_selected)
        scroll = SidePanelScroll(side)  # never narrower than the panel's contents: no label cut
        self._right = QSplitter(Qt.Orientation.Vertical)
        plot_box = QWidget()
        plot_layout = QVBoxLayout(plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.setSpacing(2)
        plot_layout.addWidget(self.loglik_plot, 1)
        self.history_bar = HistoryBar(self.session, self.loglik_plot)  # the scrubber
        plot_layout.addWidget(self.history_bar)
        self._right.addWidget(plot_box)
        self._right.addWidget(scroll)
        self._right.setSizes([300, 420])
        self._right.setStretchFactor(0, 1)  # a taller window gives the plot the room, the panel keeps its own
        self._right.setStretchFactor(1, 0)
        self._panel_scroll = scroll
        self._panel_fitted = False
        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.setObjectName("mainSplitter")
        self._splitter.addWidget(left)
        self._splitter.addWidget(self._right)
        self._splitter.setStretchFactor(0, 3)  # a wider window widens the side panel too, a quarter as much
        self._splitter.setStretchFactor(1, 1)
        self._splitter.setSizes([880, 380])
        self._splitter.setContentsMargins(6, 6, 6, 0)
        self.setCentralWidget(self._splitter)
        self.resize(1280, 800)

    def _connect(self) -> None:
        session = self.session
        session.data_changed.connect(self._describe_dataset)
        session.state_changed.connect(self._on_state_changed)
        session.fit_changed.connect(self._on_fit_changed)
        session.means_changed.connect(self._on_means_changed)
        session.failed.connect(self._on_em_failed)
        self.canvas.mean_added.connect(self._on_mean_added)
        self.canvas.mean_moved.connect(self._on_mean_moved)
        self.canvas.mean_removed.connect(self._on_mean_removed)
        self.histogram.mean_added.connect(self._on_mean_added)
        self.histogram.mean_moved.connect(self._on_mean_moved)
        self.histogram.mean_removed.connect(self._on_mean_removed)
        self.view_bar.view_requested.connect(self.set_view)
        session.data_changed.connect(lambda d: self._canvases.setCurrentWidget(
            self.histogram if d.n_features == 1 else self.canvas))
        self.panel.settings_changed.connect(self._on_em_settings_changed)
        self.panel.delay_changed.connect(session.controller.set_delay)
        self.panel.hard_labels_toggled.connect(self.canvas.set_hard_labels)
        self.panel.truth_toggled.connect(self.canvas.set_truth_visible)
        self.panel.blend_toggled.connect(self.canvas.set_blend)
        self.panel.kmeanspp_requested.connect(self._on_kmeanspp_requested)
        self.banner.reseed_requested.connect(self._on_reseed_requested)
        self.banner.remove_requested.connect(self._on_remove_requested)
        self.undo_stack.canUndoChanged.connect(self.actionUndo.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.actionRedo.setEnabled)
        self.undo_stack.undoTextChanged.connect(lambda text: self.actionUndo.setText(f"&Undo {text}".strip()))
        self.undo_stack.redoTextChanged.connect(lambda text: self.actionRedo.setText(f"Re&do {text}".strip()))
        self.actionUndo.setIconText("Undo")
        self.actionRedo.setIconText("Redo")
        self.actionUndo.setEnabled(False)
        self.actionRedo.setEnabled(False)

    # ------------------------------------------------------------------ automation surface
    @property
    def snapshot(self):
        """The EM state shown (``EMSnapshot``): the newest, or the one ``show_iteration`` chose; None
        before the first iteration."""
        return self.session.snapshot

    def open_example(self, key: str, skip_invalid: bool | None = None) -> bool:
        """Open an example data set of File → Examples (``"demo"``, ``"faithful"``, ``"iris"``,
        ``"penguins"``); rows with missing values are skipped when ``skip_invalid`` (None: ask)."""
        return open_example(self, key, skip_invalid)

    def set_view(self, x, y=None) -> None:
        """Which features the canvas shows, by 0-based index, or ``set_view("pca")`` for the data's
        first two principal axes; the fit stays on every feature. ValueError for a view the data lacks."""
        self.session.set_view(x, y)

    @property
    def means(self) -> np.ndarray:
        """The placed initial means, ndarray of shape (K, n_features)."""
        return self.session.means.copy()

    @property
    def history_length(self) -> int:
        """How many iterations the history holds (iteration 0 counts; 0 before a fit starts)."""
        return self.session.history.n_iterations

    def show_iteration(self, i: int) -> None:
        """Put iteration ``i`` of the history on the canvas (EM pauses); ``snapshot`` then describes it.

        Stepping or running from there drops the later iterations first (undoable). Raises
        IndexError when the history does not hold iteration ``i``.
        """
        self.session.show_iteration(i)

    def lock_component(self, k: int, mean: bool = False, covariance: bool = False, weight: bool = False) -> None:
        """Lock parts of component ``k``: the M-step keeps them (the other weights are rescaled so
        all sum to 1). EM goes on from the newest iteration with the new locks. Undoable."""
        self.teaching.lock_component(k, mean=mean, covariance=covariance, weight=weight)

    def set_component(self, k: int, weight=None, mean=None, covariance=None) -> None:
        """Edit component ``k``'s start values (None keeps one); EM restarts from them. Undoable.
        Raises ParamsError (a ValueError) for values that cannot start a fit."""
        self.teaching.set_component(k, weight=weight, mean=mean, covariance=covariance)

    def load_data(self, path, columns=None, label=None, drop_invalid: bool | None = None) -> bool:
        """Open a data file and fit on its features: ``columns`` (names or 0-based indices), by default
        every numeric column but the label; ``label``: the ground-truth column (default: one named
        ``label``). File → Choose columns… asks for both. ``drop_invalid``: leave out rows with invalid
        values (None: as File → Skip rows with invalid values says).

        On error the message is shown and the data already loaded stays. Returns True on success.
        """
        drop = self.actionSkipInvalid.isChecked() if drop_invalid is None else bool(drop_invalid)
        try:
            dataset = datasets.load_data(path, columns=columns, drop_invalid=drop, label=label)
        except DataError as exc:
            self._show_error("Could not open the data", data_error_text(exc))
            return False
        if Path(path).resolve().parent != examples.RESOURCES:  # an example's folder is not the user's
            self._last_dir = str(Path(path).resolve().parent)
        self._set_dataset(dataset)
        self._data_path = os.fspath(path)
        self._data_drop_invalid = drop_invalid
        skipped = f"; skipped {dataset.n_dropped:,} rows with invalid values" if dataset.n_dropped else ""
        self.statusBar().showMessage(f"Opened {dataset.source}: {datasets.describe_columns(dataset)}{skipped}", 10000)
        return True

    def generate_data(self, preset="medium", centers=None, seed=0, suggest_means=True, n_samples=None,
                      shapes=None) -> bool:
        """Generate the notebook's blobs; ``suggest_means`` places jittered true centres as the means;
        ``n_samples`` overrides the preset's number of points; ``shapes`` (std, aspect, angle per
        cluster) makes them elongated and rotated (``generator.generate``)."""
        try:
            dataset = generator.generate(preset, centers=centers, seed=seed, n_samples=n_samples, shapes=shapes)
            if dataset.n_features != 2:
                raise DataError("the app draws two features: give centers with two coordinates, such as 1,-1; 5,5")
            means = generator.suggest_means(dataset.true_centers, seed=seed) if suggest_means else None
        except DataError as exc:
            self._show_error("Could not generate the data", str(exc))
            return False
        self._set_dataset(dataset)
        if means is not None:
            self.undo_stack.push(MeansCommand(self.session, means, "suggested means"))
            self.undo_stack.setClean()  # suggested, not placed by hand: nothing to lose yet
        return True

    def save_model(self, path) -> bool:
        """Save the current fit (with its trace and settings) as a model file. Returns True on success."""
        snap, session = self.session.snapshot, self.session
        if snap is None:
            self._show_error("Nothing to save yet", "There is no fitted model: place means, then Run or Step EM.")
            return False
        settings = model_settings(session.em_settings(), self.fit_start())
        vb, trace = {}, session.trace_to_cursor()
        if getattr(snap, "method", "em") == "vb":  # a Bayesian fit: its priors, posterior and lower bound
            method = session.document.method_settings()
            priors = default_priors(session.dataset.X, snap.params.n_components, snap.params.covariance_type,
                                    weight_prior=method["weight_prior"] or "dirichlet_process",
                                    weight_concentration=method["weight_concentration"])
            # the window's trace is the lower bound; the data's log-likelihood is recorded for the end only
            vb = dict(method="vb", priors=priors, lower_bound_trace=trace, posterior=snap.posterior.to_dict(),
                      log_likelihood=log_likelihood(session.dataset.X, snap.params))
            trace = ()
        try:
            model_io.save_model(path, snap.params, initial=session.initial, trace=trace,
                                converged=snap.converged, settings=settings, X=session.dataset.X,
                                feature_names=session.dataset.feature_names, source=session.dataset.source,
                                label_column=session.dataset.label_name, **vb)
        except GMMError as exc:
            self._show_error("Could not save the model", str(exc))
            return False
        session.mark_saved()
        self.undo_stack.setClean()  # the means it started from are saved with it
        self._model_path = os.fspath(path)
        self._fit_file = self._current_fit_file(path)
        self._last_dir = str(Path(path).resolve().parent)
        self.statusBar().showMessage(f"Saved the model to {Path(path).name}", 6000)
        return True

    # -- Save and Save As (issue 11.1: Ctrl+S once wrote an iris fit over another model's file)
    def save_target(self) -> str | None:
        """The file Save (Ctrl+S) writes back to without asking: the one this very fit was opened
        from or saved to, on the same data and from the same start. None: Save asks for a name."""
        record = self._fit_file
        if record is None or self.session.snapshot is None or not self._is_this_fit(record):
            return None
        return record.path

    def save(self, path=None, replace: bool | None = None) -> bool:
        """What Save (Ctrl+S, the toolbar's Save) does: write back to :meth:`save_target`, or else
        as :meth:`save_as` (``path`` and ``replace`` are its answers; None asks)."""
        target = self.save_target()
        if target is not None:
            return self.save_model(target)
        return self.save_as(path, replace)

    def save_as(self, path=None, replace: bool | None = None) -> bool:
        """Save the fit under a name (Save As…, Ctrl+Shift+S).

        Parameters
        ----------
        path : str, os.PathLike or None
            Where to save; None asks with a file dialog (``_ask_save_path``).
        replace : bool or None
            The answer to "replace it?" when ``path`` is an existing file holding another model
            (or something that is not this fit's model); None asks (``_confirm_replace``).
            Writing over this very fit's own file is never asked about.
        """
        if self.session.snapshot is None:
            return self.save_model(path or "")  # explains that there is nothing to save
        if path is None:
            path = self._ask_save_path()
            if not path:
                return False
        why = self._replacing_another_model(path)
        if why is not None:
            if replace is None:
                replace = self._confirm_replace(path, why)
            if not replace:
                self.statusBar().showMessage(f"Not saved: {Path(path).name} was kept as it was", 8000)
                return False
        return self.save_model(path)

    def _current_fit_file(self, path) -> "_FitFile":
        session = self.session
        return _FitFile(os.path.abspath(os.fspath(path)), session.dataset, _data_sha256(session.dataset.X),
                        session.initial)

    def _is_this_fit(self, record: "_FitFile") -> bool:
        """Whether the fit on screen is the one ``record`` describes: same data, same start."""
        session = self.session
        if session.dataset is not record.dataset and _data_sha256(session.dataset.X) != record.sha256:
            return False
        return _same_params(session.initial, record.initial)

    def _replacing_another_model(self, path) -> str | None:
        """Why writing ``path`` needs a yes (it exists and does not hold this very fit), or None."""
        target = Path(path)
        if not target.exists():
            return None
        if self._fit_file is not None and os.path.abspath(target) == self._fit_file.path \
                and self._is_this_fit(self._fit_file):
            return None  # this fit's own file
        try:
            other = model_io.load_model(target)
        except GMMError:
            return f"{target.name} exists and is not a model file this app can read."
        snap = self.session.snapshot
        if (other.data.get("sha256") == _data_sha256(self.session.dataset.X)
                and _same_params(other.params, snap.params)):
            return None  # it holds this very model already
        source = other.data.get("source") or "unknown data"
        n = other.data.get("n_samples")
        fitted_on = f"{n:,} points of {source}" if isinstance(n, int) else source
        return (f"{target.name} holds another model: {other.params.n_components} components "
                f"({other.params.covariance_type}) fitted on {fitted_on}. Saving replaces it with this "
                f"fit of {snap.params.n_components} components on {self.session.dataset.source}.")

    def fit_start(self) -> Start:
        """How the start of the current fit was made (the ``init`` and ``seed`` a saved model records):
        a Find K candidate, means placed by k-means++, an opened model, or else clicked means (recorded
        as ``fit --means ... --seed 0`` would record them)."""
        session = self.session
        for key, start in reversed(self._starts):
            if session.start is not None:
                if key is session.start:
                    return start
            elif isinstance(key, np.ndarray) and key.shape == session.means.shape and np.array_equal(key, session.means):
                return start
        return Start("means", OPTIONS["seed"].default)

    def _remember_start(self, key, start: Start) -> None:
        self._starts = self._starts[-31:] + [(key, start)]

    def open_model(self, path) -> bool:
        """Open a model file over the current data; EM continues from its parameters."""
        try:
            model = model_io.load_model(path)
        except GMMError as exc:
            self._show_error("Could not open the model", str(exc))
            return False
        dataset = self.session.dataset
        if model.params.n_features != dataset.n_features:
            self._show_error(
                "The model does not fit the data",
                f"{Path(path).name} has {model.params.n_features} features but the data "
                f"({dataset.source}) has {dataset.n_features}: open data with the model's features "
                f"({', '.join(model.feature_names)}) first.")
            return False
        settings = {**self.session.em_settings(), **{k: model.settings[k] for k in model.settings
                                                     if k in ("tol", "tol_mode", "max_iter", "reg_covar")}}
        try:
            check_settings(**settings)
        except GMMError:
            settings = self.session.em_settings()
        self.panel.set_em_settings({**settings, "covariance_type": model.params.covariance_type})
        self.session.settings = self.panel.em_settings()
        mismatch = data_mismatch(model, dataset)
        trace = () if mismatch else model.trace  # another data set's trace is not this fit's
        command = FinishedFitCommand(self.session, f"open {Path(path).name}", model.params, trace,
                                     model.converged, model.initial)
        self.undo_stack.push(command)
        # the start the fit now has: the model's initial block (taken over) or its parameters
        self._remember_start(self.session.start, start_from_settings(model.settings))
        self.session.mark_saved()
        self.undo_stack.setClean()
        self._model_path = os.fspath(path)
        self._fit_file = self._current_fit_file(path)
        self._last_dir = str(Path(path).resolve().parent)
        shown = (f"iteration {len(model.trace)}, " + ("converged" if model.converged else "not converged")
                 if command.with_trace else "its parameters as the start")
        self.statusBar().showMessage(
            f"Opened {Path(path).name} ({model.params.n_components} components, {shown}): "
            "Run or Step continues EM from it", 8000)
        if mismatch:
            self._show_warning("The model was fitted on other data",
                               f"{Path(path).name} was not fitted on the data open now: {mismatch}. Its "
                               f"parameters start a new fit on these data (iteration 0, its trace is not shown); Run or Step "
                               f"continues EM from them.")
        return True

    def _show_warning(self, title: str, text: str) -> None:
        """A warning that does not block (window-modal); its text is kept in ``last_warning``."""
        self.last_warning = text
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("warningBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open() if self.isVisible() else QTimer.singleShot(0, box.open)

    def export_canvas(self, path) -> bool:
        """Write the canvas as PNG or SVG (by the suffix of ``path``)."""
        return self._export(self.canvas, path)

    def export_loglik_plot(self, path) -> bool:
        """Write the log-likelihood plot as PNG or SVG (by the suffix of ``path``)."""
        return self._export(self.loglik_plot, path)

    # ------------------------------------------------------------------ hooks tests replace
    def _show_error(self, title: str, text: str) -> None:
        """Show an error without blocking (window-modal) and keep its text in ``last_error``."""
        self.last_error = text
        self.statusBar().showMessage(text.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if self.isVisible():
            box.open()
        else:  # an error while the window is being built: show it over the window, once shown
            QTimer.singleShot(0, box.open)

    def _ask_save_path(self) -> str:
        """Ask where to save the model (a file dialog); '' when cancelled."""
        start = self._model_path or os.path.join(self._last_dir, "model.json")
        # we ask about replacing ourselves (only when the file holds another model), not the dialog
        path, _ = QFileDialog.getSaveFileName(self, "Save model as", start, MODEL_FILTER,
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path and not Path(path).suffix:
            path += ".json"  # so that Open model (which lists *.json) finds it again
        return path

    def _confirm_replace(self, path, why: str) -> bool:
        """Ask before writing over a file that holds another model; True to replace it."""
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Warning, "Replace the model file?",
                          f"{why}\n\nReplace {Path(path).name}?", buttons.Cancel, self)
        box.setObjectName("replaceModelBox")
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(buttons.Cancel)
        box.exec()
        return box.clickedButton() is replace

    def _ask_skip_invalid(self, source: str, n_rows: int) -> bool:
        return ask_skip_invalid(self, source, n_rows)

    def _choose_columns(self, names: list[str], labels: list[str], source: str) -> tuple[list[str], str | None] | None:
        """Ask for the feature columns and the label column: ``(columns, label)``, or None if cancelled."""
        dataset = self.session.dataset
        label = dataset.label_name if dataset.label_name in labels else next((n for n in labels if n.lower() == "label"), None)
        dialog = ColumnsDialog(names, labels, source, self, chosen=dataset.feature_names, label=label)
        return (dialog.columns(), dialog.label()) if dialog.exec() else None

    def _on_choose_columns_triggered(self) -> None:
        """Open the shown data file (an example's too) again with the features and the label the user picks."""
        if self._data_path is None:
            self._show_error("No data file", "Choose columns works on data read from a file: open one first "
                                             "(File → Open data or File → Examples); generated and painted data "
                                             "have their columns.")
            return
        try:
            names = datasets.feature_columns(self._data_path)
            labels, _ = datasets.all_columns(self._data_path)
        except DataError as exc:
            self._show_error("Could not open the data", data_error_text(exc))
            return
        answer = self._choose_columns(names, labels, Path(self._data_path).name)
        if answer is not None and self.confirm_new_data():
            self.load_data(self._data_path, columns=answer[0], label=answer[1], drop_invalid=self._data_drop_invalid)

    def _confirm_discard(self) -> bool:
        """Ask about an unsaved fit before closing; True to go on closing."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Save the fitted model?", "The fitted model has not been saved. Save it before quitting?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        if answer == buttons.Save:
            return self._on_save_model_triggered()
        return answer == buttons.Discard

    # -- new data over unsaved work (issue: opening an example lost an unsaved iris fit)
    def unsaved_work(self) -> str:
        """What new data would lose, in words ('' for nothing): a fit with iterations not saved to a
        model or session file, placed means not saved, or painted data not saved."""
        session, parts = self.session, []
        dataset = session.dataset
        if (dataset is not None and dataset is not self._kept_dataset and dataset.n_samples
                and (getattr(dataset, "provenance", None) or {}).get("painted")):
            parts.append(f"the painted data ({dataset.n_samples:,} points)")
        if session.has_unsaved_fit:
            parts.append(f"the fit (iteration {session.history.last.iteration})")
        elif len(session.means) and not self.undo_stack.isClean():
            k = len(session.means)
            parts.append(f"the {k} placed mean{'s' if k != 1 else ''}")
        return " and ".join(parts)

    def confirm_new_data(self, answer: str | None = None, save_to=None) -> bool:
        """Before new data replace the data shown: True to go on, False to keep everything.

        Nothing is asked when there is no unsaved work (:meth:`unsaved_work`). Otherwise EM pauses and
        ``answer`` decides (None: ``new_data_answer``, and if that is None too, a Save / Discard /
        Cancel question): ``"save"`` saves as quitting does (a model file, or a session file when the
        data were painted or there is no fit yet, since a model file keeps neither) to ``save_to``, or
        asks where when it is None, and goes on only if it was saved; ``"discard"`` goes on;
        ``"cancel"`` keeps everything.
        """
        what = self.unsaved_work()
        if not what:
            return True
        self.session.pause()  # the fit should not change behind the question about it
        if answer is None:
            answer = self.new_data_answer
        if answer is None:
            answer = self._ask_unsaved_work(what)
        if answer not in ("save", "discard", "cancel"):
            raise ValueError(f"answer must be 'save', 'discard' or 'cancel', not {answer!r}")
        if answer == "discard" or answer == "save" and self._save_unsaved_work(save_to):
            return True
        self.statusBar().showMessage(f"Kept {what}: the new data were not opened", 8000)
        return False

    def _save_unsaved_work(self, path=None) -> bool:
        """Save what :meth:`unsaved_work` names: the model (as quitting does), or the session when
        the data were painted or there is no fit (a model file keeps neither data nor bare means)."""
        dataset = self.session.dataset
        painted = dataset is not self._kept_dataset and (getattr(dataset, "provenance", None) or {}).get("painted")
        if painted or self.session.snapshot is None:
            return self.save_session(path) if path is not None else self._on_save_session_triggered()
        return self.save(path, replace=True) if path is not None else self._on_save_model_triggered()

    def _ask_unsaved_work(self, what: str) -> str:
        """Ask Save / Discard / Cancel before new data replace unsaved work ("save", "discard", "cancel")."""
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Save your work first?",
                          f"Opening new data replaces {what}, which {'is' if ' and ' not in what else 'are'} not "
                          "saved, and cannot be undone. Save before opening the new data?",
                          buttons.Save | buttons.Discard | buttons.Cancel, self)
        box.setObjectName("unsavedWorkBox")
        box.setDefaultButton(buttons.Save)
        answer = box.exec()
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    # ------------------------------------------------------------------ data
    def _set_dataset(self, dataset) -> None:
        self.undo_stack.clear()
        self._kept_dataset = dataset
        self._data_path, self._data_drop_invalid = None, None  # load_data and open_example set them after
        self.session.set_dataset(dataset)
        self.inspector.clear_for_new_data(dataset.feature_names)  # the old data's start values are not these

    def _describe_dataset(self, dataset) -> None:
        """The status bar's point count and the title, whenever the data change (also by painting)."""
        label = f" · truth: {dataset.label_name}" if dataset.label_name else ""
        self._status["points"].setText(f"{dataset.n_samples:,} points{label}")
        self._status["points"].setToolTip(datasets.describe_columns(dataset).capitalize())
        self.setWindowTitle(f"GMM desktop — {dataset.source}")
        self._update_status()

    def _load_array(self, data) -> bool:
        try:
            X = check_data(data)
            names = [f"col{j}" for j in range(X.shape[1])]
        except DataError as exc:
            self._show_error("Could not use the data", str(exc))
            return False
        self._data_path = None
        self._set_dataset(datasets.Dataset(np.ascontiguousarray(X), names, None, "array"))
        return True

    # ------------------------------------------------------------------ event handlers
    def _on_open_data_triggered(self) -> None:
        if not self.confirm_new_data():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open data", self._last_dir, DATA_FILTER)
        if path:
            self.load_data(path)

    def _on_example_triggered(self, key: str) -> None:
        if self.confirm_new_data():
            self.open_example(key)

    def _on_generate_data_triggered(self) -> None:
        if not self.confirm_new_data():
            return
        dialog = GenerateDialog(self)
        if dialog.exec():
            self.generate_data(**dialog.values())

    def _on_find_k_triggered(self) -> None:
        dialog = self.findChild(FindKDialog, "findKDialog")
        if dialog is None:
            dialog = FindKDialog(self.session, self)
            dialog.candidate_adopted.connect(self.adopt_candidate)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def adopt_candidate(self, candidate) -> None:
        """Continue EM from a Find K candidate (as ``open_model``): its parameters, covariance type and K."""
        was_vb = self.session.settings.get("method") == "vb"
        # a candidate is a maximum-likelihood fit: EM continues it (a variational fitter cannot)
        self.panel.set_em_settings({"covariance_type": candidate.covariance_type, "method": "em"})
        self.session.settings = self.panel.em_settings()
        dialog = self.findChild(FindKDialog, "findKDialog")
        result = getattr(dialog, "result", None)
        in_result = result is not None and any(c is candidate for c in result.candidates)
        self.undo_stack.push(FinishedFitCommand(self.session, f"adopt K = {candidate.k}", candidate.params,
                                                candidate.trace, candidate.converged, candidate.initial))
        self._remember_start(self.session.start, candidate_start(candidate, result if in_result else None))
        method = " — an EM fit, so Method is now EM" if was_vb else ""
        self.statusBar().showMessage(f"Adopted K = {candidate.k} ({candidate.covariance_type}){method}: "
                                     "Run or Step continues EM from it", 8000)

    def _on_open_model_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_dir, MODEL_FILTER)
        if path:
            self.open_model(path)

    def _on_save_model_triggered(self) -> bool:
        return self.save()

    def _on_save_model_as_triggered(self) -> bool:
        return self.save_as()

    def _on_export_canvas_triggered(self) -> None:
        self._export_with_dialog(self.canvas, "canvas.png")

    def _on_export_plot_triggered(self) -> None:
        self._export_with_dialog(self.loglik_plot, "log-likelihood.png")

    def _on_run_pause_triggered(self) -> None:
        if self.session.state == RUNNING:
            self.session.pause()
        else:
            self._on_run_triggered()

    def _on_run_triggered(self) -> None:
        self._go_on_from_cursor()
        self.session.run()

    def _on_step_triggered(self) -> None:
        self._go_on_from_cursor()
        self.session.step()

    def _go_on_from_cursor(self) -> None:
        """From a past iteration, EM goes on from there: the later iterations are dropped (undoable)."""
        if self.session.at_past_iteration:
            history = self.session.history
            current = history.current
            dropped = history.entries[history.cursor + 1:]
            first, last = dropped[0].iteration, dropped[-1].iteration
            if first == current.iteration and last == first:
                what = f"the M-step of iteration {first}"
            else:
                first = max(first, current.iteration + 1)
                what = f"iteration {first}" if first == last else f"iterations {first}–{last}"
            self.undo_stack.push(HistoryCommand(self.session, f"go on from iteration {current.iteration}"))
            undo = QKeySequence(QKeySequence.StandardKey.Undo).toString(QKeySequence.SequenceFormat.NativeText)
            them = "them" if what.startswith("iterations") else "it"
            self.statusBar().showMessage(f"Dropped {what} to go on from iteration {current.iteration} — "
                                         f"{undo or 'Edit → Undo'} brings {them} back", 15000)

    def _on_em_settings_changed(self, settings: dict) -> None:
        """A change of the EM settings restarts the fit: undoable back to that fit (issue 11.2)."""
        if settings == self.session.settings:
            return
        if len(self.session.history) == 0:  # nothing fitted to lose
            self.session.set_settings(settings)
            return
        session = self.session
        self.undo_stack.push(StateCommand(session, "change EM settings", lambda: session.set_settings(settings)))

    def _shown_point(self, x: float, y: float | None) -> tuple:
        return (x,) if self.session.document.view.n_shown == 1 or y is None else (x, y)

    def _on_mean_added(self, x: float, y: float | None = None) -> None:
        """A click places a mean: the shown coordinates are the clicked ones, the hidden ones the mean of
        the data points nearest the click in the shown plane (Document.mean_at)."""
        mean = self.session.document.mean_at(*self._shown_point(x, y))
        self.undo_stack.push(MeansCommand(self.session, np.vstack([self.session.means, mean]), "add mean"))

    def _on_mean_moved(self, k: int, x: float, y: float | None = None) -> None:
        """Dragging a mean moves only its shown coordinates."""
        means = self.session.document.means_with_moved(k, *self._shown_point(x, y))
        self.undo_stack.push(MeansCommand(self.session, means, "move mean"))

    def _on_mean_removed(self, k: int) -> None:
        self.undo_stack.push(MeansCommand(self.session, np.delete(self.session.means, k, axis=0), "delete mean"))

    def _on_delete_mean_triggered(self) -> None:
        k = self.canvas.mean_under_cursor()
        if len(self.session.means):
            self._on_mean_removed(len(self.session.means) - 1 if k is None else k)

    def _on_clear_means_triggered(self) -> None:
        if len(self.session.means):
            self.undo_stack.push(MeansCommand(self.session, self.session.means[:0], "clear means"))

    def _on_kmeanspp_requested(self, k: int) -> None:
        try:
            means = kmeanspp_means(self.session.dataset.X, k, seed=self._kmeanspp_seed)
        except GMMError as exc:
            self._show_error("k-means++ failed", str(exc))
            return
        self._remember_start(np.array(means, dtype=float), Start("means", self._kmeanspp_seed, {"means_from": "kmeans++"}))
        self._kmeanspp_seed += 1
        self.undo_stack.push(MeansCommand(self.session, means, "k-means++ means"))

    def _on_reseed_requested(self, k: int) -> None:
        self._replace_fit(k, lambda params: reseed_component(self.session.dataset.X, params, k), "re-seed component")

    def _on_remove_requested(self, k: int) -> None:
        self._replace_fit(k, lambda params: remove_component(params, k), "remove component")

    def _replace_fit(self, k: int, change, text: str) -> None:
        shown = self.session.shown
        if shown is None or k not in shown.collapsed:
            return  # the banner still shows a fit since replaced (an edit, a reset): it hides at the next frame
        try:
            params = change(self.session.shown.params)
        except GMMError as exc:
            self._show_error("Could not change the component", str(exc))
            return
        self.undo_stack.push(MeansCommand(self.session, params.means, text, start=params))

    def _on_em_failed(self, message: str) -> None:
        self._show_error("EM stopped", message)

    def _on_state_changed(self, state: str) -> None:
        self.actionRun.setEnabled(state == PAUSED)
        self.actionPause.setEnabled(state == RUNNING)
        self.actionRunPause.setEnabled(state in (PAUSED, RUNNING))
        self.actionStep.setEnabled(state != IDLE)
        self.actionReset.setEnabled(state != IDLE)
        self._update_status()

    def _on_means_changed(self, means) -> None:
        self.actionClearMeans.setEnabled(len(means) > 0)
        self.actionDeleteMean.setEnabled(len(means) > 0)

    def _on_fit_changed(self, _snapshot) -> None:
        self.actionSaveModel.setEnabled(self.session.snapshot is not None)
        self.actionSaveModelAs.setEnabled(self.session.snapshot is not None)
        self._update_status()

    # ------------------------------------------------------------------ redraws
    def _update_status(self) -> None:
        snap, state = self.session.shown, self.session.state
        converged = snap is not None and snap.converged and state != RUNNING
        text, color = _STATE_TEXT["converged" if converged else state]
        n_points = 0 if self.session.dataset is None else self.session.dataset.n_samples
        last = self.session.history.last
        if snap is not None and self.session.at_past_iteration and state != RUNNING and last is not None:
            # looking back: the state words describe the newest iteration, not the one shown
            if last.converged:
                end = f"the fit converged at {last.iteration}"
            elif state == DONE:
                end = f"the fit stopped at max iterations ({last.iteration})"
            else:
                end = f"paused at {last.iteration}"
            text, color = f"Viewing iteration {snap.iteration} of {last.iteration} · {end}", "#555555"
        if n_points < max(1, len(self.session.means)):  # a blank or sparse painted canvas
            text = ("No data: paint points (Paint data) or open a file" if n_points == 0 else
                    f"{len(self.session.means)} means but {n_points} points: paint more points")
        self._status["state"].setText(text)
        style = f"QLabel {{ color: {color}; font-weight: bold; }}"
        if self._status["state"].styleSheet() != style:  # re-styling costs a polish on every frame
            self._status["state"].setStyleSheet(style)
        if snap is None:
            for name in ("iteration", "log_likelihood", "change", "ari"):
                self._status[name].setText("")
            self._ari_of = None
            return
        self._status["iteration"].setText(f"Iteration {snap.iteration}")
        objective = "lower bound" if getattr(snap, "method", "em") == "vb" else "log-likelihood"
        if math.isfinite(snap.log_likelihood):
            self._status["log_likelihood"].setText(f"{objective} {snap.log_likelihood:,.2f}")
        else:  # after an M-step it is computed by the next E-step: never "nan" on screen
            after_m = getattr(snap, "phase", "E") == "M"
            self._status["log_likelihood"].setText(f"{objective} –" + (" (after M: not computed yet)" if after_m else ""))
        change = "" if math.isnan(snap.change) else f"change {snap.change:+.3g}"
        self._status["change"].setText(change)
        labels = self.session.dataset.labels
        if labels is None or snap.labels is not None and len(labels) != len(snap.labels):
            self._status["ari"].setText("")
        elif snap.labels is not None and snap.labels is not self._ari_of:  # once per set of labels
            self._ari_of = snap.labels
            ari = adjusted_rand_index(labels, snap.labels)
            self._status["ari"].setText(f"ARI vs truth {ari:.3f}")
            self._status["ari"].setToolTip("Adjusted Rand index of the fit's clusters against the true labels "
                                           f"({self.session.dataset.label_name or 'label'}): 1 is a perfect match")
        # else: a snapshot without labels (EM on large data sends them a few times a second)
        # keeps the newest ARI on screen rather than blanking it between those snapshots

    # ------------------------------------------------------------------ export
    def _export_with_dialog(self, widget: pg.PlotWidget, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", os.path.join(self._last_dir, name), IMAGE_FILTER)
        if path:
            self._export(widget, path)

    def _export(self, widget: pg.PlotWidget, path) -> bool:
        try:
            export_plot(widget, path)
        except OSError as exc:
            self._show_error("Could not export", str(exc))
            return False
        self.statusBar().showMessage(f"Exported {Path(path).name}", 6000)
        return True

    # ------------------------------------------------------------------ drag and drop, settings, close
    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            if paths[0].lower().endswith(".json"):  # a model: undoable (Edit → Undo), nothing to ask
                QTimer.singleShot(0, lambda: self.open_model(paths[0]))
            else:
                QTimer.singleShot(0, lambda: self.confirm_new_data() and self.load_data(paths[0]))

    def _restore_settings(self) -> None:
        store = self._store
        if geometry := store.value("window/geometry"):
            self.restoreGeometry(geometry)
        if splitter := store.value("window/splitter"):
            self._splitter.restoreState(splitter)
        self.actionSkipInvalid.setChecked(str(store.value("file/skip_invalid", "false")).lower() == "true")
        self.panel.restore(store)
        self.session.settings = self.panel.em_settings()
        self.session.controller.set_delay(self.panel.delay_ms())
        self.canvas.set_hard_labels(self.panel.hard_labels_check.isChecked())
        self.canvas.set_truth_visible(self.panel.truth_check.isChecked())
        self.canvas.set_blend(self.panel.blend_check.isChecked())

    def _save_settings(self) -> None:
        store = self._store
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/splitter", self._splitter.saveState())
        store.setValue("paths/last_dir", self._last_dir)
        store.setValue("file/skip_invalid", self.actionSkipInvalid.isChecked())
        self.panel.save(store)
        store.sync()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._panel_fitted:
            self._panel_fitted = True
            self._fit_side_panel()
        self._fit_toolbar()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_toolbar()

    def _fit_toolbar(self) -> None:
        """Show the file buttons (Open data, Generate data, Open model, Save model) as icons alone
        (tooltips name them) when the window is too narrow for every label, so that no button hides
        behind the toolbar's » (Paint data did, at 1280 px)."""
        toolbar = self.findChild(QToolBar, "mainToolBar")
        if toolbar is None:
            return
        files = [toolbar.widgetForAction(a) for a in (self.actionOpenData, self.actionGenerateData,
                                                       self.actionOpenModel, self.actionSaveModel)]
        if any(w is None for w in files):
            return
        for w in files:
            w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        widgets = [toolbar.widgetForAction(a) for a in toolbar.actions() if a.isVisible()]
        spacing = toolbar.layout().spacing() if toolbar.layout() is not None else 0
        margins = toolbar.contentsMargins()
        needed = (sum(w.sizeHint().width() + spacing for w in widgets if w is not None)
                  + margins.left() + margins.right() + 24)  # and the handle's room
        if needed > self.width():
            for w in files:
                w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def _fit_side_panel(self) -> None:
        """Give the settings panel the height it needs (no scroll bar at 1024 x 768), and the
        log-likelihood plot the rest, at least 160 px."""
        total = sum(self._right.sizes())
        need = self.panel.sizeHint().height() + 2 * self._panel_scroll.frameWidth()
        plot = max(160, total - need)
        self._right.setSizes([plot, max(0, total - plot)])

    def event(self, event) -> bool:
        # Qt asks (ShortcutOverride, passed up from the focus widget) before a key becomes a
        # shortcut; accepting it gives the key to the focus widget: N typed in a field is an "n",
        # R in the covariance box picks an entry, neither steps nor resets EM.
        if (event.type() == QEvent.Type.ShortcutOverride and not event.modifiers() & _COMMAND_MODIFIERS
                and bare_key_belongs_to_focus()):
            event.accept()
            return True
        return super().event(event)

    def closeEvent(self, event) -> None:
        if self.ask_to_save_on_close and self.session.has_unsaved_fit:
            self.session.pause()  # the fit should not change behind the question about it
            if not self._confirm_discard():
                event.ignore()
                return
        self._save_settings()
        self.recovery.discard()  # a clean close: no recovery copy is left behind
        self.session.controller.shutdown()
        super().closeEvent(event)


class _ElidedLabel(QLabel):
    """One line of text cut with "…" to the room it is given (the whole text in its tooltip), so
    that a long message never runs into the widgets beside it nor pushes them away."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text if text else "")
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = max(0, self.contentsRect().width())
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room))


class _StatusBar(QStatusBar):
    """The status bar: passing messages ("Saved the model to ...") go in a label of their own on
    the left, cut to fit, while the permanent fields (state, iteration, log-likelihood, points,
    ARI) keep their room on the right. (QStatusBar drew long messages under the fields: "File
    →Paused"; hiding fields to make room lost the point count and the ARI.)"""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message_label = _ElidedLabel(self)
        self.message_label.setObjectName("status_message")
        self.message_label.setContentsMargins(4, 0, 8, 0)
        self.addWidget(self.message_label, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self.message_label.set_full_text(text)
        if timeout > 0:
            self._timer.start(timeout)
        else:
            self._timer.stop()
        self.messageChanged.emit(text)

    def clearMessage(self) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()
        if self.message_label.full_text():
            self.message_label.set_full_text("")
            self.messageChanged.emit("")

    def currentMessage(self) -> str:  # noqa: N802 - Qt's name
        return self.message_label.full_text()


def data_mismatch(model, dataset) -> str:
    """How the data a model file was fitted on differ from ``dataset`` ('' when they are the same):
    from the file's ``data.n_samples``, ``data.sha256`` and ``feature_names``."""
    saved = model.data or {}
    n, sha, source = saved.get("n_samples"), saved.get("sha256"), saved.get("source") or "unknown data"
    differences = []
    if isinstance(n, int) and n != dataset.n_samples:
        differences.append(f"it was fitted on {n:,} points of {source}, these are {dataset.n_samples:,} points "
                           f"of {dataset.source}")
    if list(model.feature_names) and list(model.feature_names) != list(dataset.feature_names):
        differences.append(f"its features are {', '.join(map(repr, model.feature_names))}, these data's "
                           f"{', '.join(map(repr, dataset.feature_names))}")
    if not differences and sha and sha != _data_sha256(dataset.X):
        differences.append(f"the values differ from those of {source} it was fitted on (same number of "
                           f"points, {dataset.n_samples:,}, but another SHA-256)")
    return "; ".join(differences)


@dataclass(frozen=True, eq=False)
class _FitFile:
    """The model file a fit came from (opened or saved): Save writes back to it only while the fit
    on screen is still that fit (same data, same start parameters)."""

    path: str
    dataset: object
    sha256: str
    initial: object  # GMMParams or None


_sha_cache: list = [lambda: None, ""]  # (weak reference to the array last hashed, its hash)


def _data_sha256(X) -> str:
    """The model file's hash of ``X``, computed once per array (50 ms at a million points)."""
    if _sha_cache[0]() is not X:
        _sha_cache[:] = [weakref.ref(X), datasets.data_sha256(X)]
    return _sha_cache[1]


def _same_params(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if a is b:
        return True
    return (a.covariance_type == b.covariance_type and a.means.shape == b.means.shape
            and np.allclose(a.weights, b.weights, rtol=1e-9, atol=1e-12)
            and np.allclose(a.means, b.means, rtol=1e-9, atol=1e-12)
            and np.allclose(a.covariances, b.covariances, rtol=1e-9, atol=1e-12))


#: Widgets that take typed keys: a bare letter or Space pressed in one is theirs, never a shortcut.
_TYPING_WIDGETS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit, QComboBox, QAbstractItemView)
_COMMAND_MODIFIERS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier


def bare_key_belongs_to_focus() -> bool:
    """Whether a key without Ctrl/Alt/Meta (N, R, Space, Delete...) is for the focused widget rather
    than a shortcut: a text field, spin box, list or combo box has the focus, or a dialog is open."""
    if QApplication.activeModalWidget() is not None:
        return True
    focus = QApplication.focusWidget()
    return focus is not None and (isinstance(focus, _TYPING_WIDGETS) or isinstance(focus.window(), QDialog))


def _redo_shortcuts() -> list:
    """Ctrl+Shift+Z and the platform's Redo key, without repeating one (a duplicate shortcut on one
    action is ambiguous in Qt and then does nothing: on X11 the standard Redo is Ctrl+Shift+Z)."""
    keys = [QKeySequence("Ctrl+Shift+Z")]
    keys += [k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo) if k not in keys]
    return keys


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication([APP_NAME])
        app.setStyle("Fusion")
        font = app.font()
        font.setPointSizeF(max(font.pointSizeF(), 10.0))  # readable when projected
        app.setFont(font)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    pg.setConfigOptions(antialias=True)
    return app


def create_main_window(data=None) -> MainWindow:
    """Build the main window (not shown, no event loop); creates the QApplication if there is none."""
    _application()
    return MainWindow(data)


def run_app(argv) -> int:
    """Open the window on the demo data set, or on ``argv[0]`` (a data file), and run the event loop."""
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python main.py [DATA_FILE]   (or: python main.py fit|generate|predict|select ...)",
              file=sys.stderr)
        return 2
    app = _application()
    app.aboutToQuit.connect(shutdown_all)
    window = MainWindow(argv[0] if argv else None)
    window.show()
    QTimer.singleShot(0, window.offer_recovery)  # a recovery copy left by a crash
    return app.exec()
