"""Undoable edits that never lose EM progress: each keeps the session's whole state, not a diff.

A :class:`StateCommand` runs an edit (``apply``) the first time it is done. Undo takes the state
as it is *then* (with every iteration EM computed after the edit) before putting back the state
from before the edit; redo takes the state as it is then (with every iteration computed since the
undo) before putting back the one undo left. So whichever way the stack is walked, the EM run
that was on screen is kept in the command and comes back with the next undo or redo.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class StateCommand(QUndoCommand):
    """An edit of the session (``apply()``), undoable through captured document states.

    Parameters
    ----------
    session : Session
        Has ``capture()`` and ``restore(state)``.
    text : str
        What the Undo and Redo menu items say.
    apply : callable
        Makes the edit (called once, by the first redo, i.e. when the command is pushed).
    """

    def __init__(self, session, text: str, apply):
        super().__init__(text)
        self._session = session
        self._apply = apply
        self._before = None
        self._after = None

    def redo(self) -> None:
        self._before = self._session.capture()
        if self._after is None:
            self._apply()
        else:
            self._session.restore(self._after)

    def undo(self) -> None:
        self._after = self._session.capture()
        self._session.restore(self._before)
