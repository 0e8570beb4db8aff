"""Fixtures for driving the real window: isolated Qt settings, no EM thread left running, windows."""

import sys

import pytest

from gmm_desktop.io import datasets, generator


@pytest.fixture(autouse=True)
def _isolated_qt_settings(tmp_path):
    """Every test gets its own settings folder, so no test sees another's saved settings."""
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))


@pytest.fixture(autouse=True)
def _no_em_thread_left_running():
    """Fail any test that leaves an EM worker thread running (and stop it, for the next tests)."""
    yield
    em_worker = sys.modules.get("gmm_desktop.gui.em_worker")
    if em_worker is None:
        return
    running = [c for c in em_worker.live_controllers() if c.is_thread_running()]
    em_worker.shutdown_all()
    if running:
        pytest.fail(f"{len(running)} EM worker thread(s) left running: close the window or shut down the controller")


@pytest.fixture(autouse=True)
def _no_quit_prompt(monkeypatch):
    """Closing a window never waits for an answer in tests."""
    from gmm_desktop.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_to_save_on_close", False)


@pytest.fixture(autouse=True)
def _no_new_data_prompt(monkeypatch):
    """New data over unsaved work are never asked about in tests: Discard (the old behaviour), unless
    a test sets ``window.new_data_answer`` (None asks through ``_ask_unsaved_work``)."""
    from gmm_desktop.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "new_data_answer", "discard")


@pytest.fixture(autouse=True)
def _recovery_dir(monkeypatch, tmp_path):
    """Recovery copies go to the test's own folder, never the user's."""
    folder = tmp_path / "recovery"
    monkeypatch.setenv("GMM_DESKTOP_RECOVERY_DIR", str(folder))
    return folder


@pytest.fixture
def errors(monkeypatch):
    """The (title, text) of every error the windows show, instead of message boxes."""
    from gmm_desktop.gui.main_window import MainWindow

    shown = []

    def record(self, title, text):
        self.last_error = text
        shown.append((title, text))

    monkeypatch.setattr(MainWindow, "_show_error", record)
    return shown


@pytest.fixture
def small_data():
    """The notebook's four clusters, small preset (105 points), with labels."""
    return generator.generate("small", seed=0)


@pytest.fixture
def make_window(qtbot, errors):
    """Build a shown main window on ``data`` (default: the small preset, EM delay 0)."""

    def make(data=None):
        from gmm_desktop.app import create_main_window

        window = create_main_window(None if data is None else data)
        qtbot.addWidget(window)
        window.panel.delay_slider.setValue(0)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def window(make_window, tmp_path, small_data):
    path = tmp_path / "small.csv"
    datasets.write_csv(small_data, path)
    win = make_window(path)
    assert win.session.dataset.n_samples == 105
    return win
