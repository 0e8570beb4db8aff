"""The package layout holds: ``lint-imports`` keeps every contract of pyproject.toml, and no module of
gmm_desktop takes part in an import cycle. Each check is also shown to fail on a copy of the package
with a violation put in, so a contract that checks nothing cannot pass here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: Finds every import cycle among the modules of gmm_desktop (grimp builds the import graph,
#: function-level imports included) and prints one cycle a line, nothing when there is none.
_CYCLES = """
import grimp
graph = grimp.build_graph("gmm_desktop")
for module in sorted(graph.modules):
    for imported in sorted(graph.find_modules_directly_imported_by(module)):
        back = graph.find_shortest_chain(importer=imported, imported=module)
        if back:
            print(" -> ".join((module,) + tuple(back)))
"""


def _env(root: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)
    env["COLUMNS"] = "400"  # one line per contract in lint-imports' report
    return env


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=_env(root),
                          capture_output=True, text=True, timeout=300)


def import_cycles(root: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", _CYCLES], cwd=root, env=_env(root),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_lint_imports_keeps_every_contract():
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} is missing: pip install -e '.[test]' installs import-linter"
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_no_import_cycle_in_the_package():
    assert import_cycles(ROOT) == []


@pytest.fixture
def copy_of_package(tmp_path):
    """A copy of the package and its contracts, to break on purpose."""
    shutil.copytree(ROOT / "gmm_desktop", tmp_path / "gmm_desktop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("core/geometry.py", "from gmm_desktop.io import fileio", "One-way layers"),
        ("io/fileio.py", "import gmm_desktop.cli.parser", "One-way layers"),
        ("cli/parser.py", "import gmm_desktop.gui.palette", "One-way layers"),
        ("core/metrics.py", "import json", "The core is mathematics"),
        ("core/params.py", "import argparse", "The core is mathematics"),
        ("io/datasets.py", "import PySide6.QtCore", "Qt (PySide6, shiboken6, pyqtgraph) only in"),
        ("cli/fit.py", "import pyqtgraph", "Qt (PySide6, shiboken6, pyqtgraph) only in"),
        ("io/model_io.py", "import sklearn.mixture", "scikit-learn only in"),
        ("gui/palette.py", "import dask.array", "Dask only in"),
        ("core/geometry.py", "from gmm_desktop.core import metrics", "No import cycles"),
    ],
)
def test_a_violation_breaks_its_contract(copy_of_package, module, line, contract):
    if contract == "No import cycles":
        _append(copy_of_package / "gmm_desktop/core/metrics.py", "from gmm_desktop.core import geometry")
    _append(copy_of_package / "gmm_desktop" / module, line)
    out = lint_imports(copy_of_package)
    assert out.returncode != 0
    broken = [line for line in out.stdout.splitlines() if re.search(r" BROKEN( \(.*\))?$", line)]
    assert any(line.startswith(contract) for line in broken), out.stdout


def test_a_cycle_is_found(copy_of_package):
    _append(copy_of_package / "gmm_desktop/core/metrics.py", "from gmm_desktop.core import geometry")
    _append(copy_of_package / "gmm_desktop/core/geometry.py", "from gmm_desktop.core import metrics")
    cycles = import_cycles(copy_of_package)
    assert "gmm_desktop.core.geometry -> gmm_desktop.core.metrics -> gmm_desktop.core.geometry" in cycles


def test_optional_layers_are_checked_once_they_exist(copy_of_package):
    document = copy_of_package / "gmm_desktop" / "document"
    document.mkdir(exist_ok=True)  # (it exists once the document has landed)
    (document / "__init__.py").write_text("import gmm_desktop.cli.parser\n")
    out = lint_imports(copy_of_package)
    assert out.returncode != 0 and "gmm_desktop.document" in out.stdout
    (document / "__init__.py").write_text("import gmm_desktop.io.datasets\n")
    assert lint_imports(copy_of_package).returncode == 0
    (copy_of_package / "gmm_desktop" / "sklearn.py").write_text("import sklearn.mixture\n")
    assert lint_imports(copy_of_package).returncode == 0  # the one module allowed to import scikit-learn
