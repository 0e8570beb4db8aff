"""Entry point: ``python main.py [DATA_FILE]`` opens the window; ``python main.py COMMAND ...`` runs a
headless command (``fit``, ``generate``, ``predict``, ``select``) without importing Qt."""

from __future__ import annotations

import difflib
import os
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
        from gmm_desktop.cli.main import main as cli_main

        sys.exit(cli_main(argv))
    problem = _cannot_open_window(argv)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    from gmm_desktop.gui.main_window import run_app

    sys.exit(run_app(argv))


def _cannot_open_window(argv) -> str | None:
    """Why the window cannot open, said in one line (a mistyped command, no display), or None."""
    if argv and not os.path.exists(argv[0]) and not os.path.splitext(argv[0])[1] and os.sep not in argv[0]:
        close = difflib.get_close_matches(argv[0], HEADLESS_COMMANDS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return (f"unknown command '{argv[0]}': {hint}commands are {', '.join(HEADLESS_COMMANDS)}; "
                "or give a data file to open in the window")
    if sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return ("no display to open the window on (DISPLAY is not set); the commands "
                f"{', '.join(HEADLESS_COMMANDS)} work without one (see --help)")
    return None
