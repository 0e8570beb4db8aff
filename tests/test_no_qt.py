"""The core, io, cli and document tests pass on a machine without Qt: they run here in a fresh interpreter in
which PySide6, shiboken6, pyqtgraph and pytest-qt cannot be imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Put first on sys.path as sitecustomize.py: refuses every Qt import, as a machine without Qt would.
_BLOCKER = '''
import sys

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "pytestqt")


class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: this test runs without Qt)", name=name)
        return None


sys.meta_path.insert(0, _NoQt())
'''


def _run(tmp_path, *args) -> subprocess.CompletedProcess:
    blocker = tmp_path / "no_qt"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(_BLOCKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=3600)


def test_the_blocker_blocks_qt(tmp_path):
    out = _run(tmp_path, "-c", "import PySide6")
    assert out.returncode != 0 and "blocked: this test runs without Qt" in out.stderr


@pytest.mark.slow
def test_core_io_cli_and_document_tests_pass_without_qt(tmp_path):
    # the quick lane of those folders (their slow tests are mathematics, not imports)
    out = _run(tmp_path, "-m", "pytest", "-p", "no:pytest-qt", "-p", "no:cacheprovider", "-q", "-x",
               "-m", "not slow", "tests/core", "tests/io", "tests/cli", "tests/document")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "error" not in out.stdout.splitlines()[-1]
