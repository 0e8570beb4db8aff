"""Presentation mode (F5), the faded responsibility colouring (blending as an option) and the dashed
true clusters under the fitted ellipses."""

import numpy as np
from PySide6.QtGui import QAction, QColor

from gmm_desktop.gui import palette
from gmm_desktop.gui.main_window import settings_store
from gmm_desktop.gui.point_cloud import faded_colors

from gui_helpers import NOTEBOOK_START, place_means


def fit(qtbot, window, n=3):
    place_means(qtbot, window, NOTEBOOK_START)
    for _ in range(n):
        with qtbot.waitSignal(window.session.controller.iterated, timeout=5000):
            window.actionStep.trigger()
    shown(qtbot, window)


def shown(qtbot, window):
    """Wait until the canvas has taken the shown responsibilities, then draw them at once."""
    qtbot.waitUntil(lambda: window.snapshot is not None and window.snapshot.resp is not None
                    and window.canvas._drawn_resp is window.snapshot.resp, timeout=5000)
    window.canvas.cloud.refresh()


def sizes(window):
    canvas, plot = window.canvas, window.loglik_plot
    return {
        "tick font": canvas.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF(),
        "trace tick font": plot.getPlotItem().getAxis("left").style["tickFont"].pointSizeF(),
        "status font": window.statusBar().font().pointSizeF(),
        "marker": canvas.cloud.marker_size,
        "fitted mean": canvas._fitted_means.opts["size"],
        "ellipse pen": max(pen.widthF() for pen, _ in canvas.ellipses._paths),
        "trace pen": plot.curve.opts["pen"].widthF(),
        "trace symbol": plot.curve.opts["symbolSize"],
        "legend": canvas._legend.sceneBoundingRect().height(),
    }


def legend_overlaps_data(window):
    canvas = window.canvas
    return canvas._legend.sceneBoundingRect().intersects(canvas.getPlotItem().vb.sceneBoundingRect())


def test_presentation_mode_enlarges_and_moves_the_legend_out_of_the_data_then_restores(qtbot, window):
    fit(qtbot, window)
    action = window.findChild(QAction, "actionPresentationMode")
    assert action.isCheckable() and action.shortcut().toString() == "F5"
    normal = sizes(window)
    assert window.canvas._legend.isVisible() and legend_overlaps_data(window)
    action.trigger()
    qtbot.wait(50)  # the layout settles
    big = sizes(window)
    for name, value in normal.items():
        assert big[name] >= 1.5 * value, name
    assert not legend_overlaps_data(window)
    assert window.canvas._legend.sceneBoundingRect().right() <= window.canvas.sceneRect().right() + 1
    action.trigger()
    qtbot.wait(50)
    assert not action.isChecked()
    restored = sizes(window)
    for name, value in normal.items():
        assert abs(restored[name] - value) < 1e-6 * max(1.0, value) + 0.5 * (name == "legend"), name
    assert legend_overlaps_data(window)


def test_presentation_mode_is_not_remembered(qtbot, make_window):
    window = make_window()
    window.actionPresentationMode.trigger()
    window.close()
    again = make_window()
    assert not again.actionPresentationMode.isChecked()
    assert again.canvas.cloud.marker_size == window.presentation._base["marker"]


def test_faded_colour_keeps_the_top_components_hue_and_pales_with_doubt():
    pal = np.array([[0, 114, 178], [230, 159, 0]], dtype=np.float32)
    resp = np.array([[1.0, 0.0], [0.5, 0.5], [0.75, 0.25], [0.0, 1.0]], dtype=np.float32)
    rgb = faded_colors(resp, pal).T
    np.testing.assert_allclose(rgb[0], pal[0], atol=0.5)
    np.testing.assert_allclose(rgb[3], pal[1], atol=0.5)
    blend = resp[1] @ pal
    for row in (1, 2):
        color = QColor(*np.rint(rgb[row]).astype(int))
        assert color.lightness() > QColor(*pal[0].astype(int)).lightness()  # paler than a sure point
        assert abs(color.hsvHue() - QColor(*pal[0].astype(int)).hsvHue()) <= 2  # component 1's hue
        assert not np.allclose(rgb[row], blend, atol=10)  # not the olive mix of blue and orange
    assert QColor(*np.rint(rgb[1]).astype(int)).lightness() > QColor(*np.rint(rgb[2]).astype(int)).lightness()
    # the labels the worker sends give the same colours
    np.testing.assert_allclose(faded_colors(resp, pal, labels=resp.argmax(axis=1)), rgb.T)


def test_window_fades_by_default_and_blends_as_an_option_that_persists(qtbot, window, make_window):
    fit(qtbot, window, 1)
    snap = window.snapshot
    pal = palette.component_rgb(snap.resp.shape[1])
    drawn = window.canvas.cloud.marker_colors.astype(float)
    top = snap.resp.argmax(axis=1)
    expected = faded_colors(snap.resp, pal).T
    assert np.abs(drawn - expected).max() <= 9  # markers round colours to 16 levels at most
    unsure = snap.resp.max(axis=1) < 0.9
    assert unsure.any()
    window.panel.blend_check.setChecked(True)
    window.canvas.cloud.refresh()
    blended = window.canvas.cloud.marker_colors.astype(float)
    assert np.abs(blended - snap.resp @ pal).max() <= 9
    assert np.abs(blended[unsure] - drawn[unsure]).max() > 20
    sure = snap.resp.max(axis=1) > 0.999
    np.testing.assert_allclose(blended[sure], pal[top[sure]], atol=9)
    window.close()
    again = make_window()
    assert again.panel.blend_check.isChecked() and again.canvas._blend
    again.panel.blend_check.setChecked(False)
    again.close()
    assert str(settings_store().value("display/blend")).lower() == "false"


def test_true_clusters_are_dashed_lighter_and_under_the_fitted_ellipses(qtbot, window):
    fit(qtbot, window, 2)
    window.panel.truth_check.setChecked(True)
    curves = window.canvas._truth_curves
    assert curves
    fitted_pens = [pen for pen, _ in window.canvas.ellipses._paths]
    for curve in curves:
        pen = curve.opts["pen"]
        assert pen.style() != 1  # not a solid line (Qt.SolidLine)
        assert curve.zValue() < window.canvas.ellipses.zValue()
        assert curve.zValue() > window.canvas.cloud.items[1].zValue()
        assert pen.color().lightness() > max(p.color().lightness() for p in fitted_pens[::3])
