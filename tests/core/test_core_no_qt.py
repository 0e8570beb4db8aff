import subprocess
import sys


def test_core_and_fit_import_no_qt():
    code = (
        "import sys, gmm_desktop.core, gmm_desktop.core.em, gmm_desktop.core.init, gmm_desktop.core.selection, "
        "gmm_desktop.io.model_io, gmm_desktop.io.datasets, gmm_desktop.io.generator, gmm_desktop.cli.main;"
        "from gmm_desktop.cli.main import main;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
