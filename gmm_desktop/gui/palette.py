"""Colours and fonts shared by the canvas and the log-likelihood plot (a light theme for projection)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QFont

#: Okabe–Ito (colour-blind safe, without its yellow, which vanishes on white), two Tableau 10
#: colours, then seven picked to stay far (in RGB) from all before them: sixteen components, a
#: common Find K range, get sixteen distinct colours.
COMPONENT_COLORS = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
    "#9C755F", "#59A14F", "#7F7F7F",
    "#4B0082", "#800000", "#1B4332", "#8CD17D", "#A0CBE8", "#2F4B7C", "#E15759",
)
BACKGROUND = "#FFFFFF"
FOREGROUND = "#222222"
POINT_NEUTRAL = "#8C8C8C"
TRUTH = "#333333"
TRUTH_LIGHT = "#8A8A8A"  # the dashed true clusters, lighter than the fitted ellipses drawn over them
DECREASE = "#D62728"
TRACE = "#333333"

_RGB = np.array([QColor(c).getRgb()[:3] for c in COMPONENT_COLORS], dtype=np.float32)


def component_color(k: int, alpha: int = 255) -> QColor:
    """The colour of component ``k`` (the palette repeats after sixteen components)."""
    color = QColor(COMPONENT_COLORS[k % len(COMPONENT_COLORS)])
    color.setAlpha(alpha)
    return color


def component_rgb(n_components: int) -> np.ndarray:
    """Colours of the first ``n_components`` components, float32 array of shape (n_components, 3)."""
    return _RGB[np.arange(n_components) % len(_RGB)]


def axis_font(scale: float = 1.0) -> QFont:
    font = QFont()
    font.setPointSizeF(10.5 * scale)
    return font


def label_style(scale: float = 1.0) -> dict:
    """Keyword arguments of ``PlotItem.setLabel`` for readable axis titles (``scale``: presentation mode)."""
    return {"color": FOREGROUND, "font-size": f"{11 * scale:g}pt"}


def trace_pen(width: float = 2.0):
    """The pen of the log-likelihood trace."""
    import pyqtgraph as pg

    return pg.mkPen(TRACE, width=width)


def style_plot(plot, auto_si_prefix: bool = True) -> None:
    """The app's look for a ``pg.PlotItem``: a faint grid under the data, no context menu or
    buttons, dark axes with readable tick labels (``auto_si_prefix=False`` keeps plain numbers on
    the axes)."""
    import pyqtgraph as pg

    from gmm_desktop.gui.grid import UnderGrid

    plot.under_grid = UnderGrid(plot, FOREGROUND, BACKGROUND)
    plot.setMenuEnabled(False, None)
    plot.hideButtons()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(FOREGROUND))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.setTickFont(axis_font())
        if not auto_si_prefix:
            axis.enableAutoSIPrefix(False)
