"""Export a plot as PNG or SVG: the scene drawn by Qt onto an image or onto Qt's SVG generator.

pyqtgraph 0.14's own SVGExporter fails with Qt 6.10 and later, whose SVG paths end in ``Z``
(pyqtgraph issue #3495), so SVG is drawn here as the PNG is, with the items in export mode.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
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
    _export_png(exporter, path)


def _export_png(exporter, path: str) -> None:
    """The plot as on screen, at :data:`PNG_SCALE` times its size: drawn on an image whose device
    pixel ratio is the scale, so text, markers and one-pixel outlines all grow together (pyqtgraph's
    ImageExporter scales the axes' text but not the legend's, nor cosmetic pens)."""
    source = exporter.getSourceRect()
    width, height = max(int(round(source.width())), 1), max(int(round(source.height())), 1)
    image = QImage(PNG_SCALE * width, PNG_SCALE * height, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(PNG_SCALE)
    image.fill(QColor(palette.BACKGROUND))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        exporter.getScene().render(painter, QRectF(0, 0, width, height), source)
    finally:
        painter.end()
    if not image.save(path, "PNG"):
        raise OSError(f"could not write {path!r}: check that the folder exists and is writable")


def _export_svg(exporter, path: str) -> None:
    source = exporter.getSourceRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(source.size().toSize())
    generator.setViewBox(target)
    generator.setTitle("gmm-desktop")
    generator.setResolution(96)
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
