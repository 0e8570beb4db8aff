"""Test set-up: Qt runs offscreen, settings go to temporary folders (never the user's), and no test
may leave an EM worker thread running."""

import os
import sys
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gmm-desktop-config-")

import pytest  # noqa: E402


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
