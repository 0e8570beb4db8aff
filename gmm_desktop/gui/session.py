"""The document behind the window: the data set, the placed means, the EM settings and the fit.

Views connect to a :class:`Session` and draw what it announces; the window turns user actions into
calls on it (edits of the means go through :class:`MeansCommand`, so they can be undone).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QUndoCommand

from gmm_desktop.core.em import EMFitter, EMSnapshot
from gmm_desktop.core.errors import GMMError
from gmm_desktop.core.init import params_from_means
from gmm_desktop.core.params import GMMParams
from gmm_desktop.gui.em_worker import IDLE, EMController

DEFAULT_SETTINGS = {"covariance_type": "full", "tol": 1e-4, "tol_mode": "total", "max_iter": 1000, "reg_covar": 1e-6}
#: Views redraw at most once per frame of this length (about 30 per second), or less often when a
#: redraw takes longer than half of it, so that the window stays responsive with large data.
FRAME_MS = 33


class Session(QObject):
    """Holds what is being fitted and relays the EM controller's results to the views.

    Attributes
    ----------
    dataset : Dataset or None
    means : ndarray of shape (n_means, n_features)
        The initial means the user placed; K is their number.
    start : GMMParams or None
        Explicit starting parameters (an opened model, a re-seeded fit); None to start from
        ``params_from_means(X, means)``, the notebook's initialisation.
    settings : dict
        ``covariance_type``, ``tol``, ``tol_mode``, ``max_iter``, ``reg_covar``.
    initial : GMMParams or None
        The parameters the current fit started from.
    shown : EMSnapshot or None
        The newest state, including iteration 0 of a fresh start: what the canvas draws.
    trace : list of float
        Log-likelihood after each iteration of the current fit.
    initial_log_likelihood : float
        That of the start parameters (NaN until the worker has computed it).
    """

    data_changed = Signal(object)  # Dataset
    means_changed = Signal(object)  # ndarray of shape (n_means, n_features): the placed means
    fit_changed = Signal(object)  # EMSnapshot or None: the newest state, at most once per frame
    state_changed = Signal(str)  # em_worker.IDLE | PAUSED | RUNNING | DONE
    failed = Signal(str)  # user-ready message; EM is paused

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = EMController(self)
        self.dataset = None
        self.means = np.empty((0, 2))
        self.start: GMMParams | None = None
        self.settings = dict(DEFAULT_SETTINGS)
        self.initial: GMMParams | None = None
        self.shown: EMSnapshot | None = None
        self.trace: list[float] = []
        self.initial_log_likelihood = math.nan
        self._snapshot: EMSnapshot | None = None
        self._saved = True
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._on_frame)
        self._frame_cost_ms = 0
        self._since_frame = QElapsedTimer()
        self._since_frame.start()
        self.controller.restarted.connect(self._on_restarted)
        self.controller.iterated.connect(self._on_iterated)
        self.controller.state_changed.connect(self.state_changed)
        self.controller.failed.connect(self._on_failed)

    # -- state
    @property
    def snapshot(self) -> EMSnapshot | None:
        """The latest EM state: None until an iteration has run (or a model was opened)."""
        return self._snapshot

    @property
    def state(self) -> str:
        return self.controller.state

    @property
    def has_unsaved_fit(self) -> bool:
        return bool(self.trace) and not self._saved

    def mark_saved(self) -> None:
        self._saved = True

    def em_settings(self) -> dict:
        """Keyword arguments of ``EMFitter`` (all settings but the covariance type)."""
        return {k: v for k, v in self.settings.items() if k != "covariance_type"}

    # -- edits (each restarts EM from iteration 0, paused)
    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.means = np.empty((0, dataset.n_features))
        self.start = None
        self.data_changed.emit(dataset)
        self.means_changed.emit(self.means)
        self.restart()

    def set_means(self, means, start: GMMParams | None = None) -> None:
        self.means = np.array(means, dtype=float).reshape(-1, self.means.shape[1])
        self.start = start
        self.means_changed.emit(self.means)
        self.restart()

    def set_settings(self, settings: dict) -> None:
        if settings != self.settings:
            self.settings = dict(settings)
            self.restart()

    def restart(self) -> None:
        """Back to iteration 0 from the start parameters (Reset)."""
        self._snapshot = self.shown = self.initial = None
        self.trace = []
        self.initial_log_likelihood = math.nan
        if self.dataset is None or len(self.means) == 0:
            self.controller.clear()
            self._schedule_frame()
            return
        try:
            initial = self.initial = self.start_params()
            if self.start is not None:
                self._snapshot = self._initial_snapshot(initial)
        except GMMError as exc:
            self.controller.clear()
            self._schedule_frame()
            self.failed.emit(str(exc))
            return
        self.controller.restart(self.dataset.X, initial, self.em_settings())

    def start_params(self) -> GMMParams:
        ctype, X = self.settings["covariance_type"], self.dataset.X
        if self.start is None:
            return params_from_means(X, self.means, ctype, self.settings["reg_covar"])
        if self.start.covariance_type != ctype:
            return self.start.with_covariance_type(ctype).validated()
        return self.start

    def _initial_snapshot(self, params: GMMParams) -> EMSnapshot:
        """Iteration 0 of explicit start parameters, so that ``snapshot`` has it at once.

        Through a fitter, whose E-step takes the fast path: 70 ms at 1M points x 16 components,
        where :func:`~gmm_desktop.core.em.log_likelihood` (direct) froze the window for 1.7 s. On
        this thread alone: the E-step's pool threads run at a background priority.
        """
        return EMFitter(self.dataset.X, params, n_threads=1, **self.em_settings()).snapshot

    # -- EM
    def run(self) -> None:
        self.controller.run()

    def pause(self) -> None:
        self.controller.pause()

    def step(self) -> None:
        if self.state != IDLE:
            self.controller.step()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self.shown is None:  # the fitter could not be rebuilt: stop showing the fit it replaced
            self._schedule_frame()
        self.failed.emit(message)

    @Slot(object)
    def _on_restarted(self, snapshot: EMSnapshot) -> None:
        self.shown = snapshot
        self.initial_log_likelihood = snapshot.log_likelihood
        if self.start is not None:
            self._snapshot = snapshot
        self._schedule_frame()

    @Slot(object)
    def _on_iterated(self, snapshot: EMSnapshot) -> None:
        if snapshot.iteration > len(self.trace):  # not a re-send of the same iteration with its colours
            self.trace.append(snapshot.log_likelihood)
            self._saved = False
        self.shown = self._snapshot = snapshot
        self._schedule_frame()

    def _schedule_frame(self) -> None:
        if not self._frame_timer.isActive():
            frame_ms = max(FRAME_MS, 2 * self._frame_cost_ms)
            self._frame_timer.start(max(0, frame_ms - self._since_frame.elapsed()))

    @Slot()
    def _on_frame(self) -> None:
        self._since_frame.restart()
        self.fit_changed.emit(self.shown)
        self._frame_cost_ms = self._since_frame.elapsed()


class MeansCommand(QUndoCommand):
    """An undoable change of the placed means (and of explicit start parameters)."""

    def __init__(self, session: Session, means, text: str, start: GMMParams | None = None):
        super().__init__(text)
        self._session = session
        self._before = (session.means.copy(), session.start)
        self._after = (np.array(means, dtype=float), start)

    def redo(self) -> None:
        self._session.set_means(*self._after)

    def undo(self) -> None:
        self._session.set_means(*self._before)
