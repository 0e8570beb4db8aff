"""Helpers of the command tests."""

from gmm_desktop.cli.main import main

NOTEBOOK_MEANS = "1,-1;5,5;8,7;10,0"


def run(capsys, *argv):
    """Run the command line in this process: its exit code, stdout and stderr."""
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err
