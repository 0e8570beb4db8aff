"""The window's history: every iteration is kept, any can be shown, and EM can go on from it."""

import numpy as np
import pytest
from PySide6.QtGui import QAction

from gmm_desktop.core.em import EMFitter
from gmm_desktop.io.model_io import load_model

from gui_helpers import NOTEBOOK_START, place_means


def step(qtbot, window, n=1):
    for _ in range(n):
        before = window.snapshot.iteration if window.snapshot else 0
        with qtbot.waitSignal(window.session.controller.iterated, timeout=5000):
            window.findChild(QAction, "actionStep").trigger()
        assert window.snapshot.iteration == before + 1


def stepped(qtbot, window, n):
    """Step n times; returns the means and responsibilities shown after each iteration (1..n)."""
    seen = {}
    for _ in range(n):
        step(qtbot, window)
        snap = window.snapshot
        seen[snap.iteration] = (snap.means.copy(), None if snap.resp is None else snap.resp.copy())
    return seen


def test_step_six_back_to_three_shows_iteration_three_exactly(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    assert window.history_length == 1  # iteration 0 counts
    seen = stepped(qtbot, window, 6)
    assert window.history_length == 7
    # its responsibilities were not kept: one E-step recomputes them on the worker thread
    with qtbot.waitSignal(window.session.controller.responsibilities_ready, timeout=5000):
        window.show_iteration(3)
    snap = window.snapshot
    assert snap.iteration == 3
    np.testing.assert_array_equal(snap.means, seen[3][0])
    assert snap.log_likelihood == window.session.trace[2]
    # the same colours as when it was new
    assert snap.resp is not None and snap.resp.shape == (105, 4)
    np.testing.assert_allclose(snap.resp, seen[3][1], atol=1e-6)
    assert window.history_length == 7  # looking back drops nothing
    # the canvas draws it (at the next frame)
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None and window.canvas._snapshot.iteration == 3,
                    timeout=2000)
    window.show_iteration(0)
    np.testing.assert_allclose(window.snapshot.means, NOTEBOOK_START, atol=0.5)
    assert window.snapshot.iteration == 0
    with pytest.raises(IndexError, match="no iteration 7"):
        window.show_iteration(7)


def test_stepping_from_a_past_iteration_drops_the_later_ones_and_undo_brings_them_back(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    seen = stepped(qtbot, window, 6)
    trace = list(window.session.trace)
    window.show_iteration(3)
    step(qtbot, window)  # from iteration 3: iterations 4..6 go, a new iteration 4 comes
    assert window.snapshot.iteration == 4 and window.history_length == 5
    # EM from iteration 3 is the same EM: the new iteration 4 is the old one
    np.testing.assert_allclose(window.snapshot.means, seen[4][0], rtol=1e-10, atol=1e-10)
    assert window.session.trace[:3] == trace[:3]
    assert window.actionUndo.text() == "&Undo go on from iteration 3"
    window.actionUndo.trigger()
    assert window.history_length == 7 and window.snapshot.iteration == 3
    assert window.session.trace == trace
    window.actionRedo.trigger()  # the run made from iteration 3 comes back too
    assert window.history_length == 5 and window.snapshot.iteration == 4


def test_after_undo_em_goes_on_from_the_newest_iteration(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    stepped(qtbot, window, 5)
    window.show_iteration(2)
    step(qtbot, window)
    window.actionUndo.trigger()
    window.show_iteration(5)
    step(qtbot, window)  # from the newest: nothing is dropped
    assert window.snapshot.iteration == 6 and window.history_length == 7
    assert window.actionRedo.text() == "Re&do go on from iteration 2"  # no new undoable edit
    reference = EMFitter(window.session.dataset.X, window.session.initial, tol=0)
    for _ in range(6):
        reference.step()
    np.testing.assert_allclose(window.snapshot.means, reference.params.means, rtol=1e-10, atol=1e-10)
    assert window.session.trace == pytest.approx(reference.trace, rel=1e-12)
    # redoing the run from iteration 2 now would throw iteration 6 away: it does nothing
    window.actionRedo.trigger()
    assert window.snapshot.iteration == 6 and window.history_length == 7
    assert not window.actionRedo.isEnabled()


def test_saving_a_past_iteration_saves_its_parameters_and_its_trace(qtbot, window, tmp_path):
    place_means(qtbot, window, NOTEBOOK_START)
    seen = stepped(qtbot, window, 5)
    window.show_iteration(2)
    path = tmp_path / "two.json"
    assert window.save_model(path)
    model = load_model(path)
    assert model.n_iter == 2 and len(model.trace) == 2
    np.testing.assert_allclose(model.params.means, seen[2][0])
