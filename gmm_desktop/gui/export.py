"""Export a plot as PNG (pyqtgraph's ImageExporter) or SVG (drawn the same way onto Qt's SVG generator).

pyqtgraph 0.14's own SVGExporter fails with Qt 6.10 and later, whose SVG paths end in ``Z``
(pyqtgraph issue #3495), so SVG is drawn here as the PNG is, with the items in export mode.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtSvg import QSvgGenerator

from gmm_desktop.gui import palette

#: PNGs are drawn at this multiple of the widget's size, sharp enough for slides.
PNG_SCALE = 2


def export_plot(widget: pg.PlotWidget, path) -> None:
    """Write ``widget``'s plot to ``path``: SVG if it ends in ``.svg``, else PNG.

    Raises
    ------
    OSError
        When the file cannot be written.
    """
    path = os.fspath(path)
    exporter = pg.exporters.ImageExporter(widget.getPlotItem())
    if Path(path).suffix.lower() == ".svg":
        _export_svg(exporter, path)
        return
    exporter.parameters()["width"] = PNG_SCALE * max(int(exporter.getSourceRect().width()), 1)
    exporter.parameters()["background"] = QColor(palette.BACKGROUND)
    if not exporter.export(path):
        raise OSError(f"could not write {path!r}: check that the folder exists and is writable")


def _export_svg(exporter, path: str) -> None:
    source = exporter.getSourceRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(source.size().toSize())
    generator.setViewBox(target)
    generator.setTitle("gmm-desktop")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path!r}: check that the folder exists and is writable")
    background = QColor(palette.BACKGROUND)
    try:
        painter.fillRect(target, background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        exporter.setExportMode(True, {"antialias": True, "background": background, "painter": painter,
                                      "resolutionScale": 1.0})
        exporter.getScene().render(painter, target, source)
    finally:
        exporter.setExportMode(False)
        painter.end()
