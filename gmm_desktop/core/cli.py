"""Headless commands: ``fit``, ``generate``, ``predict``, ``select``. Never imports Qt.

Every user mistake ends with exit status 2 and one line ``error: <what is wrong and what to do>``
on stderr, and no output file is written (an existing one is left as it was).
"""

from __future__ import annotations

import argparse
import io
import os
import sys

import numpy as np

from gmm_desktop import __version__
from gmm_desktop.core.errors import GMMError

EXIT_USAGE = 2


class UsageError(GMMError):
    """Bad command-line options."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one ``error:`` line (raised, so main() prints it once), and every
    option's help shows its default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def _int(text: str) -> int:
    """A seed: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; give a seed of 0 or more")
    return value


def _columns(text: str) -> list:
    parts = [p.strip() for p in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give column names or indices separated by commas")
    return [int(p) if p.isdigit() else p for p in parts]


def add_em_options(parser: argparse.ArgumentParser) -> None:
    """The EM and data options shared by ``fit`` and ``select``."""
    parser.add_argument("--tol", type=_non_negative_float, default=1e-4,
                        help="stop when the change in log-likelihood is below this")
    parser.add_argument("--tol-mode", choices=["total", "per-sample"], default="total",
                        help="total: change of the summed log-likelihood (the notebook's rule); per-sample: of its mean (scikit-learn's)")
    parser.add_argument("--max-iter", type=_positive_int, default=1000, help="at most this many EM iterations")
    parser.add_argument("--reg-covar", type=_non_negative_float, default=1e-6,
                        help="added to every covariance diagonal after each M-step")
    parser.add_argument("--columns", type=_columns, help="feature columns by header name or 0-based index")
    parser.add_argument("--drop-invalid", action="store_true",
                        help="drop rows with non-numeric or non-finite cells instead of refusing the file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gmm-desktop",
        description="Fit Gaussian mixture models by EM. Without a command, opens the desktop app "
        "(optionally on DATA_FILE).",
        epilog="Run 'gmm-desktop COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gmm-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    fit = sub.add_parser("fit", help="fit a mixture to a data file and save the model")
    fit.add_argument("data", metavar="DATA_FILE")
    fit.add_argument("--k", type=_positive_int, help="number of components (not needed with --means)")
    fit.add_argument("--init", choices=["means", "kmeans++", "kmeans", "random"],
                     help="how to start (default: kmeans++, or means when means are given)")
    fit.add_argument("--means", help='initial means, e.g. "1,-1;5,5;8,7;10,0"')
    fit.add_argument("--means-file", metavar="FILE", help="initial means as a data file, one mean a row")
    fit.add_argument("--covariance-type", choices=["full", "diag", "spherical", "tied"], default="full",
                     help="covariance model")
    fit.add_argument("--seed", type=_int, default=0, help="seed for every random choice")
    add_em_options(fit)
    fit.add_argument("-o", "--output", required=True, metavar="MODEL.json")

    gen = sub.add_parser("generate", help="write a synthetic data set (CSV: x,y,label)")
    gen.add_argument("--preset", choices=["small", "medium", "large"], default="medium",
                     help="105, 1,050 or 10,500 points")
    gen.add_argument("--centers", help='cluster centres, e.g. "1,-1;5,5;8,7;10,0" (the default)')
    gen.add_argument("--n-samples", type=_positive_int, help="number of points (overrides --preset)")
    gen.add_argument("--seed", type=_int, default=0, help="the same seed gives the same file")
    gen.add_argument("-o", "--output", required=True, metavar="DATA.csv")

    pred = sub.add_parser("predict", help="apply a saved model to data")
    pred.add_argument("model", metavar="MODEL.json")
    pred.add_argument("data", metavar="DATA_FILE")
    pred.add_argument("--columns", type=_columns, help="feature columns by header name or 0-based index")
    pred.add_argument("-o", "--output", required=True, metavar="OUT.csv")

    from gmm_desktop.core import selection  # imports this module: not at the top

    selection.add_select_parser(sub)
    return parser


# --------------------------------------------------------------------------- commands
def _load(path, columns=None, drop_invalid=False):
    from gmm_desktop.core.datasets import load_data

    return load_data(path, columns=columns, drop_invalid=drop_invalid)


def _check_output(path: str) -> None:
    if os.path.isdir(path):
        raise UsageError(f"the output {path!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"the output folder {folder!r} does not exist; create it or choose another")


def cmd_fit(args) -> int:
    from gmm_desktop.core.datasets import parse_points
    from gmm_desktop.core.em import EMFitter
    from gmm_desktop.core.init import initial_params
    from gmm_desktop.core.model_io import save_model

    _check_output(args.output)
    if args.means and args.means_file:
        raise UsageError("give --means or --means-file, not both")
    data = _load(args.data, args.columns, args.drop_invalid)
    X = data.X
    means = None
    if args.means is not None:
        means = parse_points(args.means, n_features=X.shape[1], what="means")
    elif args.means_file is not None:
        means = _load(args.means_file).X
        if means.shape[1] != X.shape[1]:
            raise UsageError(
                f"the means file has {means.shape[1]} columns but the data have {X.shape[1]} features; "
                "give one mean a row with one coordinate per feature"
            )
    init = args.init or ("means" if means is not None else "kmeans++")
    if init == "means" and means is None:
        raise UsageError("--init means needs --means or --means-file")
    if init != "means" and means is not None:
        raise UsageError(f"--init {init} chooses its own means; drop --means/--means-file or use --init means")
    k = args.k
    if means is not None:
        if k is not None and k != len(means):
            raise UsageError(f"--k is {k} but {len(means)} means were given; make them agree or drop --k")
        k = len(means)
    elif k is None:
        raise UsageError("give the number of components with --k, or initial means with --means")
    if k > X.shape[0]:
        raise UsageError(f"--k is {k} but the data have only {X.shape[0]} points; use at most {X.shape[0]}")
    initial = initial_params(X, k, method=init, means=means, covariance_type=args.covariance_type,
                             reg_covar=args.reg_covar, seed=args.seed)
    fitter = EMFitter(X, initial, tol=args.tol, tol_mode=args.tol_mode, max_iter=args.max_iter,
                      reg_covar=args.reg_covar)
    snap = fitter.run()
    settings = {"tol": args.tol, "tol_mode": args.tol_mode, "max_iter": args.max_iter,
                "reg_covar": args.reg_covar, "init": init, "seed": args.seed}
    save_model(args.output, snap.params, X=X, initial=initial, trace=fitter.trace, converged=snap.converged,
               settings=settings, feature_names=data.feature_names, source=data.source,
               log_likelihood=snap.log_likelihood)
    state = "converged" if snap.converged else "did not converge"
    its = "iteration" if snap.iteration == 1 else "iterations"
    print(f"{state} after {snap.iteration} {its}: log-likelihood {snap.log_likelihood:.6f} "
          f"({k} components, {args.covariance_type}, {X.shape[0]} points) -> {args.output}")
    if snap.collapsed:
        print(f"warning: components {', '.join(map(str, snap.collapsed))} collapsed "
              "(tiny weight or a covariance at reg_covar); try fewer components", file=sys.stderr)
    return 0


def cmd_generate(args) -> int:
    from gmm_desktop.core.datasets import generate, parse_points, write_csv

    _check_output(args.output)
    centers = parse_points(args.centers, what="centres") if args.centers else None
    data = generate(args.preset, centers=centers, seed=args.seed, n_samples=args.n_samples)
    write_csv(data, args.output)
    print(f"wrote {data.X.shape[0]} points around {len(data.true_centers)} centres to {args.output}")
    return 0


def cmd_predict(args) -> int:
    from gmm_desktop.core.em import check_data, e_step
    from gmm_desktop.core.fileio import atomic_write_text
    from gmm_desktop.core.model_io import load_model

    _check_output(args.output)
    model = load_model(args.model)
    columns = args.columns
    if columns is None:
        from gmm_desktop.core.datasets import load_data

        probe = load_data(args.data)
        if probe.X.shape[1] != model.params.n_features and set(model.feature_names) <= set(probe.feature_names):
            columns = list(model.feature_names)
        data = probe if columns is None else _load(args.data, columns)
    else:
        data = _load(args.data, columns)
    if data.X.shape[1] != model.params.n_features:
        raise UsageError(
            f"the model has {model.params.n_features} features ({', '.join(model.feature_names)}) but "
            f"{data.source} has {data.X.shape[1]}; choose the model's columns with --columns"
        )
    log_density, log_resp = e_step(check_data(data.X), model.params)  # refuses values EM cannot handle
    resp = np.exp(log_resp).T
    labels = np.argmax(log_resp, axis=0)
    k = model.params.n_components
    buf = io.StringIO()
    header = "label," + ",".join(f"p{j}" for j in range(k)) + ",log_density"
    np.savetxt(buf, np.column_stack([labels, resp, log_density]), delimiter=",",
               fmt=["%d"] + ["%.17g"] * (k + 1), header=header, comments="")
    try:
        atomic_write_text(args.output, buf.getvalue())
    except OSError as exc:
        raise UsageError(f"could not write {args.output!r}: {exc.strerror or exc}") from None
    print(f"wrote {len(labels)} predictions ({k} components) to {args.output}")
    return 0


COMMANDS = {"fit": cmd_fit, "generate": cmd_generate, "predict": cmd_predict}


def main(argv=None) -> int:
    """Run a command; returns the exit status (0, or 2 for a user mistake)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "select":
            from gmm_desktop.core.selection import cmd_select as handler
        else:
            handler = COMMANDS[args.command]
        return handler(args)
    except GMMError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("error: not enough memory for this data set; use fewer points or components", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return 130


def _one_line(text: str) -> str:
    return " ".join(text.split())
