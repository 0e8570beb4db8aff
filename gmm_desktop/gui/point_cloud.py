"""The data points of the scatter canvas, drawn fast at any size.

Up to :data:`MARKER_MAX_POINTS` points are drawn as small round markers. Above that the points are
drawn as a density image: the view is cut into bins of :data:`BIN_PX` screen pixels, and each bin
shows the mean colour of its points with an opacity that rises with the logarithm of their number.
The image is recomputed (coalesced by a short single-shot timer) only when the view leaves the
region it was computed for or is zoomed by more than a little, so panning only moves one texture.
When the view is zoomed in so far that at most :data:`MARKER_MAX_POINTS` points are visible, the
visible points (and a margin around them) are drawn as markers again.

The layer holds no EM mathematics: colours come in as per-point colours, responsibilities
(faded: the most responsible component's colour, towards the background by how unsure the point is;
or blended: ``resp @ palette``) or hard labels (``palette[labels]``).

    cloud = PointCloud(plot_item)
    cloud.set_points(X[:, :2])
    cloud.set_colors_from_responsibilities(snapshot.resp, palette.component_rgb(k))
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals as _pg_internals
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from gmm_desktop.gui import palette as _palette

#: At most this many points (in the data set, or visible after zooming in) are drawn as markers.
MARKER_MAX_POINTS = 50_000
#: Marker diameter in screen pixels, and marker opacity (0-255).
MARKER_SIZE = 5.0
MARKER_ALPHA = 210
#: Width and height of one density bin, in screen pixels.
BIN_PX = 2
#: The density image (and the zoomed-in markers) cover the view plus this fraction of its width
#: and height on every side, so that panning by less than that needs no recomputation.
MARGIN = 0.5
#: The density image is recomputed when the zoom changes the bin size by more than this factor.
REBIN_ZOOM_FACTOR = 1.4
#: Delay of the coalesced recomputation after a change of view, in milliseconds.
REFRESH_DELAY_MS = 20
#: Opacity (0-255) of a bin holding a single point; the densest bin is opaque.
DENSITY_ALPHA_MIN = 110
#: Largest density image side, in bins.
MAX_BINS = 4096
#: Markers use at most this many distinct colours (beyond it, colours are rounded to 16 levels).
MAX_MARKER_COLORS = 4096
#: New colours are computed in slices of this many points, and a slice of work is handed back to
#: the event loop after this many milliseconds, so a million points never stall it.
COLOR_SLICE = 65_536
WORK_BUDGET_MS = 8.0
#: Products per block of points stay below OpenBLAS's threshold for threading (65536 * 4
#: multiply-adds), as in :mod:`gmm_desktop.core.fast`.
BLAS_BLOCK_ELEMENTS = 200_000
#: Stacking order of the points: below the truth outlines (5) and the ellipses (10).
Z_VALUE = 0.0

MARKERS = "markers"
DENSITY = "density"


# ---------------------------------------------------------------------------------------------
# pure helpers


def colors_from_responsibilities(resp: np.ndarray, palette: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Blended colour of every point, channel-planar: ``(resp @ palette).T``.

    Computed in blocks of points small enough that OpenBLAS runs each product on the calling
    thread: its own threads, spinning against the EM threads, made single products stall for
    up to 150 ms on a busy two-core machine.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities (rows sum to one).
    palette : ndarray of shape (n_components, 3)
        Component colours, 0-255.
    out : ndarray of shape (3, n_samples), float32, optional
        Where to write the result.

    Returns
    -------
    rgb : ndarray of shape (3, n_samples), float32
    """
    resp = np.asarray(resp)
    palette = np.asarray(palette)
    if resp.ndim != 2 or palette.shape != (resp.shape[1], 3):
        raise ValueError(
            f"responsibilities of shape {resp.shape} need a palette of shape ({resp.shape[-1]}, 3), "
            f"got {palette.shape}: pass one colour per component")
    dtype = np.float64 if resp.dtype == np.float64 else np.float32
    planar = np.ascontiguousarray(palette.T, dtype=dtype)  # (3, n_components)
    resp = resp.astype(dtype, copy=False)
    n = len(resp)
    if out is None:
        out = np.empty((3, n), dtype=np.float32)
    block = max(256, BLAS_BLOCK_ELEMENTS // (3 * max(1, resp.shape[1])))
    for start in range(0, n, block):
        stop = min(n, start + block)
        out[:, start:stop] = planar @ resp[start:stop].T
    return out


#: The palest a point gets (at equal responsibilities): this fraction of its colour over the background.
FADE_MIN = 0.2


def faded_colors(resp: np.ndarray, palette: np.ndarray, background=(255, 255, 255),
                 labels: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """The most responsible component's colour, faded towards ``background`` by the point's doubt.

    A point wholly given to one component (responsibility 1) gets that component's colour; a point
    shared equally by all ``K`` components (responsibility ``1/K``) keeps :data:`FADE_MIN` of it.
    The hue is always a component's own, never a mix of two (a blend of blue and orange reads as an
    extra, olive component), channel-planar like :func:`colors_from_responsibilities`.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
    palette : ndarray of shape (n_components, 3)
        Component colours, 0-255.
    background : three numbers, 0-255
    labels : ndarray of shape (n_samples,), optional
        ``resp.argmax(axis=1)`` if known (EM's worker sends it): an argmax over a few columns
        costs NumPy ten times the rest of the colouring.
    out : ndarray of shape (3, n_samples), float32, optional

    Returns
    -------
    rgb : ndarray of shape (3, n_samples), float32
    """
    resp = np.asarray(resp)
    palette = np.asarray(palette, dtype=np.float32)
    if resp.ndim != 2 or palette.shape != (resp.shape[1], 3):
        raise ValueError(
            f"responsibilities of shape {resp.shape} need a palette of shape ({resp.shape[-1]}, 3), "
            f"got {palette.shape}: pass one colour per component")
    n, k = resp.shape
    if out is None:
        out = np.empty((3, n), dtype=np.float32)
    if n == 0:
        return out
    top = np.argmax(resp, axis=1) if labels is None else np.asarray(labels, dtype=np.intp)
    share = np.take_along_axis(resp, top[:, None], axis=1)[:, 0].astype(np.float32)
    if k > 1:  # 1/K -> FADE_MIN, 1 -> 1
        share -= 1.0 / k
        share *= (1.0 - FADE_MIN) * k / (k - 1.0)
        share += FADE_MIN
        np.clip(share, FADE_MIN, 1.0, out=share)
    else:
        share[:] = 1.0
    bg = np.asarray(background, dtype=np.float32).reshape(3, 1)
    planar = np.ascontiguousarray(palette.T) - bg  # (3, K): colour minus background
    for c in range(3):
        np.take(planar[c], top, out=out[c])
    out *= share
    out += bg
    return out


def bin_points(X: np.ndarray, x0: float, y0: float, dx: float, dy: float, width: int,
               height: int) -> np.ndarray:
    """Flat bin index ``row * width + column`` of every point; points outside get ``width * height``.

    Bin ``(row, column)`` covers ``[x0 + column * dx, x0 + (column + 1) * dx)`` by
    ``[y0 + row * dy, y0 + (row + 1) * dy)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 2)

    Returns
    -------
    flat : ndarray of shape (n_samples,), intp
    """
    fx = X[:, 0] - x0
    fx *= 1.0 / dx
    fy = X[:, 1] - y0
    fy *= 1.0 / dy
    inside = (fx >= 0) & (fx < width) & (fy >= 0) & (fy < height)
    np.clip(fx, 0, width - 1, out=fx)
    np.clip(fy, 0, height - 1, out=fy)
    with np.errstate(invalid="ignore"):  # non-finite values; they are outside anyway
        flat = fy.astype(np.intp)
        flat *= width
        flat += fx.astype(np.intp)
    flat[~inside] = width * height
    return flat


def density_alpha(counts: np.ndarray) -> np.ndarray:
    """Opacity of non-empty bins: :data:`DENSITY_ALPHA_MIN` for one point, rising with log(count)
    to 255 for the densest bin.

    Parameters
    ----------
    counts : ndarray of shape (n_bins,), all >= 1

    Returns
    -------
    alpha : ndarray of shape (n_bins,), uint8
    """
    if len(counts) == 0:
        return np.empty(0, dtype=np.uint8)
    cmax = float(counts.max())
    if cmax <= 1:
        return np.full(len(counts), DENSITY_ALPHA_MIN, dtype=np.uint8)
    alpha = np.log(counts.astype(np.float32))
    alpha *= (255.0 - DENSITY_ALPHA_MIN) / math.log(cmax)
    alpha += DENSITY_ALPHA_MIN
    return np.clip(np.rint(alpha), 0, 255).astype(np.uint8)


def compact_bins(flat: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the non-empty bins ``0 .. m-1``, so per-bin sums only touch occupied bins.

    Parameters
    ----------
    flat : ndarray of shape (n_samples,)
        Bin of each point, ``n_bins`` for points outside every bin (see :func:`bin_points`).

    Returns
    -------
    counts : ndarray of shape (n_bins,)
        Points per bin.
    occupied : ndarray of shape (m,)
        The non-empty bins, ascending.
    compact : ndarray of shape (n_samples,), intp
        Each point's position in ``occupied``, or ``m`` for points outside.
    """
    counts = np.bincount(flat, minlength=n_bins + 1)[:n_bins]
    occupied = np.flatnonzero(counts)
    rank = np.full(n_bins + 1, len(occupied), dtype=np.intp)
    rank[occupied] = np.arange(len(occupied))
    return counts, occupied, rank[flat]


def _as_planar_rgb(rgb, n: int) -> np.ndarray | None:
    """Per-point colours as float32 of shape (3, n) in 0-255 (``None`` stays ``None``)."""
    if rgb is None:
        return None
    rgb = np.asarray(rgb)
    if rgb.shape != (n, 3):
        raise ValueError(f"colours must have shape ({n}, 3), one RGB row per point; got {rgb.shape}")
    if rgb.dtype.kind not in "fiu":
        raise ValueError(f"colours must be uint8 (0-255) or floats in [0, 1]; got dtype {rgb.dtype}")
    planar = np.ascontiguousarray(rgb.T, dtype=np.float32)  # each channel contiguous, for bincount
    if rgb.dtype.kind == "f":
        planar *= 255.0
    if rgb.dtype != np.uint8:
        np.clip(planar, 0, 255, out=planar)
    return planar


def _expand(rect: tuple[float, float, float, float], margin: float) -> tuple[float, float, float, float]:
    x0, x1, y0, y1 = rect
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    return x0 - mx, x1 + mx, y0 - my, y1 + my


def _contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] and outer[2] <= inner[2] and inner[3] <= outer[3]


# ---------------------------------------------------------------------------------------------
# graphics items


class _SymbolAtlas:
    """Round marker symbols, one per colour, packed in one pixmap for ``drawPixmapFragments``.

    The pixmap is composed with NumPy from one antialiased disc (drawn once per device pixel ratio)
    times each colour, so thousands of colours cost a few milliseconds, not one QPainter call each.
    """

    COLUMNS = 64

    def __init__(self, size: float):
        self.size = size
        self.colors = np.zeros((0, 3), dtype=np.uint8)  # the colour of each slot
        self._pixmap: QPixmap | None = None
        self._dpr = 0.0
        self._disc: np.ndarray | None = None  # (cell, cell) coverage in [0, 1]

    def cell(self, dpr: float) -> int:
        return int(math.ceil(self.size * dpr)) + 2

    def set_colors(self, colors: np.ndarray) -> None:
        """One slot per row of ``colors`` (ndarray of shape (n_slots, 3), uint8), in order."""
        self.colors = colors
        self._pixmap = None

    def pixmap(self, dpr: float) -> QPixmap:
        if self._pixmap is not None and dpr == self._dpr:
            return self._pixmap
        cell = self.cell(dpr)
        if self._disc is None or dpr != self._dpr:
            self._disc = self._draw_disc(cell, self.size * dpr)
            self._dpr = dpr
        n = max(1, len(self.colors))
        rows = -(-n // self.COLUMNS)
        colors = np.zeros((rows * self.COLUMNS, 3), dtype=np.float32)
        colors[:len(self.colors)] = self.colors
        alpha = self._disc * (MARKER_ALPHA / 255.0)  # (cell, cell)
        pixels = np.empty((rows, cell, self.COLUMNS, cell, 4), dtype=np.float32)
        pixels[..., :3] = colors.reshape(rows, 1, self.COLUMNS, 1, 3) * alpha[None, :, None, :, None]
        pixels[..., 3] = 255.0 * alpha[None, :, None, :]
        data = np.ascontiguousarray(np.rint(pixels).astype(np.uint8).reshape(rows * cell, self.COLUMNS * cell, 4))
        image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0],
                       QImage.Format.Format_RGBA8888_Premultiplied)
        self._pixmap = QPixmap.fromImage(image)  # a copy: ``data`` may go
        return self._pixmap

    @staticmethod
    def _draw_disc(cell: int, diameter: float) -> np.ndarray:
        image = QImage(cell, cell, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 255))
        painter.drawEllipse(QRectF((cell - diameter) / 2, (cell - diameter) / 2, diameter, diameter))
        painter.end()
        bits = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(cell, image.bytesPerLine() // 4, 4)
        return bits[:, :cell, 3].astype(np.float32) / 255.0


class _MarkerItem(pg.GraphicsObject):
    """Round markers of a fixed pixel size, coloured per point, drawn from a symbol atlas in one
    ``drawPixmapFragments`` call; setting data is vectorised (no per-point Python)."""

    def __init__(self, size: float = MARKER_SIZE):
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._atlas = _SymbolAtlas(size)
        self._pos = np.empty((0, 2))
        self._slot = np.empty(0, dtype=np.intp)
        self._rgb8 = np.empty((0, 3), dtype=np.uint8)
        self._data_rect = QRectF()
        self._bounds: QRectF | None = None
        self._frags = _pg_internals.PrimitiveArray(QPainter.PixmapFragment, 10)

    def __len__(self) -> int:
        return len(self._pos)

    @property
    def colors(self) -> np.ndarray:
        """The drawn colour of every marker, ndarray of shape (n_markers, 3), uint8."""
        return self._rgb8

    def set_data(self, pos: np.ndarray, rgb8: np.ndarray) -> None:
        """
        Parameters
        ----------
        pos : ndarray of shape (n_markers, 2)
        rgb8 : ndarray of shape (n_markers, 3), uint8
        """
        self.prepareGeometryChange()
        self._pos = np.ascontiguousarray(pos, dtype=np.float64)
        self._bounds = None
        if len(pos):
            lo, hi = self._pos.min(axis=0), self._pos.max(axis=0)
            self._data_rect = QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
        else:
            self._data_rect = QRectF()
        self.set_colors(rgb8)

    @property
    def size(self) -> float:
        return self._atlas.size

    def set_size(self, size: float) -> None:
        """Marker diameter in screen pixels."""
        self.prepareGeometryChange()
        colors = self._atlas.colors
        self._atlas = _SymbolAtlas(size)
        self._atlas.set_colors(colors)
        self._bounds = None
        self.update()

    def set_colors(self, rgb8: np.ndarray) -> None:
        """Recolour the markers; ``rgb8`` : ndarray of shape (n_markers, 3), uint8."""
        rgb8 = np.asarray(rgb8, dtype=np.uint8)
        codes = (rgb8[:, 0].astype(np.int32) << 16) | (rgb8[:, 1].astype(np.int32) << 8) | rgb8[:, 2]
        uniq, inverse = np.unique(codes, return_inverse=True)
        if len(uniq) > MAX_MARKER_COLORS:  # many blends: round to 16 levels per channel
            rgb8 = ((rgb8.astype(np.uint16) + 8) // 17 * 17).astype(np.uint8)
            codes = (rgb8[:, 0].astype(np.int32) << 16) | (rgb8[:, 1].astype(np.int32) << 8) | rgb8[:, 2]
            uniq, inverse = np.unique(codes, return_inverse=True)
        self._rgb8 = rgb8
        self._atlas.set_colors(np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.uint8))
        self._slot = inverse.reshape(-1)
        self.update()

    def viewTransformChanged(self):
        super().viewTransformChanged()  # drops pyqtgraph's cached view rect, which paint() culls to
        self.prepareGeometryChange()
        self._bounds = None

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            if self._data_rect.isNull() and len(self._pos) == 0:
                self._bounds = QRectF()
            else:
                px, py = self.pixelVectors()
                pad_x = 0.0 if px is None else px.length() * (self._atlas.size + 2)
                pad_y = 0.0 if py is None else py.length() * (self._atlas.size + 2)
                self._bounds = self._data_rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)
        return self._bounds

    def paint(self, painter, option, widget=None):
        if len(self._pos) == 0:
            return
        tr = painter.transform()
        x, y = self._pos[:, 0], self._pos[:, 1]
        view = self.viewRect()
        if view is not None:  # cull to the view, plus a marker's width
            pad_x = self._atlas.size / max(abs(tr.m11()), 1e-300)
            pad_y = self._atlas.size / max(abs(tr.m22()), 1e-300)
            keep = ((x >= view.left() - pad_x) & (x <= view.right() + pad_x)
                    & (y >= view.top() - pad_y) & (y <= view.bottom() + pad_y))
            x, y, slot = x[keep], y[keep], self._slot[keep]
        else:
            slot = self._slot
        if len(x) == 0:
            return
        if self._exportOpts is not False:  # exporters: vector circles, scaled like the rest
            self._paint_for_export(painter, tr, x, y, slot, self._exportOpts.get("resolutionScale", 1.0))
            return
        dpr = widget.devicePixelRatioF() if widget is not None else painter.device().devicePixelRatioF()
        pixmap = self._atlas.pixmap(dpr)
        cell = self._atlas.cell(dpr)
        cols = _SymbolAtlas.COLUMNS
        self._frags.resize(len(x))
        frags = self._frags.ndarray()
        frags[:, 0] = tr.m11() * x + tr.m21() * y + tr.m31()
        frags[:, 1] = tr.m12() * x + tr.m22() * y + tr.m32()
        frags[:, 2] = (slot % cols) * cell
        frags[:, 3] = (slot // cols) * cell
        frags[:, 4:6] = cell
        frags[:, 6:8] = 1.0 / dpr
        frags[:, 8] = 0.0
        frags[:, 9] = 1.0
        painter.resetTransform()
        painter.drawPixmapFragments(*self._frags.drawargs(), pixmap)

    def _paint_for_export(self, painter, tr, x, y, slot, scale: float) -> None:
        """One circle per marker (an SVG gets shapes, not thousands of embedded bitmaps)."""
        px = tr.m11() * x + tr.m21() * y + tr.m31()
        py = tr.m12() * x + tr.m22() * y + tr.m32()
        colors = self._atlas.colors
        radius = self._atlas.size * scale / 2
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        order = np.argsort(slot, kind="stable")
        groups = np.flatnonzero(np.diff(slot[order], prepend=-1, append=-1))
        for start, stop in zip(groups[:-1], groups[1:]):
            red, green, blue = colors[slot[order[start]]].tolist()
            painter.setBrush(QColor(red, green, blue, MARKER_ALPHA))
            for i in order[start:stop].tolist():
                painter.drawEllipse(QPointF(px[i], py[i]), radius, radius)


class _DensityItem(pg.ImageItem):
    """The density image (row-major RGBA); clicks go through it to the canvas."""

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)


class _ExtentItem(pg.GraphicsObject):
    """Draws nothing; tells the view box the data's extent, so auto-range frames all the points
    whatever subset the markers or the density image hold."""

    def __init__(self):
        super().__init__()
        self.setFlag(self.GraphicsItemFlag.ItemHasNoContents, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._extent: tuple[float, float, float, float] | None = None

    def set_extent(self, extent) -> None:
        self._extent = extent
        self.informViewBoundsChanged()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if self._extent is None:
            return None
        return self._extent[2 * ax], self._extent[2 * ax + 1]

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None):
        pass


# ---------------------------------------------------------------------------------------------
# the layer


class _ColorJob:
    """New colours for every point, computed a slice at a time.

    Parameters
    ----------
    n : int
        Number of points.
    fill : callable or None
        ``fill(start, stop, out)`` writes the colours of points ``start:stop`` into ``out``, an
        ndarray of shape (3, stop - start), float32, 0-255. ``None`` when ``rgb`` is ready.
    rgb : ndarray of shape (3, n), float32, or None
        Colours known already (``None`` with ``fill=None``: the neutral colour).
    """

    def __init__(self, n: int, fill=None, rgb: np.ndarray | None = None):
        self.fill = fill
        self.rgb = np.empty((3, n), dtype=np.float32) if fill is not None else rgb
        self.done = 0 if fill is not None else n  # points coloured so far
        self.sums: np.ndarray | None = None  # (3, n_occupied) colour sums per occupied bin
        self.channels = 0  # channels of ``sums`` computed
        self.grid_version = -1  # the binning ``sums`` belong to


class PointCloud(QObject):
    """The data points of a plot: markers for few points, a density image for many.

    New colours are validated when they are set, then computed and drawn in slices of about
    :data:`WORK_BUDGET_MS` of work, each handed back to the event loop, so that a million points
    never stall it; small data sets finish within the call. Colours set while others are being
    computed wait for them (newer ones replace older ones still waiting). A change of view is
    applied :data:`REFRESH_DELAY_MS` after its first signal (later ones are coalesced). Call
    :meth:`refresh` to apply everything pending at once.

    Parameters
    ----------
    plot_item : pyqtgraph.PlotItem, ViewBox or PlotWidget
        The layer adds its items to it (excluded from auto-range, except for an invisible item that
        reports the data's extent) and follows its view range.
    marker_size : float
        Marker diameter in screen pixels.
    """

    colors_drawn = Signal()  # new colours are in the items (on screen from the next paint)

    def __init__(self, plot_item, marker_size: float = MARKER_SIZE, parent: QObject | None = None):
        if hasattr(plot_item, "getPlotItem"):
            plot_item = plot_item.getPlotItem()
        self._owner = plot_item
        self._vb = plot_item.getViewBox() if hasattr(plot_item, "getViewBox") else plot_item
        super().__init__(parent if parent is not None else self._vb)
        self._neutral = QColor(_palette.POINT_NEUTRAL).getRgb()[:3]
        self._markers = _MarkerItem(marker_size)
        self._image = _DensityItem()
        self._extent_item = _ExtentItem()
        for item in (self._image, self._markers, self._extent_item):
            item.setZValue(Z_VALUE)
            plot_item.addItem(item, ignoreBounds=item is not self._extent_item)
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(REFRESH_DELAY_MS)
        self._view_timer.timeout.connect(self._on_view_timer)
        self._work_timer = QTimer(self)
        self._work_timer.setSingleShot(True)
        self._work_timer.setInterval(0)
        self._work_timer.timeout.connect(self._on_work_timer)
        self._grid_version = 0
        self._reset_data(np.empty((0, 2)))
        self._update_drawing()
        self._vb.sigRangeChanged.connect(self._on_view_changed)
        self._vb.sigResized.connect(self._on_view_changed)

    # -- read-only state
    @property
    def mode(self) -> str:
        """``"markers"`` or ``"density"``: how the points are drawn now."""
        return self._mode or MARKERS

    @property
    def n_points(self) -> int:
        return len(self._X)

    @property
    def marker_count(self) -> int:
        """How many points the markers hold (all, or those around the view when zoomed in)."""
        return len(self._markers) if self._mode == MARKERS else 0

    @property
    def marker_colors(self) -> np.ndarray:
        """Drawn colours of the markers, ndarray of shape (marker_count, 3), uint8."""
        return self._markers.colors if self._mode == MARKERS else np.empty((0, 3), np.uint8)

    @property
    def density_rect(self) -> QRectF | None:
        """The data-coordinate rectangle the density image covers (``None`` unless in density mode)."""
        if self._mode != DENSITY:
            return None
        x0, y0, dx, dy, w, h = self._grid
        return QRectF(x0, y0, w * dx, h * dy)

    @property
    def density_counts(self) -> np.ndarray | None:
        """Points per bin, ndarray of shape (height, width); row 0 is the lowest y."""
        if self._mode != DENSITY:
            return None
        return self._counts.reshape(self._grid[5], self._grid[4])

    @property
    def density_image(self) -> np.ndarray | None:
        """The density image shown, ndarray of shape (height, width, 4), RGBA uint8; row 0 is the
        lowest y."""
        return self._image.image if self._mode == DENSITY else None

    @property
    def colors_pending(self) -> bool:
        """Whether new colours are still being computed (``colors_drawn`` follows when they are drawn)."""
        return self._job is not None

    @property
    def points(self) -> np.ndarray:
        """The points as drawn, in canvas coordinates, ndarray of shape (n, 2) (read only)."""
        return self._X

    @property
    def refresh_pending(self) -> bool:
        """Whether a change of view or new colours are still to be drawn (see :meth:`refresh`)."""
        return self._view_timer.isActive() or self._job is not None

    @property
    def extent_item(self):
        """The item that tells the view box the points' extent (to frame them, ``autoRange(items=[...])``)."""
        return self._extent_item

    @property
    def items(self) -> tuple:
        """The graphics items this layer added (to remove them, or change their z value)."""
        return self._image, self._markers, self._extent_item

    # -- data
    def set_points(self, X: np.ndarray) -> None:
        """Show new points in the neutral colour, replacing any previous points and colours.

        Parameters
        ----------
        X : ndarray of shape (n_samples, 2)
            Data coordinates.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"points must have shape (n_samples, 2); got {X.shape}: pass X[:, :2]")
        self._reset_data(np.array(X, order="C", copy=True))
        extent = None
        if len(self._X):
            x, y = self._X[:, 0], self._X[:, 1]
            extent = (x.min(), x.max(), y.min(), y.max())
            if not np.isfinite(extent).all():
                finite = self._X[np.isfinite(self._X).all(axis=1)]
                extent = (finite[:, 0].min(), finite[:, 0].max(), finite[:, 1].min(), finite[:, 1].max()) \
                    if len(finite) else None
            if len(self._X) > MARKER_MAX_POINTS:
                self._order = np.argsort(self._X[:, 0])
                self._xs = self._X[self._order, 0]
                self._ys = self._X[self._order, 1]
        self._extent_item.set_extent(extent)
        self._update_drawing()

    def set_colors(self, rgb) -> None:
        """Colour each point.

        Parameters
        ----------
        rgb : ndarray of shape (n_samples, 3) or None
            uint8 (0-255) or floats in [0, 1]; ``None`` for the neutral colour.
        """
        self._start(_ColorJob(len(self._X), rgb=_as_planar_rgb(rgb, len(self._X))))

    def set_colors_from_responsibilities(self, resp: np.ndarray, palette: np.ndarray) -> None:
        """Colour each point by the blend of component colours weighted by its responsibilities.

        Parameters
        ----------
        resp : ndarray of shape (n_samples, n_components)
        palette : ndarray of shape (n_components, 3)
            Component colours, 0-255.
        """
        resp, palette = np.asarray(resp), np.asarray(palette)
        if resp.ndim != 2 or len(resp) != len(self._X):
            raise ValueError(f"responsibilities of shape {resp.shape} do not fit the {len(self._X)} points "
                             "shown: set the points first, and pass one row per point")
        if palette.shape != (resp.shape[1], 3):
            raise ValueError(f"{resp.shape[1]} components need a palette of shape ({resp.shape[1]}, 3); "
                             f"got {palette.shape}")

        def fill(start, stop, out):
            colors_from_responsibilities(resp[start:stop], palette, out=out)

        self._start(_ColorJob(len(self._X), fill))

    def set_faded_colors(self, resp: np.ndarray, palette: np.ndarray, labels: np.ndarray | None = None) -> None:
        """Colour each point by its most responsible component, faded towards white by its doubt
        (:func:`faded_colors`).

        Parameters
        ----------
        resp : ndarray of shape (n_samples, n_components)
        palette : ndarray of shape (n_components, 3)
            Component colours, 0-255.
        labels : ndarray of shape (n_samples,), optional
            ``resp.argmax(axis=1)``, if known (much faster).
        """
        resp, palette = np.asarray(resp), np.asarray(palette)
        if resp.ndim != 2 or len(resp) != len(self._X):
            raise ValueError(f"responsibilities of shape {resp.shape} do not fit the {len(self._X)} points "
                             "shown: set the points first, and pass one row per point")
        if palette.shape != (resp.shape[1], 3):
            raise ValueError(f"{resp.shape[1]} components need a palette of shape ({resp.shape[1]}, 3); "
                             f"got {palette.shape}")
        if labels is not None and np.shape(labels) != (len(resp),):
            raise ValueError(f"labels must have shape ({len(resp)},), one per point; got {np.shape(labels)}")
        background = QColor(_palette.BACKGROUND).getRgb()[:3]

        def fill(start, stop, out):
            faded_colors(resp[start:stop], palette, background,
                         labels=None if labels is None else labels[start:stop], out=out)

        self._start(_ColorJob(len(self._X), fill))

    def set_marker_size(self, size: float) -> None:
        """Marker diameter in screen pixels (presentation mode draws them larger)."""
        self._markers.set_size(size)

    @property
    def marker_size(self) -> float:
        return self._markers.size

    def set_hard_labels(self, labels: np.ndarray, palette: np.ndarray) -> None:
        """Colour each point by its label's colour (e.g. ``labels = resp.argmax(axis=1)``).

        Parameters
        ----------
        labels : ndarray of shape (n_samples,), ints in ``[0, len(palette))``
        palette : ndarray of shape (n_labels, 3)
            Colours, 0-255.
        """
        labels, palette = np.asarray(labels), np.asarray(palette, dtype=np.float32)
        if labels.shape != (len(self._X),):
            raise ValueError(f"labels must have shape ({len(self._X)},), one per point; got {labels.shape}")
        if palette.ndim != 2 or palette.shape[1] != 3:
            raise ValueError(f"the palette must have shape (n_labels, 3); got {palette.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(palette)):
            raise ValueError(f"labels must lie in [0, {len(palette)}): pass one palette colour per label")
        planar = np.ascontiguousarray(palette.T)

        def fill(start, stop, out):
            np.take(planar, labels[start:stop], axis=1, out=out)

        self._start(_ColorJob(len(self._X), fill))

    def clear(self) -> None:
        """Remove every point."""
        self._reset_data(np.empty((0, 2)))
        self._extent_item.set_extent(None)
        self._update_drawing()

    def set_z_value(self, z: float) -> None:
        for item in self.items:
            item.setZValue(z)

    def refresh(self) -> None:
        """Draw now what is pending: a change of view, colours still being computed."""
        self._view_timer.stop()
        self._update_drawing()
        while self._job is not None:
            self._work(budget_ms=math.inf)

    def remove(self) -> None:
        """Take the layer's items off the plot and stop following its view (the layer is unusable
        afterwards)."""
        self._reset_data(np.empty((0, 2)))
        self._vb.sigRangeChanged.disconnect(self._on_view_changed)
        self._vb.sigResized.disconnect(self._on_view_changed)
        for item in self.items:
            self._owner.removeItem(item)
        self.setParent(None)

    # -- events
    def _on_view_changed(self, *args) -> None:
        if len(self._X) > MARKER_MAX_POINTS and not self._view_timer.isActive():
            self._view_timer.start()

    def _on_view_timer(self) -> None:
        self._update_drawing()

    def _on_work_timer(self) -> None:
        self._work(WORK_BUDGET_MS)

    # -- colours
    def _start(self, job: _ColorJob) -> None:
        if len(self._X) == 0:
            return
        if self._job is not None:
            self._next_job = job  # replaces any job still waiting
            return
        self._job = job
        if len(self._X) > COLOR_SLICE:  # not inside the caller's event (often a whole frame's work)
            self._work_timer.start()
        else:  # few points: all of it now, whatever the machine's load (one slice costs little)
            self._work(budget_ms=math.inf)

    def _work(self, budget_ms: float) -> None:
        """Advance the colour job for about ``budget_ms``; continue later, or draw the result."""
        self._work_timer.stop()
        job = self._job
        deadline = time.perf_counter() + budget_ms / 1000.0
        n = len(self._X)
        worked = False  # at least one slice per call, whatever the budget

        def out_of_time():
            if worked and time.perf_counter() > deadline:
                self._work_timer.start()
                return True
            return False

        while job.done < n:
            if out_of_time():
                return
            stop = min(n, job.done + COLOR_SLICE)
            job.fill(job.done, stop, job.rgb[:, job.done:stop])
            job.done, worked = stop, True
        if self._mode == DENSITY and job.rgb is not None:
            if job.grid_version != self._grid_version:  # (re)start the sums on the current bins
                job.sums = np.empty((3, len(self._occupied)))
                job.channels, job.grid_version = 0, self._grid_version
            while job.channels < 3:
                if out_of_time():
                    return
                job.sums[job.channels] = self._bin_sums(job.rgb[job.channels])
                job.channels, worked = job.channels + 1, True
        if out_of_time():  # drawing is one more slice
            return
        self._rgb = job.rgb
        if self._mode == DENSITY:
            self._show_density(job.sums)
        else:
            self._markers.set_colors(self._marker_rgb8(self._marker_idx))
        self._job, self._next_job = self._next_job, None
        if self._job is not None:
            self._work_timer.start()
        self.colors_drawn.emit()

    # -- updating
    def _reset_data(self, X: np.ndarray) -> None:
        self._view_timer.stop()
        self._work_timer.stop()
        self._job: _ColorJob | None = None  # colours being computed
        self._next_job: _ColorJob | None = None  # colours waiting for it
        self._X = X
        self._rgb: np.ndarray | None = None  # (3, N) float32, 0-255; None: neutral
        self._order = self._xs = self._ys = None  # points sorted by x (only for many points)
        self._mode: str | None = None  # None: nothing drawn yet
        self._marker_idx: np.ndarray | None = None  # the points the markers hold; None: all
        self._marker_rect = None  # (x0, x1, y0, y1) they cover; None: everything
        self._grid = None  # (x0, y0, dx, dy, width, height) of the density bins
        self._counts = np.zeros(0, dtype=np.intp)  # points per bin
        self._occupied = np.zeros(0, dtype=np.intp)  # the non-empty bins
        self._compact: np.ndarray | None = None  # each point's index into _occupied
        self._inv_counts = np.zeros(0)  # 1 / count of each occupied bin
        self._alpha = np.zeros(0, dtype=np.uint8)  # opacity of each occupied bin

    def _update_drawing(self) -> None:
        """Draw what the view needs: all markers, the markers around the view, or the density
        image; recomputed only when the view has left what was computed or the zoom has changed."""
        n = len(self._X)
        if n <= MARKER_MAX_POINTS:
            if self._mode != MARKERS:
                self._show_markers(None, None)
            return
        view = self._view_rect()
        if self._count_in(view) <= MARKER_MAX_POINTS:
            if self._mode != MARKERS or self._marker_rect is None or not _contains(self._marker_rect, view):
                rect = _expand(view, MARGIN)
                idx = self._indices_in(rect)
                if len(idx) > 2 * MARKER_MAX_POINTS:
                    rect, idx = view, self._indices_in(view)
                self._show_markers(idx, rect)
            return
        padded = _expand(view, MARGIN)
        dx, dy = self._bin_size(view)
        dx = max(dx, (padded[1] - padded[0]) / MAX_BINS)
        dy = max(dy, (padded[3] - padded[2]) / MAX_BINS)
        grid = self._grid
        if (self._mode != DENSITY
                or not _contains((grid[0], grid[0] + grid[4] * grid[2], grid[1], grid[1] + grid[5] * grid[3]), view)
                or not 1 / REBIN_ZOOM_FACTOR < grid[2] / dx < REBIN_ZOOM_FACTOR
                or not 1 / REBIN_ZOOM_FACTOR < grid[3] / dy < REBIN_ZOOM_FACTOR):
            self._rebin(padded, dx, dy)
            self._show_density()

    def _set_mode(self, mode: str) -> None:
        if mode == self._mode:
            return
        self._mode = mode
        self._image.setVisible(mode == DENSITY)
        self._markers.setVisible(mode == MARKERS)
        if mode == DENSITY:
            self._markers.set_data(np.empty((0, 2)), np.empty((0, 3), np.uint8))
        else:
            self._image.clear()

    def _view_rect(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self._vb.viewRange()
        return x0, x1, y0, y1

    def _bin_size(self, view) -> tuple[float, float]:
        """Data size of a bin of :data:`BIN_PX` screen pixels."""
        rect = self._vb.boundingRect()
        w_px = rect.width() if rect.width() >= 2 else 512.0
        h_px = rect.height() if rect.height() >= 2 else 512.0
        x0, x1, y0, y1 = view
        tiny = 1e-12 * max(1.0, *map(abs, view))
        return max((x1 - x0) / w_px * BIN_PX, tiny), max((y1 - y0) / h_px * BIN_PX, tiny)

    def _count_in(self, rect) -> int:
        lo, hi = int(np.searchsorted(self._xs, rect[0], "left")), int(np.searchsorted(self._xs, rect[1], "right"))
        if hi - lo <= MARKER_MAX_POINTS:
            return hi - lo
        ys = self._ys[lo:hi]
        return int(np.count_nonzero((ys >= rect[2]) & (ys <= rect[3])))

    def _indices_in(self, rect) -> np.ndarray:
        """Indices of the points inside ``rect = (x0, x1, y0, y1)`` (edges included), ascending."""
        lo, hi = int(np.searchsorted(self._xs, rect[0], "left")), int(np.searchsorted(self._xs, rect[1], "right"))
        ys = self._ys[lo:hi]
        idx = self._order[lo:hi][(ys >= rect[2]) & (ys <= rect[3])]
        idx.sort()
        return idx

    def _marker_rgb8(self, idx: np.ndarray | None) -> np.ndarray:
        n = len(self._X) if idx is None else len(idx)
        if self._rgb is None:
            return np.broadcast_to(np.array(self._neutral, dtype=np.uint8), (n, 3))
        rgb = self._rgb if idx is None else self._rgb[:, idx]
        return np.rint(rgb.T).astype(np.uint8)

    def _show_markers(self, idx: np.ndarray | None, rect) -> None:
        self._marker_idx = idx
        self._marker_rect = rect
        self._markers.set_data(self._X if idx is None else self._X[idx], self._marker_rgb8(idx))
        self._set_mode(MARKERS)

    def _rebin(self, rect, dx: float, dy: float) -> None:
        x0, x1, y0, y1 = rect
        width = int(min(MAX_BINS, max(1, math.ceil((x1 - x0) / dx))))
        height = int(min(MAX_BINS, max(1, math.ceil((y1 - y0) / dy))))
        self._grid = (x0, y0, dx, dy, width, height)
        self._grid_version += 1
        flat = bin_points(self._X, x0, y0, dx, dy, width, height)
        self._counts, self._occupied, self._compact = compact_bins(flat, width * height)
        occupied_counts = self._counts[self._occupied]
        self._inv_counts = 1.0 / occupied_counts
        self._alpha = density_alpha(occupied_counts)

    def _bin_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (one per point) in each occupied bin, shape (n_occupied,)."""
        m = len(self._occupied)
        return np.bincount(self._compact, weights=values, minlength=m + 1)[:m]

    def _show_density(self, sums: np.ndarray | None = None) -> None:
        """Draw the density image from the current bins and colours (``sums``: the colours' per-bin
        sums, if known)."""
        x0, y0, dx, dy, width, height = self._grid
        block = np.empty((len(self._occupied), 4), dtype=np.uint8)  # RGBA of each occupied bin
        block[:, 3] = self._alpha
        if self._rgb is None:
            block[:, :3] = self._neutral
        else:
            for ch in range(3):
                mean = self._bin_sums(self._rgb[ch]) if sums is None else sums[ch].copy()
                mean *= self._inv_counts
                np.rint(mean, out=mean)
                np.clip(mean, 0, 255, out=mean)
                block[:, ch] = mean
        pixels = np.zeros(width * height, dtype=np.uint32)
        pixels[self._occupied] = block.view(np.uint32).ravel()
        self._image.setImage(pixels.view(np.uint8).reshape(height, width, 4), autoLevels=False, levels=None)
        self._image.setRect(x0, y0, width * dx, height * dy)
        self._set_mode(DENSITY)
