"""The worker thread protocol, through the controller's GUI-side relay signals."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QThread
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gmm_desktop.io import generator
from gmm_desktop.core.init import params_from_means
from gmm_desktop.gui import em_worker
from gmm_desktop.gui.em_worker import DONE, IDLE, PAUSED, RUNNING, EMController

SETTINGS = {"tol": 1e-4, "tol_mode": "total", "max_iter": 1000, "reg_covar": 1e-6}


@pytest.fixture
def controller(qapp):
    ctrl = EMController()
    received = {"iterated": [], "restarted": [], "states": [], "failed": [], "threads": set()}

    def record(kind):
        def slot(value):
            received["threads"].add(QThread.currentThread() is QApplication.instance().thread())
            received[kind].append(value)
        return slot

    for kind, signal in (("iterated", ctrl.iterated), ("restarted", ctrl.restarted),
                         ("states", ctrl.state_changed), ("failed", ctrl.failed)):
        signal.connect(record(kind))
    ctrl.received = received
    yield ctrl
    ctrl.shutdown()
    assert not ctrl.is_thread_running()


@pytest.fixture
def problem():
    data = generator.generate("small", seed=0)
    return data.X, params_from_means(data.X, [[0.0, 0.0], [4.0, 4.0], [9.0, 8.0], [9.0, 1.0]])


def restart(qtbot, controller, X, params, **settings):
    with qtbot.waitSignal(controller.restarted, timeout=3000):
        controller.restart(X, params, {**SETTINGS, **settings})


def test_each_step_is_exactly_one_iteration(qtbot, controller, problem):
    restart(qtbot, controller, *problem)
    for _ in range(5):
        controller.step()
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) == 5, timeout=3000)
    qtbot.wait(100)  # releases the GIL, unlike QTest.qWait, so the worker could run
    assert [s.iteration for s in controller.received["iterated"]] == [1, 2, 3, 4, 5]
    assert controller.state == PAUSED
    assert controller.received["threads"] == {True}  # every relay arrives on the GUI thread


def test_run_goes_to_convergence_and_reports_done(qtbot, controller, problem):
    restart(qtbot, controller, *problem)
    with qtbot.waitSignal(controller.state_changed, timeout=5000, check_params_cb=lambda s: s == DONE):
        controller.run()
    last = controller.received["iterated"][-1]
    assert last.converged and last.resp.shape == (105, 4)
    assert [s.iteration for s in controller.received["iterated"]] == list(range(1, last.iteration + 1))


def test_pause_stops_the_timer(qtbot, controller, problem):
    controller.set_delay(5)
    restart(qtbot, controller, *problem, tol=0.0)
    controller.run()
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) >= 3, timeout=3000)
    with qtbot.waitSignal(controller.state_changed, timeout=2000, check_params_cb=lambda s: s == PAUSED):
        controller.pause()
    count = len(controller.received["iterated"])
    qtbot.wait(100)  # releases the GIL, unlike QTest.qWait, so the worker could run
    assert len(controller.received["iterated"]) == count


def test_resume_then_pause_runs_no_iteration_in_between(qtbot, controller, problem):
    # Hold the worker thread until run, pause and step are all queued: they must then run in order,
    # between iterations, so the run is paused before its first iteration and step adds exactly one.
    # (Without holding it, how many iterations run before the pause is even sent depends on the GIL.)
    import threading

    from PySide6.QtCore import QTimer

    restart(qtbot, controller, *problem, tol=0.0)
    gate, holding = threading.Event(), threading.Event()

    def hold():
        holding.set()
        gate.wait(5)

    QTimer.singleShot(0, controller._worker, hold)  # runs on the worker's thread
    assert holding.wait(5)
    controller.run()
    controller.pause()
    controller.step()
    gate.set()
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) >= 1, timeout=3000)
    qtbot.wait(150)  # releases the GIL, unlike QTest.qWait, so the worker could run
    assert [s.iteration for s in controller.received["iterated"]] == [1]
    assert controller.state == PAUSED


def test_a_failed_iteration_is_reported_and_em_pauses(qtbot, controller):
    rng = np.random.default_rng(0)
    X = np.vstack([np.zeros((40, 2)), rng.normal(5.0, 1.0, size=(60, 2))])
    restart(qtbot, controller, X, params_from_means(X, [[0, 0], [5, 5]]), reg_covar=0.0)
    with qtbot.waitSignal(controller.failed, timeout=3000) as blocker:
        controller.run()
    assert "positive definite" in blocker.args[0]
    qtbot.waitUntil(lambda: controller.state == PAUSED, timeout=2000)


def test_unusable_start_is_reported(qtbot, controller, problem):
    X, params = problem
    with qtbot.waitSignal(controller.failed, timeout=3000) as blocker:
        controller.restart(X[:, :1], params, SETTINGS)
    assert "features" in blocker.args[0]
    qtbot.waitUntil(lambda: controller.state == IDLE, timeout=2000)


def test_a_restart_drops_the_old_fitters_snapshots(qtbot, controller):
    data = generator.generate("large", seed=1)
    params = params_from_means(data.X, generator.NOTEBOOK_CENTERS + 3.0)
    restart(qtbot, controller, data.X, params, tol=0.0)
    controller.run()
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) >= 2, timeout=3000)
    controller.received["iterated"].clear()
    restart(qtbot, controller, data.X, params, tol=0.0)
    controller.step()
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) >= 1, timeout=3000)
    assert controller.received["iterated"][0].iteration == 1
    assert controller.state == PAUSED


def test_shutdown_mid_run_stops_the_thread(qtbot, controller):
    data = generator.generate("large", seed=2)
    restart(qtbot, controller, data.X, params_from_means(data.X, generator.NOTEBOOK_CENTERS), tol=0.0)
    controller.run()
    assert controller.state == RUNNING
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) >= 1, timeout=3000)
    controller.shutdown()
    assert not controller.is_thread_running()
    controller.shutdown()  # twice is fine


def test_large_runs_send_responsibilities_sparingly_but_always_the_last(qtbot, controller, problem, monkeypatch):
    from gmm_desktop.gui import em_worker

    monkeypatch.setattr(em_worker, "SMALL_RESP", 0)  # treat the small problem as a large one
    monkeypatch.setattr(em_worker, "RESP_INTERVAL_S", 3600.0)
    restart(qtbot, controller, *problem, max_iter=30, tol=0.0)
    with qtbot.waitSignal(controller.state_changed, timeout=5000, check_params_cb=lambda s: s == DONE):
        controller.run()
    snaps = controller.received["iterated"]
    assert [s.iteration for s in snaps] == list(range(1, 31))
    with_resp = [s.iteration for s in snaps if s.resp is not None]
    assert with_resp[-1] == 30 and len(with_resp) <= 2  # the first of the run and the last
    assert snaps[-1].resp.shape == (problem[0].shape[0], 4)


def test_pause_resends_the_newest_iteration_with_its_responsibilities(qtbot, controller, problem, monkeypatch):
    from gmm_desktop.gui import em_worker

    monkeypatch.setattr(em_worker, "SMALL_RESP", 0)
    monkeypatch.setattr(em_worker, "RESP_INTERVAL_S", 3600.0)
    restart(qtbot, controller, *problem, max_iter=100000, tol=0.0)
    controller.set_delay(5)
    controller.run()
    qtbot.waitUntil(lambda: len(controller.received["iterated"]) >= 5, timeout=5000)
    with qtbot.waitSignal(controller.state_changed, timeout=3000, check_params_cb=lambda s: s == PAUSED):
        controller.pause()
    qtbot.wait(100)  # releases the GIL, unlike QTest.qWait, so the worker could run
    last = controller.received["iterated"][-1]
    assert last.resp is not None
    np.testing.assert_allclose(last.resp.sum(axis=1), 1.0, atol=1e-5)
    iterations = [s.iteration for s in controller.received["iterated"]]
    assert iterations == sorted(iterations) and iterations[-1] == iterations[-2]  # the re-send


def _nice_of_threads_named(name: str) -> list[int]:
    values = []
    for task in Path("/proc/self/task").iterdir():
        if (task / "comm").read_text().strip() == name:
            after_name = (task / "stat").read_text().rpartition(")")[2].split()
            values.append(int(after_name[16]))  # field 19 of proc(5), counting from 1
    return values


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_threads_yield_to_the_event_loop(qtbot, controller, problem, monkeypatch):
    from gmm_desktop.core import fast

    gui = os.getpriority(os.PRIO_PROCESS, 0)  # on Linux: the calling thread's own nice value
    expected = min(19, gui + em_worker.BACKGROUND_NICE)
    restart(qtbot, controller, *problem)  # the thread has started and run a slot
    assert set(_nice_of_threads_named("EMWorkerThread")) == {expected}
    monkeypatch.setattr(fast, "_POOL", None)  # a fresh E-step pool, as in a new app
    pool = fast._pool()
    try:
        nices = {pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() for _ in range(8)}
    finally:
        pool.shutdown()
    assert nices == {expected}  # the threads that do most of an iteration's work, too
    assert os.getpriority(os.PRIO_PROCESS, 0) == gui  # the GUI thread keeps its priority
