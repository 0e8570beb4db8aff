"""The real window, driven through its public surface: clicks on the canvas, actions, files."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest

from gmm_desktop.io import generator
from gmm_desktop.io.model_io import load_model
from gmm_desktop.gui.em_worker import DONE, PAUSED, RUNNING

from gui_helpers import NOTEBOOK_START, canvas_point, click_canvas, empty_canvas_point, place_means

ACTIONS = ("actionOpenData", "actionGenerateData", "actionOpenModel", "actionSaveModel", "actionRun",
           "actionPause", "actionStep", "actionReset", "actionClearMeans", "actionUndo", "actionRedo",
           "actionQuit")


def step(qtbot, window, n=1):
    for _ in range(n):
        before = window.snapshot.iteration if window.snapshot else 0
        with qtbot.waitSignal(window.session.controller.iterated, timeout=5000):
            window.findChild(QAction, "actionStep").trigger()
        assert window.snapshot.iteration == before + 1


def run_to_convergence(qtbot, window):
    window.findChild(QAction, "actionRun").trigger()
    qtbot.waitUntil(lambda: window.session.state == DONE, timeout=10000)


def test_opens_on_demo_data_with_the_contract_names(make_window):
    window = make_window()
    assert window.session.dataset.n_samples == 1050
    assert window.session.dataset.labels is not None
    assert window.findChild(type(window.canvas), "scatterCanvas") is window.canvas
    assert window.findChild(type(window.loglik_plot), "logLikelihoodPlot") is window.loglik_plot
    for name in ACTIONS:
        assert window.findChild(QAction, name) is not None, name
    assert window.snapshot is None
    assert window.canvas._hint.isVisible()
    assert not window.canvas._legend.isVisible()  # nothing to explain yet: no empty box
    assert window.width() >= 1000 and window.height() >= 600


def test_clicks_place_means_at_data_coordinates(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    assert window.means.shape == (4, 2)
    view = window.canvas.getPlotItem().vb
    pixel = view.viewPixelSize()
    np.testing.assert_allclose(window.means, NOTEBOOK_START, atol=2 * max(pixel))
    assert window.panel._k_label.text().startswith("4")
    assert not window.canvas._hint.isVisible()
    assert window.snapshot is None  # no iteration yet


def test_step_three_times_gives_three_iterations_and_three_points(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 3)
    assert window.snapshot.iteration == 3
    # the plot redraws at the next frame (at most ~30 a second): until then the curve may be empty
    qtbot.waitUntil(lambda: window.loglik_plot.curve.getData()[0] is not None
                    and len(window.loglik_plot.curve.getData()[0]) == 3, timeout=2000)
    x, y = window.loglik_plot.curve.getData()
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_allclose(y, window.session.trace)
    assert window.session.state == PAUSED


def test_run_converges_to_the_notebook_centres(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    run_to_convergence(qtbot, window)
    snap = window.snapshot
    assert snap.converged
    for center in generator.NOTEBOOK_CENTERS:
        assert np.min(np.linalg.norm(snap.means - center, axis=1)) < 0.5
    qtbot.waitUntil(lambda: "Converged" in window._status["state"].text(), timeout=2000)
    assert "ARI" in window._status["ari"].text()
    assert not window.actionRun.isEnabled()


def test_pause_stops_a_run(qtbot, window):
    window.panel.delay_slider.setValue(30)
    place_means(qtbot, window, NOTEBOOK_START + 1.5)
    window.actionRun.trigger()
    qtbot.waitUntil(lambda: window.snapshot is not None and window.snapshot.iteration >= 2, timeout=5000)
    with qtbot.waitSignal(window.session.state_changed, timeout=2000, check_params_cb=lambda s: s != RUNNING):
        window.actionPause.trigger()
    stopped_at = window.snapshot.iteration
    assert not window.snapshot.converged
    qtbot.wait(200)  # releases the GIL, unlike QTest.qWait, so the worker could run
    assert window.snapshot.iteration == stopped_at
    assert window.session.state == PAUSED


def test_space_runs_and_pauses(qtbot, window):
    window.panel.delay_slider.setValue(40)
    place_means(qtbot, window, NOTEBOOK_START + 1.5)
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert window.session.state == RUNNING
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.session.state == PAUSED, timeout=2000)


def test_undo_and_redo_a_placed_mean(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START[:2])
    window.findChild(QAction, "actionUndo").trigger()
    assert window.means.shape == (1, 2)
    window.findChild(QAction, "actionRedo").trigger()
    assert window.means.shape == (2, 2)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.means.shape == (1, 2)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.means.shape == (2, 2)


def test_drag_a_mean(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START[:2])
    viewport = window.canvas.viewport()
    start, end = canvas_point(window, *NOTEBOOK_START[0]), canvas_point(window, 2.0, 3.0)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for t in np.linspace(0.1, 1.0, 8):
        QTest.mouseMove(viewport, start + (end - start) * t)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    qtbot.waitUntil(lambda: abs(window.means[0, 0] - 2.0) < 0.2, timeout=2000)
    np.testing.assert_allclose(window.means[0], [2.0, 3.0], atol=0.2)
    np.testing.assert_allclose(window.means[1], NOTEBOOK_START[1], atol=0.2)
    window.actionUndo.trigger()
    np.testing.assert_allclose(window.means[0], NOTEBOOK_START[0], atol=0.2)


def test_right_click_and_delete_remove_means(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START[:3])
    click_canvas(qtbot, window, *NOTEBOOK_START[1], button=Qt.MouseButton.RightButton)
    qtbot.waitUntil(lambda: len(window.means) == 2, timeout=2000)
    np.testing.assert_allclose(window.means, NOTEBOOK_START[[0, 2]], atol=0.2)
    window.actionDeleteMean.trigger()  # the mouse is not over a mean: the last one goes
    np.testing.assert_allclose(window.means, NOTEBOOK_START[[0]], atol=0.2)
    window.actionClearMeans.trigger()
    assert len(window.means) == 0 and window.canvas._hint.isVisible()


def test_editing_means_while_paused_restarts_from_them(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    # a spot off every fitted mean and 1-sigma outline (a click on those selects the component instead)
    x, y = empty_canvas_point(window)
    click_canvas(qtbot, window, x, y)
    qtbot.waitUntil(lambda: len(window.means) == 5, timeout=2000)
    assert window.snapshot is None and window.session.trace == []
    step(qtbot, window)
    assert window.snapshot.iteration == 1 and window.snapshot.means.shape == (5, 2)


def test_clicks_are_ignored_while_running(qtbot, window):
    window.panel.delay_slider.setValue(50)
    place_means(qtbot, window, NOTEBOOK_START + 1.5)
    window.actionRun.trigger()
    click_canvas(qtbot, window, 3.0, 2.0)
    assert len(window.means) == 4
    window.actionPause.trigger()
    qtbot.waitUntil(lambda: window.session.state != RUNNING, timeout=2000)


def test_stepping_never_decreases_the_log_likelihood(qtbot, window):
    place_means(qtbot, window, [[0.0, 0.0], [1.0, 1.0], [9.0, 2.0]])  # a poor start: many iterations
    previous = -np.inf
    for _ in range(25):
        step(qtbot, window)
        ll = window.snapshot.log_likelihood
        assert ll >= previous - 1e-9 * abs(ll)
        previous = ll
    assert window.loglik_plot.decreases.data.size == 0


def test_save_model_and_read_it_back(qtbot, window, tmp_path):
    place_means(qtbot, window, NOTEBOOK_START)
    run_to_convergence(qtbot, window)
    path = tmp_path / "model.json"
    assert window.save_model(path)
    model = load_model(path)
    snap = window.snapshot
    np.testing.assert_allclose(model.params.means, snap.means)
    np.testing.assert_allclose(model.params.full_covariances(), snap.covariances)
    assert model.n_iter == snap.iteration == len(model.trace)
    assert model.converged
    assert model.trace[-1] == pytest.approx(snap.log_likelihood)
    assert model.settings == {"tol": 1e-4, "tol_mode": "total", "max_iter": 1000, "reg_covar": 1e-6,
                              "init": "means", "seed": 0}
    np.testing.assert_allclose(model.initial.means, window.means)
    assert model.data["n_samples"] == 105
    assert not window.session.has_unsaved_fit


def test_save_without_a_fit_explains(window, errors, tmp_path):
    assert not window.save_model(tmp_path / "m.json")
    assert "no fitted model" in window.last_error
    assert not (tmp_path / "m.json").exists()


def test_save_into_a_missing_folder_shows_the_error(qtbot, window, errors, tmp_path):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    assert not window.save_model(tmp_path / "missing" / "m.json")
    assert errors and errors[-1][0] == "Could not save the model"


def test_open_model_shows_it_and_continues_em(qtbot, window, make_window, tmp_path):
    place_means(qtbot, window, NOTEBOOK_START)
    run_to_convergence(qtbot, window)
    path = tmp_path / "model.json"
    assert window.save_model(path)
    saved = window.snapshot

    other = make_window(tmp_path / "small.csv")
    assert other.open_model(path)
    # on the data it was fitted on: the fit as it ended, its start as the placed means
    assert other.snapshot is not None and other.snapshot.iteration == saved.iteration and other.snapshot.converged
    np.testing.assert_allclose(other.snapshot.means, saved.means)
    np.testing.assert_allclose(other.means, load_model(path).initial.means)
    qtbot.waitUntil(lambda: other.session.shown is not None and other.session.shown.resp is not None, timeout=3000)
    step(qtbot, other)
    assert other.snapshot.iteration == saved.iteration + 1
    np.testing.assert_allclose(other.snapshot.means, saved.means, atol=1e-3)
    assert abs(other.snapshot.log_likelihood - saved.log_likelihood) < 1e-2


def test_opening_a_model_can_be_undone(qtbot, window, tmp_path):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    path = tmp_path / "model.json"
    assert window.save_model(path)
    saved = window.means.copy()
    window.panel.kmeanspp_button.click()  # other means, an undoable edit
    before = window.means.copy()
    assert before.shape != saved.shape or not np.allclose(before, saved)
    assert window.open_model(path)
    assert window.means.shape == (4, 2)
    assert window.panel._k_label.text() == "4  (from a model)"
    window.actionUndo.trigger()  # the means placed before opening come back
    np.testing.assert_allclose(window.means, before)
    assert window.panel._k_label.text().endswith("(means placed)")
    window.actionRedo.trigger()
    assert window.means.shape == (4, 2)


def test_redo_shortcuts_are_not_ambiguous(window):
    # the same key twice on one action is "ambiguous" to Qt and then does nothing (it did on X11,
    # where the standard Redo key is Ctrl+Shift+Z)
    keys = [k.toString() for k in window.actionRedo.shortcuts()]
    assert "Ctrl+Shift+Z" in keys and len(keys) == len(set(keys))


def test_open_model_with_other_features_is_refused(qtbot, window, errors, tmp_path):
    doc = {
        "format": "gmm-desktop-model", "format_version": 1, "covariance_type": "full", "n_components": 1,
        "n_features": 3, "feature_names": ["a", "b", "c"], "weights": [1.0], "means": [[0.0, 0.0, 0.0]],
        "covariances": [np.eye(3).tolist()], "log_likelihood": -1.0, "log_likelihood_trace": [-1.0],
        "n_iter": 1, "converged": True, "settings": {}, "data": {"n_samples": 1, "sha256": "", "source": ""},
    }
    path = tmp_path / "three.json"
    path.write_text(json.dumps(doc))
    assert not window.open_model(path)
    assert "3 features" in window.last_error
    assert window.snapshot is None and len(window.means) == 0


def test_open_a_broken_model_shows_the_error(window, errors, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "gmm-desktop-model", "format_version": 1, "weights": [')
    assert not window.open_model(path)
    assert errors[-1][0] == "Could not open the model" and "JSON" in window.last_error


@pytest.mark.parametrize("content, expected", [
    ("x,y\n1,2\n3,oops\n", "line 3"),
    ("x,y\n1,2\n3,nan\n", "line 3"),
    ("name\nal\nbo\n", "no column of numbers"),
    ("", "empty"),
])
def test_bad_data_shows_the_error_and_keeps_the_old_data(window, errors, tmp_path, content, expected):
    old = window.session.dataset
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert not window.load_data(path)
    assert errors[-1][0] == "Could not open the data"
    assert expected in window.last_error
    assert window.session.dataset is old


def test_missing_file_shows_the_error(window, errors, tmp_path):
    assert not window.load_data(tmp_path / "nope.csv")
    assert window.last_error and window.session.dataset.n_samples == 105


def test_skip_invalid_rows_option(window, errors, tmp_path):
    path = tmp_path / "some_bad.csv"
    path.write_text("x,y\n1,2\n3,oops\n4,5\n6,7\n")
    window.actionSkipInvalid.setChecked(True)
    assert window.load_data(path)
    assert window.session.dataset.n_samples == 3


def test_a_wide_file_fits_on_every_feature_and_the_chooser_picks_features_and_label(window, monkeypatch, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a,b,c,kind,label\n" + "".join(f"{i},{i * i % 7},{-i},{'pq'[i % 2]},{i % 2}\n" for i in range(20)))
    assert window.load_data(path)
    assert window.session.dataset.feature_names == ["a", "b", "c"]
    asked = []
    monkeypatch.setattr(type(window), "_choose_columns",
                        lambda self, names, labels, source: asked.append((names, labels)) or (["a", "c"], "kind"))
    window.actionChooseColumns.trigger()
    assert asked == [(["a", "b", "c"], ["a", "b", "c", "kind", "label"])]
    assert window.session.dataset.feature_names == ["a", "c"]
    assert window.session.dataset.labels.tolist() == [i % 2 for i in range(20)]  # 'p' -> 0, 'q' -> 1


def test_array_data_and_bad_array(make_window, errors):
    X = np.random.default_rng(1).normal(size=(60, 2))
    window = make_window(X)
    assert window.session.dataset.n_samples == 60 and window.session.dataset.source == "array"
    bad = make_window(np.array([[1.0, np.nan], [2.0, 3.0]]))
    assert "NaN" in bad.last_error
    assert bad.session.dataset.n_samples == 1050  # the demo stays


def test_generate_data_with_suggested_means(qtbot, window):
    assert window.generate_data("small", centers="0,0; 6,6", seed=3, suggest_means=True)
    assert window.session.dataset.n_samples == 105
    assert window.means.shape == (2, 2)
    np.testing.assert_allclose(window.means, [[0, 0], [6, 6]], atol=0.76)
    window.actionUndo.trigger()
    assert len(window.means) == 0


def test_generate_data_with_bad_centres(window, errors):
    assert not window.generate_data("small", centers="1,2; 3", seed=0)
    assert "centre 2" in window.last_error or "center 2" in window.last_error


def test_kmeanspp_places_k_means(qtbot, window):
    window.panel.k_spin.setValue(3)
    window.panel.kmeanspp_button.click()
    assert window.means.shape == (3, 2)
    window.actionUndo.trigger()
    assert window.means.shape == (0, 2)


def test_fit_error_is_shown_and_em_pauses(qtbot, make_window, errors):
    rng = np.random.default_rng(0)
    X = np.vstack([np.zeros((40, 2)), rng.normal(5.0, 1.0, size=(60, 2))])
    window = make_window(X)
    window.panel.set_em_settings({"reg_covar": 0.0})
    window.session.set_settings(window.panel.em_settings())
    place_means(qtbot, window, [[0.0, 0.0], [5.0, 5.0]])
    with qtbot.waitSignal(window.session.failed, timeout=5000):
        window.actionRun.trigger()
    qtbot.waitUntil(lambda: window.session.state != RUNNING, timeout=2000)
    assert errors[-1][0] == "EM stopped"
    assert "positive definite" in window.last_error or "collapsed" in window.last_error


def test_collapsed_component_can_be_reseeded_or_removed(qtbot, make_window):
    rng = np.random.default_rng(0)
    X = np.vstack([np.zeros((40, 2)), rng.normal(5.0, 1.0, size=(60, 2))])
    window = make_window(X)
    place_means(qtbot, window, [[0.0, 0.0], [5.0, 5.0]])
    step(qtbot, window, 4)
    assert window.snapshot.collapsed == (0,)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=2000)
    window.banner.reseed_button.click()
    assert window.snapshot.iteration == 0 and len(window.means) == 2
    window.actionUndo.trigger()
    step(qtbot, window, 4)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=2000)
    window.banner.remove_button.click()
    assert window.means.shape == (1, 2)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=2000)


def test_hard_labels_use_one_colour_per_component(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.snapshot, timeout=2000)  # drawn, not just received
    window.panel.hard_labels_check.setChecked(True)
    window.canvas.cloud.refresh()
    colors = {tuple(c) for c in window.canvas.cloud.marker_colors}
    assert len(colors) == 4  # one per component, no blends


def test_export_png_and_svg(window, tmp_path):
    assert window.export_canvas(tmp_path / "canvas.png")
    assert window.export_loglik_plot(tmp_path / "plot.svg")
    assert (tmp_path / "canvas.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "plot.svg").read_text()
    assert window.export_canvas(tmp_path / "canvas.svg")


def _bottom_axis_line(image):
    """(row, length) of the longest run of dark pixels along a row in the image's lower half."""
    from PySide6.QtGui import QImage

    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h = gray.width(), gray.height()
    rows = np.frombuffer(gray.constBits(), np.uint8).reshape(h, gray.bytesPerLine())[:, :w]
    best = (0, 0)
    for y in range(h // 2, h):
        dark = np.concatenate(([0], (rows[y] < 100).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(dark))
        longest = int((edges[1::2] - edges[::2]).max()) if len(edges) else 0
        best = max(best, (longest, y))
    return best[1], best[0]


def test_exports_match_the_window(qtbot, window, tmp_path):
    """The SVG's axes line up with its data (they were drawn at 72 dpi, 3/4 size, once), and the
    PNG is the plot at twice its size, legend text included."""
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.snapshot, timeout=2000)  # legend filled in
    assert window.export_canvas(tmp_path / "canvas.svg") and window.export_canvas(tmp_path / "canvas.png")
    renderer = QSvgRenderer(str(tmp_path / "canvas.svg"))
    png = QImage(str(tmp_path / "canvas.png"))
    svg = QImage(png.width(), png.height(), QImage.Format.Format_ARGB32)
    svg.fill(QColor("white"))
    painter = QPainter(svg)
    renderer.render(painter)
    painter.end()
    for image in (svg, png):
        row, length = _bottom_axis_line(image)
        assert row > 0.9 * image.height() and length > 0.85 * image.width()
    view = window.canvas.getPlotItem().sceneBoundingRect()
    assert abs(png.width() - 2 * view.width()) <= 2 and abs(png.height() - 2 * view.height()) <= 2
    legend = window.canvas._legend.sceneBoundingRect()  # drawn at twice its on-screen size too
    box = png.copy(int(2 * (legend.left() - view.left())), int(2 * (legend.top() - view.top())),
                   int(2 * legend.width()), int(2 * legend.height()))
    gray = box.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(gray.constBits(), np.uint8).reshape(gray.height(), gray.bytesPerLine())
    dark_columns = np.flatnonzero((pixels[:, :gray.width()] < 100).any(axis=0))
    assert len(dark_columns) and dark_columns.max() > 0.7 * gray.width()  # its text spans the box


def test_export_to_a_missing_folder_shows_the_error(window, errors, tmp_path):
    assert not window.export_canvas(tmp_path / "missing" / "canvas.png")
    assert not window.export_loglik_plot(tmp_path / "missing" / "plot.svg")
    assert [title for title, _ in errors] == ["Could not export", "Could not export"]


def test_quitting_with_an_unsaved_fit_asks_first(qtbot, window, monkeypatch):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    window.ask_to_save_on_close = True
    answers = [False, True]
    monkeypatch.setattr(type(window), "_confirm_discard", lambda self: answers.pop(0))
    window.close()
    assert window.isVisible() and window.session.controller.is_thread_running()
    window.close()
    assert not window.isVisible() and not window.session.controller.is_thread_running()


def test_close_while_running_leaves_no_thread(qtbot, make_window):
    window = make_window()  # the demo, 1050 points
    place_means(qtbot, window, NOTEBOOK_START + 2.0)
    window.actionRun.trigger()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=5000)
    assert window.session.state == RUNNING or window.session.state == DONE
    window.close()
    assert not window.session.controller.is_thread_running()


def test_settings_persist_between_windows(qtbot, make_window):
    first = make_window()
    first.panel.covariance_combo.setCurrentText("diag")
    first.panel.delay_slider.setValue(123)
    first.resize(700, 500)  # within the offscreen screen (800 x 600)
    first.close()
    store = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "gmm-desktop", "gmm-desktop")
    assert store.value("em/covariance_type") == "diag"
    second = make_window()
    assert second.panel.covariance_combo.currentText() == "diag"
    assert second.session.settings["covariance_type"] == "diag"
    assert (second.width(), second.height()) == (700, 500)


def test_keyboard_shortcuts_step_reset_and_delete(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    with qtbot.waitSignal(window.session.controller.iterated, timeout=3000):
        QTest.keyClick(window, Qt.Key.Key_N)
    with qtbot.waitSignal(window.session.controller.iterated, timeout=3000):
        QTest.keyClick(window, Qt.Key.Key_Right)
    assert window.snapshot.iteration == 2
    QTest.keyClick(window, Qt.Key.Key_R)
    assert window.snapshot is None and window.session.trace == []
    QTest.keyClick(window, Qt.Key.Key_Delete)
    assert len(window.means) == 3


def test_reset_replays_the_same_fit(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 3)
    first = list(window.session.trace)
    window.actionReset.trigger()
    qtbot.waitUntil(lambda: len(window.loglik_plot.curve.getData()[0] if window.loglik_plot.curve.getData()[0]
                                    is not None else []) == 0, timeout=2000)
    step(qtbot, window, 3)
    assert window.session.trace == first


def test_covariance_type_change_restarts_with_that_model(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    window.panel.covariance_combo.setCurrentText("spherical")
    assert window.snapshot is None
    step(qtbot, window)
    assert window.snapshot.covariance_type == "spherical"
    cov = window.snapshot.covariances
    np.testing.assert_allclose(cov[:, 0, 0], cov[:, 1, 1])
    np.testing.assert_allclose(cov[:, 0, 1], 0.0)


def test_max_iterations_stops_the_run(qtbot, window):
    window.panel.max_iter_spin.setValue(3)
    place_means(qtbot, window, NOTEBOOK_START + 1.5)
    run_to_convergence(qtbot, window)
    assert window.snapshot.iteration == 3 and not window.snapshot.converged
    qtbot.waitUntil(lambda: "max iterations" in window._status["state"].text(), timeout=2000)


def test_ellipses_and_means_are_drawn_per_component(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.snapshot, timeout=2000)
    rings = window.canvas.ellipses.rings
    assert len(rings) == 4 * 3  # 1, 2 and 3 sigma for each component
    assert all(ring.shape == (100, 2) and np.isfinite(ring).all() for ring in rings)
    snap = window.snapshot
    d = rings[3 * 2 + 1] - snap.means[2]  # component 2's 2-sigma ring
    maha = np.einsum("ij,jk,ik->i", d, np.linalg.inv(snap.covariances[2]), d)
    np.testing.assert_allclose(maha, 4.0, rtol=1e-8)
    assert len(window.canvas._fitted_means.data) == 4
    window.panel.truth_check.setChecked(True)
    assert len(window.canvas._truth_curves) == 4


def test_dropping_a_file_opens_it(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    path = tmp_path / "dropped.csv"
    path.write_text("a,b\n" + "".join(f"{i},{(i * 7) % 5}\n" for i in range(30)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)  # offscreen Qt has no drag manager to deliver these
    assert enter.isAccepted()
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.session.dataset.n_samples == 30, timeout=2000)
    assert window.session.dataset.feature_names == ["a", "b"]


def test_errors_open_a_message_box_without_blocking(qtbot, window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from gmm_desktop.gui.main_window import MainWindow

    monkeypatch.undo()  # the real _show_error, not the recording one
    monkeypatch.setattr(MainWindow, "ask_to_save_on_close", False)
    assert not window.load_data(tmp_path / "missing.csv")  # returns at once: the box does not block
    box = window.findChild(QMessageBox, "errorBox")
    qtbot.waitUntil(lambda: box.isVisible(), timeout=2000)
    assert "missing.csv" in box.text() and box.text() == window.last_error
    box.accept()


def test_generate_dialog_checks_the_centres(qtbot):
    from gmm_desktop.gui.dialogs import GenerateDialog

    dialog = GenerateDialog()
    qtbot.addWidget(dialog)
    assert dialog.values()["preset"] == "medium"
    np.testing.assert_allclose(dialog.values()["centers"], generator.NOTEBOOK_CENTERS)
    dialog.centers_edit.setText("1,2; oops")
    dialog._on_accepted()
    assert dialog.result() == 0 and "oops" in dialog._error.text()
    dialog.centers_edit.setText("1,2; 3,4")
    dialog._on_accepted()
    assert dialog.result() == dialog.DialogCode.Accepted


def test_a_decrease_of_the_log_likelihood_is_marked_red(window):
    from gmm_desktop.core.em import EMSnapshot
    from gmm_desktop.core.init import params_from_means

    params = params_from_means(window.session.dataset.X, [[0.0, 0.0]])
    history = [EMSnapshot(i, ll, 0.0, False, params, 105) for i, ll in enumerate([-20.0, -10.0, -5.0, -6.0, -4.0])]
    window.session.document.replace_history(history)  # a history with a decrease at iteration 3
    assert window.session.initial_log_likelihood == -20.0 and window.session.trace == [-10.0, -5.0, -6.0, -4.0]
    window.loglik_plot._update_trace()
    x, y = window.loglik_plot.decreases.getData()
    assert list(x) == [3] and list(y) == [-6.0]
    # a change at the level of rounding and reg_covar (a locked mean near its fixed point) is no decrease
    lls = [-200.0, -190.0, -180.0, -180.0 - 1.3e-8, -179.0]
    window.session.document.replace_history([EMSnapshot(i, ll, 0.0, False, params, 105) for i, ll in enumerate(lls)])
    window.loglik_plot._update_trace()
    assert len(window.loglik_plot.decreases.getData()[0]) == 0


def test_the_ari_stays_on_screen_while_large_runs_send_labels_sparingly(qtbot, window, monkeypatch):
    from gmm_desktop.gui import em_worker

    monkeypatch.setattr(em_worker, "SMALL_RESP", 0)  # as with a million points: labels now and then
    monkeypatch.setattr(em_worker, "RESP_INTERVAL_S", 3600.0)
    window.panel.set_em_settings({"tol": 0.0, "max_iter": 40})  # 40 iterations, 30 ms apart: many frames
    window.session.set_settings(window.panel.em_settings())
    window.panel.delay_slider.setValue(30)
    place_means(qtbot, window, NOTEBOOK_START + 1.5)
    shown = []
    window.session.fit_changed.connect(
        lambda snap: shown.append((snap.labels is not None, window._status["ari"].text())))
    with qtbot.waitSignal(window.session.state_changed, timeout=10000, check_params_cb=lambda s: s != RUNNING):
        window.actionRun.trigger()
    assert any(not has_labels for has_labels, _ in shown)  # frames without labels did happen
    assert all(text.startswith("ARI vs truth ") for _, text in shown)


def test_ellipse_outlines_are_opaque_and_only_the_1_sigma_ring_is_wide(qtbot, window):
    """Translucent or wide outlines take Qt's slow stroker: 30 ms a frame at 16 components,
    most of the window's paint while EM runs on a million points (benchmarks/bench_window.py)."""
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.snapshot, timeout=2000)
    pens = [pen for pen, _ in window.canvas.ellipses._paths]
    assert len(pens) == 12
    assert all(pen.color().alpha() == 255 and pen.isCosmetic() for pen in pens)
    assert [pen.widthF() > 1 for pen in pens] == [True, False, False] * 4
    assert len(window.canvas.ellipses._haloed) == 4


def test_on_large_data_outlines_and_colours_change_together(qtbot, make_window):
    """Colours of 100k points take a few event-loop turns; the outlines wait for them, so the canvas
    never shows one iteration's ellipses over another's colours (and repaints once, not twice)."""
    from gmm_desktop.core.geometry import ellipses_points
    from gmm_desktop.gui.point_cloud import COLOR_SLICE
    from gmm_desktop.gui.scatter_canvas import SIGMAS

    data = generator.generate(n_samples=2 * COLOR_SLICE, centers=generator.NOTEBOOK_CENTERS, seed=0)
    window = make_window(data.X)
    window.session.set_means(NOTEBOOK_START)
    cloud = window.canvas.cloud
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None and not cloud.colors_pending, timeout=5000)

    def outlines_of(snap):
        return ellipses_points(snap.means, snap.covariances, SIGMAS).reshape(-1, 2)

    def outlines_drawn():
        return np.concatenate(window.canvas.ellipses.rings)

    seen = {}
    before = window.canvas._snapshot

    def on_fit(snap):
        if snap.iteration == 1 and "fit" not in seen:
            seen["fit"] = (cloud.colors_pending, np.allclose(outlines_drawn(), outlines_of(before)))

    window.session.fit_changed.connect(on_fit)
    with qtbot.waitSignal(cloud.colors_drawn, timeout=5000):
        step(qtbot, window)
    assert seen["fit"] == (True, True)  # new fit received: colours being computed, old outlines kept
    np.testing.assert_allclose(outlines_drawn(), outlines_of(window.snapshot))  # both now iteration 1


def test_fitted_means_appear_after_a_step_and_over_the_initial_ones(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None, timeout=2000)
    assert len(window.canvas._fitted_means.data) == 0  # iteration 0: only the x marks, not hidden
    step(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.snapshot, timeout=2000)
    assert len(window.canvas._fitted_means.data) == 4
    assert window.canvas._fitted_means.zValue() > window.canvas._placed_means.zValue()
    # left clicks on a fitted mean are its own (issue 11.2: they added a component); drags reach the x
    assert window.canvas._fitted_means.acceptedMouseButtons() == Qt.MouseButton.LeftButton


def test_a_status_message_is_not_cut_off(qtbot, window, tmp_path):
    """Issue 11.6: a long message ran into the fields ("File →Paused") or pushed the point count and
    the ARI away. Now it has a label of its own left of the fields: whole when there is room, cut
    with "…" (the whole text in its tooltip) when not, never over a field, and the fields stay."""
    name = "a-model-file-with-a-rather-long-name.json"
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    bar = window.statusBar()
    for width, whole in ((1280, True), (950, False)):  # a wide window, and a laptop's half screen
        window.resize(width, 700)
        assert window.save_model(tmp_path / name)
        qtbot.waitUntil(lambda: name in bar.currentMessage(), timeout=2000)
        qtbot.wait(50)  # the layout has settled
        label = bar.message_label
        assert (label.text() == bar.currentMessage()) == whole
        assert label.toolTip() == bar.currentMessage()
        assert label.text().endswith("…") != whole
        fields = [w for w in window._status.values() if w.isVisible()]
        assert window._status["points"] in fields and window._status["state"] in fields
        left_of_fields = min(w.geometry().left() for w in fields)
        assert label.geometry().right() < left_of_fields  # never under a field
        assert all(w.width() >= w.sizeHint().width() for w in fields)  # none squeezed
    bar.clearMessage()
    assert window._status["change"].isVisible()


def test_a_fitter_that_cannot_be_rebuilt_leaves_no_old_fit_drawn(qtbot, window, errors, monkeypatch):
    from gmm_desktop.gui import em_worker

    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    qtbot.waitUntil(lambda: len(window.canvas.ellipses.rings) == 12, timeout=2000)

    def out_of_memory(*args, **kwargs):  # as a restart on a huge data set may fail
        raise MemoryError

    monkeypatch.setattr(em_worker, "EMFitter", out_of_memory)
    with qtbot.waitSignal(window.session.failed, timeout=5000):
        window.session.set_means(NOTEBOOK_START + 0.5)
    assert "MemoryError" in window.last_error
    qtbot.waitUntil(lambda: window.canvas.ellipses.rings == [], timeout=2000)  # not the old fit


def test_generate_dialog_offers_a_million_points(qtbot, window):
    from gmm_desktop.gui.dialogs import GenerateDialog

    dialog = GenerateDialog()
    qtbot.addWidget(dialog)
    texts = [dialog.preset_combo.itemText(i) for i in range(dialog.preset_combo.count())]
    dialog.preset_combo.setCurrentIndex(texts.index("1,000,000 points"))
    assert window.generate_data(**dialog.values())
    assert window.session.dataset.n_samples == 1_000_000
    assert window.canvas.cloud.mode == "density" and len(window.means) == 4


@pytest.mark.parametrize("width", [1600, 1280, 1024])
def test_no_toolbar_button_hides_behind_the_overflow(qtbot, window, width):
    """At 1280 px Paint data was behind the toolbar's »: narrow windows show the file buttons as
    icons alone (tooltips name them); wide ones keep every label."""
    from PySide6.QtWidgets import QToolBar, QToolButton

    window.resize(width, 800)
    qtbot.waitUntil(lambda: window.width() == width, timeout=2000)
    toolbar = window.findChild(QToolBar, "mainToolBar")
    qtbot.waitUntil(lambda: toolbar.widgetForAction(window.actionPaintData).isVisible(), timeout=2000)
    hidden = [a.text() for a in toolbar.actions()
              if not a.isSeparator() and not toolbar.widgetForAction(a).isVisible()]
    assert hidden == []
    extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert extension is None or not extension.isVisible()
    open_data = toolbar.widgetForAction(window.actionOpenData)
    labelled = open_data.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    if width >= 1600:
        assert labelled
    if width <= 1024:
        assert not labelled and window.actionOpenData.toolTip()


def test_a_click_on_an_axis_adds_no_mean(qtbot, window):
    """pyqtgraph hands an axis' clicks to its view box: they added a mean outside the view."""
    plot = window.canvas.getPlotItem()
    for side in ("bottom", "left"):
        axis = plot.getAxis(side)
        centre = window.canvas.mapFromScene(axis.sceneBoundingRect().center())
        QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    assert len(window.means) == 0
    click_canvas(qtbot, window, 5.0, 5.0)  # the canvas itself still places one
    qtbot.waitUntil(lambda: len(window.means) == 1, timeout=2000)


def test_quitting_asks_with_the_real_question_box(qtbot, window):
    """The interactive route itself: closing with an unsaved fit opens the Save / Discard / Cancel box
    (modal); Cancel keeps the window, Discard closes it. A timer presses the button from inside the
    box's own event loop."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    window.ask_to_save_on_close = True
    seen = []

    def press(button):
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, lambda: press(button))
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: press(QMessageBox.StandardButton.Cancel))
    window.close()
    assert seen and "has not been saved" in seen[-1]
    assert window.isVisible() and window.session.controller.is_thread_running()
    QTimer.singleShot(0, lambda: press(QMessageBox.StandardButton.Discard))
    window.close()
    assert len(seen) == 2 and not window.isVisible() and not window.session.controller.is_thread_running()
