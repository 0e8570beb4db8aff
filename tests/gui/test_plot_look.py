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


def test_a_legend_of_many_components_takes_two_short_columns(qtbot, make_window):
    from gmm_desktop.io import generator
    from gmm_desktop.core.init import kmeanspp_means

    data = generator.generate("medium", seed=0)
    window = make_window(data.X)
    window.session.set_means(kmeanspp_means(data.X, 12, seed=0))
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None, timeout=5000)
    legend = window.canvas._legend
    texts = [label.text for _, label in legend.items]
    assert legend.columnCount == 2 and texts[0].startswith("1: weight") and texts[-1] == "initial means"
    assert legend.sceneBoundingRect().height() < 0.5 * window.canvas.getPlotItem().vb.sceneBoundingRect().height()


def _grid_rows(image):
    """Rows of an image crossed by a major grid line (most of the row in the line's grey)."""
    import numpy as np
    from PySide6.QtGui import QImage

    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(gray.constBits(), np.uint8).reshape(gray.height(), gray.bytesPerLine())
    middle = pixels[:, gray.width() // 4: 3 * gray.width() // 4].astype(int)
    return np.flatnonzero(((middle >= 215) & (middle <= 238)).mean(axis=1) > 0.6)


def test_svg_export_keeps_the_grid_on_its_ticks_far_from_zero(plot, tmp_path):
    """Log-likelihoods of a million points are near -1e7: SVG's 6 significant digits in data
    coordinates put grid lines 6 px off their ticks; the grid is drawn in pixels."""
    import numpy as np
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    from gmm_desktop.gui.export import export_plot

    plot.getPlotItem().getViewBox().setRange(xRange=(0, 10), yRange=(-12_345_678, -12_345_478), padding=0)
    export_plot(plot, tmp_path / "plot.png")
    export_plot(plot, tmp_path / "plot.svg")
    png = QImage(str(tmp_path / "plot.png"))
    svg = QImage(png.size(), QImage.Format.Format_ARGB32)
    svg.fill(QColor("white"))
    painter = QPainter(svg)
    QSvgRenderer(str(tmp_path / "plot.svg")).render(painter)
    painter.end()
    png_rows, svg_rows = _grid_rows(png), _grid_rows(svg)
    assert len(png_rows) >= 3 and len(svg_rows) >= 3
    assert max(np.abs(png_rows - row).min() for row in svg_rows) <= 3  # pixels of the 2x image
