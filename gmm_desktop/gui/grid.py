"""A faint grid drawn under a plot's data, in opaque colours.

pyqtgraph draws ``showGrid`` lines as part of the axes, over the data, in translucent pens. On a
1280 x 800 canvas those lines cost 7-20 ms of every pan or zoom frame (Qt blends each translucent
pixel; opaque lines are plain span fills), and they cross the points. This item draws the same
lines, at the axes' own tick values and with the axes' own fading from major to minor ticks, but in
the colour each faded line has on the background, under everything in the view, and in pixel
coordinates (as the axes draw their ticks).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPen

#: The grid's strength, as the opacity pyqtgraph's ``showGrid(alpha=...)`` would give it.
GRID_ALPHA = 0.12
#: Below every data item of the view (the points are at 0).
Z_VALUE = -50.0


class UnderGrid(pg.GraphicsObject):
    """Grid lines at the tick values of ``plot_item``'s bottom and left axes.

    Parameters
    ----------
    plot_item : pyqtgraph.PlotItem
        The grid is added to its view box and follows its view.
    line_color, background : str or QColor
        The colour of a fully opaque grid line (the axes' pen) and of the plot's background.
    alpha : float
        Strength of the major lines, 0-1, as in ``PlotItem.showGrid``.
    """

    def __init__(self, plot_item, line_color, background, alpha: float = GRID_ALPHA):
        super().__init__()
        self._plot = plot_item
        self._vb = plot_item.getViewBox()
        self._line = QColor(line_color)
        self._background = QColor(background)
        self._alpha = alpha
        self._pens: dict[int, QPen] = {}  # opacity 0-255 -> opaque pen of the blended colour
        # A child of the view box itself, not of its data group: drawn in pixels, so an SVG export
        # (6 significant digits) places lines near -1.2e7 on their ticks, under the data group.
        self.setParentItem(self._vb)
        self.setZValue(Z_VALUE)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._vb.sigRangeChanged.connect(self._on_view_changed)
        self._vb.sigResized.connect(self._on_resized)

    def _on_view_changed(self, *args) -> None:
        self.update()

    def _on_resized(self, *args) -> None:
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._vb.boundingRect()

    def lines(self) -> list[tuple[QPen, list[QLineF]]]:
        """The grid lines of the current view in data coordinates, with their pens, major first."""
        view = self._vb.viewRect()
        size = self._vb.boundingRect()
        out = []
        for name, vertical in (("bottom", True), ("left", False)):
            axis = self._plot.getAxis(name)
            lo, hi = (view.left(), view.right()) if vertical else (view.top(), view.bottom())
            length_px = size.width() if vertical else size.height()
            if not (hi > lo and length_px > 0):
                continue
            for level, (_, values) in enumerate(axis.tickValues(lo, hi, length_px)):
                # pyqtgraph's fading of grid lines: weaker for each minor level and for dense ticks
                fade = min(1.0, max(0.0, 0.05 * length_px / (len(values) + 1)))
                alpha = int(255 / (level + 1) * self._alpha * fade)
                if alpha <= 0 or not values:
                    continue
                if vertical:
                    segments = [QLineF(v, view.top(), v, view.bottom()) for v in values]
                else:
                    segments = [QLineF(view.left(), v, view.right(), v) for v in values]
                out.append((self._pen(alpha), segments))
        return out

    def _pen(self, alpha: int) -> QPen:
        if alpha not in self._pens:
            a = alpha / 255.0
            line, bg = self._line, self._background
            color = QColor(*(round(b + a * (c - b)) for c, b in
                             zip((line.red(), line.green(), line.blue()), (bg.red(), bg.green(), bg.blue()))))
            pen = QPen(color)
            pen.setWidth(0)  # cosmetic: one pixel whatever the zoom
            pen.setCosmetic(True)
            self._pens[alpha] = pen
        return self._pens[alpha]

    def paint(self, painter, *args) -> None:
        to_pixels = self._vb.childGroup.transform()  # data coordinates -> the view box's pixels
        painter.setRenderHint(painter.RenderHint.Antialiasing, False)
        for pen, segments in reversed(self.lines()):  # minor lines first, major ones over them
            painter.setPen(pen)
            painter.drawLines([to_pixels.map(segment) for segment in segments])
