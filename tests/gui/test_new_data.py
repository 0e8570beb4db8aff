"""New data over unsaved work: the window's routes ask Save / Discard / Cancel; the methods scripts
call (load_data, open_example, generate_data, new_blank_data) replace the data as they always did."""

import numpy as np
import pytest
from PySide6.QtGui import QAction

from gmm_desktop.io import model_io
from gmm_desktop.io.session_file import read_session

from gui_helpers import NOTEBOOK_START, place_means, step


def _asked(monkeypatch, window, answer):
    """Let the window ask (``new_data_answer`` None) and record each question, answering ``answer``."""
    questions = []
    window.new_data_answer = None

    def ask(self, what):
        questions.append(what)
        return answer

    monkeypatch.setattr(type(window), "_ask_unsaved_work", ask)
    return questions


def _example(window, key):
    window.findChild(QAction, f"actionExample_{key}").trigger()


def test_an_example_over_an_unsaved_fit_asks_and_cancel_keeps_the_fit(qtbot, window, monkeypatch):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 3)
    fit = window.snapshot
    questions = _asked(monkeypatch, window, "cancel")
    _example(window, "faithful")
    assert questions == ["the fit (iteration 3)"]
    assert window.session.dataset.n_samples == 105 and window.snapshot is fit  # everything kept
    assert window.history_length == 4
    assert "the new data were not opened" in window.statusBar().currentMessage()
    # Discard: the example opens (the old behaviour)
    questions = _asked(monkeypatch, window, "discard")
    _example(window, "faithful")
    assert questions == ["the fit (iteration 3)"]
    assert window.session.dataset.n_samples == 272 and window.snapshot is None


def test_save_saves_the_model_as_quitting_does_then_opens_the_data(qtbot, window, monkeypatch, tmp_path):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    means = window.snapshot.means.copy()
    target = tmp_path / "before.json"
    monkeypatch.setattr(type(window), "_ask_save_path", lambda self: str(target))  # Save's file dialog
    questions = _asked(monkeypatch, window, "save")
    _example(window, "iris")
    assert questions == ["the fit (iteration 2)"]
    assert np.allclose(model_io.load_model(target).params.means, means)
    assert window.session.dataset.n_features == 4
    # the non-interactive route: an answer and a file
    window.session.set_means(window.session.dataset.X[:3])
    step(qtbot, window)
    assert window.confirm_new_data("save", save_to=tmp_path / "iris.json")
    assert model_io.load_model(tmp_path / "iris.json").params.means.shape == (3, 4)
    assert window.unsaved_work() == ""  # saved: nothing to ask about any more


def test_a_save_that_does_not_happen_keeps_the_data(qtbot, window, monkeypatch):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    monkeypatch.setattr(type(window), "_ask_save_path", lambda self: "")  # the file dialog cancelled
    _asked(monkeypatch, window, "save")
    _example(window, "faithful")
    assert window.session.dataset.n_samples == 105 and window.snapshot.iteration == 1


def test_placed_means_and_painted_data_count_as_work_suggested_means_do_not(qtbot, window, monkeypatch, tmp_path):
    assert window.unsaved_work() == ""
    place_means(qtbot, window, NOTEBOOK_START[:2])
    assert window.unsaved_work() == "the 2 placed means"
    window.generate_data("small", seed=1)  # the method replaces without asking; its means are suggested
    assert len(window.means) == 4 and window.unsaved_work() == ""
    questions = _asked(monkeypatch, window, "cancel")
    _example(window, "faithful")  # nothing to lose: no question
    assert questions == [] and window.session.dataset.n_samples == 272
    window.new_blank_data()
    assert window.unsaved_work() == ""  # a blank canvas holds nothing yet
    window.paint_stroke([(-5, 0), (-4, 0)], label=0)
    n = window.session.dataset.n_samples
    assert window.unsaved_work() == f"the painted data ({n:,} points)"
    window.findChild(QAction, "actionNewBlankData").trigger()  # the menu's route asks
    assert questions == [f"the painted data ({n:,} points)"] and window.session.dataset.n_samples == n
    # Save: a session file (a model file keeps no data)
    assert window.confirm_new_data("save", save_to=tmp_path / "painted.gmmsession")
    assert read_session(tmp_path / "painted.gmmsession").X.shape == (n, 2)
    assert window.unsaved_work() == ""


def test_the_methods_scripts_call_never_ask(qtbot, window, monkeypatch, tmp_path, small_data):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    window.new_data_answer = None

    def never(self, what):
        raise AssertionError(f"asked about {what}")

    monkeypatch.setattr(type(window), "_ask_unsaved_work", never)
    assert window.open_example("faithful")
    assert window.session.dataset.n_samples == 272 and not window.undo_stack.canUndo()
    window.session.set_means(window.session.dataset.X[:2])
    step(qtbot, window)
    with pytest.raises(ValueError, match="'save', 'discard' or 'cancel'"):
        window.confirm_new_data("maybe")


def test_a_dropped_data_file_asks_too(qtbot, window, monkeypatch, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window)
    path = tmp_path / "dropped.csv"
    path.write_text("a,b\n" + "".join(f"{i},{(i * 7) % 5}\n" for i in range(30)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    questions = _asked(monkeypatch, window, "cancel")
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: questions == ["the fit (iteration 1)"], timeout=2000)
    assert window.session.dataset.n_samples == 105 and window.snapshot.iteration == 1
    _asked(monkeypatch, window, "discard")
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.session.dataset.n_samples == 30, timeout=2000)


@pytest.mark.parametrize("button, opened", [("Cancel", False), ("Discard", True)])
def test_the_real_question_box_answers(qtbot, window, button, opened):
    """The interactive route itself: the Save / Discard / Cancel box really opens (modal), and the
    button pressed decides. A timer presses it from inside the box's own event loop."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 2)
    window.new_data_answer = None  # ask, as a user's window does
    seen = []

    def press():
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == "unsavedWorkBox" and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, press)  # not shown yet
            return
        seen.append(box.text())
        target = {"Cancel": QMessageBox.StandardButton.Cancel, "Discard": QMessageBox.StandardButton.Discard}[button]
        box.button(target).click()

    QTimer.singleShot(0, press)
    _example(window, "faithful")
    assert seen and "not saved" in seen[0] and "the fit (iteration 2)" in seen[0]
    assert (window.session.dataset.n_samples == 272) == opened
    if not opened:
        assert window.history_length == 3  # the fit is still there
