"""The dispatcher: one parser with a sub-command per command module, and :func:`main`."""

from __future__ import annotations

import argparse
import sys

from gmm_desktop import __version__
from gmm_desktop.cli import fit, generate, predict, select
from gmm_desktop.cli.parser import EXIT_USAGE, Parser, one_line
from gmm_desktop.core.errors import GMMError

#: The command modules, in the order ``--help`` lists them.
COMMAND_MODULES = (fit, generate, predict, select)


def build_parser() -> argparse.ArgumentParser:
    """The ``gmm-desktop`` parser; each command's parser sets ``args.handler`` to its ``run``."""
    parser = Parser(
        prog="gmm-desktop",
        description="Fit Gaussian mixture models by EM. Without a command, opens the desktop app "
        "(optionally on DATA_FILE).",
        epilog="Run 'gmm-desktop COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gmm-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run a command; returns the exit status (0, or 2 for a user mistake)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return args.handler(args)
    except GMMError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("error: not enough memory for this data set; use fewer points or components", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return 130
