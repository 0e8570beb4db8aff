"""Session files and crash recovery, through the window's automation surface."""

import os
import zipfile

import numpy as np
from PySide6.QtGui import QAction

from gmm_desktop.gui.session_files import session_file_of
from gmm_desktop.io.session_file import read_session, write_session

from gui_helpers import NOTEBOOK_START, place_means, step


def fitted_window(qtbot, window, n_steps=5, shown=3):
    place_means(qtbot, window, NOTEBOOK_START)
    window.session.document.lock_component(1, mean=True)
    qtbot.waitUntil(lambda: window.session.shown is not None, timeout=5000)
    step(qtbot, window, n_steps)
    window.session.set_view(1, 0)
    window.show_iteration(shown)
    return window


def state_of(window):
    doc = window.session.document
    snap = window.snapshot
    return {
        "history_length": window.history_length,
        "entries": len(doc.history),
        "iteration": None if snap is None else snap.iteration,
        "shown_means": None if snap is None else snap.means.copy(),
        "placed": window.means,
        "trace": list(window.session.trace),
        "settings": doc.settings,
        "locks": doc.locks,
        "view": doc.view.displayed,
        "X": doc.X.copy(),
        "names": doc.feature_names,
        "labels": None if doc.labels is None else doc.labels.copy(),
    }


def assert_same_state(a, b):
    assert a["history_length"] == b["history_length"]
    assert a["entries"] == b["entries"]
    assert a["iteration"] == b["iteration"]
    np.testing.assert_array_equal(a["shown_means"], b["shown_means"])
    np.testing.assert_array_equal(a["placed"], b["placed"])
    assert a["trace"] == b["trace"]
    assert a["settings"] == b["settings"]
    assert a["locks"] == b["locks"]
    assert a["view"] == b["view"]
    np.testing.assert_array_equal(a["X"], b["X"])
    assert a["names"] == b["names"]
    np.testing.assert_array_equal(a["labels"], b["labels"])


def test_a_saved_session_opens_in_a_fresh_window_exactly_as_it_was(qtbot, window, make_window, tmp_path, errors):
    window.panel.set_em_settings({"tol": 1e-7, "max_iter": 321})
    window.session.settings = window.panel.em_settings()
    fitted_window(qtbot, window)
    before = state_of(window)
    assert before["history_length"] == 6 and before["iteration"] == 3
    path = tmp_path / "lecture.gmmsession"
    assert window.findChild(QAction, "actionSaveSession") is not None
    assert window.save_session(path)
    assert not errors

    fresh = make_window()  # the demo data, nothing placed
    assert fresh.history_length == 0
    assert fresh.open_session(path), errors
    after = state_of(fresh)
    assert_same_state(before, after)
    assert fresh.panel.em_settings()["max_iter"] == 321  # the panel shows the session's settings
    # the canvas draws the iteration shown, and going on from it works
    qtbot.waitUntil(lambda: fresh.canvas._snapshot is not None and fresh.canvas._snapshot.iteration == 3,
                    timeout=3000)
    assert fresh.snapshot.resp is not None and fresh.snapshot.resp.shape == (105, 4)
    step(qtbot, fresh)
    assert fresh.snapshot.iteration == 4 and fresh.history_length == 5  # 4..5 dropped, a new 4
    fresh.undo_stack.undo()
    assert fresh.history_length == 6


def test_a_damaged_session_file_is_refused_clearly_and_nothing_changes(qtbot, window, tmp_path, errors):
    fitted_window(qtbot, window)
    good = tmp_path / "good.gmmsession"
    assert window.save_session(good)
    before = state_of(window)
    raw = good.read_bytes()

    truncated = tmp_path / "truncated.gmmsession"
    truncated.write_bytes(raw[: len(raw) // 2])
    flipped = tmp_path / "flipped.gmmsession"
    data = bytearray(raw)
    x_at = raw.index(b"X.npy")  # a byte inside the data array's member
    data[x_at + 400] ^= 0xFF
    flipped.write_bytes(bytes(data))
    not_session = tmp_path / "notes.gmmsession"
    not_session.write_text("x,y\n1,2\n")
    newer = tmp_path / "newer.gmmsession"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(newer, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "manifest.json":
                body = body.replace(b'"format_version": 1', b'"format_version": 99')
            dst.writestr(item, body)

    for bad, words in ((truncated, "damaged or truncated"), (flipped, "damaged"),
                       (not_session, "not a session file"), (newer, "newer")):
        errors.clear()
        assert not window.open_session(bad)
        assert len(errors) == 1 and words in errors[0][1], (bad.name, errors)
        assert bad.name in errors[0][1]
        assert_same_state(before, state_of(window))
    assert "update the app" in window.last_error


def test_recovery_after_a_simulated_crash(qtbot, window, make_window, _recovery_dir, tmp_path, errors):
    fitted_window(qtbot, window)
    before = state_of(window)
    # the window autosaves its unsaved work (the 30 s timer calls this)
    assert window.recovery.dirty
    assert window.recovery.autosave()
    copy = window.recovery.path
    assert copy.parent == _recovery_dir and copy.is_file()
    # a crash: the process dies holding nothing; the copy stays behind without a live lock
    crashed = _recovery_dir / "session-crashed.gmmsession"
    write_session(crashed, session_file_of(window))
    os.utime(crashed, (1e9 + 10, 2e9))

    fresh = make_window()
    assert fresh.recovery_available() == crashed  # not the live window's own copy
    assert fresh.restore_recovery(accept=True), errors
    assert_same_state(before, state_of(fresh))
    assert not crashed.exists()  # taken over: the fresh window keeps its own copy of the unsaved work
    assert fresh.recovery.path.is_file()
    assert fresh.recovery_available() is None

    # declined: the copy goes and the window stays as it was
    write_session(crashed, session_file_of(window))
    other = make_window()
    demo = state_of(other)
    assert not other.restore_recovery(accept=False)
    assert not crashed.exists()
    assert other.history_length == demo["history_length"] == 0
    np.testing.assert_array_equal(state_of(other)["X"], demo["X"])

    # a clean close leaves no copy
    window.close()
    assert not copy.exists()


def test_offered_at_start_through_the_dialog_hook(qtbot, window, make_window, _recovery_dir, monkeypatch):
    fitted_window(qtbot, window, n_steps=2, shown=2)
    _recovery_dir.mkdir(parents=True, exist_ok=True)
    write_session(_recovery_dir / "session-old.gmmsession", session_file_of(window))
    asked = []
    from gmm_desktop.gui.main_window import MainWindow
    monkeypatch.setattr(MainWindow, "_ask_restore_recovery", lambda self, copy: asked.append(copy) or True)
    fresh = make_window()
    fresh.offer_recovery()
    assert [p.name for p in asked] == ["session-old.gmmsession"]
    assert fresh.history_length == 3


def test_no_recovery_copy_without_unsaved_work(qtbot, make_window, _recovery_dir):
    fresh = make_window()
    assert not fresh.recovery.dirty
    assert not fresh.recovery.autosave()
    assert not fresh.recovery.path.exists()


def test_saving_the_session_removes_the_recovery_copy(qtbot, window, tmp_path):
    fitted_window(qtbot, window, n_steps=1, shown=1)
    assert window.recovery.autosave() and window.recovery.path.exists()
    assert window.save_session(tmp_path / "s.gmmsession")
    assert not window.recovery.path.exists() and not window.recovery.dirty
    sf = read_session(tmp_path / "s.gmmsession")
    assert len(sf.history) == window.history_length == 2
