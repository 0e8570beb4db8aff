"""Autosave and crash recovery: a recovery copy of a session with unsaved work, about every 30 s.

Each window writes its copy to ``session-<id>.gmmsession`` in the recovery folder (a session file,
written atomically) and holds ``session-<id>.lock`` (a :class:`QLockFile`) while it runs; a clean
close deletes both. At the next start, a copy whose lock is not held by a running process (the app
crashed, or was killed) is offered back (:meth:`MainWindow.restore_recovery`).

The folder is ``recovery`` under ``QStandardPaths.AppDataLocation`` (per user), or the folder named by
the ``GMM_DESKTOP_RECOVERY_DIR`` environment variable (tests), or the ``directory`` argument.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer

from gmm_desktop.core.errors import GMMError
from gmm_desktop.document import CURSOR, HISTORY
from gmm_desktop.io.session_file import SUFFIX, write_session

ENV_DIR = "GMM_DESKTOP_RECOVERY_DIR"
INTERVAL_MS = 30_000
PREFIX = "session-"


def recovery_dir() -> Path:
    """Where recovery copies go: ``$GMM_DESKTOP_RECOVERY_DIR``, else the per-user app data folder."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".gmm-desktop") / "recovery"


class Recovery(QObject):
    """The recovery copy of one window's session.

    Parameters
    ----------
    window : MainWindow
    directory : path-like, optional
        The recovery folder (default :func:`recovery_dir`).

    Attributes
    ----------
    path : Path
        This window's recovery copy (exists only while there is unsaved work).
    dirty : bool
        Whether the session has changed since it was last saved, opened or autosaved.
    """

    def __init__(self, window, directory=None):
        super().__init__(window)
        self._window = window
        self.directory = Path(directory) if directory is not None else recovery_dir()
        self._id = uuid.uuid4().hex[:12]
        self.path = self.directory / f"{PREFIX}{self._id}{SUFFIX}"
        self._lock: QLockFile | None = None
        self.dirty = False
        self.last_error = ""
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.autosave)
        self._timer.start()
        window.session.document.subscribe(self._on_change)

    # -- what counts as unsaved work
    def _on_change(self, change) -> None:
        if change.kind == CURSOR:
            return  # looking at another iteration is not work to lose
        if change.kind == HISTORY and change.action == "append" and len(self._window.session.history) <= 1:
            return  # iteration 0 of the placed means: computed again from them
        self.dirty = True

    def mark_clean(self) -> None:
        """The session was saved to (or opened from) a file: no copy is needed until it changes."""
        self.dirty = False
        self._remove_own()

    # -- writing
    def autosave(self) -> bool:
        """Write the recovery copy now if there is unsaved work; True when written. A failure is
        reported in the status bar (autosave must never interrupt the user)."""
        if not self.dirty or self._window.session.dataset is None:
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._hold_lock()
            write_session(self.path, self._window.current_session_file())
        except (GMMError, OSError) as exc:
            self.last_error = f"Could not write the recovery copy to {self.directory}: {exc}"
            self._window.statusBar().showMessage(self.last_error, 8000)
            return False
        self.dirty = False
        return True

    def _hold_lock(self) -> None:
        if self._lock is None:
            lock = QLockFile(str(self._lock_path(self.path)))
            lock.setStaleLockTime(0)  # held as long as this process lives, however long that is
            if not lock.tryLock(0):
                raise OSError(f"cannot take the lock {self._lock_path(self.path).name}")
            self._lock = lock

    @staticmethod
    def _lock_path(copy: Path) -> Path:
        return copy.with_suffix(".lock")

    # -- after a crash
    def orphans(self) -> list[Path]:
        """Recovery copies no running app holds (left by a crash), the newest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for copy in self.directory.glob(f"{PREFIX}*{SUFFIX}"):
            if copy == self.path:
                continue
            probe = QLockFile(str(self._lock_path(copy)))
            probe.setStaleLockTime(0)
            if probe.tryLock(0):  # no lock, or a stale one (its process is gone): an orphan
                probe.unlock()
                with contextlib.suppress(OSError):
                    found.append((copy.stat().st_mtime, copy))
        return [copy for _, copy in sorted(found, key=lambda t: t[0], reverse=True)]

    @staticmethod
    def remove_copy(copy: Path) -> None:
        """Delete a recovery copy (and its lock file)."""
        for path in (copy, Recovery._lock_path(copy)):
            with contextlib.suppress(OSError):
                path.unlink()

    # -- the end
    def _remove_own(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def discard(self) -> None:
        """A clean close: the copy and the lock go."""
        self._timer.stop()
        self._remove_own()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
