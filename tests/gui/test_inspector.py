"""The scrubber, the plot's history marks, the component inspector and the hover tooltip."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest

from gui_helpers import NOTEBOOK_START, canvas_point, click_canvas, empty_canvas_point, place_means, shown_resp, step, trigger


def wait_colours(qtbot, window):
    shown_resp(qtbot, window)


def test_the_slider_under_the_plot_shows_any_past_iteration(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    seen = step(qtbot, window, 5)
    slider = window.history_bar.slider
    assert slider.isEnabled() and slider.maximum() == 5 and slider.value() == 5
    with qtbot.waitSignal(window.session.controller.responsibilities_ready, timeout=5000):
        slider.setValue(2)
    assert window.snapshot.iteration == 2
    np.testing.assert_array_equal(window.snapshot.means, seen[2])
    assert window.snapshot.resp is not None
    assert window.history_bar.label.text() == "iteration 2 of 5"
    assert window.history_bar.cursor_line.isVisible() and window.history_bar.cursor_line.value() == 2
    QTest.keyClick(window, Qt.Key.Key_Left)
    assert slider.value() == 1  # the slider follows the cursor
    window.history_bar.show_nearest(4.2)  # what a click on the plot near iteration 4 does
    assert window.snapshot.iteration == 4 and window.history_length == 6


def test_a_click_on_a_point_of_the_plot_shows_its_iteration(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    seen = step(qtbot, window, 5)
    plot = window.loglik_plot
    # the plot draws at most once a frame: wait for its curve to hold the five iterations
    qtbot.waitUntil(lambda: plot.curve.getData()[0] is not None and len(plot.curve.getData()[0]) == 5,
                    timeout=3000)
    x, y = plot.curve.getData()
    plot.grab()  # paint, as the screen would: the y range follows the new points only when painted
    vb = plot.getPlotItem().vb
    scene = vb.mapViewToScene(pg_point(x[2], y[2]))
    assert vb.sceneBoundingRect().contains(scene), "the point to click is drawn inside the plot"
    QTest.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     plot.mapFromScene(scene))
    assert window.snapshot.iteration == 3
    np.testing.assert_array_equal(window.snapshot.means, seen[3])


def test_the_plot_marks_half_steps(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    assert len(window.history_bar.halves.data) == 0
    trigger(qtbot, window, "actionMStep")
    trigger(qtbot, window, "actionEStep")
    step(qtbot, window, 1)
    xs = [p[0] for p in window.history_bar.halves.data]
    assert xs == [3]  # iteration 3 was run as two halves
    assert window.history_bar.slider.maximum() == len(window.session.history) - 1 == 5
    window.history_bar.slider.setValue(3)  # the M half of iteration 3
    assert window.snapshot.phase == "M" and window.history_bar.label.text().endswith("after M")


def test_clicking_a_fitted_mean_or_its_ellipse_selects_it_and_never_adds_a_mean(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 8)
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None and window.canvas._snapshot.iteration == 8,
                    timeout=3000)
    snap = window.snapshot
    click_canvas(qtbot, window, *snap.means[2])
    assert len(window.means) == 4 and window.inspector.selected == 2
    ring = window.canvas.ellipses.rings[3 * 1]  # component 1's 1-sigma outline
    click_canvas(qtbot, window, *ring[7])
    assert len(window.means) == 4 and window.inspector.selected == 1
    values = window.inspector.values
    assert values["weight"].text() == f"{snap.weights[1]:.4f}"
    assert values["mean"].text() == f"({snap.means[1, 0]:.4g}, {snap.means[1, 1]:.4g})"
    cov = snap.covariances[1]
    assert f"{cov[0, 1]:.4g}" in values["covariance"].text()
    vals = np.linalg.eigvalsh(cov)
    assert values["axes"].text() == f"{np.sqrt(vals[1]):.4g} and {np.sqrt(vals[0]):.4g}"
    assert values["angle"].text().endswith("° from the x axis")
    count = int(np.count_nonzero(np.argmax(snap.resp, axis=1) == 1))
    assert values["count"].text() == f"{count:,} points"
    click_canvas(qtbot, window, *empty_canvas_point(window))  # empty canvas, off every outline: a new mean
    qtbot.waitUntil(lambda: len(window.means) == 5, timeout=2000)


def test_only_the_1_sigma_outline_selects_a_thin_outer_ring_does_not(qtbot, window):
    """The 2- and 3-sigma rings cover much of the canvas: a click on them places a mean as on empty
    canvas (selecting there turned clicks meant to place a mean into selections)."""
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 8)
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None and window.canvas._snapshot.iteration == 8,
                    timeout=3000)
    rings = window.canvas.ellipses.rings
    k = next(k for k in range(4) for p in rings[3 * k + 2][::5] if window.canvas_probe.component_at(*p) is None)
    point = next(p for p in rings[3 * k + 2][::5] if window.canvas_probe.component_at(*p) is None)
    click_canvas(qtbot, window, *point)
    qtbot.waitUntil(lambda: len(window.means) == 5, timeout=2000)


def test_the_inspector_locks_and_edits(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    window.inspector.select(0)
    window.inspector.locks["mean"].setChecked(True)
    assert window.session.document.locks[0].mean
    held = window.snapshot.means[0].copy()
    step(qtbot, window, 2)
    np.testing.assert_array_equal(window.snapshot.means[0], held)
    window.actionUndo.trigger()  # the lock goes, the iterations made with it stay
    assert not window.session.document.locks[0].mean and not window.inspector.locks["mean"].isChecked()
    window.inspector.edits["weight"].setText("0.1")
    window.inspector.edits["mean"].setText("1, -1")
    window.inspector.edits["covariance"].setText("1, 0; 0, 1")
    assert window.inspector.apply_edits()
    assert window.session.start.weights[0] == pytest.approx(0.1)
    window.inspector.edits["mean"].setText("one, two")
    assert not window.inspector.apply_edits()
    assert "type numbers" in window.inspector.message.text()


def test_hovering_a_point_shows_its_coordinates_and_responsibilities(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 3)
    wait_colours(qtbot, window)
    X = window.session.dataset.X
    i = 17
    text = window.canvas_probe.hover_text(*X[i])
    lines = text.splitlines()
    assert lines[0].startswith(f"point {i + 1}: ") and f"{X[i, 0]:.4g}" in lines[0]
    r = window.snapshot.resp[i]
    top = int(np.argmax(r))
    assert lines[1] == f"component {top + 1}: responsibility {r[top]:.3f}"
    assert window.canvas_probe.hover_text(-50.0, -50.0) == ""
    # with the real mouse
    QTest.mouseMove(window.canvas.viewport(), canvas_point(window, *X[i]))
    with qtbot.waitSignal(window.canvas_probe._hover_timer.timeout, timeout=2000):
        pass
    assert window.canvas_probe.last_tooltip == text


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(float(x), float(y))


def test_the_readout_and_the_hover_follow_the_view_shown(qtbot, make_window):
    """Four features shown as (2, 3): the axes and angle describe the drawn ellipse (the 2x2 block of
    features 2 and 3), and hovering finds a point where it is drawn, not at its features 0 and 1."""
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(size=(150, 4)) * [1, 1, 3, 0.5] + [0, 0, 0, 0],
                        rng.normal(size=(150, 4)) * [1, 1, 0.5, 2] + [9, 9, 20, 20]])
    window = make_window(data=X)
    place_means(qtbot, window, [[0.0, 0.0], [9.0, 9.0]])
    step(qtbot, window, 3)
    window.set_view(2, 3)
    window.inspector.select(0)
    cov = window.snapshot.params.full_covariances()[0][np.ix_([2, 3], [2, 3])]
    vals = np.linalg.eigvalsh(cov)
    values = window.inspector.values
    assert values["axes"].text() == f"{np.sqrt(vals[1]):.4g} and {np.sqrt(vals[0]):.4g}"
    names = window.session.dataset.feature_names
    assert f"from the {names[2]} axis ({names[2]} × {names[3]} view)" in values["angle"].text()
    wait_colours(qtbot, window)
    i = 5
    text = window.canvas_probe.hover_text(X[i, 2], X[i, 3])
    assert text.splitlines()[0].startswith(f"point {i + 1}: ")


def test_the_selected_component_is_drawn_wide_on_the_canvas(qtbot, window):
    from gmm_desktop.gui import palette

    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 6)
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None and window.canvas._snapshot.iteration == 6,
                    timeout=3000)

    def outline_pixels(k):
        image = window.canvas.grab().toImage()
        image = image.convertToFormat(image.Format.Format_RGB32)
        rgb = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
        rgb = rgb[:, :image.width(), 2::-1].astype(int)
        colour = np.array(palette.component_color(k).darker(135).getRgb()[:3])
        return int((np.abs(rgb - colour).sum(axis=-1) < 30).sum())

    before = outline_pixels(2)
    click_canvas(qtbot, window, *window.snapshot.means[2])
    assert window.inspector.selected == 2 and window.canvas.ellipses.selected == 2
    assert outline_pixels(2) > 1.5 * before  # its 1-sigma outline is now much wider
    window.inspector.select(1)
    assert window.canvas.ellipses.selected == 1
