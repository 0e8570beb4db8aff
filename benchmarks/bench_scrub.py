"""Scrubbing back through the history with a million points: how soon are an old iteration's colours
on screen, and what does each kept iteration cost in memory?

Builds the real main window (offscreen unless QT_QPA_PLATFORM says otherwise) on N generated points
(K clusters), places K means by k-means++, runs EM for a number of iterations, then calls
``window.show_iteration(i)`` for old iterations in turn (a few repeats) and times each one until the
canvas has painted that iteration's colours. The old iteration's responsibilities are not kept: they
are recomputed by one E-step on the EM worker's threads, then coloured in slices by the point layer.

Reference, measured in the same run: one E-step of the NumPy reference (``core.em.e_step``) on the
same data and parameters, on this thread.

Memory: the bytes of every array of each history entry (parameters, log-likelihood; no
responsibilities), against the N x K x 4 bytes that keeping each iteration's float32
responsibilities would cost.

    python benchmarks/bench_scrub.py                    # N = 1,000,000, K = 8, 15 iterations
    python benchmarks/bench_scrub.py --k 16 --iterations 20 --repeat 5
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp())  # never touch the user's settings

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gmm_desktop.app import create_main_window  # noqa: E402
from gmm_desktop.core import em  # noqa: E402
from gmm_desktop.core.init import kmeanspp_means  # noqa: E402
from gmm_desktop.io.generator import generate  # noqa: E402


def wait(ms: int) -> None:
    loop = QEventLoop()  # releases the GIL: the EM thread runs meanwhile
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class PaintedColours(QObject):
    """Quits ``loop`` at the first paint of the canvas after the shown responsibilities are drawn."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.loop: QEventLoop | None = None
        self.armed = False
        self.started = 0.0
        self.e_steps: list[float] = []  # seconds from show_iteration to the worker's responsibilities
        window.session.controller.responsibilities_ready.connect(
            lambda *_: self.e_steps.append(time.perf_counter() - self.started))
        window.canvas.cloud.colors_drawn.connect(self._on_drawn)
        window.canvas.viewport().installEventFilter(self)

    def _shown_drawn(self) -> bool:
        snap, canvas = self.window.session.shown, self.window.canvas
        return (snap is not None and snap.resp is not None and canvas._drawn_resp is snap.resp
                and not canvas.cloud.colors_pending)

    def _on_drawn(self) -> None:
        if self._shown_drawn():
            self.armed = True
            self.window.canvas.viewport().update()

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and self.armed and self.loop is not None:
            self.armed = False
            QTimer.singleShot(0, self.loop.quit)  # after this paint has finished
        return False

    def time_show(self, i: int, timeout_s: float = 30.0) -> float:
        """Seconds from ``show_iteration(i)`` to the paint that shows its colours."""
        self.armed = False
        self.loop = QEventLoop()
        QTimer.singleShot(int(timeout_s * 1000), self.loop.quit)
        t = self.started = time.perf_counter()
        self.window.show_iteration(i)
        if self._shown_drawn():  # colours known already (the newest entries keep theirs)
            self.armed = True
            self.window.canvas.viewport().update()
        self.loop.exec()
        elapsed = time.perf_counter() - t
        self.loop = None
        if not self._shown_drawn():
            raise RuntimeError(f"iteration {i}'s colours were not drawn within {timeout_s:.0f} s")
        return elapsed


def entry_bytes(entry) -> int:
    """Bytes of the arrays (and numbers) a history entry holds."""
    total = 0
    for field in dataclasses.fields(entry.snapshot):
        value = getattr(entry.snapshot, field.name)
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif dataclasses.is_dataclass(value):
            total += sum(v.nbytes for v in vars(value).values() if isinstance(v, np.ndarray))
        elif isinstance(value, (float, int)):
            total += 8
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3, help="passes over the old iterations")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    data = generate(n_samples=args.n, centers=rng.uniform(-30, 30, size=(args.k, 2)), seed=0)
    window = create_main_window(data.X)
    window.ask_to_save_on_close = False
    window.resize(1280, 800)
    window.show()
    app = QApplication.instance()
    print(f"N={args.n:,} K={args.k} D=2  cores={os.cpu_count()}  load={os.getloadavg()[0]:.1f}  "
          f"platform={app.platformName()}")
    window.session.set_dataset(data)
    window.session.set_means(kmeanspp_means(data.X, args.k, seed=0))
    wait(1000)
    window.panel.delay_slider.setValue(0)
    t = time.perf_counter()
    while window.history_length <= args.iterations:
        before = window.history_length
        window.actionStep.trigger()
        while window.history_length == before:
            wait(10)
    print(f"{args.iterations} iterations stepped in {time.perf_counter() - t:.1f} s")
    wait(500)
    probe = PaintedColours(window)
    targets = [2, args.iterations // 2, 1, args.iterations - 3, 4]
    times = []
    for _ in range(args.repeat):
        for i in targets:
            times.append(probe.time_show(i))
    times = np.asarray(times)
    params = window.session.history[targets[0]].params
    t = time.perf_counter()
    em.e_step(data.X, params)
    ref = time.perf_counter() - t
    print(f"show_iteration(i) to its colours on screen ({len(times)} scrubs to iterations {targets}):")
    print(f"  median {np.median(times) * 1e3:.0f} ms, max {times.max() * 1e3:.0f} ms "
          f"(target 500 ms: max is {times.max() / 0.5:.2f} of it)")
    e = np.asarray(probe.e_steps)
    if len(e):
        print(f"  of which the worker's E-step (request to answer): median {np.median(e) * 1e3:.0f} ms, "
              f"max {e.max() * 1e3:.0f} ms; the rest is colouring in slices and the paint")
    print(f"  reference, one NumPy E-step (core.em.e_step) on this thread: {ref * 1e3:.0f} ms; "
          f"scrub median / reference = {np.median(times) / ref:.2f}")
    history = window.session.history
    per_entry = np.array([entry_bytes(e) for e in history])
    d = data.X.shape[1]
    resp_bytes = args.n * args.k * 4
    print(f"memory per kept iteration: {per_entry.mean():.0f} bytes (K={args.k}, D={d}: "
          f"K*(1 + D + D*D)*8 = {args.k * (1 + d + d * d) * 8} bytes of parameters), "
          f"against N*K*4 = {resp_bytes:,} bytes of float32 responsibilities "
          f"({resp_bytes / per_entry.mean():,.0f} times more); {len(history)} entries")
    window.close()


if __name__ == "__main__":
    main()
