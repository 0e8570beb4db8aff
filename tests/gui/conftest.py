"""Fixtures for driving the real window."""

import pytest

from gmm_desktop.io import datasets, generator


@pytest.fixture(autouse=True)
def _no_quit_prompt(monkeypatch):
    """Closing a window never waits for an answer in tests."""
    from gmm_desktop.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_to_save_on_close", False)


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
