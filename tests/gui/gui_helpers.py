"""Helpers for driving the scatter canvas with real mouse events."""

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

#: Initial means near the notebook's centres (1,-1), (5,5), (8,7), (10,0).
NOTEBOOK_START = np.array([[0.5, -0.5], [4.5, 5.5], [8.5, 6.5], [9.5, 0.5]])


def canvas_point(window, x, y) -> QPoint:
    """Widget (viewport) coordinates of the data point (x, y) on the scatter canvas."""
    canvas = window.canvas
    scene = canvas.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    return canvas.mapFromScene(scene)


def click_canvas(qtbot, window, x, y, button=Qt.MouseButton.LeftButton):
    QTest.mouseClick(window.canvas.viewport(), button, Qt.KeyboardModifier.NoModifier, canvas_point(window, x, y))


def place_means(qtbot, window, means):
    for x, y in means:
        before = len(window.means)
        click_canvas(qtbot, window, x, y)
        qtbot.waitUntil(lambda: len(window.means) == before + 1, timeout=2000)
    # wait until the worker has built the fitter for the last placement
    qtbot.waitUntil(lambda: window.session.shown is not None and window.session.shown.means.shape[0] == len(means),
                    timeout=5000)


def trigger(qtbot, window, name):
    """Trigger the action ``name`` that makes the worker compute, and wait for its answer."""
    from PySide6.QtGui import QAction

    with qtbot.waitSignal(window.session.controller.iterated, timeout=5000):
        window.findChild(QAction, name).trigger()


def step(qtbot, window, n=1):
    """Step ``n`` times; returns {iteration: means} of each step."""
    seen = {}
    for _ in range(n):
        trigger(qtbot, window, "actionStep")
        seen[window.snapshot.iteration] = window.snapshot.means.copy()
    return seen


def shown_resp(qtbot, window):
    """The responsibilities the canvas shows, once they are known."""
    if window.session.responsibilities_pending:
        qtbot.waitSignal(window.session.controller.responsibilities_ready, timeout=5000).wait()
    return window.snapshot.resp


def empty_canvas_point(window):
    """A point of the canvas inside the view and off every component (near its bottom-right corner):
    a click there places a mean."""
    (x0, x1), (y0, y1) = window.canvas.getPlotItem().vb.viewRange()
    for fx, fy in ((0.97, 0.03), (0.03, 0.03), (0.97, 0.97), (0.5, 0.03)):
        point = (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
        if window.canvas_probe.component_at(*point) is None:
            return point
    raise AssertionError("no empty spot on the canvas")
