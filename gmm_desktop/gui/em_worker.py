"""EM on a worker thread: the worker owns the fitter; the controller talks to it with queued signals.

The worker lives on its own ``QThread`` with a ``QTimer`` (its child, made on the GUI thread and
moved along with it) whose every timeout runs exactly one EM iteration. The controller, on the GUI
thread, turns run / pause / step / restart into signals connected to the worker's slots; Qt queues
them, so they run in order between iterations and no flag or mutex is shared. The worker's results
come back as queued signals to the controller, which re-emits them on the GUI thread, dropping
those of a fitter it has since replaced.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from gmm_desktop.core import fast as _fast
from gmm_desktop.core.em import EMFitter
from gmm_desktop.core.errors import GMMError
from gmm_desktop.core.vb import VBFitter

IDLE, PAUSED, RUNNING, DONE = "idle", "paused", "running", "done"

#: Below this many responsibilities (points x components) every snapshot carries them; above it,
#: while running, at most one every RESP_INTERVAL_S seconds does (and always the last one), so a
#: fast EM on a million points neither floods the event queue with 64 MB arrays nor pays for them.
SMALL_RESP = 2_000_000
RESP_INTERVAL_S = 1.0 / 15.0
#: EM on large data uses every core but one: the event loop keeps a core to itself.
EM_THREADS = max(1, (os.cpu_count() or 1) - 1)
#: How much nicer than the GUI thread the background EM threads are on Linux (nice 0 normal, 19 lowest).
#: Small on purpose: a nice value competes with every process on the machine, not just with our
#: GUI thread. At +10 (CFS weight 110 against 1,024) a busy machine starved the Find K sweep: 60
#: fits took minutes in the window against seconds headless (docs/performance.md, "Find K under
#: load"). At +2 (weight 655) the GUI thread still wins a shared core, and the sweep keeps at least
#: about two thirds of the headless pace whatever else runs.
BACKGROUND_NICE = 2

_controllers: set["EMController"] = set()


def live_controllers() -> list["EMController"]:
    """Controllers whose thread has not been shut down (tests check that none is left running)."""
    return list(_controllers)


def shutdown_all() -> None:
    """Shut down every controller's thread (connected to ``QApplication.aboutToQuit``)."""
    for controller in live_controllers():
        controller.shutdown()


atexit.register(shutdown_all)  # a thread still running at exit would abort the interpreter


def lower_thread_priority() -> None:
    """Make the calling thread yield to the GUI thread when they compete for a core.

    Background EM is the work that can wait. On Linux a thread's nice value is its own: this sets
    the calling thread's to :data:`BACKGROUND_NICE` more than the process's main (GUI) thread's,
    at most 19, and never lowers it. Elsewhere Qt's thread priority does the same job. Used by the
    EM worker thread, the Find K thread and every thread of the E-step's pool. Measured on two busy
    cores with a million points: the longest event-loop stall fell from 68-102 ms to 57-77 ms, with
    no fewer EM iterations.
    """
    if sys.platform.startswith("linux"):  # where Qt's thread priorities have no effect
        try:
            tid = threading.get_native_id()
            target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICE)
            if os.getpriority(os.PRIO_PROCESS, tid) < target:
                os.setpriority(os.PRIO_PROCESS, tid, target)
        except OSError:  # not permitted here: run at the priority inherited
            pass
    elif QThread.currentThread() is not None:
        QThread.currentThread().setPriority(QThread.Priority.LowPriority)


_fast.set_thread_setup(lower_thread_priority)  # the E-step's pool threads too, from the first fit


def _error_text(exc: Exception) -> str:
    if isinstance(exc, GMMError):
        return str(exc)
    return f"EM stopped because of an unexpected error ({type(exc).__name__}: {exc}). Reset and try again."


def _build_fitter(X, initial, settings: dict):
    """An EMFitter, or with ``method`` "vb" a VBFitter (K an upper bound; locks do not apply).

    ``snapshot`` (the history's entry the fit continues from, with ``iteration`` and ``trace``) is
    what a VBFitter continues from: its posterior is more than the parameters ``initial``.
    """
    method = settings.pop("method", "em")
    weight_prior = settings.pop("weight_prior", "dirichlet_process")
    concentration = settings.pop("weight_concentration", None)
    snapshot = settings.pop("snapshot", None)
    if method != "vb":
        return EMFitter(X, initial, n_threads=EM_THREADS, **settings)
    settings.pop("locks", None)
    iteration, trace = settings.pop("iteration", 0), settings.pop("trace", None)
    vb = dict(settings, n_threads=EM_THREADS, weight_prior=weight_prior, weight_concentration=concentration)
    if iteration and getattr(snapshot, "posterior", None) is not None:
        return VBFitter.from_snapshot(X, snapshot, trace=trace, **vb)
    return VBFitter(X, initial, **vb)


class EMWorker(QObject):
    """Owns an :class:`~gmm_desktop.core.em.EMFitter`; runs on the controller's thread.

    Every signal carries the generation of the fitter it comes from (bumped by each restart).
    """

    restarted = Signal(int, object)  # generation, EMSnapshot at iteration 0 (with resp)
    iterated = Signal(int, object)  # generation, EMSnapshot (with resp)
    state_changed = Signal(int, str)  # generation, IDLE | PAUSED | RUNNING | DONE
    failed = Signal(int, str)  # generation, user-ready message
    responsibilities_ready = Signal(int, int, object)  # generation, request, (resp, labels) or None

    def __init__(self):
        super().__init__()
        self._fitter: EMFitter | None = None
        self._generation = 0
        self._delay_ms = 0
        # Made and connected here, on the GUI thread: moveToThread takes it along. Connecting on the
        # new thread while the GUI thread builds the window deadlocked now and then: Qt held a
        # (shared) signal-slot mutex there while PySide waited for the GIL, which the GUI thread
        # held while waiting for that mutex in a disconnect.
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timeout)
        self._resp_time = -math.inf  # when responsibilities were last sent
        self._resp_pending = False  # the newest snapshot sent had none

    @Slot()
    def on_thread_started(self) -> None:
        lower_thread_priority()

    @Slot(int, object, object, object)
    def restart(self, generation: int, X, initial, settings: dict) -> None:
        """Build a new fitter from ``initial`` (GMMParams) and EM ``settings``, paused at iteration 0."""
        self._timer.stop()
        self._generation = generation
        settings = dict(settings)
        then_m_step = settings.pop("then_m_step", False)
        try:
            self._fitter = _build_fitter(X, initial, settings)
            if then_m_step:  # continue from an M half-step: redo it (the same parameters), silently
                self._fitter.m_step()
                snapshot = self._fitter.snapshot
            else:
                snapshot = self._fitter.snapshot_with_responsibilities()
        except Exception as exc:  # noqa: BLE001 - every error must reach the window
            self._fitter = None
            self.failed.emit(generation, _error_text(exc))
            self.state_changed.emit(generation, IDLE)
            return
        self.restarted.emit(generation, snapshot)
        self.state_changed.emit(generation, PAUSED)

    @Slot(int)
    def clear(self, generation: int) -> None:
        self._timer.stop()
        self._generation = generation
        self._fitter = None
        self.state_changed.emit(generation, IDLE)

    @Slot()
    def run(self) -> None:
        if self._fitter is None or self._fitter.done:
            self._emit_state()
            return
        self._timer.start()
        self.state_changed.emit(self._generation, RUNNING)

    @Slot()
    def pause(self) -> None:
        self._timer.stop()
        self._send_pending_resp()
        self._emit_state()

    @Slot()
    def step(self) -> None:
        self._timer.stop()
        if self._fitter is not None:
            self._iterate()
        self._emit_state()

    @Slot()
    def e_step(self) -> None:
        """Half an iteration: the E-step of the current parameters (nothing in phase "E")."""
        self._timer.stop()
        if self._fitter is not None and self._fitter.phase == "M":
            self._half(lambda f: f.e_step(return_resp=True))
        self._emit_state()

    @Slot()
    def m_step(self) -> None:
        """Half an iteration: the M-step (in phase "M", the E-step comes first, as a half of its own)."""
        self._timer.stop()
        if self._fitter is not None and not self._fitter.done:
            if self._fitter.phase == "M" and not self._half(lambda f: f.e_step(return_resp=True)):
                self._emit_state()
                return
            self._half(lambda f: f.m_step())
        self._emit_state()

    def _half(self, do) -> bool:
        try:
            snapshot = do(self._fitter)
        except Exception as exc:  # noqa: BLE001 - reported like a failed iteration
            self.failed.emit(self._generation, _error_text(exc))
            return False
        self._resp_pending = False
        self.iterated.emit(self._generation, snapshot)
        return True

    @Slot(int, object)
    def responsibilities(self, request: int, params) -> None:
        """The responsibilities of ``params`` (an old iteration's): one E-step on the fitter's engine."""
        result = None
        if self._fitter is not None:
            try:
                if isinstance(self._fitter, VBFitter):  # a VB state's colours are those of its posterior
                    result = self._fitter.responsibilities_of(params)
                else:
                    result = self._fitter.engine.responsibilities(getattr(params, "params", params))
            except Exception as exc:  # noqa: BLE001 - reported; the canvas keeps its colours
                self.failed.emit(self._generation, _error_text(exc))
        self.responsibilities_ready.emit(self._generation, request, result)

    @Slot(int)
    def set_delay(self, delay_ms: int) -> None:
        self._delay_ms = delay_ms
        self._timer.setInterval(delay_ms)

    @Slot()
    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def _on_timeout(self) -> None:
        if not self._iterate() or self._fitter.done:
            self._timer.stop()
            self._emit_state()

    def _iterate(self) -> bool:
        fitter = self._fitter
        try:
            want_resp = (not self._timer.isActive()
                         or fitter.X.shape[0] * fitter.params.n_components <= SMALL_RESP
                         or time.monotonic() - self._resp_time >= RESP_INTERVAL_S)
            snapshot = fitter.step(return_resp=want_resp)
            if snapshot.resp is None and fitter.done:
                snapshot = fitter.snapshot_with_responsibilities()
        except Exception as exc:  # noqa: BLE001 - caught per iteration, reported, EM pauses
            self._timer.stop()
            self.failed.emit(self._generation, _error_text(exc))
            return False
        self._resp_pending = snapshot.resp is None
        if not self._resp_pending:
            self._resp_time = time.monotonic()
        self.iterated.emit(self._generation, snapshot)
        return True

    def _send_pending_resp(self) -> None:
        """After a pause, the newest snapshot again, with the responsibilities it went without."""
        if self._fitter is None or not self._resp_pending:
            return
        try:
            snapshot = self._fitter.snapshot_with_responsibilities()
        except Exception as exc:  # noqa: BLE001 - reported like a failed iteration
            self.failed.emit(self._generation, _error_text(exc))
            return
        self._resp_pending = False
        self._resp_time = time.monotonic()
        self.iterated.emit(self._generation, snapshot)

    def _emit_state(self) -> None:
        if self._fitter is None:
            state = IDLE
        elif self._timer.isActive():
            state = RUNNING
        else:
            state = DONE if self._fitter.done else PAUSED
        self.state_changed.emit(self._generation, state)


class EMController(QObject):
    """The GUI-thread face of the worker: requests go out as queued signals, results come back as
    the relay signals below (always emitted on the GUI thread: wait on these in tests)."""

    restarted = Signal(object)  # EMSnapshot at iteration 0 of a new fitter
    iterated = Signal(object)  # EMSnapshot
    state_changed = Signal(str)  # IDLE | PAUSED | RUNNING | DONE
    failed = Signal(str)  # user-ready message; EM is paused
    responsibilities_ready = Signal(int, object)  # request, (resp, labels) or None

    _restart_requested = Signal(int, object, object, object)
    _clear_requested = Signal(int)
    _run_requested = Signal()
    _pause_requested = Signal()
    _step_requested = Signal()
    _e_step_requested = Signal()
    _m_step_requested = Signal()
    _resp_requested = Signal(int, object)
    _delay_requested = Signal(int)
    _stop_requested = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._generation = 0
        self._state = IDLE
        self._thread = QThread()
        self._thread.setObjectName("EMWorkerThread")
        self._worker = EMWorker()
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.on_thread_started)
        self._thread.finished.connect(self._worker.deleteLater)
        for request, slot in (
            (self._restart_requested, self._worker.restart),
            (self._clear_requested, self._worker.clear),
            (self._run_requested, self._worker.run),
            (self._pause_requested, self._worker.pause),
            (self._step_requested, self._worker.step),
            (self._e_step_requested, self._worker.e_step),
            (self._m_step_requested, self._worker.m_step),
            (self._resp_requested, self._worker.responsibilities),
            (self._delay_requested, self._worker.set_delay),
            (self._stop_requested, self._worker.stop),
        ):
            request.connect(slot)
        self._worker.restarted.connect(self._on_worker_restarted)
        self._worker.iterated.connect(self._on_worker_iterated)
        self._worker.state_changed.connect(self._on_worker_state_changed)
        self._worker.failed.connect(self._on_worker_failed)
        self._worker.responsibilities_ready.connect(self._on_worker_responsibilities)
        self._requests = 0
        _controllers.add(self)
        # Started from the event loop, not here: this runs while the window is being built, and the
        # new thread's first Python code (its started slot, a first restart) then overlapped the GUI
        # thread's connects and disconnects. A CI run hung so, the GUI thread inside pyqtgraph's
        # disconnect (Qt's shared signal-slot mutex against PySide's GIL). Requests made before the
        # start wait in the thread's queue and run in order once it starts.
        QTimer.singleShot(0, self, self._start_thread)

    def _start_thread(self) -> None:
        if self._thread is not None and not self._thread.isRunning():
            self._thread.start()

    @property
    def state(self) -> str:
        return self._state

    def is_thread_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    # -- requests (GUI thread)
    def restart(self, X, initial, settings: dict) -> None:
        """Replace the fitter: EM restarts, paused, from ``initial`` (GMMParams)."""
        self._generation += 1
        self._set_state(PAUSED)
        self._restart_requested.emit(self._generation, X, initial, dict(settings))

    def clear(self) -> None:
        """Drop the fitter (no means placed)."""
        self._generation += 1
        self._set_state(IDLE)
        self._clear_requested.emit(self._generation)

    def run(self) -> None:
        if self._state == PAUSED:
            self._set_state(RUNNING)
        self._run_requested.emit()

    def pause(self) -> None:
        self._pause_requested.emit()

    def step(self) -> None:
        self._step_requested.emit()

    def e_step(self) -> None:
        self._e_step_requested.emit()

    def m_step(self) -> None:
        self._m_step_requested.emit()

    def request_responsibilities(self, params) -> int:
        """Ask the worker for the responsibilities of ``params`` (GMMParams or a snapshot) (one E-step, off the GUI thread);
        ``responsibilities_ready(request, result)`` answers with the number returned here."""
        self._requests += 1
        self._resp_requested.emit(self._requests, params)
        return self._requests

    def set_delay(self, delay_ms: int) -> None:
        self._delay_requested.emit(int(delay_ms))

    def shutdown(self) -> None:
        """Stop EM and the thread, and wait for it; safe to call twice."""
        if self._thread is None:
            return
        self._generation += 1  # anything still queued for us is dropped
        self._stop_requested.emit()
        self._thread.quit()
        self._thread.wait()
        self._thread = None
        self._worker = None
        _controllers.discard(self)

    # -- relays (GUI thread)
    @Slot(int, object)
    def _on_worker_restarted(self, generation: int, snapshot) -> None:
        if generation == self._generation:
            self.restarted.emit(snapshot)

    @Slot(int, object)
    def _on_worker_iterated(self, generation: int, snapshot) -> None:
        if generation == self._generation:
            self.iterated.emit(snapshot)

    @Slot(int, str)
    def _on_worker_state_changed(self, generation: int, state: str) -> None:
        if generation == self._generation:
            self._set_state(state)

    @Slot(int, str)
    def _on_worker_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.failed.emit(message)

    @Slot(int, int, object)
    def _on_worker_responsibilities(self, generation: int, request: int, result) -> None:
        if generation == self._generation:
            self.responsibilities_ready.emit(request, result)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
