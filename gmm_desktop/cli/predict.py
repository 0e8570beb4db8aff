"""``predict``: apply a saved model to data; CSV ``label,p0,p1,...,log_density``."""

from __future__ import annotations

import io

import numpy as np

from gmm_desktop.cli.parser import (
    UsageError,
    add_engine_options,
    check_engine_options,
    check_output,
    columns_list,
    dask_engine_for,
    load_dataset,
)


def add_parser(sub) -> None:
    """Register ``predict`` on the subparsers ``sub``."""
    pred = sub.add_parser("predict", help="apply a saved model to data")
    pred.add_argument("model", metavar="MODEL.json")
    pred.add_argument("data", metavar="DATA_FILE")
    pred.add_argument("--columns", type=columns_list, help="feature columns by header name or 0-based index")
    add_engine_options(pred)
    pred.add_argument("-o", "--output", required=True, metavar="OUT.csv")
    pred.set_defaults(handler=run)


def run(args) -> int:
    """Run ``predict``; returns the exit status."""
    from gmm_desktop.core.em import check_data, e_step
    from gmm_desktop.io.fileio import atomic_write_text
    from gmm_desktop.io.model_io import load_model

    check_output(args.output)
    check_engine_options(args)
    model = load_model(args.model)
    if args.engine == "dask":
        return _run_dask(args, model)
    columns = args.columns
    if columns is None:
        probe = load_dataset(args.data)
        if probe.X.shape[1] != model.params.n_features and set(model.feature_names) <= set(probe.feature_names):
            columns = list(model.feature_names)
        data = probe if columns is None else load_dataset(args.data, columns)
    else:
        data = load_dataset(args.data, columns)
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


def _run_dask(args, model) -> int:
    """``predict --engine dask``: each chunk's rows computed where it is read, written in order."""
    from gmm_desktop.dask_engine import feature_columns, write_predictions

    if args.columns is None:  # the model's columns, when the data have them by name and more besides
        names = feature_columns(args.data)
        if len(names) != model.params.n_features and set(model.feature_names) <= set(names):
            args.columns = list(model.feature_names)
    with dask_engine_for(args, args.data) as engine:
        if engine.n_features != model.params.n_features:
            raise UsageError(
                f"the model has {model.params.n_features} features ({', '.join(model.feature_names)}) but "
                f"{engine.data.source} has {engine.n_features}; choose the model's columns with --columns"
            )
        try:
            n = write_predictions(engine, model.params, args.output)
        except OSError as exc:
            raise UsageError(f"could not write {args.output!r}: {exc.strerror or exc}") from None
    print(f"wrote {n} predictions ({model.params.n_components} components) to {args.output}")
    return 0
