"""The scrubber under the log-likelihood plot: a slider over every state in the history (the
E and M half-steps included), and clicks on the plot, put any past iteration on the canvas.
It also marks, on the plot, the state shown and the iterations that were run as two halves."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from gmm_desktop.document import CURSOR, HISTORY
from gmm_desktop.gui import palette

HALF_COLOR = "#B45F06"


class HistoryBar(QWidget):
    """A slider over the session's history entries, and the plot's history marks.

    Parameters
    ----------
    session : Session
    plot : LogLikelihoodPlot
        Clicking near one of its points shows that iteration; it gets a line at the iteration shown
        and a diamond at every iteration whose M- and E-steps were run separately.
    """

    def __init__(self, session, plot, parent=None):
        super().__init__(parent)
        self.setObjectName("historyBar")
        self._session = session
        self._plot = plot
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("historySlider")
        self.slider.setToolTip("Drag to show any past iteration (← and → step through it)")
        self.slider.setEnabled(False)
        self.slider.setMinimumWidth(120)  # a usable scrubber however narrow the side (a dock open)
        self.label = QLabel("")
        self.label.setObjectName("historyLabel")
        self.label.setMinimumWidth(150)
        box = QHBoxLayout(self)
        box.setContentsMargins(8, 0, 8, 4)
        box.addWidget(QLabel("History"))
        box.addWidget(self.slider, 1)
        box.addWidget(self.label)
        item = plot.getPlotItem()
        self.cursor_line = pg.InfiniteLine(angle=90, movable=False,
                                           pen=pg.mkPen("#0B5CAD", width=1.5, style=Qt.PenStyle.DashLine))
        self.cursor_line.setVisible(False)
        item.addItem(self.cursor_line, ignoreBounds=True)
        self.halves = pg.ScatterPlotItem(symbol="d", size=13, pen=pg.mkPen(HALF_COLOR, width=1.6), brush=None)
        self.halves.setZValue(6)
        item.addItem(self.halves)
        self.slider.valueChanged.connect(self._on_slider)
        plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        session.fit_changed.connect(self._update)
        session.document.subscribe(lambda _change: self._update(), kinds=(CURSOR, HISTORY))

    def _on_slider(self, index: int) -> None:
        history = self._session.history
        if 0 <= index < len(history) and index != history.cursor:
            self._session._move_to(index)

    def _on_plot_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self._plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        x = vb.mapSceneToView(event.scenePos()).x()
        self.show_nearest(x)

    def show_nearest(self, x: float) -> None:
        """Show the iteration nearest to ``x`` on the plot's axis (if the history holds it)."""
        history = self._session.history
        if not len(history):
            return
        iteration = int(np.clip(round(x), history[0].iteration, history.last.iteration))
        self._session.show_iteration(iteration)

    def _update(self) -> None:
        history = self._session.history
        n = len(history)
        self.slider.blockSignals(True)
        self.slider.setEnabled(n > 1)
        self.slider.setRange(0, max(0, n - 1))
        if history.cursor is not None:
            self.slider.setValue(history.cursor)
        self.slider.blockSignals(False)
        entry = history.current
        if entry is None or self._session.snapshot is None:
            self.label.setText("")
            self.cursor_line.setVisible(False)
        else:
            half = {"M": " · after M", "E": " · after E" if _split(history, entry.iteration) else ""}[entry.phase]
            self.label.setText(f"iteration {entry.iteration} of {history.last.iteration}{half}")
            self.cursor_line.setValue(entry.iteration)
            self.cursor_line.setVisible(not history.at_end or entry.phase == "M")
        split = sorted({e.iteration for e in history if e.phase == "M"})
        lls = {e.iteration: e.log_likelihood for e in history if e.phase == "E"}
        xs = [i for i in split if i in lls]
        self.halves.setData(xs, [lls[i] for i in xs])


def _split(history, iteration: int) -> bool:
    return any(e.iteration == iteration and e.phase == "M" for e in history)
