"""Test set-up for every test: Qt (if a test loads it) runs offscreen and its settings go to a
temporary folder, never the user's. Nothing here imports Qt: the core, io and cli tests run on a
machine without PySide6 (tests/test_no_qt.py checks that). The Qt fixtures are in tests/gui/conftest.py."""

import os
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gmm-desktop-config-")
