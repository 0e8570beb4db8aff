"""Teaching controls: stepping back, the E and M half-steps, locks, and undo that keeps EM's work."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest

from gmm_desktop.core.errors import ParamsError
from gmm_desktop.gui.em_worker import DONE

from gui_helpers import NOTEBOOK_START, click_canvas, place_means, shown_resp, step, trigger


def test_step_six_then_back_three_with_the_action_shows_iteration_three(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    seen = step(qtbot, window, 6)
    back = window.findChild(QAction, "actionStepBack")
    assert back.shortcuts()[0].toString() == "Left" and "Shift+N" in [s.toString() for s in back.shortcuts()]
    for _ in range(3):
        back.trigger()
    assert window.snapshot.iteration == 3
    np.testing.assert_array_equal(window.snapshot.means, seen[3])
    assert window.history_length == 7
    QTest.keyClick(window, Qt.Key.Key_Right)  # forward through the history first
    assert window.snapshot.iteration == 4 and window.history_length == 7
    np.testing.assert_array_equal(window.snapshot.means, seen[4])
    QTest.keyClick(window, Qt.Key.Key_Left)
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert window.snapshot.iteration == 2


def test_m_then_e_moves_the_ellipses_then_the_colours(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 1)
    resp0, means0 = shown_resp(qtbot, window).copy(), window.snapshot.means.copy()
    trigger(qtbot, window, "actionMStep")
    snap = window.snapshot
    assert snap.phase == "M" and snap.iteration == 2
    assert np.abs(snap.means - means0).max() > 1e-3  # the means moved
    np.testing.assert_array_equal(snap.resp, resp0)  # the colours stayed
    assert "M-step" in window.findChild(QObjectLabel, "status_half").text()
    assert window.history_length == 3  # a half-step starts iteration 2
    trigger(qtbot, window, "actionEStep")
    snap = window.snapshot
    assert snap.phase == "E" and snap.iteration == 2
    np.testing.assert_array_equal(snap.means, window.session.history[-2].params.means)  # ellipses stayed
    assert np.abs(snap.resp - resp0).max() > 1e-3  # the colours changed
    assert "E-step" in window.findChild(QObjectLabel, "status_half").text()
    # the same as one full iteration
    ref = window.session.history[-1].log_likelihood
    window.show_iteration(1)
    trigger(qtbot, window, "actionStep")
    assert window.snapshot.log_likelihood == pytest.approx(ref, rel=1e-12)


def test_going_on_from_an_m_half_step(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    trigger(qtbot, window, "actionMStep")
    trigger(qtbot, window, "actionEStep")
    e_ll = window.snapshot.log_likelihood
    window.session.document.show_iteration(3, "M")
    assert window.snapshot.phase == "M"
    trigger(qtbot, window, "actionEStep")  # drops the E-step after it (undoable), computes it again
    assert window.snapshot.phase == "E" and window.snapshot.log_likelihood == pytest.approx(e_ll, rel=1e-12)
    trigger(qtbot, window, "actionStep")
    assert window.snapshot.iteration == 4


def test_a_locked_mean_stays_and_the_log_likelihood_never_decreases(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    held = window.snapshot.means[1].copy()
    window.lock_component(1, mean=True)
    assert window.actionUndo.text() == "&Undo lock component 2: mean"
    window.findChild(QAction, "actionRun").trigger()
    qtbot.waitUntil(lambda: window.session.state == DONE, timeout=10000)
    snap = window.snapshot
    np.testing.assert_array_equal(snap.means[1], held)
    assert np.abs(snap.means[0] - held).max() > 0.1
    trace = np.array(window.session.trace)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    assert np.isclose(snap.weights.sum(), 1.0)


def test_undo_of_a_means_edit_or_a_reset_brings_the_em_run_back(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    seen = step(qtbot, window, 4)
    window.actionReset.trigger()
    assert window.snapshot is None
    window.actionUndo.trigger()
    assert window.history_length == 5 and window.snapshot.iteration == 4
    np.testing.assert_array_equal(window.snapshot.means, seen[4])
    step(qtbot, window, 1)  # EM goes on from there
    click_canvas(qtbot, window, 3.0, 2.0)  # a new mean restarts the fit
    qtbot.waitUntil(lambda: len(window.means) == 5, timeout=2000)
    assert window.snapshot is None
    window.actionUndo.trigger()
    assert window.snapshot.iteration == 5 and window.history_length == 6
    window.actionRedo.trigger()  # the edit again; the run from iteration 5 stays in the stack
    assert len(window.means) == 5
    window.actionUndo.trigger()
    assert window.snapshot.iteration == 5


def test_set_component_edits_start_values_undoably(qtbot, window, errors):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 1)
    placed = window.means
    window.set_component(0, weight=0.4, mean=[1.0, -1.0], covariance=[[0.5, 0.1], [0.1, 0.3]])
    qtbot.waitUntil(lambda: window.session.shown is not None and window.session.shown.iteration == 0, timeout=5000)
    start = window.session.start
    assert start.weights[0] == pytest.approx(0.4) and start.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(start.means[0], [1.0, -1.0])
    np.testing.assert_allclose(start.covariances[0], [[0.5, 0.1], [0.1, 0.3]])
    np.testing.assert_allclose(window.means[0], [1.0, -1.0])
    with pytest.raises(ParamsError, match="positive definite"):
        window.set_component(0, covariance=[[1.0, 2.0], [2.0, 1.0]])
    window.actionUndo.trigger()
    assert window.snapshot.iteration == 1
    np.testing.assert_array_equal(window.means, placed)


from PySide6.QtWidgets import QLabel as QObjectLabel  # noqa: E402
