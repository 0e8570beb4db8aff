"""Presentation mode (``actionPresentationMode``, F5): the window drawn for a projector.

Fonts, point markers, ellipse and trace lines and means grow by :data:`SCALE` (the status bar and the
legend a little less: they are short of room), and the
canvas's legend moves out of the data into a margin on the right of the canvas. Unchecking the
action puts back the normal look. The mode is not remembered across restarts: a projector is a
moment, and a window opening with huge fonts on a laptop would look broken.

Installed by :class:`~gmm_desktop.gui.main_window.MainWindow` (``Presentation(window)``), which keeps
the window's own code small.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

from gmm_desktop.gui import palette

#: How much larger everything is drawn in presentation mode.
SCALE = 1.75
#: The status bar's text grows less (it is one line across the whole window), and these fields,
#: least needed by a class, make room for it.
STATUS_SCALE = 1.5
#: The legend grows less than the rest: beside the data it takes room from the canvas's width.
LEGEND_SCALE = 1.55
STATUS_HIDDEN = ("change", "points")
_NO_LIMIT = 16777215  # QWIDGETSIZE_MAX
#: Gap between the canvas's data area and its legend in presentation mode, in pixels.
LEGEND_GAP = 10


class Presentation(QObject):
    """Creates the checkable ``actionPresentationMode`` (F5) on ``window`` and applies it."""

    def __init__(self, window):
        super().__init__(window)
        self.window = w = window
        self.active = False
        w.actionPresentationMode = action = w._action(
            "actionPresentationMode", "&Presentation mode", None, ["F5"],
            tip="Larger fonts, points and lines for a projector; the legend beside the data")
        action.setCheckable(True)
        action.toggled.connect(self.set_active)
        self._view_menu().addAction(action)
        canvas = w.canvas
        self._base = {
            "marker": canvas.cloud.marker_size,
            "fitted": canvas._fitted_means.opts["size"],
            "placed": canvas._placed_means.opts["size"],
            "truth": canvas._truth_sample.opts["pen"].widthF(),
            "trace": w.loglik_plot.curve.opts["pen"].widthF() if hasattr(w.loglik_plot.curve.opts["pen"], "widthF")
            else 2.0,
            "trace_symbol": w.loglik_plot.curve.opts["symbolSize"],
            "decrease": w.loglik_plot.decreases.opts["size"],
            "status": w.statusBar().font().pointSizeF(),
            "title": "Log-likelihood",
        }
        self._margins = canvas.getPlotItem().layout.getContentsMargins()  # the normal ones
        canvas._legend.geometryChanged.connect(self._place_legend)
        w.session.data_changed.connect(self._style_axes)  # after the canvas's: new data, new axis titles
        canvas._legend.visibleChanged.connect(self._place_legend)

    def _view_menu(self) -> QMenu:
        bar = self.window.menuBar()
        for a in bar.actions():
            if a.menu() is not None and a.text().replace("&", "") == "View":
                return a.menu()
        return bar.addMenu("&View")

    @property
    def scale(self) -> float:
        return SCALE if self.active else 1.0

    def set_active(self, active: bool) -> None:
        """Presentation mode on or off (what the action's check does)."""
        active = bool(active)
        if self.window.actionPresentationMode.isChecked() != active:
            self.window.actionPresentationMode.setChecked(active)  # toggled calls back here
            return
        if active == self.active:
            return
        self.active = active
        s = self.scale
        w, canvas, base = self.window, self.window.canvas, self._base
        self._style_axes()
        w.loglik_plot.getPlotItem().setTitle(base["title"], color=palette.FOREGROUND, size=f"{11.5 * s:g}pt")
        curve = w.loglik_plot.curve
        curve.setPen(palette.trace_pen(base["trace"] * s))
        curve.setSymbolSize(base["trace_symbol"] * s)
        w.loglik_plot.decreases.setSize(base["decrease"] * s)
        canvas.cloud.set_marker_size(base["marker"] * s)
        canvas.ellipses.set_width_scale(s)
        canvas._fitted_means.setSize(base["fitted"] * s)
        canvas._placed_means.setSize(base["placed"] * s)
        pen = canvas._truth_sample.opts["pen"]
        pen.setWidthF(base["truth"] * s)
        canvas._truth_sample.setPen(pen)
        canvas._update_truth()
        font = w.statusBar().font()
        font.setPointSizeF(base["status"] * (STATUS_SCALE if active else 1.0))
        w.statusBar().setFont(font)
        w._status["state"].setFont(font)  # styled by a style sheet, which does not inherit the bar's font
        for name in STATUS_HIDDEN:  # a width limit, not hide(): the window shows and hides "change"
            w._status[name].setMaximumWidth(0 if active else _NO_LIMIT)
        legend = canvas._legend
        legend.setScale(LEGEND_SCALE if active else 1.0)
        if active:
            legend.setParentItem(canvas.getPlotItem())
        else:
            canvas.getPlotItem().layout.setContentsMargins(*self._margins)
            legend.setParentItem(canvas.getPlotItem().vb)
            legend.anchor((0, 0), (0, 0), offset=(12, 12))
        self._place_legend()
        canvas.viewport().update()
        w.loglik_plot.viewport().update()

    def _style_axes(self, *_args) -> None:
        w = self.window
        for plot in (w.canvas.getPlotItem(), w.loglik_plot.getPlotItem()):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setTickFont(palette.axis_font(self.scale))
                if axis.labelText:
                    axis.setLabel(axis.labelText, axis.labelUnits or None, **palette.label_style(self.scale))

    def _place_legend(self) -> None:
        """In presentation mode the legend sits in a right margin of the canvas, beside the data."""
        if not self.active:
            return
        canvas = self.window.canvas
        legend, plot = canvas._legend, canvas.getPlotItem()
        width = legend.boundingRect().width() * legend.scale() if legend.isVisible() else 0.0
        margin = int(width + 2 * LEGEND_GAP) if width else 0
        left, top, right, bottom = self._margins
        if plot.layout.getContentsMargins()[2] != right + margin:
            plot.layout.setContentsMargins(left, top, right + margin, bottom)
        legend.anchor((1, 0), (1, 0), offset=(-LEGEND_GAP, LEGEND_GAP))
