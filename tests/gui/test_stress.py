"""The window under stress: seeded random interleavings of every user action, invariants checked after each.

A :class:`Stress` driver fires run / pause / step / reset / clear / click-to-add / drag / undo / redo /
generate / open-data (good, bad, missing and wide files) and a few more (k-means++, delete, settings,
the collapse banner, save and reopen a model, clicks on the legend and on fitted means) in an order drawn from ``random.Random(seed)``, through
the window's actions, keyboard shortcuts and real mouse events on the canvas, sometimes waiting a few
ms or on a GUI-side relay signal between them, sometimes not at all. After every action it checks:

- no exception anywhere (slots, Qt virtual methods, the worker thread: ``qtbot.captureExceptions``),
  and no "unexpected error" message from the worker (it turns any exception into a message);
- the action returned promptly and the event loop keeps turning (a zero-timer fires);
- within one fit (one generation of the controller: between two restarts, edits or clears) the
  snapshot's iteration only grows, and the relayed iterations are 1, 2, 3, ... after each restart;
- K agrees everywhere: the placed means, the panel's K, the session's shown fit and the snapshot;
- the actions' enabled states follow the EM state; the trace has one entry per iteration;
- a pause really stops EM, and the log-likelihood plot and the status bar catch up with the fit;
- no action loses a converged fit without a way back (issue 11.2): if one was the newest state before
  an action and is gone after it, Undo (Redo, after an Undo) brings it back, repeatedly if need be;
  only opening or generating new data (a new document, the undo stack cleared) may drop it for good.

Closing the window (also in the middle of a run, with requests still queued) leaves no thread running,
and Qt logs no warning. Seeds and length: ``SEEDS`` x ``N_ACTIONS``; a failure names the seed and the last
actions (thread timing varies, so a seed replays the same actions, not always the same interleaving).

At the end: regression tests for what the stress test found. The collapse banner acted on a fit replaced
since it was drawn (fixed in ``MainWindow._replace_fit``). Changing the means in the middle of a drag
(Undo, Delete) or starting EM then (Space) left the canvas's means item out of step with the session
(fixed in ``scatter_canvas._MeansItem``: such a drag now ends unapplied).
"""

from __future__ import annotations

import random
import time
import warnings

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, QtMsgType, Qt, QTimer
from PySide6.QtGui import QAction, QCursor
from PySide6.QtTest import QTest

from gmm_desktop.io import datasets, generator
from gmm_desktop.gui import em_worker
from gmm_desktop.gui.em_worker import DONE, IDLE, PAUSED, RUNNING

from gui_helpers import NOTEBOOK_START, canvas_point, place_means

SEEDS = (11, 23, 37, 58)
NEW_DATA_ACTIONS = {"generate", "open_data"}  # the only actions allowed to drop a fit for good
N_ACTIONS = 250
ACTION_SECONDS = 10.0  # an action (including its own bounded waits) taking longer than this is a hang
HIT_PX = 12.0  # the canvas's hit radius around a placed mean
FAR_PX = 3 * HIT_PX  # a click this far from every mean lands on empty canvas
DRAG_MIN_PX = 15  # farther than pyqtgraph's drag threshold
MOVE_MS = 1000 // pg.getConfigOption("mouseRateLimit") + 2  # pyqtgraph drops mouse moves closer than this
NO_MOD = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _write_files(tmp_path):
    """Data files to open: good ones, a bad one, a missing one and one with more than two columns."""
    small = tmp_path / "small.csv"
    if not small.exists():
        datasets.write_csv(generator.generate("small", seed=0), small)
    other = tmp_path / "other.csv"
    datasets.write_csv(generator.generate("small", centers=[[0, 0], [6, 6], [0, 6]], seed=5), other)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n4,5\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    wide = tmp_path / "wide.csv"
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(80, 3)) * [1.0, 2.0, 0.5] + rng.integers(0, 3, size=(80, 1)) * 4.0
    wide.write_text("a,b,c\n" + "".join(f"{a:.4f},{b:.4f},{c:.4f}\n" for a, b, c in rows))
    return {"good": [small, other], "bad": [bad, empty, tmp_path / "missing.csv"], "wide": wide}


class Stress:
    """Drives one window with random actions and checks the invariants after each."""

    def __init__(self, qtbot, window, errors, exceptions, tmp_path, seed, monkeypatch):
        self.qtbot, self.window, self.errors, self.exceptions = qtbot, window, errors, exceptions
        self.seed = seed
        self.rng = random.Random(seed)
        self.files = _write_files(tmp_path)
        self.tmp_path = tmp_path
        self.log: list[str] = []
        self.problems: list[str] = []
        self.states_seen: set[str] = set()
        self.iterations_seen = 0
        self.counts: dict[str, int] = {}
        self.ways_back: dict[str, int] = {}  # actions that lost a converged fit, brought back by Undo
        self.columns_answer = (["a", "c"], None)  # what the (replaced) column chooser answers
        monkeypatch.setattr(type(window), "_choose_columns", lambda _self, names, labels, source: self.columns_answer)
        monkeypatch.setattr(type(window), "_show_warning",  # read and dismissed (as errors are, in conftest)
                            lambda _self, title, text: setattr(_self, "last_warning", text))
        self.controller = window.session.controller
        self._last = (None, None)  # (generation, snapshot iteration) at the last check
        self._relay_iteration = None  # the iteration the relays last reported, None before a restart
        self._relay_lacked_resp = False  # and whether it came without responsibilities
        self.controller.restarted.connect(self._on_restarted)
        self.controller.iterated.connect(self._on_iterated)
        self.actions = {
            "run": (8, self.run), "pause": (5, self.pause), "space": (4, self.space), "step": (10, self.step),
            "reset": (4, self.reset), "clear": (2, self.clear), "click": (14, self.click), "drag": (7, self.drag),
            "drag_with_key": (3, self.drag_with_key),
            "undo": (7, self.undo), "redo": (5, self.redo), "delete": (2, self.delete), "kmeanspp": (3, self.kmeanspp),
            "generate": (3, self.generate), "open_data": (4, self.open_data), "settings": (2, self.settings),
            "banner": (2, self.banner), "model": (1, self.save_and_open_model), "settle": (4, self.settle),
            "run_to_end": (2, self.run_to_end), "wait": (4, self.wait),
            "legend_click": (2, self.legend_click), "fitted_click": (3, self.fitted_click),
            "save": (2, self.save), "model_on_other_data": (1, self.model_on_other_data),
        }

    # ------------------------------------------------------------------ relay monitor
    def _on_restarted(self, snapshot) -> None:
        self._relay_iteration = snapshot.iteration

    def _on_iterated(self, snapshot) -> None:
        self.iterations_seen += 1
        last = self._relay_iteration
        # after a pause, the worker may send the newest iteration again with the responsibilities it lacked
        resend = snapshot.iteration == last and self._relay_lacked_resp and snapshot.resp is not None
        if last is not None and snapshot.iteration != last + 1 and not resend:
            self.problems.append(f"relayed iteration {snapshot.iteration} after {last}")
        self._relay_iteration = snapshot.iteration
        self._relay_lacked_resp = snapshot.resp is None

    # ------------------------------------------------------------------ driving
    def play(self, n_actions: int) -> None:
        names = list(self.actions)
        weights = [self.actions[name][0] for name in names]
        for _ in range(n_actions):
            self.act(self.rng.choices(names, weights)[0])

    def act(self, name: str) -> None:
        self.log.append(name)
        self.counts[name] = self.counts.get(name, 0) + 1
        fit = self._converged_fit()
        started = time.perf_counter()
        self.actions[name][1]()
        self.between()
        elapsed = time.perf_counter() - started
        self.expect(elapsed < ACTION_SECONDS, f"{name} took {elapsed:.1f} s")
        self.check()
        if fit is not None:
            self.check_way_back(name, fit)

    def between(self) -> None:
        """Sometimes let the event loop turn a little between actions, sometimes not at all."""
        roll = self.rng.random()
        if roll < 0.45:
            return
        if roll < 0.85:
            self.qtbot.wait(self.rng.randint(1, 8))
        else:
            self.assert_event_loop_turns()

    def assert_event_loop_turns(self) -> None:
        fired = []
        QTimer.singleShot(0, lambda: fired.append(True))
        self.qtbot.waitUntil(lambda: bool(fired), timeout=2000)

    def expect(self, condition, message: str) -> None:
        if not condition:
            self.problems.append(message)

    def fail_if_problems(self) -> None:
        if self.exceptions or self.problems:
            shown = "; ".join(f"{t.__name__}: {v}" for t, v, _ in self.exceptions) or "; ".join(self.problems)
            pytest.fail(f"seed {self.seed}, after {len(self.log)} actions (last: {self.log[-12:]}): {shown}")

    def shown(self, means):
        """Canvas coordinates of full-dimensional means (the wide file has three features)."""
        return self.window.session.document.view.project_points(means)

    # ------------------------------------------------------------------ invariants
    def check(self) -> None:
        win, session = self.window, self.window.session
        state = session.state
        k = len(win.means)
        self.states_seen.add(state)
        self.expect(state in (IDLE, PAUSED, RUNNING, DONE), f"unknown state {state!r}")
        self.expect(session.means.shape == (k, session.dataset.n_features), f"means of shape {session.means.shape}")
        label = win.panel._k_label.text()
        self.expect(label.split()[0] == str(k), f"panel says K {label!r}, {k} means placed")
        if not k:
            self.expect(state == IDLE, f"state {state} with no means")
        snap, shown = win.snapshot, session.shown
        if snap is not None:
            self.expect(snap.means.shape[0] == k, f"snapshot has {snap.means.shape[0]} components, K is {k}")
            self.expect(snap.iteration == len(session.trace),
                        f"snapshot iteration {snap.iteration} but {len(session.trace)} in the trace")
        if shown is not None:
            self.expect(shown.means.shape[0] == k, f"the shown fit has {shown.means.shape[0]} components, K is {k}")
        generation = self.controller._generation  # bumped by every restart, edit and clear
        last_generation, last_iteration = self._last
        if snap is not None and generation == last_generation and last_iteration is not None:
            self.expect(snap.iteration >= last_iteration,
                        f"iteration went back from {last_iteration} to {snap.iteration} within one fit")
        self._last = (generation, None if snap is None else snap.iteration)
        enabled = {name: win.findChild(QAction, name).isEnabled()
                   for name in ("actionRun", "actionPause", "actionStep", "actionReset", "actionClearMeans")}
        self.expect(enabled == {"actionRun": state == PAUSED, "actionPause": state == RUNNING,
                                "actionStep": state != IDLE, "actionReset": state != IDLE,
                                "actionClearMeans": k > 0}, f"actions {enabled} in state {state} with K {k}")
        self.expect(win.actionUndo.isEnabled() == win.undo_stack.canUndo(), "Undo enabled out of step")
        self.expect(win.actionRedo.isEnabled() == win.undo_stack.canRedo(), "Redo enabled out of step")
        self.expect(win.panel.covariance_combo.isEnabled() == (state != RUNNING), "EM settings lock out of step")
        unexpected = [text for _title, text in self.errors if "unexpected error" in text]
        self.expect(not unexpected, f"the worker hit a bug: {unexpected[:1]}")
        self.fail_if_problems()

    def _converged_fit(self):
        """The newest state of the fit if it is converged (else None)."""
        last = self.window.session.history.last
        return last if last is not None and last.converged else None

    def _holds(self, fit) -> bool:
        """Whether the history holds ``fit`` (the same entry, or one with the same parameters)."""
        for entry in self.window.session.history:
            if entry is fit:
                return True
            if (entry.iteration == fit.iteration and entry.converged
                    and entry.params.covariance_type == fit.params.covariance_type
                    and entry.params.means.shape == fit.params.means.shape
                    and np.allclose(entry.params.means, fit.params.means, rtol=1e-9, atol=1e-12)
                    and np.allclose(entry.params.covariances, fit.params.covariances, rtol=1e-9, atol=1e-12)):
                return True
        return False

    def check_way_back(self, name: str, fit) -> None:
        """No action loses a converged fit without a way back (issue 11.2): if ``fit`` was on
        screen before ``name`` and is gone, Undo (Redo after an Undo), repeatedly, brings it back.
        Then as many Redo (Undo) return to where the action left the window. New data start a new
        document (its undo stack starts afresh): not an edit of this fit."""
        stack = self.window.undo_stack
        fresh = all(stack.text(i) == "suggested means" for i in range(stack.count()))
        if name in NEW_DATA_ACTIONS and fresh:  # new data: the stack was cleared (then maybe the suggested means)
            return
        if self._holds(fit):
            return
        stack = self.window.undo_stack
        back, forth, can, word = ((stack.redo, stack.undo, stack.canRedo, "Redo") if name == "undo"
                                  else (stack.undo, stack.redo, stack.canUndo, "Undo"))
        n = 0
        while not self._holds(fit) and can() and n < 40:
            back()
            n += 1
        self.expect(self._holds(fit), f"{name} lost the converged fit (iteration {fit.iteration}) and "
                                      f"{n} {word} did not bring it back")
        self.ways_back[name] = self.ways_back.get(name, 0) + 1
        for _ in range(n):
            forth()
        self.check()

    # ------------------------------------------------------------------ helpers
    def _action(self, name: str) -> QAction:
        return self.window.findChild(QAction, name)

    def _key(self, key, modifiers=NO_MOD) -> None:
        QTest.keyClick(self.window, key, modifiers)

    def _random_point(self, right_half=False):
        """Data coordinates inside the visible view (in its right part, away from where the legend starts)."""
        (x0, x1), (y0, y1) = self.window.canvas.getPlotItem().vb.viewRange()
        fx = self.rng.uniform(0.55, 0.95) if right_half else self.rng.uniform(0.05, 0.95)
        return x0 + fx * (x1 - x0), y0 + self.rng.uniform(0.08, 0.92) * (y1 - y0)

    def _px_to_nearest_mean(self, point: QPoint) -> float:
        """Pixels from ``point`` to the nearest placed or fitted mean (those take clicks themselves)."""
        win = self.window
        fits = (win.session.shown, win.snapshot, getattr(win.canvas, "_snapshot", None))  # the drawn one may lag
        means = np.vstack([self.shown(win.means)] + [self.shown(snap.means) for snap in fits if snap is not None])
        if len(means) == 0:
            return np.inf
        pixels = [canvas_point(win, x, y) for x, y in means]
        return min(np.hypot(p.x() - point.x(), p.y() - point.y()) for p in pixels)

    def _move_mouse(self, point: QPoint) -> None:
        """Move the mouse over the canvas, as fast as pyqtgraph takes moves (it drops those less than
        1 / ``mouseRateLimit`` s apart; a drag whose moves were all dropped would become a click)."""
        QTest.qWait(MOVE_MS)
        QTest.mouseMove(self.window.canvas.viewport(), point)

    def _mean_grabbable(self, point: QPoint) -> bool:
        """Whether a press at ``point`` reaches a placed mean: in the plot area and not under the legend."""
        canvas = self.window.canvas
        scene_point = canvas.mapToScene(point)
        if not canvas.getPlotItem().vb.sceneBoundingRect().adjusted(2, 2, -2, -2).contains(scene_point):
            return False  # out of view, or over an axis
        hover = canvas.scene().lastHoverEvent  # pyqtgraph gives the drag to an item that claimed it on hover:
        if hover is not None and hover.dragItems().get(LEFT) is not None:  # the legend, if the mouse just left it
            return False
        return not self._under_legend(point)

    def _under_legend(self, point: QPoint) -> bool:
        """Whether the legend (which a drag may have moved anywhere) covers ``point``."""
        canvas = self.window.canvas
        for item in canvas.scene().items(canvas.mapToScene(point)):
            while item is not None:
                if isinstance(item, pg.LegendItem):
                    return True
                item = item.parentItem()
        return False

    def _wait_for_any(self, signals, timeout_ms: int) -> bool:
        got = []
        slots = []
        for signal in signals:
            slot = lambda *_args: got.append(True)  # noqa: E731
            signal.connect(slot)
            slots.append((signal, slot))
        try:
            deadline = time.perf_counter() + timeout_ms / 1000
            while not got and time.perf_counter() < deadline:
                self.qtbot.wait(2)
        finally:
            for signal, slot in slots:
                signal.disconnect(slot)
        return bool(got)

    # ------------------------------------------------------------------ actions
    def run(self) -> None:
        self._action("actionRun").trigger()  # does nothing while disabled, like the toolbar button

    def pause(self) -> None:
        self._action("actionPause").trigger()

    def space(self) -> None:
        self._key(Qt.Key.Key_Space)

    def step(self) -> None:
        state = self.window.session.state
        if self.rng.random() < 0.5:
            self._action("actionStep").trigger()
        else:
            self._key(self.rng.choice([Qt.Key.Key_N, Qt.Key.Key_Right]))
        if state != IDLE and self.rng.random() < 0.5:  # wait for its result on the GUI-side relays
            c = self.controller
            self.expect(self._wait_for_any([c.iterated, c.failed, c.state_changed], 3000),
                        f"a step in state {state} never answered")

    def reset(self) -> None:
        if self.rng.random() < 0.5:
            self._action("actionReset").trigger()
        else:
            self._key(Qt.Key.Key_R)
        if self.window.session.state != IDLE and self.window.session.start is None:
            self.expect(self.window.snapshot is None and self.window.session.trace == [], "reset kept the fit")

    def clear(self) -> None:
        self._action("actionClearMeans").trigger()
        self.expect(len(self.window.means) == 0, "clear left means")

    def undo(self) -> None:
        if self.rng.random() < 0.6:
            self._action("actionUndo").trigger()
        else:
            self._key(Qt.Key.Key_Z, CTRL)

    def redo(self) -> None:
        if self.rng.random() < 0.6:
            self._action("actionRedo").trigger()
        else:
            self._key(Qt.Key.Key_Z, CTRL | SHIFT)

    def delete(self) -> None:
        before = len(self.window.means)
        self._key(Qt.Key.Key_Delete)
        self.expect(len(self.window.means) == max(before - 1, 0), "Delete did not remove one mean")

    def click(self) -> None:
        """A left click on the canvas: adds a mean on empty canvas unless EM runs; selects a component
        on its fitted mean or ellipse."""
        win = self.window
        x, y = self._random_point(right_half=True)
        point = canvas_point(win, x, y)
        before, running = len(win.means), win.session.state == RUNNING
        # on a fitted mean or an ellipse outline the click selects it (clear cases only: a pixel of rounding
        # decides clicks on the edge of the hit radius)
        component = win.canvas_probe.component_at(x, y, slack_px=-2)
        near = win.canvas_probe.component_at(x, y, slack_px=2)
        empty = self._px_to_nearest_mean(point) > FAR_PX and not self._under_legend(point) and near is None
        QTest.mouseClick(win.canvas.viewport(), LEFT, NO_MOD, point)
        if component is not None and not self._under_legend(point):
            self.expect(len(win.means) == before, "a click on a fitted component added a mean")
        elif running:
            self.expect(len(win.means) == before, "a click added a mean while EM was running")
        elif empty:
            self.expect(len(win.means) == before + 1, f"a click on empty canvas gave {len(win.means)} means, "
                                                      f"not {before + 1}")
            if len(win.means) == before + 1:
                pixel = max(win.canvas.getPlotItem().vb.viewPixelSize())
                self.expect(np.allclose(self.shown(win.means)[-1], [x, y], atol=2 * pixel),
                            "the mean is not where clicked")

    def _unchanged_fit(self, what: str, before: tuple) -> None:
        win = self.window
        self.expect(len(win.means) == before[0], f"{what} changed K from {before[0]} to {len(win.means)}")
        self.expect(self.controller._generation == before[1], f"{what} restarted the fit")

    def legend_click(self) -> None:
        """A left click inside the legend box: never a click on the canvas under it."""
        win = self.window
        legend = win.canvas._legend
        if not legend.isVisible():
            return
        # the part of the legend on screen (a tall one is clipped by the view box)
        rect = legend.mapRectToScene(legend.boundingRect()).intersected(
            win.canvas.getPlotItem().vb.sceneBoundingRect())
        if rect.isEmpty():
            return
        point = win.canvas.mapFromScene(rect.topLeft() + QPointF(self.rng.uniform(0.1, 0.9) * rect.width(),
                                                                 self.rng.uniform(0.1, 0.9) * rect.height()))
        before = (len(win.means), self.controller._generation)
        QTest.mouseClick(win.canvas.viewport(), LEFT, NO_MOD, point)
        self._unchanged_fit("a click on the legend", before)

    def fitted_click(self) -> None:
        """A left click on a fitted mean (a ●): selects that component, never adds one."""
        win = self.window
        shown = win.canvas._snapshot
        if shown is None or shown.iteration == 0 or win.session.state == RUNNING:
            return
        k = self.rng.randrange(shown.means.shape[0])
        (x0, x1), (y0, y1) = win.canvas.getPlotItem().vb.viewRange()
        x, y = shown.means[k, :2]
        if not (x0 < x < x1 and y0 < y < y1):
            return
        before = (len(win.means), self.controller._generation)
        QTest.mouseClick(win.canvas.viewport(), LEFT, NO_MOD, canvas_point(win, x, y))
        self._unchanged_fit("a click on a fitted mean", before)

    def drag(self) -> None:
        """Press on a placed mean (or on empty canvas: that pans), move, release."""
        win = self.window
        viewport, scene, view = win.canvas.viewport(), win.canvas.scene(), win.canvas.getPlotItem().vb
        means = self.shown(win.means)
        k = self.rng.randrange(len(means)) if len(means) else None
        start_xy, end_xy = (means[k] if k is not None else self._random_point()), self._random_point()
        for _ in range(3):
            start = canvas_point(win, *start_xy)
            # A real mouse comes from somewhere and hovers there first. (Two moves: pyqtgraph's legend claims
            # the next drag on the hover event that tells it the mouse has left it, wherever the press is.)
            self._move_mouse(start + QPoint(4, 3))
            self._move_mouse(start)
            if canvas_point(win, *start_xy) == start:
                break  # else a frame drawn meanwhile showed or hid the banner, and the view moved: again
        end = canvas_point(win, *end_xy)
        running = win.session.state == RUNNING  # as things stand at the press (the waits let frames draw)
        grabbable = k is not None and self._mean_grabbable(start)
        others = [canvas_point(win, *m) for j, m in enumerate(means) if j != k]
        nearest_other = min([np.hypot(p.x() - start.x(), p.y() - start.y()) for p in others], default=np.inf)
        geometry = (view.viewRange(), view.sceneBoundingRect())
        QTest.mousePress(viewport, LEFT, NO_MOD, start)
        dragged_by = []
        for t in np.linspace(0.3, 1.0, self.rng.randint(2, 3)):
            self._move_mouse(start + (end - start) * t)
            dragged_by.append(type(scene.dragItem).__name__)
        QTest.mouseRelease(viewport, LEFT, NO_MOD, end)
        moved = np.hypot(end.x() - start.x(), end.y() - start.y()) > DRAG_MIN_PX
        if moved:
            self.expect(len(win.means) == len(means), "a drag changed the number of means")
        else:  # too short for a drag: a click, which may add a mean
            self.expect(len(win.means) - len(means) in (0, 1), "a short drag changed the means")
        if not grabbable or running or not moved or nearest_other < 1.0 or len(win.means) != len(means):
            return
        if (view.viewRange(), view.sceneBoundingRect()) != geometry:
            return  # a frame showed or hid the banner mid-drag: the canvas was resized under the mouse
        pixel = max(view.viewPixelSize())
        self.expect(np.allclose(self.shown(win.means)[k], end_xy, atol=3 * pixel),
                    f"dragged mean {k} from {means[k]} is at {self.shown(win.means)[k]}, not {end_xy} "
                    f"(the drag went to {dragged_by}, state {win.session.state})")

    def drag_with_key(self) -> None:
        """A key pressed in the middle of a drag (Space, Reset, Step), then the drag goes on."""
        win = self.window
        viewport = win.canvas.viewport()
        means = self.shown(win.means)
        start_xy = means[self.rng.randrange(len(means))] if len(means) else self._random_point()
        start, end = canvas_point(win, *start_xy), canvas_point(win, *self._random_point())
        self._move_mouse(start + QPoint(4, 3))
        self._move_mouse(start)
        QTest.mousePress(viewport, LEFT, NO_MOD, start)
        self._move_mouse(start + (end - start) * 0.3)
        key, modifiers = self.rng.choice([(Qt.Key.Key_Space, NO_MOD), (Qt.Key.Key_R, NO_MOD), (Qt.Key.Key_N, NO_MOD),
                                          (Qt.Key.Key_Z, CTRL), (Qt.Key.Key_Z, CTRL | SHIFT),
                                          (Qt.Key.Key_Delete, NO_MOD)])
        self._key(key, modifiers)
        self._move_mouse(start + (end - start) * 0.7)
        QTest.mouseRelease(viewport, LEFT, NO_MOD, end)

    def kmeanspp(self) -> None:
        panel = self.window.panel
        if panel.k_spin.isEnabled():
            panel.k_spin.setValue(self.rng.randint(1, 7))
        want, before = panel.k_spin.value(), len(self.window.means)
        panel.kmeanspp_button.click()  # does nothing while EM runs (the Model box is locked)
        if panel.kmeanspp_button.isEnabled():
            self.expect(len(self.window.means) == want, f"k-means++ placed {len(self.window.means)}, not {want}")
        else:
            self.expect(len(self.window.means) == before, "k-means++ acted while locked")

    def generate(self) -> None:
        win = self.window
        roll = self.rng.random()
        if roll < 0.15:  # bad centres: an error, and the data stay
            old = win.session.dataset
            self.expect(not win.generate_data("small", centers="1,2; 3", seed=1), "bad centres were accepted")
            self.expect(win.session.dataset is old, "bad centres replaced the data")
            return
        preset = "medium" if roll > 0.85 else "small"
        suggest = self.rng.random() < 0.6
        self.expect(win.generate_data(preset, seed=self.rng.randint(0, 99), suggest_means=suggest),
                    f"generate {preset} failed")
        self.expect(len(win.means) == (4 if suggest else 0), f"{len(win.means)} means after generate")

    def open_data(self) -> None:
        win = self.window
        roll = self.rng.random()
        old = win.session.dataset
        if roll < 0.4:
            path = self.rng.choice(self.files["bad"])
            n_errors = len(self.errors)
            self.expect(not win.load_data(path), f"{path.name} was accepted")
            self.expect(win.session.dataset is old, f"{path.name} replaced the data")
            self.expect(len(self.errors) == n_errors + 1 and self.errors[-1][0] == "Could not open the data",
                        f"no error shown for {path.name}")
        elif roll < 0.6:
            self.expect(win.load_data(self.files["wide"]), f"the wide file was refused: {win.last_error}")
            self.expect(win.session.dataset.feature_names == ["a", "b", "c"], "not every feature was loaded")
            wide = win.session.dataset
            self.columns_answer = None if self.rng.random() < 0.3 else (["a", "c"], None)  # cancelled, or two
            win.actionChooseColumns.trigger()
            if self.columns_answer is not None:
                self.expect(win.session.dataset.feature_names == ["a", "c"], "the chosen columns were not used")
            else:
                self.expect(win.session.dataset is wide, "cancelling the column choice replaced the data")
        else:
            path = self.rng.choice(self.files["good"])
            self.expect(win.load_data(path), f"{path.name} was refused: {win.last_error}")
            self.expect(len(win.means) == 0 and win.snapshot is None, "opening data kept the means or the fit")

    def settings(self) -> None:
        """Change an EM setting (locked while EM runs) or a display one (never locked)."""
        panel = self.window.panel
        roll = self.rng.random()
        if roll < 0.3:
            choice = self.rng.randrange(3)
            if choice == 0:
                panel.delay_slider.setValue(self.rng.choice([0, 0, 1, 2]))
            elif choice == 1:
                panel.hard_labels_check.toggle()
            elif panel.truth_check.isEnabled():
                panel.truth_check.toggle()
            return
        if not panel.covariance_combo.isEnabled():
            return
        roll = self.rng.random()
        if roll < 0.5:
            panel.covariance_combo.setCurrentText(self.rng.choice(["full", "diag", "spherical", "tied"]))
        elif roll < 0.8:
            panel.max_iter_spin.setValue(self.rng.choice([2, 5, 40, 1000]))
        else:
            panel.tol_mode_combo.setCurrentIndex(self.rng.randrange(panel.tol_mode_combo.count()))
        self.expect(self.window.session.settings == panel.em_settings(), "the session missed a settings change")

    def banner(self) -> None:
        banner = self.window.banner
        if not banner.isVisible():
            return
        button = self.rng.choice([banner.reseed_button, banner.remove_button])
        if button.isEnabled():
            button.click()

    def save_and_open_model(self) -> None:
        win = self.window
        path = self.tmp_path / "stress-model.json"
        if win.snapshot is None:
            self.expect(not win.save_model(path), "saved a model without a fit")
            return
        saved = win.snapshot
        fitted_k = saved.means.shape[0]
        self.expect(win.save_model(path), f"could not save: {win.last_error}")
        self.expect(win.open_model(path), f"could not open the saved model: {win.last_error}")
        # on its own data the fit comes back as it was saved: its iteration, converged or not
        # (an M half-step's parameters have no log-likelihood in the trace: they start a new fit)
        expected = saved.iteration if getattr(saved, "phase", "E") == "E" else 0
        self.expect(win.snapshot is not None and win.snapshot.iteration == expected,
                    f"the opened model is at iteration {win.snapshot and win.snapshot.iteration}, "
                    f"saved at {saved.iteration}")
        self.expect(expected == 0 or win.snapshot.converged == saved.converged,
                    "the opened model lost its converged state")
        self.expect(len(win.means) == fitted_k, "the opened model has another K")

    def save(self) -> None:
        """Ctrl+S: writes back silently only to the file this very fit came from; otherwise it asks
        for a name (answered: cancel) and the model file from before is left as it was."""
        win = self.window
        path = self.tmp_path / "stress-model.json"
        before = path.read_bytes() if path.exists() else None
        target = win.save_target()
        enabled = win.actionSaveModel.isEnabled()  # follows the fit at the next frame
        asked = []
        win._ask_save_path = lambda: asked.append(True) or ""
        try:
            self._key(Qt.Key.Key_S, CTRL)
        finally:
            del win._ask_save_path
        if win.snapshot is None or not enabled:
            return
        if target is None:
            self.expect(asked == [True], "Save did not ask for a name")
            self.expect((path.read_bytes() if path.exists() else None) == before,
                        "Save changed a model file that this fit did not come from")
        else:
            self.expect(not asked, "Save asked for a name although the fit came from its file")

    def model_on_other_data(self) -> None:
        """Open the saved model whatever data are open: a warning says how the data differ."""
        win = self.window
        path = self.tmp_path / "stress-model.json"
        if not path.exists():
            return
        from gmm_desktop.gui.main_window import data_mismatch
        from gmm_desktop.io.model_io import load_model

        model = load_model(path)
        if model.params.n_features != win.session.dataset.n_features or win.session.state == RUNNING:
            return
        win.last_warning = ""
        differs = bool(data_mismatch(model, win.session.dataset))
        self.expect(win.open_model(path), f"could not open the model: {win.last_error}")
        self.expect(bool(win.last_warning) == differs, "a model on other data opened without a warning "
                                                       "(or one on its own data with one)")

    def settle(self) -> None:
        """Pause, wait until EM is quiet, and check that it stays so and the views catch up."""
        win, session = self.window, self.window.session
        self._action("actionPause").trigger()
        self.qtbot.waitUntil(lambda: session.state != RUNNING, timeout=3000)
        deadline, n = time.perf_counter() + 3.0, -1
        while len(session.trace) != n:  # steps still queued may add a few iterations; a running EM would not stop
            n = len(session.trace)
            self.qtbot.wait(25)
            if time.perf_counter() > deadline:
                self.expect(False, "EM went on after a pause")
                break
        self.expect(session.state != RUNNING, f"state {session.state} after a pause")

        def views_caught_up():
            xs = win.loglik_plot.curve.getData()[0]
            shown = session.shown
            status = win._status["iteration"].text()
            return ((0 if xs is None else len(xs)) == len(session.trace)
                    and status == ("" if shown is None else f"Iteration {shown.iteration}"))

        self.qtbot.waitUntil(views_caught_up, timeout=2000)

    def run_to_end(self) -> None:
        """Run and wait until EM converges or stops (bounded: max_iter is at most 1000, data small)."""
        session = self.window.session
        if session.state != PAUSED:
            return
        self._action("actionRun").trigger()
        self.qtbot.waitUntil(lambda: session.state != RUNNING, timeout=8000)
        if session.state == DONE:
            snap = self.window.snapshot
            self.expect(snap is not None and (snap.converged or snap.iteration >= session.settings["max_iter"]),
                        "DONE without convergence or max_iter")

    def wait(self) -> None:
        self.qtbot.wait(self.rng.choice([1, 5, 20, 40]))


@pytest.fixture(autouse=True)
def _restore_cursor(qapp):
    """The tests here move the mouse; put the (application-wide) cursor back for the tests that follow."""
    pos = QCursor.pos()
    yield
    QCursor.setPos(pos)


@pytest.fixture
def stress(qtbot, window, errors, tmp_path, monkeypatch):
    """A driver on the small data set (105 points, EM delay 0) that collects every exception."""
    window.resize(820, 600)  # the offscreen screen's size: smaller canvases draw faster
    with qtbot.captureExceptions() as exceptions:
        def make(seed):
            return Stress(qtbot, window, errors, exceptions, tmp_path, seed, monkeypatch)

        yield make


def _qt_warnings(qtlog) -> list[str]:
    """Qt's warnings and worse (a timer started from the wrong thread, a deleted object used, ...)."""
    return [r.message for r in qtlog.records if r.type != QtMsgType.QtDebugMsg and r.type != QtMsgType.QtInfoMsg
            and "propagateSizeHints" not in r.message]  # the offscreen platform's notice


def _close_and_check(qtbot, stress: Stress) -> None:
    window, controller = stress.window, stress.controller
    started = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - started
    stress.expect(elapsed < 3.0, f"closing took {elapsed:.1f} s")
    stress.expect(not controller.is_thread_running(), "the EM thread still runs after close")
    stress.expect(controller not in em_worker.live_controllers(), "the controller is still registered")
    qtbot.wait(100)  # whatever was still queued is delivered now, and must not raise
    stress.fail_if_problems()


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_random_actions_keep_the_window_consistent(qtbot, qtlog, stress, seed):
    driver = stress(seed)
    started = time.perf_counter()
    driver.play(N_ACTIONS)
    driver.act("settle")
    assert time.perf_counter() - started < 90, "the sequence took far too long: something is stuck"
    # the mix really exercised the window
    assert driver.counts.get("click", 0) > 10 and driver.counts.get("drag", 0) > 3
    assert driver.states_seen == {IDLE, PAUSED, RUNNING, DONE} and driver.iterations_seen > 20
    # the way-back check ran: some actions dropped a converged fit (each seed: 4-11 of them) and Undo brought it back
    assert sum(driver.ways_back.values()) >= 1, f"no converged fit was ever replaced: {driver.counts}"
    _close_and_check(qtbot, driver)
    assert not _qt_warnings(qtlog)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_closing_while_em_runs_mid_sequence(qtbot, qtlog, stress, seed):
    driver = stress(seed)
    win = driver.window
    driver.play(driver.rng.randint(20, 60))
    driver.act("settle")
    if len(win.means) == 0:
        driver.act("kmeanspp")
    # a fit that never converges, so EM is surely running when the window closes
    win.panel.set_em_settings({"tol": 0.0, "max_iter": 1_000_000})
    win.session.set_settings(win.panel.em_settings())
    win.actionRun.trigger()
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.iteration >= 3, timeout=5000)
    assert win.session.state == RUNNING
    # a burst of requests that are still queued for the worker when the window closes
    for _ in range(driver.rng.randint(0, 6)):
        driver.rng.choice([driver.step, driver.run, driver.pause, driver.undo, driver.redo, driver.click])()
    win.actionRun.trigger()
    _close_and_check(qtbot, driver)
    assert not _qt_warnings(qtlog)


# ---------------------------------------------------------------------- regressions found by the stress test
def _collapsing_window(qtbot, make_window, means):
    """A window whose fit collapses the component started at the origin (40 points exactly there)."""
    rng = np.random.default_rng(0)
    X = np.vstack([np.zeros((40, 2)), rng.normal(5.0, 1.0, size=(60, 2))])
    window = make_window(X)
    place_means(qtbot, window, means)
    for _ in range(4):
        with qtbot.waitSignal(window.session.controller.iterated, timeout=3000):
            window.actionStep.trigger()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=2000)
    return window


def test_banner_clicked_after_a_reset_does_nothing(qtbot, make_window):
    """The banner hides at the next frame; a click before it came raised AttributeError (no fit shown)."""
    window = _collapsing_window(qtbot, make_window, [[0.0, 0.0], [5.0, 5.0]])
    assert window.snapshot.collapsed == (0,)
    with qtbot.captureExceptions() as exceptions:
        window.actionReset.trigger()  # the fit is gone at once; the banner still shows it
        assert window.session.shown is None and window.banner.isVisible()
        window.banner.remove_button.click()
        window.banner.reseed_button.click()
        qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=2000)
    assert not exceptions
    # the two placed means and the (undoable) reset, nothing from the banner
    assert len(window.means) == 2 and window.undo_stack.count() == 3
    assert window.undo_stack.undoText() == "reset"


def test_banner_for_a_component_the_new_fit_lacks_does_nothing(qtbot, make_window):
    """After deleting a mean, the banner (until its next frame) offers a component index the new fit lacks:
    re-seeding it raised IndexError, and removing it pushed an edit that removed nothing but restarted EM."""
    window = _collapsing_window(qtbot, make_window, [[5.0, 5.0], [6.0, 4.0], [0.0, 0.0]])
    assert 2 in window.snapshot.collapsed
    qtbot.waitUntil(lambda: window.banner._component == 2, timeout=2000)
    with qtbot.captureExceptions() as exceptions:
        with qtbot.waitSignal(window.session.controller.restarted, timeout=3000):
            window.actionDeleteMean.trigger()  # the last mean (the collapsed one) goes: K is 2
        assert window.session.shown.means.shape[0] == 2
        edits = window.undo_stack.count()
        window.banner.remove_button.click()
        assert window.undo_stack.count() == edits
        window.banner.reseed_button.click()
        qtbot.wait(50)
    assert not exceptions
    assert len(window.means) == 2 and window.undo_stack.count() == edits


def _drag_with_key(qtbot, window, k, to_xy, key, modifiers=NO_MOD):
    """Press on placed mean ``k``, move half-way to ``to_xy``, press ``key``, then finish the drag."""
    viewport = window.canvas.viewport()
    start, end = canvas_point(window, *window.means[k]), canvas_point(window, *to_xy)
    for point in (start + QPoint(4, 3), start):
        QTest.qWait(MOVE_MS)
        QTest.mouseMove(viewport, point)
    QTest.mousePress(viewport, LEFT, NO_MOD, start)
    QTest.qWait(MOVE_MS)
    QTest.mouseMove(viewport, start + (end - start) * 0.5)
    QTest.keyClick(window, key, modifiers)
    QTest.qWait(MOVE_MS)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, LEFT, NO_MOD, end)


@pytest.mark.parametrize("key, modifiers", [(Qt.Key.Key_Z, CTRL), (Qt.Key.Key_Delete, NO_MOD)])
def test_means_removed_in_the_middle_of_a_drag(qtbot, window, key, modifiers):
    """Undo (of the last placed mean) or Delete while dragging that mean: the drag ends unapplied and
    nothing raises (the canvas once kept the dragged index past the end of the new means)."""
    place_means(qtbot, window, NOTEBOOK_START)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _drag_with_key(qtbot, window, 3, (3.0, 2.0), key, modifiers)
        qtbot.wait(20)
    assert len(window.means) == 3
    assert not [str(w.message).strip().splitlines()[-1] for w in caught]  # the exceptions pyqtgraph caught


def test_run_in_the_middle_of_a_drag_leaves_the_placed_means_drawn_where_they_are(qtbot, window):
    """Space (run) while dragging a mean: the drag stops, the session keeps the old mean, EM runs from it,
    and the canvas draws the mean where it is (it once kept drawing it where the drag left it)."""
    place_means(qtbot, window, NOTEBOOK_START)
    _drag_with_key(qtbot, window, 0, (3.0, 2.0), Qt.Key.Key_Space)
    drawn = np.column_stack(window.canvas._placed_means.getData())
    np.testing.assert_allclose(drawn, window.means, atol=1e-9)
