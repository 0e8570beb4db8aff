"""``fit``: fit a mixture to a data file by EM and save the model file."""

from __future__ import annotations

import argparse
import math
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
    positive_int,
)
from gmm_desktop.core.accel import resolve_accelerate
from gmm_desktop.core.options import OPTIONS


def positive_float(text: str) -> float:
    """``--weight-concentration``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def add_parser(sub) -> None:
    """Register ``fit`` on the subparsers ``sub``."""
    fit = sub.add_parser("fit", help="fit a mixture to a data file and save the model")
    fit.add_argument("data", metavar="DATA_FILE")
    fit.add_argument("--k", type=positive_int, help="number of components (not needed with --means)")
    add_option(fit, "init", default=None,
               help=f"how to start; means needs --means or --means-file (default: {OPTIONS['init'].default}, "
               "or means when means are given)")
    fit.add_argument("--means", help='initial means, e.g. "1,-1;5,5;8,7;10,0"')
    fit.add_argument("--means-file", metavar="FILE", help="initial means as a data file, one mean a row")
    add_option(fit, "covariance_type")
    add_option(fit, "seed")
    add_option(fit, "method")
    add_option(fit, "weight_prior", default=None,
               help=OPTIONS["weight_prior"].help + f" (default: {OPTIONS['weight_prior'].default})")
    fit.add_argument("--weight-concentration", type=positive_float, metavar="C", default=None,
                     help="with --method vb: the weight prior's concentration, a number > 0; smaller keeps "
                     "fewer components (default: 1/K)")
    add_em_options(fit)
    add_engine_options(fit)
    fit.add_argument("--init-sample", type=positive_int, default=argparse.SUPPRESS, metavar="N",
                     help="with --engine dask: kmeans++/kmeans/random choose the means on a uniform sample "
                     "of N rows, drawn chunk by chunk (default 100,000)")
    fit.add_argument("-o", "--output", required=True, metavar="MODEL.json")
    fit.set_defaults(handler=run)


def resolve_start(args, n_features: int, n_samples: int):
    """``(init, means, k)`` from ``--init``, ``--means``/``--means-file`` and ``--k``, or UsageError."""
    from gmm_desktop.io.datasets import parse_points

    means = None
    if args.means is not None:
        means = parse_points(args.means, n_features=n_features, what="means")
    elif args.means_file is not None:
        means = load_dataset(args.means_file).X
        if means.shape[1] != n_features:
            raise UsageError(
                f"the means file has {means.shape[1]} columns but the data have {n_features} features; "
                "give one mean a row with one coordinate per feature"
            )
    init = args.init or ("means" if means is not None else OPTIONS["init"].default)
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
    if k > n_samples:
        raise UsageError(f"--k is {k} but the data have only {n_samples} points; use at most {n_samples}")
    return init, means, k


def run(args) -> int:
    """Run ``fit``; returns the exit status."""
    from gmm_desktop.core.accel import make_fitter
    from gmm_desktop.core.init import initial_params
    from gmm_desktop.io.datasets import describe_columns
    from gmm_desktop.io.model_io import save_model
    from gmm_desktop.io.provenance import Start, model_settings

    check_output(args.output)
    check_engine_options(args)
    if args.method != "vb":
        for option, value in (("--weight-prior", args.weight_prior), ("--weight-concentration", args.weight_concentration)):
            if value is not None:
                raise UsageError(f"{option} applies only to --method vb; add --method vb or drop {option}")
    if args.means and args.means_file:
        raise UsageError("give --means or --means-file, not both")
    if args.method == "vb" and args.engine == "dask":
        raise UsageError("--method vb works with --engine memory only; drop one of them")
    if args.method == "vb" and args.accelerate not in (None, "none"):
        raise UsageError("--accelerate squarem works with --method em only; drop one of them")
    args.accelerate = resolve_accelerate(args.accelerate, args.tol, args.method)
    if args.method == "vb" and args.dtype != "float64":
        raise UsageError("--dtype float32 works with --method em only; drop one of them")
    if args.engine == "dask":
        if args.dtype != "float64":
            raise UsageError("--dtype float32 works with --engine memory only; drop one of them")
        return _run_dask(args)
    data = load_dataset(args.data, args.columns, args.drop_invalid)
    X = data.X
    init, means, k = resolve_start(args, X.shape[1], X.shape[0])
    initial = initial_params(X, k, method=init, means=means, covariance_type=args.covariance_type,
                             reg_covar=args.reg_covar, seed=args.seed)
    settings = model_settings(vars(args), Start(init, args.seed))
    if args.method == "vb":
        return _run_vb(args, data, initial, settings)
    fitter = make_fitter(X, initial, accelerate=args.accelerate, dtype=args.dtype, tol=args.tol, tol_mode=args.tol_mode,
                         max_iter=args.max_iter, reg_covar=args.reg_covar)
    snap = fitter.run()
    save_model(args.output, snap.params, X=X, initial=initial, trace=fitter.trace, converged=snap.converged,
               settings=settings, feature_names=data.feature_names, source=data.source,
               log_likelihood=snap.log_likelihood, label_column=data.label_name)
    state = "converged" if snap.converged else "did not converge"
    its = "iteration" if snap.iteration == 1 else "iterations"
    if args.accelerate != "none":
        its += f" ({args.accelerate}: {fitter.n_em_steps} EM steps)"
    print(f"{state} after {snap.iteration} {its}: log-likelihood {snap.log_likelihood:.6f} "
          f"({k} components, {args.covariance_type}, {X.shape[0]} points; {describe_columns(data)}) "
          f"-> {args.output}")
    if snap.collapsed:
        print(f"warning: components {', '.join(map(str, snap.collapsed))} collapsed "
              "(tiny weight or a covariance at reg_covar); try fewer components", file=sys.stderr)
    return 0


def _run_dask(args) -> int:
    """``fit --engine dask``: the same EM over the chunks of the data on a Dask cluster."""
    from gmm_desktop.dask_engine import DEFAULT_INIT_SAMPLE
    from gmm_desktop.io.model_io import save_model
    from gmm_desktop.io.provenance import Start, model_settings

    if args.drop_invalid:
        raise UsageError("--drop-invalid is not available with --engine dask; clean the data first")
    with dask_engine_for(args, args.data) as engine:
        init, means, k = resolve_start(args, engine.n_features, engine.n_samples)
        sample = getattr(args, "init_sample", DEFAULT_INIT_SAMPLE)
        initial = engine.initial_params(k, method=init, means=means, covariance_type=args.covariance_type,
                                        reg_covar=args.reg_covar, seed=args.seed, sample_size=sample)
        where = getattr(args, "scheduler", None) or "a local cluster"
        print(f"fitting {engine.n_samples:,} points in {engine.n_chunks} chunks on {where} "
              f"({'kept in worker memory' if engine.persisted else 're-read every iteration'})",
              file=sys.stderr, flush=True)

        def progress(it, ll, change, seconds):
            print(f"iteration {it}: log-likelihood {ll:.6f} (change {change:.3g}), {seconds:.2f} s",
                  file=sys.stderr, flush=True)

        fit = engine.fit(initial, tol=args.tol, tol_mode=args.tol_mode, max_iter=args.max_iter,
                         reg_covar=args.reg_covar, callback=progress, accelerate=args.accelerate)
        sha = engine.sha256()
        settings = model_settings(vars(args), Start(init, args.seed))
        if init != "means":
            settings["init_sample"] = sample
        save_model(args.output, fit.params, n_samples=engine.n_samples, sha256=sha, initial=initial,
                   trace=fit.trace, converged=fit.converged, settings=settings,
                   feature_names=engine.data.feature_names, source=engine.data.source,
                   log_likelihood=fit.log_likelihood)
    state = "converged" if fit.converged else "did not converge"
    its = "iteration" if fit.n_iter == 1 else "iterations"
    if args.accelerate != "none":
        its += f" ({args.accelerate}: {fit.fitter.n_em_steps} EM steps)"
    print(f"{state} after {fit.n_iter} {its}: log-likelihood {fit.log_likelihood:.6f} "
          f"({k} components, {args.covariance_type}, {engine.n_samples} points, dask engine) -> {args.output}")
    if fit.collapsed:
        print(f"warning: components {', '.join(map(str, fit.collapsed))} collapsed "
              "(tiny weight or a covariance at reg_covar); try fewer components", file=sys.stderr)
    return 0


def _run_vb(args, data, initial, settings) -> int:
    """``fit --method vb``: the variational fit from ``initial``'s responsibilities, saved with its
    priors and lower bound; the saved weights, means and covariances are the posterior expectations."""
    from gmm_desktop.core.vb import PRUNED_WEIGHT, VBFitter, default_priors
    from gmm_desktop.io.datasets import describe_columns
    from gmm_desktop.io.model_io import save_model

    X = data.X
    k = initial.n_components
    priors = default_priors(X, k, args.covariance_type, weight_prior=args.weight_prior or "dirichlet_process",
                            weight_concentration=args.weight_concentration)
    fitter = VBFitter(X, initial, priors=priors, tol=args.tol, tol_mode=args.tol_mode, max_iter=args.max_iter,
                      reg_covar=args.reg_covar, track_log_likelihood=True)
    snap = fitter.run()
    log_likelihood = fitter.log_likelihood_trace[-1] if fitter.log_likelihood_trace else fitter.data_log_likelihood()
    save_model(args.output, snap.params, X=X, initial=initial, trace=fitter.log_likelihood_trace,
               converged=snap.converged, settings=settings, feature_names=data.feature_names, source=data.source,
               log_likelihood=log_likelihood, method="vb", priors=priors, lower_bound_trace=fitter.trace,
               posterior=fitter.posterior.to_dict(), label_column=data.label_name)
    state = "converged" if snap.converged else "did not converge"
    its = "iteration" if snap.iteration == 1 else "iterations"
    kept = int((snap.weights >= PRUNED_WEIGHT).sum())
    print(f"{state} after {snap.iteration} {its}: lower bound {snap.lower_bound:.6f}, log-likelihood "
          f"{log_likelihood:.6f} ({kept} of {k} components with weight >= 1%, {args.covariance_type}, "
          f"{priors.weight_prior} concentration {priors.weight_concentration:g}, {X.shape[0]} points; "
          f"{describe_columns(data)}) -> {args.output}")
    return 0
