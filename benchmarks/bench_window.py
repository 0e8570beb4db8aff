"""The whole window with a million points while EM runs: does the event loop keep turning?

Loads N generated points (16 clusters) into the real main window, places K means by k-means++, runs
EM with no delay, and watches a 10 ms heartbeat QTimer on the GUI thread for the run's first
seconds. Prints the load-to-first-frame time, the heartbeat's longest and 99th-percentile gaps
(idle, and with EM running), EM iterations per second as seen by the window, the same idle gap
as the machine's own noise, and how long opening a fitted model holds the event loop. Offscreen
unless QT_QPA_PLATFORM says otherwise.

    python benchmarks/bench_window.py                 # N = 1,000,000, K = 16
    python benchmarks/bench_window.py --repeat 5       # five windows in turn, and the worst of them
    python benchmarks/bench_window.py --n 200000 --k 8
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp())  # never touch the user's settings

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gmm_desktop.app import create_main_window  # noqa: E402
from gmm_desktop.io.generator import generate  # noqa: E402
from gmm_desktop.core.init import kmeanspp_means  # noqa: E402


def heartbeat(app, seconds: float) -> np.ndarray:
    """Gaps between ticks of a 10 ms timer while a real event loop runs for ``seconds``.

    A ``QEventLoop`` releases the GIL while it waits, as ``app.exec()`` does in the app; a
    ``processEvents()``/``QTest.qWait`` loop would starve the EM thread and measure something else.
    """
    gaps, clock = [], QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def beat():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(beat)
    timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    return np.asarray(gaps, dtype=float)


class ColourLatency(QObject):
    """Time from a snapshot with responsibilities reaching the GUI thread (the controller's relay
    signal) to the end of the first canvas paint that shows its colours. Snapshots that a newer one
    replaced before their colours were drawn are not counted (they never reach the screen)."""

    def __init__(self, window):
        super().__init__()
        self.latencies: list[float] = []
        self._arrived: dict[int, tuple[object, float]] = {}  # id(resp) -> (resp, time it arrived)
        self._started: list[float] = []  # arrival times of the colour jobs started, oldest first
        self._drawn: float | None = None  # arrival time of colours drawn, waiting for a paint
        cloud = window.canvas.cloud
        window.session.controller.iterated.connect(self._on_snapshot)
        cloud.colors_drawn.connect(self._on_drawn)
        window.canvas.viewport().installEventFilter(self)
        start = cloud.set_faded_colors  # the window's default colouring

        def tracked(resp, palette):  # the cloud keeps one job running and the newest one waiting
            arrived = self._arrived.pop(id(resp), (None, time.perf_counter()))[1]
            if cloud._job is not None and cloud._next_job is not None and len(self._started) > 1:
                self._started[-1] = arrived
            else:
                self._started.append(arrived)
            start(resp, palette)

        cloud.set_faded_colors = tracked

    def _on_snapshot(self, snapshot):
        if snapshot.resp is not None:
            self._arrived = {k: v for k, v in self._arrived.items() if time.perf_counter() - v[1] < 5}
            self._arrived[id(snapshot.resp)] = (snapshot.resp, time.perf_counter())

    def _on_drawn(self):
        if self._started:
            self._drawn = self._started.pop(0)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and self._drawn is not None:
            arrived, self._drawn = self._drawn, None
            QTimer.singleShot(0, lambda: self.latencies.append((time.perf_counter() - arrived) * 1e3))
        return False


def pan_and_zoom(app, window) -> np.ndarray:
    """Frame times (ms) of the canvas, with the fit's ellipses and legend shown, over the pan and
    zoom steps of bench_gui.py, one every 1/60 s: ``setRange`` and the repaint, plus any
    recomputation of the density image the step sets off before the next one."""
    from bench_gui import view_steps

    vb = window.canvas.getPlotItem().getViewBox()
    home = vb.viewRange()
    times = []
    for x0, x1, y0, y1 in view_steps(vb):
        start = time.perf_counter()
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        app.processEvents()  # EM is paused: holding the GIL here starves nothing
        work = time.perf_counter() - start
        while time.perf_counter() < start + 1 / 60:
            t = time.perf_counter()
            app.processEvents()
            work += time.perf_counter() - t
            time.sleep(0.0005)
        times.append(work * 1e3)
    vb.setRange(xRange=home[0], yRange=home[1], padding=0)
    return np.asarray(times)


def measure(data, k: int, seconds: float) -> dict:
    """One window: load ``data``, place ``k`` means, run EM for ``seconds``; the figures."""
    window = create_main_window(data.X)
    window.ask_to_save_on_close = False
    window.resize(1280, 800)
    window.show()
    app = QApplication.instance()
    app.processEvents()
    t = time.perf_counter()
    window.session.set_dataset(data)
    window.canvas.grab()  # forces the first frame
    first_frame = time.perf_counter() - t
    idle = heartbeat(app, 2.0)
    window.session.set_means(kmeanspp_means(data.X, k, seed=0))
    heartbeat(app, 1.0)  # the worker's iteration 0
    window.panel.delay_slider.setValue(0)
    colours = ColourLatency(window)
    window.actionRun.trigger()
    busy = heartbeat(app, seconds)
    iterations = window.snapshot.iteration if window.snapshot is not None else 0
    window.actionPause.trigger()
    heartbeat(app, 0.5)
    pan_zoom = pan_and_zoom(app, window)
    fitted = window.snapshot.params
    t = time.perf_counter()
    window.session.set_means(fitted.means, start=fitted)  # as Open model and Find K's adopt do
    adopt = time.perf_counter() - t
    heartbeat(app, 0.5)
    window.close()
    return {"first_frame": first_frame, "idle": idle, "busy": busy, "iterations": iterations, "adopt": adopt,
            "colours": np.asarray(colours.latencies), "pan_zoom": pan_zoom}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--repeat", type=int, default=1, help="windows measured in turn")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    data = generate(n_samples=args.n, centers=rng.uniform(-30, 30, size=(args.k, 2)), seed=0)
    print(f"N={args.n:,} K={args.k}  cores={os.cpu_count()}  load={os.getloadavg()[0]:.1f}  "
          f"platform={QApplication.platformName() if QApplication.instance() else os.environ['QT_QPA_PLATFORM']}")
    worst = []
    for run in range(args.repeat):
        r = measure(data, args.k, args.seconds)
        idle, busy = r["idle"], r["busy"]
        if args.repeat > 1:
            print(f"-- run {run + 1} of {args.repeat}")
        print(f"load to first frame: {r['first_frame'] * 1e3:.0f} ms")
        print(f"heartbeat gap, idle:        max {idle.max():.0f} ms, p99 {np.percentile(idle, 99):.0f} ms")
        print(f"heartbeat gap, EM running:  max {busy.max():.0f} ms, p99 {np.percentile(busy, 99):.0f} ms, "
              f"median {np.median(busy):.0f} ms")
        print(f"EM iterations shown in {args.seconds:.0f} s: {r['iterations']} "
              f"({r['iterations'] / args.seconds:.1f}/s)")
        c = r["colours"]
        print(f"new responsibilities to screen, EM running: median {np.median(c):.0f} ms, max {c.max():.0f} ms "
              f"({len(c)} colourings)")
        pz = r["pan_zoom"]
        print(f"pan/zoom frame with the fit shown (EM paused): median {np.median(pz):.0f} ms, "
              f"95th percentile {np.percentile(pz, 95):.0f} ms, max {pz.max():.0f} ms")
        print(f"opening a fitted model (Open model, Find K's adopt): {r['adopt'] * 1e3:.0f} ms")
        worst.append(busy.max())
    if args.repeat > 1:
        print(f"longest stall with EM running, per run: {', '.join(f'{w:.0f}' for w in worst)} ms "
              f"(worst {max(worst):.0f} ms)")


if __name__ == "__main__":
    main()
