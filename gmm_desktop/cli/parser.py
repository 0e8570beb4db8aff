"""What every command shares: the argparse parser class, option types, the EM options, output checks.

The command modules (:mod:`.fit`, :mod:`.generate`, :mod:`.predict`, :mod:`.select`) import only
this module; :mod:`.main` puts them together. Nothing here imports a command module.

Every user mistake ends with exit status 2 and one line ``error: <what is wrong and what to do>``
on stderr, and no output file is written (an existing one is left as it was).
"""

from __future__ import annotations

import argparse
import math
import os

from gmm_desktop.core.errors import GMMError, ParamsError
from gmm_desktop.core.options import EM_SETTINGS, OPTIONS, Option
from gmm_desktop.core.selection import parse_covariance_types

EXIT_USAGE = 2


class UsageError(GMMError):
    """Bad command-line options."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default once, as the user would type it (``full,diag``, not
    ``('full', 'diag')``), and none for options without one (no ``(default: None)``)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or "default:" in text or default is None or default is False
                or default is argparse.SUPPRESS or not action.option_strings):
            return text
        shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one ``error:`` line (raised, so main() prints it once), and every
    option's help shows its default (:class:`HelpFormatter`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (for options outside the table, e.g. ``--scheduler-timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def columns_list(text: str) -> list:
    parts = [p.strip() for p in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give column names or indices separated by commas")
    return [int(p) if p.isdigit() else p for p in parts]


def option_type(option: Option):
    """The argparse ``type`` of a numeric option of the table: its range and message from the table."""
    convert = int if option.kind == "int" else float

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            word = "a whole number" if option.kind == "int" else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
        try:
            return option.check(value)
        except ParamsError:
            advice = f"; {option.advice}" if option.advice else ""
            raise argparse.ArgumentTypeError(f"{text!r} must be {option.describe_range()}{advice}") from None

    parse.__name__ = option.name  # argparse names the type in some messages
    return parse


def _covariance_list(text: str) -> tuple[str, ...]:
    try:
        return parse_covariance_types(text)
    except ParamsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_option(parser: argparse.ArgumentParser, name: str, **overrides) -> None:
    """Add option ``name`` of :data:`gmm_desktop.core.options.OPTIONS` to ``parser``: its flag, type,
    choices, default and help from the table (``overrides`` replace any of the ``add_argument``
    keywords, e.g. a help text that says more for one command)."""
    option = OPTIONS[name]
    kwargs = {"default": option.default, "help": option.help}
    if option.kind == "choice":
        kwargs["choices"] = list(option.choices)
    elif option.kind == "choices":
        kwargs["type"] = _covariance_list
        kwargs["metavar"] = name.upper().split("_")[-1]
    else:
        kwargs["type"] = option_type(option)
    kwargs.update(overrides)
    parser.add_argument(option.flag, **kwargs)


def add_em_options(parser: argparse.ArgumentParser) -> None:
    """The EM and data options shared by ``fit`` and ``select``."""
    for name in EM_SETTINGS:
        add_option(parser, name)
    add_option(parser, "accelerate", default=None)  # None: resolve_accelerate (squarem, or plain EM where it must)
    add_option(parser, "dtype")
    parser.add_argument("--columns", type=columns_list, help="feature columns by header name or 0-based index")
    parser.add_argument("--drop-invalid", action="store_true",
                        help="drop rows with non-numeric or non-finite cells instead of refusing the file")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and the Dask engine's options (``fit``, ``predict``, ``select``)."""
    group = parser.add_argument_group("engine", "where the work runs (the dask engine needs the [dask] extra)")
    group.add_argument("--engine", choices=["memory", "dask"], default="memory",
                       help="memory: in this process; dask: on a Dask cluster, for data larger than memory "
                       "(.npy, Zarr, Parquet, or a quoted glob of CSV files)")
    group.add_argument("--scheduler", metavar="ADDRESS", default=argparse.SUPPRESS,
                       help="with --engine dask: a running Dask scheduler, e.g. tcp://host:8786 (default: start "
                       "a local cluster of one worker process per core, stopped when done)")
    group.add_argument("--chunk-rows", type=positive_int, default=argparse.SUPPRESS, metavar="N",
                       help="with --engine dask: rows per chunk (default 1,000,000)")
    group.add_argument("--scheduler-timeout", type=non_negative_float, default=argparse.SUPPRESS, metavar="SECONDS",
                       help="with --engine dask: how long to wait for --scheduler (default 10)")


def check_engine_options(args) -> None:
    """Refuse Dask options without ``--engine dask``, and ``--engine dask`` without the extra."""
    if getattr(args, "engine", "memory") != "dask":
        given = [flag for flag, name in (("--scheduler", "scheduler"), ("--chunk-rows", "chunk_rows"),
                                         ("--scheduler-timeout", "scheduler_timeout"),
                                         ("--init-sample", "init_sample"))
                 if hasattr(args, name)]
        if given:
            raise UsageError(f"{', '.join(given)} only apply with --engine dask; add --engine dask or drop them")
        return
    import importlib.util

    missing = [m for m in ("dask", "distributed") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f'--engine dask needs {" and ".join(missing)}: pip install "gmm-desktop[dask]"')


def dask_engine_for(args, source):
    """The Dask engine on ``source`` with the command's cluster options (a context manager)."""
    from gmm_desktop.dask_engine import DEFAULT_CHUNK_ROWS, DEFAULT_TIMEOUT, engine_for

    return engine_for(source, scheduler=getattr(args, "scheduler", None),
                      chunk_rows=getattr(args, "chunk_rows", DEFAULT_CHUNK_ROWS),
                      timeout=getattr(args, "scheduler_timeout", DEFAULT_TIMEOUT),
                      columns=getattr(args, "columns", None))


# --------------------------------------------------------------------------- shared steps of commands
def load_dataset(path, columns=None, drop_invalid=False):
    """Read a data file (:func:`gmm_desktop.io.datasets.load_data`)."""
    from gmm_desktop.io.datasets import load_data

    return load_data(path, columns=columns, drop_invalid=drop_invalid)


def check_output(path: str) -> None:
    """Refuse, before any work, an output path that is a folder or in a folder that does not exist."""
    if os.path.isdir(path):
        raise UsageError(f"the output {path!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"the output folder {folder!r} does not exist; create it or choose another")




def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) made one space: an ``error:`` line."""
    return " ".join(text.split())
