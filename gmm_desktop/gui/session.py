"""The Qt face of the document: turns its changes into signals and runs EM on the worker thread.

What is being fitted, and every state the fit went through, live in a Qt-free
:class:`~gmm_desktop.document.Document` (``session.document``). The :class:`Session` owns the
:class:`~gmm_desktop.gui.em_worker.EMController`, appends each state the worker reports to the
document's history, and re-emits the document's changes as the signals the views connect to
(``fit_changed`` at most once per frame). The window turns user actions into calls on it; edits of
the means go through :class:`MeansCommand` and steps from a past iteration through
:class:`HistoryCommand`, so both can be undone.

Invariant: the worker's fitter continues from the history's newest entry. Stepping or running while
the cursor is on an older one first drops the later entries and rebuilds the fitter there
(:meth:`Session.continue_from_cursor`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QUndoCommand

from gmm_desktop.core.fitter import EMFitter, EMSnapshot
from gmm_desktop.core.errors import GMMError
from gmm_desktop.core.params import GMMParams
from gmm_desktop.document import CURSOR, DATA, DEFAULT_SETTINGS, HISTORY, MEANS, VIEW, Document, HistoryEntry
from gmm_desktop.gui.em_worker import IDLE, RUNNING, EMController

__all__ = ["DEFAULT_SETTINGS", "FRAME_MS", "HistoryCommand", "MeansCommand", "Session"]

#: Views redraw at most once per frame of this length (about 30 per second), or less often when a
#: redraw takes longer than half of it, so that the window stays responsive with large data.
FRAME_MS = 33


class Session(QObject):
    """Relays the document's changes and the EM controller's results to the views.

    Attributes
    ----------
    document : Document
        Everything that is being fitted and the history of the fit.
    dataset, means, start, settings
        The document's (``settings`` can be assigned: that changes them without a restart).
    initial : GMMParams or None
        The parameters the current fit started from (iteration 0).
    shown : EMSnapshot or None
        The state under the history's cursor, including iteration 0 of a fresh start, with its
        responsibilities when they are known: what the canvas draws.
    trace : list of float
        Log-likelihood after each iteration of the whole history.
    initial_log_likelihood : float
        That of the start parameters (NaN until the worker has computed it).
    """

    data_changed = Signal(object)  # Dataset
    means_changed = Signal(object)  # ndarray of shape (n_means, n_features): the placed means
    fit_changed = Signal(object)  # EMSnapshot or None: the state under the cursor, at most once per frame
    state_changed = Signal(str)  # em_worker.IDLE | PAUSED | RUNNING | DONE
    failed = Signal(str)  # user-ready message; EM is paused
    view_changed = Signal(object)  # the displayed features: (x, y), (x,) or "pca"

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.document = Document()
        self.controller = EMController(self)
        self.initial: GMMParams | None = None
        self._resp: list[tuple[HistoryEntry, EMSnapshot]] = []  # entries with known responsibilities
        self._saved = True
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._on_frame)
        self._frame_cost_ms = 0
        self._since_frame = QElapsedTimer()
        self._since_frame.start()
        self.document.subscribe(self._on_document_changed)
        self.controller.restarted.connect(self._on_restarted)
        self.controller.iterated.connect(self._on_iterated)
        self.controller.state_changed.connect(self.state_changed)
        self.controller.failed.connect(self._on_failed)

    # -- the document's parts
    @property
    def dataset(self):
        return self.document.dataset

    @property
    def means(self) -> np.ndarray:
        return self.document.means

    @property
    def start(self) -> GMMParams | None:
        return self.document.start

    @property
    def settings(self) -> dict:
        return self.document.settings

    @settings.setter
    def settings(self, settings: dict) -> None:
        self.document.set_settings(settings)

    @property
    def history(self):
        return self.document.history

    @property
    def trace(self) -> list[float]:
        return self.document.history.trace()

    def trace_to_cursor(self) -> list[float]:
        """The trace of the shown state: iterations 1 up to the cursor's."""
        return self.document.history.trace(self.document.history.cursor)

    @property
    def initial_log_likelihood(self) -> float:
        return self.document.history.initial_log_likelihood

    # -- state
    @property
    def shown(self) -> EMSnapshot | None:
        entry = self.document.current
        if entry is None:
            return None
        for known, snapshot in self._resp:
            if known is entry:
                return snapshot
        return entry.snapshot

    @property
    def snapshot(self) -> EMSnapshot | None:
        """The state under the cursor: None until an iteration has run (or a model was opened)."""
        last = self.document.history.last
        if last is None or (last.iteration == 0 and self.start is None):
            return None
        return self.shown

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
        return self.document.em_settings()

    # -- edits (each restarts EM from iteration 0, paused)
    def set_dataset(self, dataset) -> None:
        self._resp = []
        self.document.set_dataset(dataset)
        self.restart()

    def set_means(self, means, start: GMMParams | None = None) -> None:
        self.document.set_means(means, start)
        self.restart()

    def set_settings(self, settings: dict) -> None:
        if settings != self.settings:
            self.document.set_settings(settings)
            self.restart()

    def set_view(self, x, y=None) -> None:
        self.document.set_view(x, y)

    def restart(self) -> None:
        """Back to iteration 0 from the start parameters (Reset): the history is cleared."""
        self.initial = None
        self._resp = []
        self.document.clear_history()
        if self.dataset is None or len(self.means) == 0:
            self.controller.clear()
            self._schedule_frame()
            return
        try:
            initial = self.initial = self.document.start_params()
            if self.start is not None:
                self.document.append_iteration(self._initial_snapshot(initial))
        except GMMError as exc:
            self.controller.clear()
            self._schedule_frame()
            self.failed.emit(str(exc))
            return
        self.controller.restart(self.dataset.X, initial, self._fitter_settings())

    def _fitter_settings(self) -> dict:
        """The worker's fitter's keyword arguments: the EM settings and the locks."""
        settings = self.em_settings()
        if len(self.document.locks):
            settings["locks"] = dict(self.document.locks)
        return settings

    def start_params(self) -> GMMParams:
        return self.document.start_params()

    def _initial_snapshot(self, params: GMMParams) -> EMSnapshot:
        """Iteration 0 of explicit start parameters, so that ``snapshot`` has it at once.

        Through a fitter, whose E-step takes the fast path: 70 ms at 1M points x 16 components,
        where :func:`~gmm_desktop.core.em.log_likelihood` (direct) froze the window for 1.7 s. On
        this thread alone: the E-step's pool threads run at a background priority.
        """
        return EMFitter(self.dataset.X, params, n_threads=1, **self.em_settings()).snapshot

    # -- the history
    @property
    def at_past_iteration(self) -> bool:
        """True when the cursor is on an older state than the newest."""
        return not self.document.history.at_end

    def show_iteration(self, iteration: int) -> None:
        """Put ``iteration`` of the history under the cursor (EM pauses first); its responsibilities
        are recomputed when they are not known. IndexError if the history does not hold it."""
        index = self.document.history.index_of(iteration)
        if self.state == RUNNING:
            self.pause()  # iterations still queued are appended at the end; the cursor stays here
        self.document.move_cursor(index)
        self._ensure_responsibilities()

    def continue_from_cursor(self) -> None:
        """Drop the entries after the cursor and rebuild the fitter on the cursor's entry, so that
        the next Step or Run goes on from there. Undoable through :class:`HistoryCommand`."""
        if self.document.history.at_end:
            return
        self.document.truncate()
        self._continue_from_last()

    def capture(self):
        """The document's whole state (see :meth:`restore`)."""
        return self.document.capture()

    def restore(self, state) -> None:
        """Put back a captured state; the fitter then continues from the newest entry, paused."""
        self.document.restore(state)
        self.initial = self.document.history[0].params if len(self.document.history) else None
        if len(self.document.history) == 0:
            self.restart()
            return
        self._continue_from_last()
        self._ensure_responsibilities()

    def _continue_from_last(self) -> None:
        entry = self.document.history.last
        if entry.phase != "E":  # not made yet: the fitter's half-steps come with the teaching issue
            raise NotImplementedError("continuing from an M half-step needs the fitter's e_step()")
        # the fitter continues that fit: its iterations, convergence and max_iter count from iteration 0
        settings = {**self._fitter_settings(), "iteration": entry.iteration, "trace": self.document.history.trace()}
        self.controller.restart(self.dataset.X, entry.params, settings)

    def _ensure_responsibilities(self) -> None:
        """Recompute the responsibilities of the entry under the cursor if none are known."""
        entry, X = self.document.current, self.X
        if entry is None or X is None or any(known is entry for known, _ in self._resp):
            return
        try:
            with_resp = EMFitter(X, entry.params, n_threads=1, **self.em_settings()).snapshot_with_responsibilities()
        except GMMError as exc:
            self.failed.emit(str(exc))
            return
        self._remember(entry, dataclasses.replace(entry.snapshot, resp=with_resp.resp, labels=with_resp.labels))

    @property
    def X(self):
        return self.document.X

    def _remember(self, entry: HistoryEntry, snapshot: EMSnapshot) -> None:
        """Keep the responsibilities of at most two entries: the newest and one looked at."""
        newest = self.document.history.last
        self._resp = [(e, s) for e, s in self._resp if e is not entry and e is newest][-1:] + [(entry, snapshot)]
        self._schedule_frame()

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
        self._receive(snapshot)

    @Slot(object)
    def _on_iterated(self, snapshot: EMSnapshot) -> None:
        if self._receive(snapshot):
            self._saved = False

    def _receive(self, snapshot: EMSnapshot) -> bool:
        """Append a new state, or attach the responsibilities of the newest one (sent again with
        its colours, or iteration 0 the window computed itself). True when appended."""
        history = self.document.history
        entry = HistoryEntry.of(snapshot)
        last = history.last
        appended = last is None or entry.key > last.key
        if appended:
            self.document.append_iteration(entry)
            last = history.last
        elif entry.key != last.key:
            return False  # older than the history's newest: not this fit's
        if snapshot.resp is not None:
            self._remember(last, dataclasses.replace(last.snapshot, resp=snapshot.resp, labels=snapshot.labels))
        self._schedule_frame()
        return appended

    # -- the document's changes as signals
    def _on_document_changed(self, change) -> None:
        if change.kind == DATA:
            self.data_changed.emit(self.document.dataset)
        elif change.kind == MEANS:
            self.means_changed.emit(self.document.means)
        elif change.kind in (HISTORY, CURSOR):
            self._schedule_frame()
        elif change.kind == VIEW:
            self.view_changed.emit(self.document.view.displayed)

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


class HistoryCommand(QUndoCommand):
    """Going on from a past iteration, which drops the later ones; undo brings the dropped run back
    (and redo the run made since).

    If EM went on after the undo (from the newest iteration of the run brought back), redo would
    throw that progress away: it does nothing then, and the command leaves the stack.
    """

    def __init__(self, session: Session, text: str):
        super().__init__(text)
        self._session = session
        self._before = session.capture()
        self._after = None
        self._undone_to = ()  # the history's entries right after the undo

    def redo(self) -> None:
        if self._after is None:
            self._session.continue_from_cursor()
            return
        entries = self._session.history.entries
        if len(entries) != len(self._undone_to) or any(a is not b for a, b in zip(entries, self._undone_to)):
            self.setObsolete(True)  # EM went on since the undo: keep that, forget this redo
            return
        self._session.restore(self._after)

    def undo(self) -> None:
        self._after = self._session.capture()
        self._session.restore(self._before)
        self._undone_to = self._session.history.entries
