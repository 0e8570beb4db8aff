"""Between the window and a session file: what the window saves, and how opening one puts it all back.

The file format itself is Qt-free (:mod:`gmm_desktop.io.session_file`); here the document's state
becomes a :class:`~gmm_desktop.io.session_file.SessionFile` and back (a
:class:`~gmm_desktop.document.DocumentState` the session restores in one edit).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gmm_desktop.core.errors import GMMError

from gmm_desktop.document import DocumentState, HistoryEntry, Locks, ViewState
from gmm_desktop.io.datasets import Dataset
from gmm_desktop.io.session_file import SessionFile

SESSION_FILTER = "Session files (*.gmmsession);;All files (*)"


def session_file_of(window) -> SessionFile:
    """Everything the window's document holds, and the canvas's visible range."""
    doc = window.session.document
    dataset = doc.dataset
    view = doc.view.capture()
    (x0, x1), (y0, y1) = window.canvas.getPlotItem().vb.viewRange()
    return SessionFile(
        X=dataset.X, feature_names=list(dataset.feature_names), labels=dataset.labels,
        label_names=dataset.label_names, label_name=dataset.label_name, source=dataset.source,
        true_centers=dataset.true_centers, provenance=getattr(dataset, "provenance", None),
        means=np.asarray(doc.means), start=doc.start, settings=doc.settings, locks=dict(doc.locks.items()),
        history=[entry.snapshot for entry in doc.history], cursor=doc.history.cursor,
        view=view.displayed, pca_axes=view.pca_axes,
        extra={"canvas_range": [[float(x0), float(x1)], [float(y0), float(y1)]]})


def dataset_of(sf: SessionFile, source: str) -> Dataset:
    return Dataset(X=sf.X, feature_names=list(sf.feature_names), labels=sf.labels, source=sf.source or source,
                   true_centers=sf.true_centers, all_feature_names=list(sf.feature_names),
                   label_names=sf.label_names, label_name=sf.label_name, provenance=sf.provenance)


def apply_session_file(window, sf: SessionFile, source: str) -> None:
    """Put the window in the state ``sf`` describes (its data, means, settings, locks, history with
    the same entry shown, view). The undo stack starts empty, as after opening data."""
    window._set_dataset(dataset_of(sf, source))
    settings = {k: sf.settings[k] for k in window.session.settings if k in sf.settings}  # EM's and the method's
    window.panel.set_em_settings({**window.session.settings, **settings})
    window.session.settings = {**window.panel.em_settings(), **settings}
    doc = window.session.document
    n_features = sf.X.shape[1]
    displayed = sf.view if isinstance(sf.view, str) else tuple(sf.view)
    state = DocumentState(
        dataset=doc.dataset, means=np.asarray(sf.means, dtype=float), start=sf.start,
        settings=tuple(window.session.settings.items()), locks=Locks(sf.locks),
        entries=tuple(HistoryEntry.of(s) for s in sf.history),
        cursor=sf.cursor if sf.history else None,
        view=ViewState(n_features, displayed, None if sf.pca_axes is None else np.array(sf.pca_axes)))
    window.session.restore(state)
    window.session.mark_saved()
    rng = sf.extra.get("canvas_range")
    if _is_range(rng):
        window.canvas.getPlotItem().vb.setRange(xRange=rng[0], yRange=rng[1], padding=0)


def _is_range(rng) -> bool:
    try:
        (x0, x1), (y0, y1) = rng
        values = [float(x0), float(x1), float(y0), float(y1)]
    except (TypeError, ValueError):
        return False
    return all(np.isfinite(values)) and x1 > x0 and y1 > y0


def _menu(window, title: str):
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text() == title:
            return action.menu()
    raise LookupError(title)


def insert_after(menu, anchor, actions) -> None:
    """Put ``actions`` in ``menu`` right after ``anchor`` (at the end without it)."""
    items = menu.actions()
    index = items.index(anchor) + 1 if anchor in items else len(items)
    before = items[index] if index < len(items) else None
    for action in actions:
        if action is None:
            menu.insertSeparator(before) if before is not None else menu.addSeparator()
        elif before is not None:
            menu.insertAction(before, action)
        else:
            menu.addAction(action)


class SessionFilesMixin:
    """The window's session files and crash recovery (``save_session``, ``open_session``,
    ``restore_recovery``); mixed into :class:`~gmm_desktop.gui.main_window.MainWindow`."""

    def _setup_sessions(self) -> None:
        from gmm_desktop.gui.recovery import Recovery

        self._session_path: str | None = None
        self.actionOpenSession = self._action("actionOpenSession", "Open s&ession…", self._on_open_session_triggered,
                                              ["Ctrl+Alt+O"], tip="Open a saved session: data, means, settings, "
                                              "locks, the whole history and the view")
        self.actionSaveSession = self._action("actionSaveSession", "Save sess&ion…", self._on_save_session_triggered,
                                              ["Ctrl+Alt+S"], tip="Save everything (data, means, settings, locks, "
                                              "history, view) in one session file")
        file_menu = _menu(self, "&File")
        insert_after(file_menu, self.actionSaveModelAs, [None, self.actionOpenSession, self.actionSaveSession])
        self.recovery = Recovery(self)

    def current_session_file(self) -> SessionFile:
        """What a session file of this window holds now (the recovery copy writes it)."""
        return session_file_of(self)

    def save_session(self, path) -> bool:
        """Save the whole session (data, feature names and labels, means, settings, locks, history,
        view) to ``path``, atomically. Returns True on success; errors are shown."""
        from gmm_desktop.io.session_file import write_session

        try:
            write_session(path, session_file_of(self))
        except GMMError as exc:
            self._show_error("Could not save the session", str(exc))
            return False
        self._session_path = os.fspath(path)
        self._last_dir = str(Path(path).resolve().parent)
        self.session.mark_saved()
        self.undo_stack.setClean()  # the placed means are saved too
        self._kept_dataset = self.session.dataset  # and the data (painted ones included)
        self.recovery.mark_clean()
        self.statusBar().showMessage(f"Saved the session to {Path(path).name}", 6000)
        return True

    def open_session(self, path) -> bool:
        """Open a session file: the window then holds exactly what was saved (the same history,
        iteration shown, means, settings, locks and view). A damaged file, or one from a newer
        version, is refused with a clear message and nothing changes. Returns True on success."""
        from gmm_desktop.io.session_file import read_session

        try:
            sf = read_session(path)
        except GMMError as exc:
            self._show_error("Could not open the session", str(exc))
            return False
        self.session.pause()
        apply_session_file(self, sf, Path(path).name)
        self._session_path = os.fspath(path)
        self._last_dir = str(Path(path).resolve().parent)
        self.recovery.mark_clean()
        n = len(sf.history)
        shown = f", iteration {sf.history[sf.cursor].iteration} shown" if n and sf.cursor is not None else ""
        self.statusBar().showMessage(f"Opened the session {Path(path).name}: {sf.X.shape[0]:,} points, "
                                     f"{len(sf.means)} means, {n} history entries{shown}", 8000)
        return True

    def recovery_available(self) -> Path | None:
        """The newest recovery copy a crashed app left, or None."""
        orphans = self.recovery.orphans()
        return orphans[0] if orphans else None

    def restore_recovery(self, accept: bool | None = None) -> bool:
        """Offer the recovery copy a crash left (the newest). ``accept``: the answer (None asks).

        Accepted: the window takes the copy's state (its work is unsaved: it is autosaved again
        under this window's own copy). Declined: the copy is deleted. Returns True when restored.
        """
        from gmm_desktop.gui.recovery import Recovery
        from gmm_desktop.io.session_file import read_session

        copy = self.recovery_available()
        if copy is None:
            return False
        if accept is None:
            accept = self._ask_restore_recovery(copy)
        if not accept:
            Recovery.remove_copy(copy)
            self.statusBar().showMessage("The recovery copy was discarded", 6000)
            return False
        try:
            sf = read_session(copy)
        except GMMError as exc:
            self._show_error("Could not restore the recovered session",
                             f"{exc}\n\nThe copy is kept at {copy}.")
            return False
        self.session.pause()
        apply_session_file(self, sf, "recovered session")
        Recovery.remove_copy(copy)
        self.recovery.dirty = True  # never saved: keep it safe in this window's own copy
        self.recovery.autosave()
        self.statusBar().showMessage(f"Restored the session recovered after a crash ({sf.X.shape[0]:,} points, "
                                     f"{len(sf.history)} history entries): save it to keep it", 10000)
        return True

    def offer_recovery(self) -> None:
        """At the start (``run_app``): ask about a copy a crash left, if there is one."""
        if self.recovery_available() is not None:
            self.restore_recovery()

    # -- dialogs (tests give the answers instead)
    def _ask_restore_recovery(self, copy: Path) -> bool:
        import datetime

        when = datetime.datetime.fromtimestamp(copy.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Restore the unsaved session?",
            f"gmm-desktop did not close normally last time. A recovery copy of its session from {when} was "
            "found. Restore it?\n\n(No deletes the copy.)", buttons.Yes | buttons.No, buttons.Yes)
        return answer == buttons.Yes

    def _on_open_session_triggered(self) -> None:
        if not self.confirm_new_data():  # a session replaces the data and the fit
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self._last_dir, SESSION_FILTER)
        if path:
            self.open_session(path)

    def _on_save_session_triggered(self) -> bool:
        from gmm_desktop.io.session_file import SUFFIX

        start = self._session_path or os.path.join(self._last_dir, "session" + SUFFIX)
        path, _ = QFileDialog.getSaveFileName(self, "Save session", start, SESSION_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += SUFFIX
        return self.save_session(path)
