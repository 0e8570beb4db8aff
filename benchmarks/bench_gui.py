"""Speed of the canvas's point layer (``gmm_desktop.gui.point_cloud.PointCloud``) with a million
points, against pyqtgraph's plain ScatterPlotItem holding the same points, in the same run.

Prints one table: time to the first frame after loading, time per frame of a sequence of pans and
zooms, time from new responsibilities to a repainted frame, and the longest stall of a 10 ms
heartbeat timer on the GUI thread while new responsibilities arrive at 30 Hz (alone, and with a real
EM fit running on another thread), with baselines (the empty plot, the idle event loop). A frame
is ``setRange`` (or new colours) followed by ``QApplication.processEvents()``, which repaints the
shown plot once. Qt runs offscreen unless QT_QPA_PLATFORM says otherwise; offscreen raster painting
is what a window does minus the copy to the screen. Machines are shared and noisy: read medians and
ratios. Results and their reading: docs/performance.md.

    python benchmarks/bench_gui.py                     # 1M points, with the reference (~1 min)
    python benchmarks/bench_gui.py --n 50000           # the marker path at its largest size
    python benchmarks/bench_gui.py --no-reference      # PointCloud only
    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1280x1024x24" python benchmarks/bench_gui.py
"""

from __future__ import annotations

import argparse
import os
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtGui import QBrush, QColor  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gmm_desktop.gui import palette  # noqa: E402
from gmm_desktop.gui.point_cloud import MARKER_SIZE, PointCloud  # noqa: E402

FRAME_S = 1 / 60  # pan/zoom steps are spaced like mouse events at 60 Hz


class _Plot(pg.PlotWidget):
    """A plot widget that counts its paint events."""

    def __init__(self):
        super().__init__(background=palette.BACKGROUND)
        self.paints = 0
        self.paint_times = []
        self.getPlotItem().setAspectLocked(True)
        palette.style_plot(self.getPlotItem())  # the canvas's axes and grid

    def paintEvent(self, ev):
        self.paints += 1
        t = time.perf_counter()
        super().paintEvent(ev)
        self.paint_times.append(time.perf_counter() - t)


def instrument(cloud):
    """Record how long each piece of the layer's own work on the GUI thread takes (a slice of new
    colours, a re-binning after a change of view, a ``set_*`` call): ``cloud.chunks``."""
    cloud.chunks = []

    def timed(fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                cloud.chunks.append(time.perf_counter() - t)
        return wrapper

    # instance attributes shadow the methods the layer's timers and public calls go through
    for name in ("_work", "_update_drawing", "_start"):
        setattr(cloud, name, timed(getattr(cloud, name)))


def make_data(n, k, seed=0):
    """``n`` points around ``k`` centres, and three sets of responsibilities of shape (n, k)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-20, 20, size=(k, 2))
    X = centers[rng.integers(0, k, size=n)] + rng.normal(scale=1.5, size=(n, 2))
    resps = []
    for shift in (0.0, 0.5, 1.0):
        c = centers + shift
        d2 = (X[:, 0, None] - c[:, 0]) ** 2 + (X[:, 1, None] - c[:, 1]) ** 2
        logp = -0.5 * d2 / 2.25
        logp -= logp.max(axis=1, keepdims=True)
        r = np.exp(logp, dtype=np.float32)
        r /= r.sum(axis=1, keepdims=True)
        resps.append(r)
    return X, resps


def pump(app, seconds):
    """Run the event loop for ``seconds``."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)


def settle(app, cloud=None):
    app.processEvents()
    while cloud is not None and cloud.refresh_pending:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)
    app.processEvents()  # the repaint after the refresh


def until_drawn(app, cloud):
    """Run the event loop (without sleeping) until the layer has nothing pending, then paint."""
    while cloud.refresh_pending:
        app.processEvents()
    app.processEvents()


def recolor_times(app, cloud, resps, pal, count, spacing=0.0):
    """Seconds from new responsibilities to the repainted frame, ``count`` times."""
    times = []
    for i in range(count):
        t = time.perf_counter()
        cloud.set_colors_from_responsibilities(resps[i % len(resps)], pal)
        until_drawn(app, cloud)
        times.append(time.perf_counter() - t)
        pump(app, spacing)
    return np.array(times)


def view_steps(vb, n_pan=24, n_zoom=12):
    """View rectangles (x0, x1, y0, y1): pans right and up by 4 % a step, zooms in and out by 15 %."""
    (x0, x1), (y0, y1) = vb.viewRange()
    steps = []
    for i in range(n_pan):
        dx = 0.04 * (x1 - x0) * (1 if i < n_pan // 2 else -1)
        dy = 0.04 * (y1 - y0) * (1 if i % 2 else -1)
        x0, x1, y0, y1 = x0 + dx, x1 + dx, y0 + dy, y1 + dy
        steps.append((x0, x1, y0, y1))
    for f in [0.85] * n_zoom + [1 / 0.85] * n_zoom:
        cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * f, (y1 - y0) / 2 * f
        x0, x1, y0, y1 = cx - hw, cx + hw, cy - hh, cy + hh
        steps.append((x0, x1, y0, y1))
    return steps


def deep_zoom_steps(X, n_pan=24):
    """A view around the densest centre so small that markers take over, then pans there."""
    cx, cy = np.median(X[:, 0]), np.median(X[:, 1])
    steps, half = [], 0.6
    for i in range(n_pan):
        dx = 0.05 * half * (1 if i < n_pan // 2 else -1)
        cx += dx
        steps.append((cx - half, cx + half, cy - half, cy + half))
    return steps


def run_steps(app, widget, steps, cloud=None):
    """Work per step: set the range and process events (which repaints the plot, once), then idle
    until the next step, processing events; a recomputation fired by the layer's timer in that idle
    time (and the repaint after it) is charged to the step."""
    vb = widget.getViewBox()
    times, modes = [], set()
    for x0, x1, y0, y1 in steps:
        start = time.perf_counter()
        paints = widget.paints
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        app.processEvents()
        work = time.perf_counter() - start
        assert widget.paints > paints, "the step did not repaint the plot"
        while time.perf_counter() < start + FRAME_S:
            t = time.perf_counter()
            app.processEvents()
            work += time.perf_counter() - t
            time.sleep(0.0005)
        times.append(work)
        if cloud is not None:
            modes.add(cloud.mode)
    settle(app, cloud)
    return np.array(times), modes


def heartbeat(app, widget, push, seconds, push_hz=30.0, load=None, cloud=None):
    """Longest gap between the ticks of a 10 ms timer while ``push()`` runs at ``push_hz``; also
    the longest paint of the plot and the longest piece of the layer's own work (if instrumented)."""
    ticks, pushes = [], []
    paint0 = len(widget.paint_times)
    chunk0 = len(cloud.chunks) if cloud is not None else 0
    beat = QTimer()
    beat.setInterval(10)
    beat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    pusher = QTimer()
    pusher.setInterval(int(1000 / push_hz))

    def on_push():
        t = time.perf_counter()
        push()
        pushes.append(time.perf_counter() - t)

    pusher.timeout.connect(on_push)
    stop = threading.Event()
    worker = None
    if load is not None:
        worker = threading.Thread(target=load, args=(stop,), daemon=True)
        worker.start()
    paints0 = widget.paints
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    beat.start()
    pusher.start()
    loop.exec()
    beat.stop()
    pusher.stop()
    stop.set()
    if worker is not None:
        worker.join()
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([seconds])
    paints = widget.paint_times[paint0:] or [0.0]
    chunks = cloud.chunks[chunk0:] if cloud is not None else []
    return {"max_gap": gaps.max(), "p99_gap": np.percentile(gaps, 99), "pushes": len(pushes),
            "push_ms": np.median(pushes) * 1e3 if pushes else float("nan"),
            "paints": widget.paints - paints0, "max_paint": max(paints),
            "max_chunk": max(chunks) if chunks else float("nan")}


def em_load(X, k):
    """A real EM fit until stopped, on the app worker's terms: cores - 1 threads at a lower
    priority, but responsibilities every iteration (the app sends them at most 15 times a second)."""
    from gmm_desktop.core.em import EMFitter
    from gmm_desktop.core.init import kmeanspp_means, params_from_means
    from gmm_desktop.gui.em_worker import EM_THREADS, lower_thread_priority

    p0 = params_from_means(X, kmeanspp_means(X, k, seed=0))

    def run(stop):
        lower_thread_priority()
        fitter = EMFitter(X, p0, tol=0.0, max_iter=10**9, n_threads=EM_THREADS)
        while not stop.is_set():
            fitter.step(return_resp=True)

    return run


def _ms(a):
    return f"{a * 1e3:8.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="number of points (default 1,000,000)")
    ap.add_argument("--k", type=int, default=16, help="number of components (default 16)")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each heartbeat run")
    ap.add_argument("--size", default="1000x750", help="plot size in pixels (default 1000x750)")
    ap.add_argument("--no-reference", action="store_true", help="skip the plain ScatterPlotItem")
    ap.add_argument("--no-em", action="store_true", help="skip the heartbeat run with EM on a thread")
    args = ap.parse_args(argv)
    width, height = map(int, args.size.split("x"))

    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    app = QApplication.instance() or QApplication([])
    X, resps = make_data(args.n, args.k)
    pal = palette.component_rgb(args.k).astype(np.uint8)
    rows = []  # lines of the table

    widget = _Plot()
    widget.resize(width, height)
    widget.show()
    pump(app, 0.2)
    vb = widget.getViewBox()

    # -- baselines: the empty plot (axes and grid), and the event loop with nothing to do
    vb.setRange(xRange=(-30, 30), yRange=(-30, 30))
    settle(app)
    empty_frames, _ = run_steps(app, widget, view_steps(vb, 12, 6))
    hb_idle = heartbeat(app, widget, lambda: None, args.seconds)
    hb_idle_em = None if args.no_em else heartbeat(app, widget, lambda: None, args.seconds, load=em_load(X, args.k))

    # -- PointCloud
    cloud = PointCloud(widget.getPlotItem())
    instrument(cloud)
    t = time.perf_counter()
    cloud.set_points(X)
    vb.autoRange(padding=0.06)
    settle(app, cloud)
    first = time.perf_counter() - t
    home = vb.viewRange()
    mode_full = cloud.mode
    steps = view_steps(vb)
    frames, _ = run_steps(app, widget, steps, cloud)
    deep, deep_modes = run_steps(app, widget, deep_zoom_steps(X), cloud)
    vb.setRange(xRange=home[0], yRange=home[1], padding=0)
    settle(app, cloud)

    recolor = recolor_times(app, cloud, resps, pal, 9)
    recolor_em = None
    if not args.no_em:  # snapshots every 200 ms while a real EM fit runs on another thread
        stop = threading.Event()
        worker = threading.Thread(target=em_load(X, args.k), args=(stop,), daemon=True)
        worker.start()
        recolor_em = recolor_times(app, cloud, resps, pal, 12, spacing=0.2)
        stop.set()
        worker.join()

    counter = [0]

    def push():
        counter[0] += 1
        cloud.set_colors_from_responsibilities(resps[counter[0] % 3], pal)

    hb = heartbeat(app, widget, push, args.seconds, cloud=cloud)
    hb_em = None if args.no_em else heartbeat(app, widget, push, args.seconds, load=em_load(X, args.k), cloud=cloud)
    settle(app, cloud)
    cloud.remove()
    settle(app)

    # -- the reference: one ScatterPlotItem with every point
    ref = None
    if not args.no_reference:
        neutral = QBrush(QColor(palette.POINT_NEUTRAL))
        scatter = pg.ScatterPlotItem(pxMode=True, size=MARKER_SIZE, pen=None, brush=neutral)
        widget.addItem(scatter)
        vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        settle(app)
        t = time.perf_counter()
        scatter.setData(pos=X)
        vb.autoRange(padding=0.06)
        app.processEvents()
        ref_first = time.perf_counter() - t
        ref_frames, _ = run_steps(app, widget, steps[::3])  # every third step: each is slow
        # recolour as the canvas did: colours rounded to 24 levels, one cached brush per colour
        t = time.perf_counter()
        step = 255.0 / 23
        rgb = np.rint(np.rint((resps[0] @ pal.astype(np.float32)) / step) * step).astype(np.int64)
        codes, inverse = np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2], return_inverse=True)
        table = np.array([QBrush(QColor((c >> 16) & 255, (c >> 8) & 255, c & 255, 190)) for c in codes.tolist()]
                         + [None], dtype=object)[:-1]
        scatter.setBrush(table[inverse.reshape(-1)])
        app.processEvents()
        ref_recolor = time.perf_counter() - t
        ref = (ref_first, ref_frames, ref_recolor)
        widget.removeItem(scatter)

    # -- table
    def row(metric, ours, theirs, goal):
        ratio = f"{theirs / ours:7.1f}x" if theirs is not None and ours > 0 else "       -"
        reference = "       -" if theirs is None else _ms(theirs)
        rows.append(f"| {metric:<44} | {_ms(ours)} | {reference} | {ratio} | {goal:<8} |")

    row("empty plot (axes + grid) frame, median", np.median(empty_frames), None, "")
    row(f"first frame after loading ({cloud.__class__.__name__}: {mode_full})", first,
        None if ref is None else ref[0], "< 2000")
    row("pan/zoom frame, median", np.median(frames), None if ref is None else np.median(ref[1]), "< 50")
    row("pan/zoom frame, 95th percentile", np.percentile(frames, 95),
        None if ref is None else np.percentile(ref[1], 95), "< 50")
    row("pan/zoom frame, max", frames.max(), None if ref is None else ref[1].max(), "")
    row(f"deep zoom ({'+'.join(sorted(deep_modes))}) frame, median", np.median(deep), None, "< 50")
    row("deep zoom frame, max", deep.max(), None, "")
    row(f"new responsibilities ({args.k} comp.) to frame, median", np.median(recolor),
        None if ref is None else ref[2], "< 100")
    row("new responsibilities to frame, max", recolor.max(), None, "< 100")
    if recolor_em is not None:
        row("new responsibilities to frame, + EM thread, median", np.median(recolor_em), None, "< 100")
        row("new responsibilities to frame, + EM thread, max", recolor_em.max(), None, "< 100")
    row("heartbeat max gap, idle loop (machine noise)", hb_idle["max_gap"], None, "")
    if hb_idle_em is not None:
        row("heartbeat max gap, idle loop + EM thread", hb_idle_em["max_gap"], None, "")
    for label, h in [("", hb), (" + EM thread", hb_em)]:
        if h is None:
            continue
        row(f"heartbeat max gap, pushes at 30 Hz{label}", h["max_gap"], None, "< 100")
        row(f"  99th percentile gap{label}", h["p99_gap"], None, "")
        row(f"  longest paint of the plot{label}", h["max_paint"], None, "")
        row(f"  longest piece of layer work{label}", h["max_chunk"], None, "")
    print(f"\nN = {args.n:,}, K = {args.k}, plot {width}x{height} px, platform {app.platformName()}, "
          f"{len(steps)} pan/zoom steps ({len(steps[::3])} for the reference)")
    print(f"heartbeat: {hb['pushes']} pushes, {hb['paints']} frames in {args.seconds:.0f} s"
          + ("" if hb_em is None else f"; with EM: {hb_em['pushes']} pushes, {hb_em['paints']} frames"))
    print(f"load average before the run: {load_before}")
    print()
    print(f"| {'metric (ms)':<44} | {'ours':>8} | {'scatter':>8} | {'ratio':>8} | {'goal':<8} |")
    print(f"| {'-' * 44} | {'-' * 8} | {'-' * 8} | {'-' * 8} | {'-' * 8} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
