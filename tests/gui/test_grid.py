"""The plots' look: the grid (under the data, opaque, at the axes' tick values) and the colours."""

import pyqtgraph as pg
import pytest

from gmm_desktop.gui import palette
from gmm_desktop.gui.grid import UnderGrid


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget(background=palette.BACKGROUND)
    widget.resize(640, 480)
    qtbot.addWidget(widget)
    palette.style_plot(widget.getPlotItem())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def major_lines(grid, vertical):
    for pen, segments in grid.lines():
        positions = [s.x1() if vertical else s.y1() for s in segments]
        if all((s.x1() == s.x2()) == vertical for s in segments):
            return pen, positions
    raise AssertionError("no grid lines in that direction")


def test_grid_lines_sit_on_the_major_ticks_and_follow_the_view(plot):
    item = plot.getPlotItem()
    grid = item.under_grid
    assert isinstance(grid, UnderGrid)
    assert not item.getAxis("bottom").grid  # pyqtgraph's own grid (over the data) is off
    item.getViewBox().setRange(xRange=(0, 10), yRange=(-5, 5), padding=0)
    _, xs = major_lines(grid, vertical=True)
    _, ys = major_lines(grid, vertical=False)
    labelled = item.getAxis("bottom").tickValues(0, 10, item.getViewBox().boundingRect().width())[0][1]
    assert xs == pytest.approx(labelled) and 0 in xs and 10 in xs  # where the axis writes its numbers
    assert 0 in ys
    item.getViewBox().setRange(xRange=(100, 110), yRange=(-5, 5), padding=0)
    _, xs = major_lines(grid, vertical=True)
    assert min(xs) >= 100 and max(xs) <= 110


def test_grid_is_opaque_faint_and_under_every_data_item(plot):
    item = plot.getPlotItem()
    grid = item.under_grid
    curve = item.plot([0, 1], [0, 1])
    item.getViewBox().setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    pens = [pen for pen, _ in grid.lines()]
    assert pens and all(pen.color().alpha() == 255 and pen.isCosmetic() for pen in pens)
    assert all(pen.color().lightness() > 200 for pen in pens)  # faint on the white background
    assert grid.zValue() < curve.zValue()
    assert grid.acceptedMouseButtons() == pg.QtCore.Qt.MouseButton.NoButton


def test_sixteen_components_get_sixteen_distinct_colours():
    import numpy as np

    rgb = palette.component_rgb(16)
    distances = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)[np.triu_indices(16, 1)]
    assert distances.min() > 40  # out of 441 between black and white
    np.testing.assert_array_equal(palette.component_rgb(17)[16], rgb[0])  # then the colours repeat
