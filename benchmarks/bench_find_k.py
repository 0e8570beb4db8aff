"""Find K in the window against the headless ``select``, idle and under a CPU hog (issue 11.7).

A 20-fit sweep (K = 1..5, full and diag, 2 restarts; ``--sweep issue``: the issue's 60 fits,
K = 1..10, 3 restarts) on the demo data (1,050 points): once as
the headless ``select`` does it (``select_model`` on the calling thread, normal priority), once
through the real window's Find K dialog (its sweep thread, progress bar and plot, with the event
loop turning). Then the same with ``--hog`` busy processes (default: one per core, at normal
priority) competing for the cores. Prints seconds and the ratio window / headless for each machine
state; the issue asks for a ratio of at most 2. ``--nice N`` runs the window's background threads
at N more than the GUI thread's nice value (the app's setting otherwise) to compare settings.

    python benchmarks/bench_find_k.py
    python benchmarks/bench_find_k.py --hog 4 --repeat 2
    python benchmarks/bench_find_k.py --sweep issue     # the issue's 60 fits
    python benchmarks/bench_find_k.py --nice 10          # the old setting, for comparison
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp())  # never touch the user's settings

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from gmm_desktop.app import create_main_window  # noqa: E402
from gmm_desktop.core.selection import select_model  # noqa: E402
from gmm_desktop.gui import em_worker  # noqa: E402
from gmm_desktop.gui.find_k import FindKDialog  # noqa: E402

HOG = "while True: pass"


#: name: (K max, restarts); K from 1, full and diag
SWEEPS = {"quick": (5, 2), "issue": (10, 3)}


def configure(dialog: FindKDialog, sweep: str) -> int:
    """K = 1..K max, full and diag, the restarts of ``sweep``; returns the number of candidates."""
    k_max, n_init = SWEEPS[sweep]
    dialog.k_min_spin.setValue(1)
    dialog.k_max_spin.setValue(k_max)
    for name, check in dialog.type_checks.items():
        check.setChecked(name in ("full", "diag"))
    dialog.n_init_spin.setValue(n_init)
    return 2 * k_max


def time_window(window, dialog: FindKDialog, n_candidates: int) -> float:
    loop = QEventLoop()
    dialog.sweep_finished.connect(loop.quit)
    dialog.sweep_failed.connect(loop.quit)
    started = time.perf_counter()
    dialog.start()
    loop.exec()  # a real event loop: the GUI thread waits without holding the GIL, as app.exec() does
    elapsed = time.perf_counter() - started
    dialog.sweep_finished.disconnect(loop.quit)
    dialog.sweep_failed.disconnect(loop.quit)
    assert dialog.result is not None and len(dialog.result.candidates) == n_candidates, "the sweep did not finish"
    return elapsed


def time_headless(X, options: dict) -> float:
    started = time.perf_counter()
    select_model(X, **options)
    return time.perf_counter() - started


def measure(window, dialog, repeat: int, n_candidates: int) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of each, alternated (the machine's load drifts)."""
    X, options = window.session.dataset.X, dialog.options()
    headless, windowed = [], []
    for _ in range(repeat):
        headless.append(time_headless(X, options))
        windowed.append(time_window(window, dialog, n_candidates))
    return min(headless), min(windowed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hog", type=int, default=os.cpu_count() or 2, help="busy processes (default: one per core)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the fastest kept")
    parser.add_argument("--sweep", choices=sorted(SWEEPS), default="quick",
                        help="quick: 20 fits (K 1..5, 2 restarts); issue: 60 fits (K 1..10, 3 restarts)")
    parser.add_argument("--nice", type=int, default=None,
                        help=f"nice offset of the window's background threads (app: {em_worker.BACKGROUND_NICE})")
    args = parser.parse_args()
    if args.nice is not None:
        em_worker.BACKGROUND_NICE = args.nice
    window = create_main_window(None)
    window.show()
    window._on_find_k_triggered()
    dialog = window.findChild(FindKDialog, "findKDialog")
    n_candidates = configure(dialog, args.sweep)
    n_fits = n_candidates * SWEEPS[args.sweep][1]
    print(f"{window.session.dataset.n_samples:,} points, {n_fits} fits; window threads at nice +{em_worker.BACKGROUND_NICE}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    rows = []
    headless, windowed = measure(window, dialog, args.repeat, n_candidates)
    rows.append(("idle (as the machine is)", headless, windowed))
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hog)]
    try:
        time.sleep(1.0)
        headless, windowed = measure(window, dialog, args.repeat, n_candidates)
        rows.append((f"under {args.hog} busy processes", headless, windowed))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    print(f"{'machine state':<28} {'headless s':>11} {'window s':>9} {'window / headless':>18}")
    for name, headless, windowed in rows:
        print(f"{name:<28} {headless:>11.2f} {windowed:>9.2f} {windowed / headless:>18.2f}")
    window.session.controller.shutdown()
    dialog.sweep.shutdown()
    QTimer.singleShot(0, window.close)


if __name__ == "__main__":
    main()
