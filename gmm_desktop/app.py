"""Entry point: ``python main.py [DATA_FILE]`` opens the window; ``python main.py COMMAND ...`` runs a
headless command (``fit``, ``generate``, ``predict``, ``select``) without importing Qt."""

from __future__ import annotations

import sys

HEADLESS_COMMANDS = ("fit", "generate", "predict", "select")


def create_main_window(data=None):
    """Build the main window without starting the event loop.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features), str, os.PathLike or None
        An array, a data file's path, or ``None`` for the built-in demo data set.

    A ``QApplication`` must exist (the function creates one if there is none).
    """
    from gmm_desktop.gui.main_window import create_main_window as _create

    return _create(data)


def main(argv=None) -> None:
    """Run the command line or the desktop app, and exit with its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in HEADLESS_COMMANDS or argv[0] in ("-h", "--help", "--version")):
        from gmm_desktop.core.cli import main as cli_main

        sys.exit(cli_main(argv))
    from gmm_desktop.gui.main_window import run_app

    sys.exit(run_app(argv))
