"""``select``: choose the number of components (and the covariance type) by BIC or AIC, save the best.

The sweep itself is :func:`gmm_desktop.core.selection.select_model`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from gmm_desktop.cli.parser import (
    UsageError,
    add_em_options,
    add_engine_options,
    add_option,
    check_engine_options,
    check_output,
    dask_engine_for,
    load_dataset,
)
from gmm_desktop.core.accel import resolve_accelerate
from gmm_desktop.core.selection import select_model


def add_parser(sub) -> None:
    """Register ``select`` on the subparsers ``sub``."""

    sel = sub.add_parser(
        "select",
        help="choose the number of components (and covariance type) by BIC or AIC",
        description="Fit K = k-min..k-max components for each covariance type (n-init k-means++ starts "
        "each, seeds SEED, SEED+1, ...), keep the candidate with the lowest criterion and save it.",
    )
    sel.add_argument("data", metavar="DATA_FILE")
    for name in ("k_min", "k_max", "covariance_types", "criterion", "n_init"):
        add_option(sel, name)
    add_option(sel, "seed", help="restart r of every candidate uses seed SEED+r")
    sel.add_argument("--table", metavar="FILE",
                     help="also write CSV k,covariance_type,log_likelihood,n_parameters,bic,aic")
    add_em_options(sel)
    add_engine_options(sel)
    sel.add_argument("-o", "--output", required=True, metavar="MODEL.json")
    sel.set_defaults(handler=run)


def run(args) -> int:
    """Run ``select``: fit the grid, write the chosen model (and the table), print one summary line."""
    from gmm_desktop.io.datasets import describe_columns
    from gmm_desktop.io.model_io import save_model
    from gmm_desktop.io.provenance import candidate_settings
    from gmm_desktop.io.selection_table import write_selection_table

    check_output(args.output)
    if args.table is not None:
        check_output(args.table)
        if os.path.abspath(args.table) == os.path.abspath(args.output):
            raise UsageError("--table and -o name the same file; give the table another name")
    if args.k_min > args.k_max:
        raise UsageError(f"--k-min ({args.k_min}) is larger than --k-max ({args.k_max}); give --k-min <= --k-max")
    if args.seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {args.seed}")
    check_engine_options(args)
    args.accelerate = resolve_accelerate(args.accelerate, args.tol)
    with contextlib.ExitStack() as stack:
        fit_all = None
        if args.engine == "dask":  # every restart of every candidate is a task on the cluster
            from gmm_desktop.dask_engine import spread_fits

            if args.drop_invalid:
                raise UsageError("--drop-invalid is not available with --engine dask; clean the data first")
            engine = stack.enter_context(dask_engine_for(args, args.data))
            engine.check()
            X = engine.gather()  # select fits every candidate in memory on a worker: the data must fit
            data = argparse.Namespace(feature_names=engine.data.feature_names, source=engine.data.source,
                                      label_name=None)
            fit_all = spread_fits(engine.client)
        else:
            data = load_dataset(args.data, args.columns, args.drop_invalid)
            X = data.X
        result = select_model(
            X, k_min=args.k_min, k_max=args.k_max, covariance_types=args.covariance_types, criterion=args.criterion,
            n_init=args.n_init, seed=args.seed, tol=args.tol, tol_mode=args.tol_mode, max_iter=args.max_iter,
            reg_covar=args.reg_covar, fit_all=fit_all, accelerate=args.accelerate, dtype=args.dtype,
        )
    best = result.best
    if args.table is not None:  # the table first: a failed write then leaves no model behind either
        try:
            write_selection_table(result, args.table)
        except OSError as exc:
            raise UsageError(f"could not write the table {args.table!r}: {exc.strerror or exc}") from None
    save_model(args.output, best.params, X=X, initial=best.initial, trace=best.trace, converged=best.converged,
               settings=candidate_settings(result, best), feature_names=data.feature_names, source=data.source,
               log_likelihood=best.log_likelihood, label_column=data.label_name)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if best.collapsed:
        print(f"warning: components {', '.join(map(str, best.collapsed))} of the chosen model collapsed "
              "(tiny weight or a covariance at reg_covar); try a smaller --k-max", file=sys.stderr)
    n_ok = sum(c.ok for c in result.candidates)
    state = "converged" if best.converged else "did not converge"
    print(f"chose {best.k} components ({best.covariance_type}) by {args.criterion.upper()} "
          f"{best.criterion_value(args.criterion):.6f} among {n_ok} candidates: log-likelihood "
          f"{best.log_likelihood:.6f}, {state} after {best.n_iter} iterations (seed {best.seed}; "
          f"{describe_columns(data)}) -> {args.output}")
    return 0
