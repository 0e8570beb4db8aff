"""Find K: the sweep on its worker thread, the live BIC/AIC plot, Cancel, adopting a candidate, shutdown.

A cancelled sweep *keeps* the candidates finished before the cancel (on the plot, in the table,
adoptable); only the one being fitted is dropped. The tests wait on GUI-side signals only: the
dialog's ``sweep_finished`` / ``sweep_failed`` / ``candidate_adopted`` and the controller's relays.
"""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolBar

from gmm_desktop.io import datasets, generator
from gmm_desktop.gui import em_worker
from gmm_desktop.gui.find_k import FindKDialog

THREE_CENTERS = [(0.0, 0.0), (8.0, 0.0), (4.0, 7.0)]


@pytest.fixture
def three_window(make_window, tmp_path):
    """A window on 105 points in three well-separated clusters."""
    path = tmp_path / "three.csv"
    datasets.write_csv(generator.generate("small", centers=THREE_CENTERS, seed=1), path)
    return make_window(path)


@pytest.fixture
def big_window(make_window, tmp_path):
    """A window on 1,050 points: a sweep of K 1..10 x four types x 3 restarts takes seconds."""
    path = tmp_path / "three-medium.csv"
    datasets.write_csv(generator.generate("medium", centers=THREE_CENTERS, seed=2), path)
    return make_window(path)


def open_dialog(qtbot, window) -> FindKDialog:
    window.findChild(QAction, "actionFindK").trigger()
    dialog = window.findChild(FindKDialog, "findKDialog")
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def configure(dialog, k_min=1, k_max=4, types=("full",), n_init=1, seed=0):
    dialog.k_min_spin.setValue(k_min)
    dialog.k_max_spin.setValue(k_max)
    for name, check in dialog.type_checks.items():
        check.setChecked(name in types)
    dialog.n_init_spin.setValue(n_init)
    dialog.seed_spin.setValue(seed)


def run_sweep(qtbot, dialog, timeout=10000):
    with qtbot.waitSignal(dialog.sweep_finished, timeout=timeout) as blocker:
        QTest.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def start_big_sweep(qtbot, dialog):
    """Start K 1..10 x every type x 3 restarts and wait until its first candidate is on the plot."""
    configure(dialog, 1, 10, ("full", "diag", "spherical", "tied"), n_init=3)
    with qtbot.waitSignal(dialog.sweep.candidate_finished, timeout=10000):
        QTest.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    assert dialog.sweep.is_thread_running()


def n_points(curve) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def no_thread_left(dialog) -> bool:
    return not dialog.sweep.is_thread_running() and dialog.sweep not in em_worker.live_controllers()


def test_find_k_action_is_in_the_em_menu_and_toolbar(qtbot, three_window):
    action = three_window.findChild(QAction, "actionFindK")
    assert action.text() == "Find &K…"
    assert action.shortcut() == QKeySequence("Ctrl+K")
    em_menu = next(a.menu() for a in three_window.menuBar().actions() if a.text() == "E&M")
    assert action in em_menu.actions()
    assert action in three_window.findChild(QToolBar, "mainToolBar").actions()
    QTest.keyClick(three_window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    dialog = three_window.findChild(FindKDialog, "findKDialog")
    assert dialog is not None and dialog.isVisible()
    assert dialog.k_min_spin.value() == 1 and dialog.k_max_spin.value() == 10  # min(10, n)
    assert [n for n, c in dialog.type_checks.items() if c.isChecked()] == ["full"]
    assert (dialog.n_init_spin.value(), dialog.seed_spin.value(), dialog.criterion()) == (3, 0, "bic")
    assert open_dialog(qtbot, three_window) is dialog  # one dialog per window


def test_small_sweep_plots_live_marks_the_best_and_toggles_criterion(qtbot, three_window):
    dialog = open_dialog(qtbot, three_window)
    assert not dialog.progress_bar.isTextVisible()  # no "0 / 100 fits" before any sweep
    configure(dialog, 1, 4, ("full",), n_init=1)
    shown_while_running = []  # points on the plot each time a candidate arrives
    dialog.sweep.candidate_finished.connect(
        lambda _c: shown_while_running.append(n_points(dialog.plot.curves["full"])))
    result = run_sweep(qtbot, dialog)

    assert shown_while_running == [1, 2, 3, 4]  # live, not only at the end
    assert result.complete and [c.k for c in result.candidates] == [1, 2, 3, 4]
    assert result.best.k == 3 and dialog.best() is result.best
    x, y = dialog.plot.best_ring.getData()
    assert list(x) == [3] and y[0] == pytest.approx(result.best.bic)
    assert "K = 3" in dialog.plot.best_label.toPlainText()
    assert dialog.table.rowCount() == 4 and dialog.table.item(2, 5).text() == "★ best"
    assert dialog.table.item(2, 0).font().bold() and not dialog.table.item(0, 0).font().bold()
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum() == 4
    assert dialog.progress_bar.isTextVisible() and dialog.progress_bar.text().startswith("4 / 4 fits · ")
    assert "elapsed" in dialog.progress_bar.text()
    assert no_thread_left(dialog)
    np.testing.assert_allclose(dialog.plot.curves["full"].getData()[1], [c.bic for c in result.candidates])

    # AIC re-plots from the same candidates (no new sweep) with best_by("aic")
    dialog.criterion_buttons["aic"].click()
    assert not dialog.sweep.is_running() and dialog.result is result
    np.testing.assert_allclose(dialog.plot.curves["full"].getData()[1], [c.aic for c in result.candidates])
    best_aic = result.best_by("aic")
    assert dialog.best() is best_aic
    assert list(dialog.plot.best_ring.getData()[0]) == [best_aic.k]
    assert "AIC" in dialog.plot.getPlotItem().getAxis("left").labelText


def test_adopting_a_candidate_restarts_em_from_it(qtbot, three_window):
    dialog = open_dialog(qtbot, three_window)
    configure(dialog, 1, 4, ("full",), n_init=1)
    result = run_sweep(qtbot, dialog)
    three = next(c for c in result.candidates if c.k == 3)

    # click its point on the plot
    qtbot.wait(20)  # let the plot lay out its new range
    pos = dialog.plot.mapFromScene(dialog.plot.point_position(three))
    with qtbot.waitSignal(dialog.candidate_adopted, timeout=2000) as blocker:
        QTest.mouseClick(dialog.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert blocker.args[0] is three
    assert three_window.means.shape == (3, 2)
    snap = three_window.snapshot
    # the candidate as it ended: its iterations, converged (issue 11.4: it showed iteration 0)
    assert snap.iteration == three.n_iter and snap.converged == three.converged and snap.params.n_components == 3
    np.testing.assert_allclose(snap.means, three.params.means)
    assert three_window.panel.em_settings()["covariance_type"] == "full"
    assert list(dialog.plot.adopted_halo.getData()[0]) == [3]
    assert three_window.findChild(QAction, "actionUndo").isEnabled()  # adopting is an undoable edit

    # Step continues EM from the candidate (converged already: the log-likelihood does not drop)
    with qtbot.waitSignal(three_window.session.controller.iterated, timeout=5000):
        three_window.findChild(QAction, "actionStep").trigger()
    snap = three_window.snapshot
    assert snap.iteration == three.n_iter + 1 and snap.params.n_components == 3
    assert snap.log_likelihood >= three.log_likelihood - 1e-6 * abs(three.log_likelihood)

    # a row of the table adopts too, here K = 2
    rect = dialog.table.visualItemRect(dialog.table.item(1, 0))
    with qtbot.waitSignal(dialog.candidate_adopted, timeout=2000):
        QTest.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         rect.center())
    assert three_window.means.shape == (2, 2) and three_window.snapshot.params.n_components == 2
    two = next(c for c in result.candidates if c.k == 2)
    with qtbot.waitSignal(three_window.session.controller.iterated, timeout=5000):
        three_window.findChild(QAction, "actionStep").trigger()
    assert three_window.snapshot.iteration == two.n_iter + 1


def test_cancel_midway_keeps_the_finished_candidates(qtbot, big_window):
    dialog = open_dialog(qtbot, big_window)
    start_big_sweep(qtbot, dialog)
    assert not dialog.find_button.isEnabled() and dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.sweep_finished, timeout=5000) as blocker:
        QTest.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    partial = blocker.args[0]

    assert no_thread_left(dialog)
    assert not partial.complete and 1 <= len(partial.candidates) < 40
    assert [id(c) for c in dialog.candidates] == [id(c) for c in partial.candidates]  # kept, in order
    assert dialog.table.rowCount() == len(partial.candidates)
    assert sum(n_points(curve) for curve in dialog.plot.curves.values()) == len(partial.candidates)
    assert dialog.status_label.text().startswith("Cancelled")
    assert "best of finished" in dialog.plot.best_label.toPlainText()
    assert dialog.find_button.isEnabled() and not dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.candidate_adopted, timeout=2000):
        QTest.mouseClick(dialog.best_button, Qt.MouseButton.LeftButton)
    assert len(big_window.means) == dialog.best().k


def test_closing_the_window_mid_sweep_leaves_no_thread(qtbot, big_window):
    dialog = open_dialog(qtbot, big_window)
    start_big_sweep(qtbot, dialog)
    big_window.close()
    assert no_thread_left(dialog)
    assert not big_window.session.controller.is_thread_running()


def test_closing_the_dialog_mid_sweep_stops_it(qtbot, big_window):
    dialog = open_dialog(qtbot, big_window)
    start_big_sweep(qtbot, dialog)
    dialog.close()
    assert no_thread_left(dialog)
    assert dialog.candidates and "Stopped" in dialog.status_label.text()
    assert open_dialog(qtbot, big_window) is dialog and dialog.find_button.isEnabled()


def test_errors_are_shown_in_the_dialog(qtbot, three_window):
    dialog = open_dialog(qtbot, three_window)
    configure(dialog, 1, 3, types=())
    with qtbot.waitSignal(dialog.sweep_failed, timeout=5000) as blocker:
        QTest.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    assert "covariance type" in blocker.args[0]
    assert "covariance type" in dialog.status_label.text() and "Traceback" not in dialog.status_label.text()
    assert "#C62828" in dialog.status_label.styleSheet()
    assert no_thread_left(dialog) and dialog.find_button.isEnabled()
    assert three_window.last_error == ""  # shown in the dialog, not as a window error


def test_new_data_clears_the_results(qtbot, three_window):
    dialog = open_dialog(qtbot, three_window)
    configure(dialog, 1, 2, ("full",), n_init=1)
    run_sweep(qtbot, dialog)
    assert dialog.table.rowCount() == 2
    three_window._load_array(np.random.default_rng(0).normal(size=(6, 2)))
    assert dialog.candidates == [] and dialog.table.rowCount() == 0 and dialog.result is None
    assert dialog.k_max_spin.value() == 6  # min(10, n)


def test_criterion_axis_labels_large_values_and_the_empty_plot_has_no_legend_box(qtbot):
    """With a million points BIC is in the tens of millions: the labels must still be written."""
    from PySide6.QtGui import QImage, QPainter

    from gmm_desktop.gui.find_k import CriterionPlot

    plot = CriterionPlot()
    qtbot.addWidget(plot)
    plot.resize(680, 390)
    plot.show()
    qtbot.waitExposed(plot)
    assert not plot.legend.isVisible()
    plot.set_types(["full"])
    assert plot.legend.isVisible()
    plot.getPlotItem().plot([1, 2, 3], [13_500_000.5, 12_984_034.4, 12_990_000.0])
    qtbot.wait(100)
    axis = plot.getPlotItem().getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    texts = [spec[2] for spec in axis.generateDrawSpecs(painter)[2]]
    painter.end()
    assert "13,000,000" in texts and len(texts) >= 3


def test_a_model_saved_after_adopting_a_candidate_records_its_init_and_seed(qtbot, three_window, tmp_path):
    from gmm_desktop.io.model_io import load_model

    dialog = open_dialog(qtbot, three_window)
    configure(dialog, 3, 3, ("full", "diag"), n_init=2, seed=7)
    result = run_sweep(qtbot, dialog, timeout=60000)  # a loaded machine runs the sweep's low-priority thread late
    three = next(c for c in result.candidates if c.k == 3 and c.covariance_type == "diag")
    assert three.seed in (7, 8)
    dialog.adopt(three)
    with qtbot.waitSignal(three_window.session.controller.iterated, timeout=5000):
        three_window.findChild(QAction, "actionStep").trigger()
    path = tmp_path / "adopted.json"
    assert three_window.save_model(path)
    saved = load_model(path)
    assert saved.settings["init"] == "kmeans++" and saved.settings["seed"] == three.seed
    assert saved.settings["selection"]["seed"] == 7 and saved.settings["selection"]["covariance_types"] == ["full", "diag"]
    assert saved.params.covariance_type == "diag"

    # undo the adoption: the fit starts from the means placed before (none here), so that record goes
    three_window.findChild(QAction, "actionUndo").trigger()
    place = np.array([[0.0, 0.0], [5.0, 5.0]])
    from gmm_desktop.gui.session import MeansCommand

    three_window.undo_stack.push(MeansCommand(three_window.session, place, "clicked"))
    with qtbot.waitSignal(three_window.session.controller.iterated, timeout=5000):
        three_window.findChild(QAction, "actionStep").trigger()
    assert three_window.save_model(path)
    clicked = load_model(path).settings
    assert clicked["init"] == "means" and clicked["seed"] == 0 and "selection" not in clicked  # as fit --means


def test_adopting_a_candidate_under_bayesian_vb_switches_to_em(qtbot, three_window):
    """Find K's candidates are EM fits: adopted while Method was Bayesian (VB), the window showed the
    new ellipses over the old fit's colours and Step did nothing. Now Method becomes EM, and says so."""
    panel = three_window.panel
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("vb"))
    assert three_window.session.settings["method"] == "vb"
    dialog = open_dialog(qtbot, three_window)
    configure(dialog, 1, 3, ("full",), n_init=1)
    result = run_sweep(qtbot, dialog)
    best = result.best
    with qtbot.waitSignal(dialog.candidate_adopted, timeout=2000):
        dialog.best_button.click()
    assert three_window.session.settings["method"] == "em" and panel.method_combo.currentData() == "em"
    assert "Method is now EM" in three_window.statusBar().currentMessage()
    assert three_window.snapshot.params.n_components == best.k
    with qtbot.waitSignal(three_window.session.controller.iterated, timeout=5000):
        three_window.findChild(QAction, "actionStep").trigger()
    snap = three_window.snapshot
    assert snap.iteration == best.n_iter + 1 and getattr(snap, "method", "em") == "em"
    if three_window.session.responsibilities_pending:
        qtbot.waitSignal(three_window.session.controller.responsibilities_ready, timeout=5000).wait()
    assert three_window.snapshot.resp.shape[1] == best.k  # the colours are the adopted fit's
