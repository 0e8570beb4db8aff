"""Issue 11: nothing lost, nothing confusing. One regression test (at least) per numbered defect,
driven through the real window."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtGui import QAction

from gmm_desktop.io import datasets, generator
from gmm_desktop.gui import palette
from gmm_desktop.gui.em_worker import DONE

from gui_helpers import NOTEBOOK_START, canvas_point, click_canvas, place_means


def converge(qtbot, window):
    window.findChild(QAction, "actionRun").trigger()
    qtbot.waitUntil(lambda: window.session.state == DONE, timeout=60000)
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.session.shown, timeout=5000)


def screen_pixels(window, widget) -> np.ndarray:
    """What is on screen over ``widget``, as (height, width, 3) ints: the window's backing store,
    which holds the incremental repaints (``widget.grab()`` repaints everything afresh, and so
    would never show a region Qt forgot to repaint)."""
    image = window.screen().grabWindow(window.winId()).toImage()
    image = image.convertToFormat(image.Format.Format_RGB32)
    ratio = image.devicePixelRatio()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    rgb = rgb[:, :image.width(), 2::-1].astype(int)  # BGRA in memory
    top_left = widget.mapTo(window, QPoint(0, 0))
    x0, y0 = round(top_left.x() * ratio), round(top_left.y() * ratio)
    return rgb[y0:y0 + round(widget.height() * ratio), x0:x0 + round(widget.width() * ratio)]


def component_colour_mask(pixels: np.ndarray, k: int) -> np.ndarray:
    """Pixels within a small distance of any colour components 0..k-1 are drawn in (points,
    means, outlines)."""
    colours = [palette.component_color(j) for j in range(k)] + [palette.component_color(j).darker(135)
                                                                for j in range(k)]
    mask = np.zeros(pixels.shape[:2], bool)
    for colour in colours:
        mask |= np.abs(pixels - np.array(colour.getRgb()[:3])).sum(axis=-1) < 40
    return mask


# ---------------------------------------------------------------------------------- item 3
@pytest.mark.parametrize("centers", [[[0.0, 0.0], [2.0, 1.0]], [[30.0, 30.0], [34.0, 31.0]]])
def test_no_ghost_of_the_old_fit_after_new_data_loads(qtbot, window, tmp_path, centers):
    """Issue 11.3: after a fit, opening other data left fragments of the old ellipses and legend."""
    place_means(qtbot, window, NOTEBOOK_START)
    converge(qtbot, window)
    qtbot.wait(100)
    before = component_colour_mask(screen_pixels(window, window.canvas), 4)
    assert before.sum() > 500  # the check below can fail: the fit's colours are on screen now

    other = generator.generate("small", centers=np.array(centers), seed=4)
    path = tmp_path / "other.csv"
    datasets.write_csv(other, path)
    assert window.load_data(path)
    qtbot.waitUntil(lambda: window.canvas._snapshot is None and not window.canvas._legend.isVisible(),
                    timeout=5000)
    qtbot.wait(100)  # the frame timer and any queued repaint have run
    pixels = screen_pixels(window, window.canvas)
    ghosts = component_colour_mask(pixels, 4)
    ys, xs = np.nonzero(ghosts)
    assert ghosts.sum() == 0, f"old components' colours still on screen at {list(zip(xs[:8], ys[:8]))}"
    # and the new points are on screen (the markers once culled to a stale view and drew none)
    ratio = window.screen().devicePixelRatio()
    at_points = np.array([pixels[round(p.y() * ratio), round(p.x() * ratio)]
                          for p in (canvas_point(window, x, y) for x, y in other.X)])
    grey = (at_points.max(axis=1) - at_points.min(axis=1) < 25) & (at_points.max(axis=1) < 200)
    assert grey.mean() > 0.8  # a neutral marker (or several) under nearly every point


def test_default_view_frames_the_data_with_a_small_margin(qtbot, window, tmp_path):
    """Issue 11.6: data spanning x -2.5...6 was shown on -13...25 (the old fit's rings were framed too)."""
    place_means(qtbot, window, NOTEBOOK_START)
    converge(qtbot, window)
    other = generator.generate("small", centers=np.array([[-1.0, 0.0], [4.5, 1.0]]), seed=2)
    path = tmp_path / "narrow.csv"
    datasets.write_csv(other, path)
    assert window.load_data(path)
    (x0, x1), (y0, y1) = window.canvas.getPlotItem().vb.viewRange()
    lo, hi = other.X.min(axis=0), other.X.max(axis=0)
    assert x0 <= lo[0] and x1 >= hi[0] and y0 <= lo[1] and y1 >= hi[1]  # every point in view
    # the axis that limits the (aspect-locked) view has only a small margin
    spare = min((x1 - x0) / (hi[0] - lo[0]), (y1 - y0) / (hi[1] - lo[1]))
    assert spare < 1.15


# ---------------------------------------------------------------------------------- item 2
def _legend_point(window) -> QPoint:
    """Viewport coordinates of a point inside the legend box, between its rows' text and its edge."""
    legend = window.canvas._legend
    rect = legend.mapRectToScene(legend.boundingRect())
    return window.canvas.mapFromScene(rect.center() + QPointF(rect.width() * 0.3, 0))


def test_a_click_on_the_legend_adds_no_mean(qtbot, window):
    """Issue 11.2: clicking the legend box added a mean hidden under it (and restarted the fit)."""
    place_means(qtbot, window, NOTEBOOK_START)
    converge(qtbot, window)
    assert window.canvas._legend.isVisible()
    fit = window.snapshot
    point = _legend_point(window)
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    qtbot.wait(100)
    assert len(window.means) == 4
    assert window.snapshot is fit and window.snapshot.converged
    # a click on empty canvas still adds a mean (the legend only keeps its own clicks)
    click_canvas(qtbot, window, 6.0, -3.0)
    qtbot.waitUntil(lambda: len(window.means) == 5, timeout=5000)


def test_a_click_on_a_fitted_mean_adds_no_component(qtbot, window):
    """Issue 11.2: clicking a fitted mean (a ●) added a component and threw the fit away."""
    place_means(qtbot, window, NOTEBOOK_START)
    converge(qtbot, window)
    fit = window.snapshot
    clicked = []
    window.canvas.component_clicked.connect(clicked.append)
    for k in range(4):
        click_canvas(qtbot, window, *fit.means[k])
    qtbot.wait(100)
    assert len(window.means) == 4 and window.snapshot is fit
    assert clicked == [0, 1, 2, 3]  # each click is a click on that component (issue 12 selects it)


def test_bare_letter_shortcuts_do_not_act_while_a_field_has_the_focus(qtbot, window):
    """Issue 11.2: N (step) and R (reset) acted while the user typed in a field or a combo box."""
    place_means(qtbot, window, NOTEBOOK_START)
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=2000)
    with qtbot.waitSignal(window.session.controller.iterated, timeout=10000):
        QTest.keyClick(window.canvas, Qt.Key.Key_N)  # on the canvas, N steps
    fit = window.snapshot
    assert fit.iteration == 1
    for widget in (window.panel.tol_edit, window.panel.covariance_combo, window.panel.max_iter_spin):
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=2000)
        for key in (Qt.Key.Key_N, Qt.Key.Key_R):
            QTest.keyClick(widget, key)
        qtbot.wait(100)
        assert window.snapshot is fit, f"a bare key typed into {type(widget).__name__} stepped or reset EM"
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=2000)
    QTest.keyClick(window.canvas, Qt.Key.Key_R)
    assert window.snapshot is None  # and R resets
