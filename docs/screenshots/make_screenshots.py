"""Re-make the screenshots of the README and docs/performance.md from the real window, offscreen.

    python docs/screenshots/make_screenshots.py            # midfit, converged, million, paint, vb_*.png, and the rest below
    python docs/screenshots/make_screenshots.py paint      # only paint.png (any of: fit, million, paint, vb, width, teaching)
    python docs/screenshots/make_screenshots.py vb         # only docs/bayesian.md's vb_*.png
    python docs/screenshots/make_screenshots.py width      # iris_petals.png, faithful_1d.png only
    python docs/screenshots/make_screenshots.py teaching   # scrubber.png, inspector.png, presentation.png

Each shot is a fresh 1280 x 800 main window driven through its public actions; Find K's shot
(find_k.png) is not made here.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp())  # never touch the user's settings

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402

from gmm_desktop.app import create_main_window  # noqa: E402
from gmm_desktop.io.generator import generate  # noqa: E402
from gmm_desktop.core.init import kmeanspp_means  # noqa: E402

HERE = Path(__file__).resolve().parent
DEMO_START = [[3.0, 0.0], [3.0, 6.0], [7.0, 5.0], [11.0, 2.0]]  # deliberately off, to show EM at work


def wait(ms: int) -> None:
    loop = QEventLoop()  # releases the GIL, so the EM thread runs meanwhile
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def window_on(data=None):
    window = create_main_window(data)
    window.ask_to_save_on_close = False
    window.resize(1280, 800)
    window.show()
    wait(300)
    return window


def step(window, n: int) -> None:
    for _ in range(n):
        before = window.snapshot.iteration if window.snapshot is not None else 0
        window.actionStep.trigger()
        while window.snapshot is None or window.snapshot.iteration == before:
            wait(20)
    wait(300)


def shoot(window, name: str) -> None:
    window.canvas.cloud.refresh()
    wait(200)
    window.grab().save(str(HERE / name))
    print("wrote", HERE / name)


#: docs/bayesian.md's sequence: 12 components on the four clusters of the medium preset, by VB.
VB_SHOTS = {1: "vb_1.png", 10: "vb_10.png", 30: "vb_30.png"}


def vb_sequence() -> None:
    """Bayesian (VB) with K = 12 placed by k-means++: iterations 1, 10 and 30, then converged."""
    data = generate("medium", seed=0)
    window = window_on(data.X)
    window.session.set_dataset(data)
    window.statusBar().clearMessage()
    panel = window.panel
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("vb"))
    panel.k_spin.setValue(12)
    panel.kmeanspp_button.click()
    wait(500)
    done = 0
    for iteration, name in sorted(VB_SHOTS.items()):
        step(window, iteration - done)
        done = iteration
        shoot(window, name)
    panel.delay_slider.setValue(0)
    window.actionRun.trigger()
    while window.session.state == "running" or not window.snapshot.converged:
        wait(50)
    wait(300)
    shoot(window, "vb_converged.png")
    print("converged at iteration", window.snapshot.iteration, "pruned", window.snapshot.pruned)


def run_to_convergence(window) -> None:
    window.panel.delay_slider.setValue(0)
    window.actionRun.trigger()
    while window.session.state == "running" or not window.snapshot.converged:
        wait(50)
    wait(400)


def width_shots() -> None:
    """Iris (4 features) in the petal view with the scatter matrix; Old Faithful's eruptions in 1-D."""
    window = window_on()
    window.resize(1500, 860)
    window.open_example("iris")
    window.set_view(2, 3)  # petal length against petal width
    doc = window.session.document
    window.session.set_means([doc.mean_at(*shown) for shown in ((1.5, 0.3), (4.3, 1.3), (5.8, 2.1))])  # 3 clicks
    wait(300)
    run_to_convergence(window)
    window.panel.truth_check.setChecked(True)
    window.scatter_matrix.show()
    window.resizeDocks([window.scatter_matrix], [620], Qt.Orientation.Horizontal)
    wait(600)
    shoot(window, "iris_petals.png")
    window.close()

    window = window_on()
    window.load_data(str(HERE.parents[1] / "resources" / "faithful.csv"), columns=["eruptions"])
    window.session.set_means([[1.5], [5.0]])
    wait(300)
    run_to_convergence(window)
    shoot(window, "faithful_1d.png")
    window.close()


def teaching() -> None:
    """The scrubber (an old iteration shown), the inspector (a component selected) and
    presentation mode (F5), on the demo data with its true clusters dashed."""
    window = window_on()
    window.session.set_means(DEMO_START)
    wait(300)
    step(window, 12)
    window.show_iteration(3)
    while window.session.responsibilities_pending:
        wait(20)
    wait(300)
    shoot(window, "scrubber.png")
    window.show_iteration(window.history_length - 1)
    wait(300)
    window.inspector.select(1)
    wait(100)
    window._panel_scroll.ensureWidgetVisible(window.inspector)  # the panel scrolled down to it
    window._panel_scroll.horizontalScrollBar().setValue(0)
    wait(300)
    shoot(window, "inspector.png")
    window.panel.truth_check.setChecked(True)
    window.resize(1600, 900)  # a projector's width
    window.actionPresentationMode.trigger()
    wait(500)
    shoot(window, "presentation.png")
    window.close()


def paint_shot() -> None:
    """Two parallel elongated classes painted on a blank canvas, a third stroke under way."""
    window = window_on()
    window.new_blank_data()
    window.paint_tool.radius_spin.setValue(22)
    window.paint_tool.density_spin.setValue(14)
    for label, y in ((0, 2.0), (1, -2.0)):
        window.paint_stroke(np.column_stack([np.linspace(-7, 7, 30), np.full(30, y)]), label=label)
    window.paint_tool.set_class(2)
    tool = window.paint_tool
    tool.begin_stroke([-4.0, 6.5])
    for x in np.linspace(-4, 3, 12):
        tool.continue_stroke([x, 6.5 + 0.15 * x])
    tool._show_ring(np.array([3.0, 6.95]))
    wait(300)
    shoot(window, "paint.png")
    tool.end_stroke()
    window.close()


def main(argv=()) -> None:
    shots = set(argv) or {"fit", "million", "paint", "vb", "width", "teaching"}
    if "paint" in shots:
        paint_shot()
    if "fit" in shots:
        fit_shots()
    if "million" in shots:
        million_shot()
    if "vb" in shots:
        vb_sequence()
    if "teaching" in shots:
        teaching()
    if "width" in shots:
        width_shots()


def fit_shots() -> None:
    window = window_on()  # the demo data set
    window.session.set_means(DEMO_START)
    wait(300)
    step(window, 5)
    shoot(window, "midfit.png")
    window.panel.delay_slider.setValue(0)
    window.actionRun.trigger()
    while window.session.state == "running" or not window.snapshot.converged:
        wait(50)
    window.panel.truth_check.setChecked(True)
    wait(300)
    shoot(window, "converged.png")
    window.close()


def million_shot() -> None:
    rng = np.random.default_rng(0)
    data = generate(n_samples=1_000_000, centers=rng.uniform(-30, 30, size=(16, 2)), seed=0)
    window = window_on(data.X)
    window.session.set_dataset(data)
    window.session.set_means(kmeanspp_means(data.X, 16, seed=0)[:8])
    wait(1000)
    step(window, 8)
    shoot(window, "million.png")
    window.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
