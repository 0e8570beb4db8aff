"""The teaching controls of the window: step back and forward through the history, the E and M
half-steps, an undoable Reset, locks and edits of a component, and the status of the last half.

Installed by :class:`~gmm_desktop.gui.main_window.MainWindow` (``Teaching(window)``); it adds its
actions to the window's EM menu and toolbar and keeps the window's own code small.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QStyle

from gmm_desktop.document import CURSOR, HISTORY, SETTINGS
from gmm_desktop.document.edits import with_component
from gmm_desktop.gui.commands import StateCommand
from gmm_desktop.gui.em_worker import IDLE, RUNNING
from gmm_desktop.gui.session import HistoryCommand

#: The status bar's words for the half shown (short: the status bar is one line), and its tooltip.
HALF_TEXT = {
    "E": "after the E-step",
    "M": "after the M-step: press E for colours",
}
HALF_TIP = {
    "E": "after the E-step: colours are the responsibilities of these ellipses",
    "M": "after the M-step: ellipses moved, colours not yet updated (press E)",
}


class Teaching(QObject):
    """Creates ``actionStepBack``, ``actionStepForward``, ``actionEStep`` and ``actionMStep`` on
    ``window`` and makes ``actionReset`` undoable."""

    def __init__(self, window):
        super().__init__(window)
        self.window = w = window
        session = w.session
        sp = QStyle.StandardPixmap
        w.actionStepBack = w._action("actionStepBack", "Step &back", self.step_back, ["Left", "Shift+N"],
                                     sp.SP_MediaSeekBackward, "One iteration back in the history")
        w.actionStepForward = w._action("actionStepForward", "Step &forward", self.step_forward, ["Right"],
                                        tip="One iteration forward in the history, then new iterations")
        w.actionEStep = w._action("actionEStep", "&E-step", self.e_step, ["E"],
                                  tip="Half an iteration: new responsibilities (colours), the same ellipses")
        w.actionMStep = w._action("actionMStep", "&M-step", self.m_step, ["M"],
                                  tip="Half an iteration: new ellipses from the colours, which stay")
        w.actionEStep.setIconText("E")
        w.actionMStep.setIconText("M")
        # Reset through an undoable command (the window connected it to session.restart)
        w.actionReset.triggered.disconnect()
        w.actionReset.triggered.connect(self.reset)
        menu = next(a.menu() for a in w.menuBar().actions() if a.menu() is not None and a.text() == "E&M")
        menu.insertActions(w.actionReset, [w.actionStepBack, w.actionStepForward, w.actionEStep, w.actionMStep])
        self.half_label = QLabel()
        self.half_label.setObjectName("status_half")
        self.half_label.setContentsMargins(8, 0, 8, 0)
        w.statusBar().insertPermanentWidget(1, self.half_label)
        # like the change of log-likelihood, it makes room while a passing message shows
        w.statusBar().messageChanged.connect(lambda text: self.half_label.setVisible(not text))
        session.fit_changed.connect(self._update)
        session.document.subscribe(self._update, kinds=(CURSOR, HISTORY))
        # an undo or redo puts back a whole state, settings included: the panel shows them
        session.document.subscribe(lambda _c: w.panel.set_em_settings(session.settings), kinds=(SETTINGS,))
        session.state_changed.connect(self._on_state_changed)
        self._on_state_changed(session.state)

    def install_toolbar(self, toolbar) -> None:
        """Put step back, E and M beside Step on the window's toolbar."""
        w = self.window
        actions = toolbar.actions()
        step = actions.index(w.actionStep)
        toolbar.insertAction(actions[step], w.actionStepBack)
        after = actions[step + 1] if step + 1 < len(actions) else None
        for action in (w.actionEStep, w.actionMStep):
            if after is None:
                toolbar.addAction(action)
            else:
                toolbar.insertAction(after, action)

    # -- actions
    def step_back(self) -> None:
        self.window.session.step_back()

    def step_forward(self) -> None:
        """Forward through the history; at its newest iteration, a new one is computed."""
        if not self.window.session.step_forward():
            self.window._on_step_triggered()

    def e_step(self) -> None:
        self.window._go_on_from_cursor()
        self.window.session.e_step()

    def m_step(self) -> None:
        self.window._go_on_from_cursor()
        self.window.session.m_step()

    def reset(self) -> None:
        session = self.window.session
        if session.state != IDLE:
            self.window.undo_stack.push(StateCommand(session, "reset", session.restart))

    def lock_component(self, k: int, mean=False, covariance=False, weight=False) -> None:
        session = self.window.session
        lock = {"mean": bool(mean), "covariance": bool(covariance), "weight": bool(weight)}
        if session.document.locks[k] == type(session.document.locks[k])(**lock):
            return
        what = ", ".join(name for name, on in lock.items() if on) or "nothing"
        self.window.undo_stack.push(StateCommand(session, f"lock component {k + 1}: {what}",
                                                 lambda: session.set_lock(k, **lock)))
        if any(lock.values()) and session.settings.get("method") == "vb":
            self.window.statusBar().showMessage(
                f"Component {k + 1}'s lock is kept, but applies to EM only: the Bayesian (VB) fit updates "
                "every component. Switch Method to EM to fit with it.", 10000)

    def set_component(self, k: int, weight=None, mean=None, covariance=None) -> None:
        session = self.window.session
        start = with_component(session.start_params(), k, weight=weight, mean=mean, covariance=covariance)
        from gmm_desktop.gui.session import MeansCommand

        self.window.undo_stack.push(MeansCommand(session, start.means, f"edit component {k + 1}", start=start))

    # -- status
    def _on_state_changed(self, state: str) -> None:
        w = self.window
        for action in (w.actionEStep, w.actionMStep, w.actionStepForward):
            action.setEnabled(state != IDLE)
        self._update()

    def _update(self, *_args) -> None:
        session = self.window.session
        phase = session.last_phase if session.snapshot is not None else None
        self.window.actionStepBack.setEnabled(phase is not None and session.document.current.iteration > 0)
        text = "" if phase is None or (phase == "E" and session.document.current.iteration == 0) else HALF_TEXT[phase]
        if session.state == RUNNING:
            text = ""
        self.half_label.setText(text)
        self.half_label.setToolTip(HALF_TIP[phase] if text else "")
