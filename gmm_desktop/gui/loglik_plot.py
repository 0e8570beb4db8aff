"""The log-likelihood after each EM iteration, live; a decrease (never made by EM) is marked in red."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout

from gmm_desktop.gui import palette

#: A change below ``-DECREASE_RTOL * |log-likelihood|`` is a decrease. Above it: rounding, or the
#: little likelihood ``reg_covar`` costs each M-step near a fixed point (the M-step maximises before
#: adding it): with a locked mean, iris showed steps of -7e-11 relative, invisible on the plot.
DECREASE_RTOL = 1e-9


class _IterationAxis(pg.AxisItem):
    """An axis of whole iteration numbers: no ticks between them."""

    def tickSpacing(self, minVal, maxVal, size):
        return [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                if spacing >= 1] or [(1.0, 0.0)]


class LogLikelihoodPlot(pg.PlotWidget):
    """One point per iteration of the session's current fit.

    Parameters
    ----------
    session : Session
    """

    def __init__(self, session, parent=None):
        super().__init__(parent, background=palette.BACKGROUND,
                         axisItems={"bottom": _IterationAxis("bottom")})
        self.setObjectName("logLikelihoodPlot")
        self._session = session
        plot = self.getPlotItem()
        palette.style_plot(plot, auto_si_prefix=False)
        plot.setTitle("Log-likelihood", color=palette.FOREGROUND, size="11.5pt")
        plot.setLabel("bottom", "iteration", **palette.label_style())
        self.curve = plot.plot([], [], pen=pg.mkPen(palette.TRACE, width=2), symbol="o", symbolSize=6,
                               symbolPen=None, symbolBrush=pg.mkBrush(palette.TRACE))
        self.decreases = pg.ScatterPlotItem(symbol="o", size=11, pen=pg.mkPen(palette.DECREASE, width=2),
                                            brush=pg.mkBrush(palette.DECREASE))
        self.decreases.setZValue(5)
        plot.addItem(self.decreases)
        self._hint = QLabel("Step or Run EM: the log-likelihood\nof each iteration appears here", self)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setStyleSheet("QLabel { color: #666; font-size: 11pt; background: transparent; }")
        self._hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        overlay = QVBoxLayout(self)
        overlay.addWidget(self._hint, 0, Qt.AlignmentFlag.AlignCenter)
        session.fit_changed.connect(self._on_fit_changed)

    def _on_fit_changed(self, snapshot) -> None:
        vb = getattr(snapshot, "method", "em") == "vb"
        title = "Lower bound (Bayesian VB)" if vb else "Log-likelihood"
        if self.getPlotItem().titleLabel.text != title:
            self.getPlotItem().setTitle(title, color=palette.FOREGROUND, size="11.5pt")
            self.getPlotItem().setLabel("left", "lower bound" if vb else "", **palette.label_style())
            if not vb:
                self.getPlotItem().showLabel("left", False)
        self._update_trace()

    def _update_trace(self) -> None:
        trace = np.asarray(self._session.trace, dtype=float)
        iterations = np.arange(1, len(trace) + 1)
        self.curve.setData(iterations, trace)
        # iterations 1..n, never negative ones around a single point, nor an old fit's range
        self.getPlotItem().setXRange(0.5, max(len(trace), 5) + 0.5, padding=0)
        before = np.concatenate(([self._session.initial_log_likelihood], trace[:-1]))
        with np.errstate(invalid="ignore"):
            down = np.flatnonzero(trace - before < -DECREASE_RTOL * np.abs(trace))
        self.decreases.setData(iterations[down], trace[down])
        self._hint.setVisible(len(trace) == 0)
        self.getPlotItem().getAxis("left").setStyle(showValues=len(trace) > 0)
