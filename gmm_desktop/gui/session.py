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
import math

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QUndoCommand

from gmm_desktop.core.fitter import EMFitter, EMSnapshot
from gmm_desktop.core.errors import GMMError
from gmm_desktop.core.params import GMMParams
from gmm_desktop.document import CURSOR, DATA, DEFAULT_SETTINGS, HISTORY, MEANS, VIEW, Document, HistoryEntry
from gmm_desktop.gui.commands import StateCommand
from gmm_desktop.gui.em_worker import IDLE, RUNNING, EMController

__all__ = ["DEFAULT_SETTINGS", "FRAME_MS", "FinishedFitCommand", "HistoryCommand", "MeansCommand", "Session",
           "StateCommand"]

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
        self._resp_requests: dict[int, HistoryEntry] = {}  # asked of the worker, not answered yet
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
        self.controller.responsibilities_ready.connect(self._on_responsibilities_ready)

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

    def set_finished_fit(self, params: GMMParams, trace, converged: bool, initial: GMMParams | None = None) -> bool:
        """Take over a fit made elsewhere (an opened model, a Find K candidate) as it ended.

        ``initial`` (where that fit started, when known) becomes the placed start and iteration 0;
        ``params`` is iteration ``len(trace)`` under the cursor, with ``converged`` as that fit
        reported it; ``trace`` (the log-likelihood after each of its iterations) is the history's
        recorded trace, so the plot shows it. EM continues from ``params``, paused.

        Only when ``trace`` belongs to these data: its last value must be the log-likelihood of
        ``params`` on them. Otherwise (a model fitted on other data, no trace) ``params`` become the
        start of a new fit at iteration 0, as :meth:`set_means` does. Returns True when the fit was
        taken over with its trace.
        """
        trace = [float(v) for v in trace]
        start = initial if initial is not None else params
        if self.dataset is None or not trace:
            self.set_means(params.means, params)
            return False
        try:
            final = EMFitter(self.dataset.X, params, n_threads=1, iteration=len(trace), trace=trace,
                             **self.em_settings()).snapshot
        except GMMError:
            final = None
        if final is None or not math.isclose(final.log_likelihood, trace[-1], rel_tol=1e-7, abs_tol=1e-9):
            self.set_means(params.means, params)  # not this data's trace: a start on these data
            return False
        entries = [dataclasses.replace(final, converged=bool(converged))]
        if initial is not None:
            try:
                entries.insert(0, self._initial_snapshot(initial))
            except GMMError:
                pass
            else:
                if len(trace) == 1:  # the change of iteration 1 is from iteration 0's
                    entries[1] = dataclasses.replace(entries[1], change=trace[0] - entries[0].log_likelihood)
        self._resp = []
        self.document.set_means(start.means, start if initial is not None else params)
        self.document.replace_history(entries, recorded=trace)
        self.initial = initial if len(entries) == 2 else None
        self._continue_from_last()  # the worker sends the newest entry's colours
        return True

    def restart(self) -> None:
        """Back to iteration 0 from the start parameters (Reset): the history is cleared."""
        self.initial = None
        self._resp = []
        self._resp_requests.clear()
        self.document.clear_history()
        if self.dataset is None or len(self.means) == 0 or len(self.dataset.X) < len(self.means):
            self.controller.clear()  # nothing to fit yet (no means, or a canvas still being painted)
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
        settings = {**self.em_settings(), **self.document.method_settings()}
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

    def step_back(self) -> bool:
        """The cursor one iteration back (on that iteration's last half); True if it moved."""
        entry = self.document.current
        if entry is None or entry.iteration == 0:
            return False
        return self._move_to(self.document.history.index_of(entry.iteration - 1))

    def step_forward(self) -> bool:
        """The cursor forward: to the rest of this iteration, else to the next one's last half.
        False at the newest entry (then a new iteration has to be computed)."""
        history = self.document.history
        if history.at_end:
            return False
        entry = history.current
        last_of_this = history.index_of(entry.iteration)
        if last_of_this > history.cursor:
            return self._move_to(last_of_this)
        return self._move_to(history.index_of(history[history.cursor + 1].iteration))

    def _move_to(self, index: int) -> bool:
        if self.state == RUNNING:
            self.pause()
        moved = self.document.history.cursor != index
        self.document.move_cursor(index)
        self._ensure_responsibilities()
        return moved

    @property
    def last_phase(self) -> str | None:
        """The phase of the state shown: "E" or "M" (None before a fit)."""
        entry = self.document.current
        return None if entry is None else entry.phase

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
        first = self.document.history[0] if len(self.document.history) else None
        self.initial = first.params if first is not None and first.iteration == 0 else None
        if len(self.document.history) == 0:
            self.restart()
            return
        self._continue_from_last()
        self._ensure_responsibilities()

    def _continue_from_last(self) -> None:
        self._resp_requests.clear()  # a new fitter: the old one's answers are dropped
        history = self.document.history
        entry = history.last
        settings = self._fitter_settings()
        if entry.phase == "M":
            # after an M half-step: the fitter is rebuilt on the E-step before it and redoes the
            # M-step (the same parameters), so that the next half is that M-step's E-step
            before = history[len(history) - 2] if len(history) >= 2 else None
            if before is None or before.phase != "E" or before.iteration != entry.iteration - 1:
                raise ValueError(f"the history has no E-step before the M-step of iteration {entry.iteration}")
            settings.update(iteration=before.iteration, trace=history.trace(len(history) - 2), then_m_step=True,
                            snapshot=before.snapshot)
            self.controller.restart(self.dataset.X, before.params, settings)
            return
        # the fitter continues that fit: its iterations, convergence and max_iter count from iteration 0
        settings.update(iteration=entry.iteration, trace=history.trace(), snapshot=entry.snapshot)
        self.controller.restart(self.dataset.X, entry.params, settings)

    def _colour_source(self, entry: HistoryEntry) -> HistoryEntry:
        """The entry whose responsibilities colour ``entry``: itself after an E-step; after an
        M-step the E-step before it (an M-step moves the ellipses, the colours stay)."""
        history = self.document.history
        if entry.phase == "M":
            i = next((i for i, e in enumerate(history) if e is entry), None)
            if i is not None and i > 0:
                return history[i - 1]
        return entry

    def _known(self, entry: HistoryEntry) -> EMSnapshot | None:
        return next((s for e, s in self._resp if e is entry), None)

    def _ensure_responsibilities(self) -> None:
        """Have the responsibilities of the entry under the cursor recomputed if none are known:
        one E-step, on the worker thread (the answer comes back in ``_on_responsibilities_ready``)."""
        entry, X = self.document.current, self.X
        if entry is None or X is None or self._known(entry) is not None:
            return
        source = self._colour_source(entry)
        known = self._known(source)
        if known is not None:
            self._remember(entry, dataclasses.replace(entry.snapshot, resp=known.resp, labels=known.labels))
            return
        if any(e is entry for e in self._resp_requests.values()):
            return
        request = self.controller.request_responsibilities(source.snapshot)
        self._resp_requests[request] = entry

    @Slot(int, object)
    def _on_responsibilities_ready(self, request: int, result) -> None:
        entry = self._resp_requests.pop(request, None)
        if entry is None or result is None or not any(e is entry for e in self.document.history):
            return
        resp, labels = result
        self._remember(entry, dataclasses.replace(entry.snapshot, resp=resp, labels=labels))

    @property
    def responsibilities_pending(self) -> bool:
        """True while the colours of the entry shown are being recomputed."""
        return self.document.current is not None and self._known(self.document.current) is None

    def _remember_known(self, entry: HistoryEntry) -> None:
        """An M-step's entry takes the colours of the E-step before it, if they are known."""
        source = self._colour_source(entry)
        known = self._known(source) if source is not entry else None
        if known is not None:
            self._remember(entry, dataclasses.replace(entry.snapshot, resp=known.resp, labels=known.labels))

    @property
    def X(self):
        return self.document.X

    def _remember(self, entry: HistoryEntry, snapshot: EMSnapshot) -> None:
        """Keep the responsibilities of at most three entries: the one given, the one shown (its
        colours stay when the newest's arrive later, as after a restore) and the newest two (an
        M-step's colours). They share arrays when the colours are the same."""
        history = self.document.history
        newest, shown = history.entries[-2:], self.document.current
        others = [(e, s) for e, s in self._resp if e is not entry]
        kept = [(e, s) for e, s in others if e is shown]
        kept += [(e, s) for e, s in others if e is not shown and any(e is n for n in newest)][-(2 - len(kept)):]
        self._resp = kept[:2] + [(entry, snapshot)]
        self._schedule_frame()

    # -- EM
    def run(self) -> None:
        self.controller.run()

    def pause(self) -> None:
        self.controller.pause()

    def step(self) -> None:
        if self.state != IDLE:
            self.controller.step()

    def e_step(self) -> None:
        """Half an iteration: the E-step (new colours, the same ellipses)."""
        if self.state != IDLE:
            self.controller.e_step()

    def m_step(self) -> None:
        """Half an iteration: the M-step (new ellipses, the same colours)."""
        if self.state != IDLE:
            self.controller.m_step()

    def set_lock(self, k: int, mean: bool = False, covariance: bool = False, weight: bool = False) -> None:
        """Lock parts of component ``k``; the fit goes on from its newest state with the new locks."""
        before = self.document.locks
        self.document.lock_component(k, mean=mean, covariance=covariance, weight=weight)
        if self.document.locks != before and len(self.document.history) and self.dataset is not None:
            self._continue_from_last()

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
        elif appended and last.phase == "M":
            self._remember_known(last)
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


class MeansCommand(StateCommand):
    """An undoable change of the placed means (and of explicit start parameters), which restarts
    the fit. Undo brings back the whole state before it, the EM run included (see StateCommand)."""

    def __init__(self, session: Session, means, text: str, start: GMMParams | None = None):
        means = np.array(means, dtype=float)
        super().__init__(session, text, lambda: session.set_means(means, start))


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


class FinishedFitCommand(StateCommand):
    """Taking over a fit made elsewhere (:meth:`Session.set_finished_fit`), undoable back to the
    fit that was on screen before (see StateCommand)."""

    def __init__(self, session: Session, text: str, params: GMMParams, trace, converged: bool,
                 initial: GMMParams | None = None):
        super().__init__(session, text, self._take_over)
        self._fit = (params, tuple(trace), bool(converged), initial)
        self.with_trace = False  # whether the fit came with its trace (set by the first redo)

    def _take_over(self) -> None:
        self.with_trace = self._session.set_finished_fit(*self._fit)
