"""The canvas's point layer: markers for few points, a density image for many, colours by
responsibility, and the switch between the two as the view zooms."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt

from gmm_desktop.gui import point_cloud
from gmm_desktop.gui.point_cloud import DENSITY, MARKER_MAX_POINTS, MARKERS, PointCloud

PALETTE = np.array([[0, 114, 178], [230, 159, 0], [0, 158, 115]], dtype=np.uint8)
CENTERS = np.array([[-10.0, -10.0], [10.0, -10.0], [0.0, 10.0]])


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget(background="w")
    widget.resize(640, 480)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def cloud(plot):
    return PointCloud(plot.getPlotItem())


def clusters(n, seed=0, scale=1.0):
    """``n`` points in three separated clusters, their labels, and one-hot responsibilities."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    X = CENTERS[labels] + rng.normal(scale=scale, size=(n, 2))
    resp = np.zeros((n, 3), dtype=np.float32)
    resp[np.arange(n), labels] = 1.0
    return X, labels, resp


def show_all(plot, cloud):
    plot.getViewBox().autoRange(padding=0.05)
    cloud.refresh()


def view(plot):
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    return x0, x1, y0, y1


def inside(X, x0, x1, y0, y1):
    return (X[:, 0] >= x0) & (X[:, 0] < x1) & (X[:, 1] >= y0) & (X[:, 1] < y1)


def test_few_points_are_markers(plot, cloud):
    X, _, _ = clusters(1000)
    cloud.set_points(X)
    show_all(plot, cloud)
    assert cloud.mode == MARKERS
    assert cloud.marker_count == 1000
    assert cloud.density_image is None
    assert not cloud.items[0].isVisible() and cloud.items[1].isVisible()


def test_many_points_are_a_density_image_until_zoomed_in_far(qtbot, plot, cloud):
    X, _, _ = clusters(200_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    assert cloud.mode == DENSITY
    assert cloud.marker_count == 0
    assert cloud.items[0].isVisible() and not cloud.items[1].isVisible()

    # zoom far into one cluster, through the view's own signal and the coalescing timer
    vb = plot.getViewBox()
    vb.setRange(xRange=(9.5, 10.5), yRange=(-10.5, -9.5), padding=0)
    assert cloud.refresh_pending
    qtbot.waitUntil(lambda: cloud.mode == MARKERS, timeout=2000)
    visible = inside(X, *view(plot)).sum()
    assert 0 < visible <= MARKER_MAX_POINTS
    assert visible <= cloud.marker_count <= 2 * MARKER_MAX_POINTS

    vb.autoRange(padding=0.05)
    qtbot.waitUntil(lambda: cloud.mode == DENSITY, timeout=2000)


def test_markers_hold_every_visible_point_when_zoomed_in(plot, cloud):
    X, labels, resp = clusters(120_000)
    cloud.set_points(X)
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    plot.getViewBox().setRange(xRange=(-0.5, 0.5), yRange=(9.5, 10.5), padding=0)
    cloud.refresh()
    assert cloud.mode == MARKERS
    held = cloud.items[1]._pos  # the marker positions
    x0, x1, y0, y1 = view(plot)
    want = X[inside(X, x0, x1, y0, y1)]
    got = held[inside(held, x0, x1, y0, y1)]
    assert sorted(map(tuple, want)) == sorted(map(tuple, got))
    np.testing.assert_array_equal(cloud.marker_colors, np.broadcast_to(PALETTE[2], cloud.marker_colors.shape))


def test_density_image_covers_the_view_and_counts_every_point_once(plot, cloud):
    X, _, _ = clusters(200_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    rect = cloud.density_rect
    x0, x1, y0, y1 = view(plot)
    assert rect.left() <= x0 and rect.right() >= x1 and rect.top() <= y0 and rect.bottom() >= y1

    # the image item sits exactly on that rectangle
    image = cloud.items[0]
    placed = image.mapRectToParent(image.boundingRect())
    for a, b in [(placed.left(), rect.left()), (placed.right(), rect.right()),
                 (placed.top(), rect.top()), (placed.bottom(), rect.bottom())]:
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9)

    counts = cloud.density_counts
    assert counts.shape == cloud.density_image.shape[:2]
    assert counts.sum() == inside(X, rect.left(), rect.right(), rect.top(), rect.bottom()).sum()
    assert counts.sum() == len(X)  # the whole data set is in view
    np.testing.assert_array_equal(cloud.density_image[..., 3] > 0, counts > 0)

    # a bin's count is the number of points in its cell (row 0 is the lowest y)
    h, w = counts.shape
    row, col = np.unravel_index(np.argmax(counts), counts.shape)
    dx, dy = rect.width() / w, rect.height() / h
    cell = inside(X, rect.left() + col * dx, rect.left() + (col + 1) * dx,
                  rect.top() + row * dy, rect.top() + (row + 1) * dy)
    assert counts[row, col] == cell.sum() > 0



def test_panning_past_the_margin_bins_the_new_region(plot, cloud):
    X = np.random.default_rng(0).uniform(-50, 50, size=(300_000, 2))
    cloud.set_points(X)
    vb = plot.getViewBox()
    vb.setRange(xRange=(-30, 30), yRange=(-30, 30), padding=0)
    cloud.refresh()
    first = cloud.density_rect
    assert cloud.mode == DENSITY
    vb.setRange(xRange=(-20, 40), yRange=(-30, 30), padding=0)  # within the margin: same image
    cloud.refresh()
    assert cloud.density_rect == first
    vb.setRange(xRange=(5, 65), yRange=(-30, 30), padding=0)  # past it: binned again
    cloud.refresh()
    rect = cloud.density_rect
    assert cloud.mode == DENSITY and rect.left() > first.left() and rect.right() >= 65
    assert cloud.density_counts.sum() == inside(X, rect.left(), rect.right(), rect.top(), rect.bottom()).sum()


def test_a_bin_owned_by_one_component_has_its_colour(plot, cloud):
    X, labels, resp = clusters(200_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    cloud.refresh()
    image, counts, rect = cloud.density_image, cloud.density_counts, cloud.density_rect
    h, w = counts.shape
    for k, (cx, cy) in enumerate(CENTERS):
        col = int((cx - rect.left()) / rect.width() * w)
        row = int((cy - rect.top()) / rect.height() * h)
        assert counts[row, col] > 0
        np.testing.assert_array_equal(image[row, col, :3], PALETTE[k])

    # on screen: the densest bin is opaque, so its pixel is exactly the component's colour
    row, col = np.unravel_index(np.argmax(counts), counts.shape)
    assert image[row, col, 3] == 255
    k = int(np.argmin(np.abs(CENTERS - [rect.left() + (col + 0.5) * rect.width() / w,
                                        rect.top() + (row + 0.5) * rect.height() / h]).sum(axis=1)))
    centre = QPointF(rect.left() + (col + 0.5) * rect.width() / w, rect.top() + (row + 0.5) * rect.height() / h)
    pixel = plot.mapFromScene(plot.getViewBox().mapViewToScene(centre))
    grabbed = plot.grab().toImage()
    around = {grabbed.pixelColor(pixel.x() + i, pixel.y() + j).getRgb()[:3] for i in (-1, 0, 1) for j in (-1, 0, 1)}
    assert tuple(int(c) for c in PALETTE[k]) in around  # (a pixel of a 2 x 2 bin; its neighbours blend)


def test_blended_and_hard_colours(plot, cloud):
    X, labels, resp = clusters(300)
    resp[:10] = [0.5, 0.5, 0.0]
    cloud.set_points(X)
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    colors = cloud.marker_colors
    np.testing.assert_array_equal(colors[10:], PALETTE[labels[10:]])
    np.testing.assert_array_equal(colors[:10], np.broadcast_to(np.rint((PALETTE[0] / 2.0 + PALETTE[1] / 2.0)),
                                                               (10, 3)))
    cloud.set_hard_labels(resp.argmax(axis=1), PALETTE)
    np.testing.assert_array_equal(cloud.marker_colors, PALETTE[resp.argmax(axis=1)])
    cloud.set_colors(np.ones((300, 3)))  # floats in [0, 1]
    np.testing.assert_array_equal(cloud.marker_colors, 255)
    cloud.set_colors(None)
    np.testing.assert_array_equal(cloud.marker_colors, np.broadcast_to([140, 140, 140], (300, 3)))


def test_hard_labels_in_density_mode(plot, cloud):
    X, labels, _ = clusters(150_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    cloud.set_hard_labels(labels, PALETTE)
    cloud.refresh()
    image, counts = cloud.density_image, cloud.density_counts
    occupied = counts > 0
    colours = {tuple(c) for c in image[occupied][:, :3]}
    assert colours == {tuple(c) for c in PALETTE}  # the clusters do not touch: no bin is mixed


def test_colours_of_many_points_are_computed_in_slices_newest_first(qtbot, plot, cloud, monkeypatch):
    X, labels, resp = clusters(300_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    monkeypatch.setattr(point_cloud, "WORK_BUDGET_MS", 0.0)  # one slice per event-loop pass
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    assert cloud.refresh_pending
    other = resp[:, [1, 2, 0]]  # cluster 0 now owned by component 2
    cloud.set_colors_from_responsibilities(other, PALETTE)  # waits for the first to be drawn
    drawn = []
    cloud.colors_drawn.connect(lambda: drawn.append(cloud.density_image[..., :3].copy()))
    qtbot.waitUntil(lambda: not cloud.refresh_pending, timeout=5000)
    assert len(drawn) == 2
    image, counts, rect = cloud.density_image, cloud.density_counts, cloud.density_rect
    h, w = counts.shape
    cx, cy = CENTERS[0]
    col, row = int((cx - rect.left()) / rect.width() * w), int((cy - rect.top()) / rect.height() * h)
    np.testing.assert_array_equal(drawn[0][row, col], PALETTE[0])
    np.testing.assert_array_equal(image[row, col, :3], PALETTE[2])


def test_set_points_replaces_and_clear_empties(plot, cloud):
    X, _, resp = clusters(200_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    assert cloud.mode == DENSITY

    small, _, _ = clusters(500, seed=1)
    cloud.set_points(small)
    show_all(plot, cloud)
    assert cloud.n_points == 500
    assert cloud.mode == MARKERS and cloud.marker_count == 500
    np.testing.assert_array_equal(cloud.marker_colors, np.broadcast_to([140, 140, 140], (500, 3)))
    with pytest.raises(ValueError, match="500 points"):
        cloud.set_colors_from_responsibilities(resp, PALETTE)  # the old data's responsibilities

    cloud.clear()
    assert cloud.n_points == 0
    assert cloud.marker_count == 0
    assert cloud.density_image is None
    assert not cloud.refresh_pending
    plot.getViewBox().autoRange()  # nothing to frame: no error


def test_remove_takes_the_items_off_the_plot(plot, cloud):
    cloud.set_points(clusters(200_000)[0])
    cloud.remove()
    for item in cloud.items:
        assert item.scene() is None
        assert item not in plot.getPlotItem().items
    plot.getViewBox().setRange(xRange=(0, 1), yRange=(0, 1))  # no longer followed: no error


def test_auto_range_frames_all_points_whatever_is_drawn(plot, cloud):
    X, _, _ = clusters(200_000)
    cloud.set_points(X)
    vb = plot.getViewBox()
    vb.setRange(xRange=(0, 0.1), yRange=(10, 10.1), padding=0)  # markers for a few points
    cloud.refresh()
    vb.autoRange(padding=0)
    x0, x1, y0, y1 = view(plot)
    assert x0 <= X[:, 0].min() + 1e-9 and x1 >= X[:, 0].max() - 1e-9
    assert y0 <= X[:, 1].min() + 1e-9 and y1 >= X[:, 1].max() - 1e-9


def test_items_stay_below_overlays_and_let_clicks_through(plot, cloud):
    for item in cloud.items:
        assert item.zValue() < 5  # truth outlines at 5, ellipses at 10
        assert item.acceptedMouseButtons() == Qt.MouseButton.NoButton


def test_bad_inputs_say_what_to_pass(cloud):
    with pytest.raises(ValueError, match=r"X\[:, :2\]"):
        cloud.set_points(np.zeros((10, 3)))
    cloud.set_points(np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"\(10, 3\)"):
        cloud.set_colors(np.zeros((9, 3)))
    with pytest.raises(ValueError, match=r"palette of shape \(3, 3\)"):
        cloud.set_colors_from_responsibilities(np.full((10, 3), 1 / 3, np.float32), PALETTE[:2])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        cloud.set_hard_labels(np.full(10, 3), PALETTE)


def test_non_finite_points_are_not_drawn(plot, cloud):
    X, _, _ = clusters(100_000)
    X[:5] = np.nan
    X[5:10] = np.inf
    cloud.set_points(X)
    show_all(plot, cloud)
    assert cloud.mode == DENSITY
    assert cloud.density_counts.sum() == len(X) - 10


@pytest.mark.parametrize("n", [300, 120_000])
def test_exports_draw_the_points(tmp_path, plot, cloud, n):
    import pyqtgraph.exporters
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgGenerator

    X, labels, resp = clusters(n)
    cloud.set_points(X)
    show_all(plot, cloud)
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    cloud.refresh()
    exporter = pg.exporters.ImageExporter(plot.getPlotItem())
    exporter.parameters()["width"] = 2 * int(exporter.getSourceRect().width())
    exporter.export(str(tmp_path / "cloud.png"))
    image = QImage(str(tmp_path / "cloud.png"))
    colours = {image.pixelColor(x, y).getRgb()[:3] for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3)}
    assert any(max(abs(a - int(b)) for a, b in zip(c, PALETTE[0])) <= 40 for c in colours)

    generator = QSvgGenerator()
    generator.setFileName(str(tmp_path / "cloud.svg"))
    painter = QPainter(generator)
    exporter.setExportMode(True, {"antialias": True, "background": None, "painter": painter,
                                  "resolutionScale": 1.0})
    try:
        exporter.getScene().render(painter)
    finally:
        exporter.setExportMode(False)
        painter.end()
    svg = (tmp_path / "cloud.svg").read_text()
    assert "<svg" in svg
    if n <= MARKER_MAX_POINTS:
        assert svg.count("<image") == 0  # circles, not bitmaps


def test_colouring_many_points_starts_after_the_call_returns(qtbot, plot, cloud):
    """The call usually sits inside a whole frame's work: the first slice waits for the event loop."""
    X, _, resp = clusters(300_000)
    cloud.set_points(X)
    show_all(plot, cloud)
    before = cloud.density_image.copy()
    drawn = []
    cloud.colors_drawn.connect(lambda: drawn.append(True))
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    assert cloud.refresh_pending and not drawn
    np.testing.assert_array_equal(cloud.density_image, before)  # still the neutral colour
    qtbot.waitUntil(lambda: bool(drawn) and not cloud.refresh_pending, timeout=5000)
    assert not np.array_equal(cloud.density_image, before)


def test_colouring_few_points_is_done_within_the_call(plot, cloud):
    X, _, resp = clusters(point_cloud.COLOR_SLICE)
    cloud.set_points(X)
    show_all(plot, cloud)
    cloud.set_colors_from_responsibilities(resp, PALETTE)
    assert not cloud.refresh_pending
