"""Model files: plain JSON, format ``gmm-desktop-model`` version 1 (see docs/model-format.md).

Saving is atomic (a temporary file in the same folder, fsync'ed, then renamed), and loading only
parses JSON and validates it: nothing in a model file is ever executed.
"""

from __future__ import annotations

import errno
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from gmm_desktop import __version__
from gmm_desktop.io.datasets import data_sha256
from gmm_desktop.core.errors import ModelFileError, ParamsError
from gmm_desktop.io.fileio import atomic_write_text
from gmm_desktop.core.params import COVARIANCE_TYPES, GMMParams, compact_from_full
from gmm_desktop.core.vb import VBPriors

FORMAT = "gmm-desktop-model"
FORMAT_VERSION = 1
#: How a model was fitted: ``em`` (maximum likelihood) or ``vb`` (variational Bayes).
METHODS = ("em", "vb")
#: Refuse model files larger than this (a model of 1,000 components in 100 dimensions is ~200 MB).
MAX_MODEL_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class SavedModel:
    """A model file's contents, validated.

    Attributes
    ----------
    params : GMMParams
    initial : GMMParams or None
        The starting parameters of the fit, when the file has them.
    log_likelihood : float or None
    trace : tuple of float
        Total log-likelihood after each iteration.
    n_iter : int
    converged : bool
    settings : dict
    feature_names : list of str
    data : dict
        ``n_samples``, ``sha256``, ``source`` of the training data, as saved.
    created, app_version : str
    sklearn : dict
        The optional ``sklearn`` block written by :func:`gmm_desktop.sklearn.save_model` (the
        estimator's parameters and lower bounds), or empty.
    method : {'em', 'vb'}
        ``em`` when the file does not say.
    priors : VBPriors or None
        A ``vb`` model's priors.
    lower_bound_trace : tuple of float
        A ``vb`` model's evidence lower bound after each iteration (empty for ``em``).
    posterior : dict or None
        A ``vb`` model's posterior parameters besides the means and covariances, as arrays:
        ``weight_concentration`` ((K,), or (2, K) for ``dirichlet_process``), ``mean_precision``
        (K,), ``degrees_of_freedom`` ((K,), or a 0-d array for ``tied``), when the file has them.
    """

    params: GMMParams
    initial: GMMParams | None = None
    log_likelihood: float | None = None
    trace: tuple = ()
    n_iter: int = 0
    converged: bool = False
    settings: dict = field(default_factory=dict)
    feature_names: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    created: str = ""
    app_version: str = ""
    sklearn: dict = field(default_factory=dict)
    method: str = "em"
    priors: VBPriors | None = None
    lower_bound_trace: tuple = ()
    posterior: dict | None = None


def _params_json(params: GMMParams) -> dict:
    return {
        "weights": params.weights.tolist(),
        "means": params.means.tolist(),
        "covariances": params.full_covariances().tolist(),
    }


def model_to_dict(
    params: GMMParams,
    *,
    X=None,
    initial: GMMParams | None = None,
    trace=(),
    converged: bool = False,
    settings: dict | None = None,
    feature_names=None,
    source: str = "",
    log_likelihood: float | None = None,
    label_column: str | None = None,
    n_samples: int | None = None,
    sha256: str | None = None,
    sklearn: dict | None = None,
    method: str = "em",
    priors: VBPriors | None = None,
    lower_bound_trace=None,
    posterior: dict | None = None,
) -> dict:
    """The JSON document for a fitted model.

    Parameters
    ----------
    params : GMMParams
        The fitted parameters.
    X : ndarray of shape (n_samples, n_features)
        The training data (for its size, its SHA-256 and, when ``log_likelihood`` is not
        given and ``trace`` is empty, the log-likelihood).
    initial : GMMParams, optional
    trace : sequence of float
        Total log-likelihood after each iteration; ``n_iter`` is its length.
    label_column : str, optional
        The data file's ground-truth column (not a feature), recorded as ``data.label_column``.
    n_samples, sha256 : int and str, optional
        Instead of ``X``, for data that were never in memory (the Dask engine): their number of
        rows and the SHA-256 of their float64 C-order little-endian bytes; ``log_likelihood``
        or ``trace`` must then be given.
    sklearn : dict, optional
        Written as the optional top-level ``sklearn`` block (see docs/model-format.md).
    method : {'em', 'vb'}
    priors : VBPriors
        Required with ``method='vb'``.
    lower_bound_trace : sequence of float
        With ``method='vb'``: the lower bound after each iteration.
    posterior : dict, optional
        With ``method='vb'``: :meth:`gmm_desktop.core.vb.VBPosterior.to_dict`.
    """
    from gmm_desktop.core.em import log_likelihood as total_log_likelihood

    if method not in METHODS:
        raise ModelFileError(f"unknown fitting method {method!r}: expected one of {', '.join(METHODS)}")
    if method == "vb" and priors is None:
        raise ModelFileError("a vb model needs its priors")
    trace = [float(v) for v in trace]
    if X is None:
        if n_samples is None or sha256 is None or (log_likelihood is None and not trace):
            raise TypeError("model_to_dict needs X, or n_samples, sha256 and the log-likelihood")
    else:
        X = np.asarray(X, dtype=np.float64)
        n_samples, sha256 = X.shape[0], data_sha256(X)
    if log_likelihood is None:
        log_likelihood = trace[-1] if trace else total_log_likelihood(X, params)
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(params.n_features)]
    if len(names) != params.n_features:
        names = [f"x{i}" for i in range(params.n_features)]
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "covariance_type": params.covariance_type,
        "n_components": params.n_components,
        "n_features": params.n_features,
        "feature_names": names,
        **_params_json(params),
        "log_likelihood": float(log_likelihood),
        "log_likelihood_trace": trace,
        "n_iter": len(trace),
        "converged": bool(converged),
        "settings": dict(settings or {}),
        "data": {"n_samples": int(n_samples), "sha256": str(sha256), "source": str(source)},
        "method": method,
    }
    if label_column is not None:
        doc["data"]["label_column"] = str(label_column)
    if method == "vb":
        lb = [float(v) for v in (lower_bound_trace or ())]
        doc["priors"] = priors.to_dict()
        doc["lower_bound_trace"] = lb
        if lb:
            doc["n_iter"] = len(lb)
        if posterior is not None:
            doc["posterior"] = {key: np.asarray(value, dtype=float).tolist() for key, value in posterior.items()}
    if initial is not None:
        doc["initial"] = _params_json(initial)
    if sklearn is not None:
        doc["sklearn"] = sklearn
    return doc


def save_model(path, params: GMMParams, **kwargs) -> None:
    """Write a model file atomically (arguments as :func:`model_to_dict`).

    Raises
    ------
    ModelFileError
        When the file cannot be written (the folder is missing or read-only, the disk is full);
        an existing file at ``path`` is left untouched.
    """
    doc = model_to_dict(params, **kwargs)
    for key in ("log_likelihood",):
        if not math.isfinite(doc[key]):
            raise ModelFileError("the model's log-likelihood is not finite; refit before saving")
    if not all(math.isfinite(v) for v in doc.get("lower_bound_trace", ())):
        raise ModelFileError("the model's lower bound is not finite; refit before saving")
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        advice = {
            errno.ENOENT: "the folder does not exist: choose or create another",
            errno.ENOSPC: "the disk is full: free some space or choose another disk",
            errno.EACCES: "choose a folder you can write to",
            errno.EROFS: "choose a folder you can write to",
        }.get(exc.errno, "choose another folder")
        raise ModelFileError(
            f"could not save the model to {os.fspath(path)!r}: {exc.strerror or exc}; {advice} "
            "(nothing was overwritten)"
        ) from None


def _reject_constant(name):
    raise ValueError(f"{name} is not a valid JSON number")


def _array(doc: dict, key: str, shape: tuple, where: str) -> np.ndarray:
    if key not in doc:
        raise ModelFileError(f"{where}: the key {key!r} is missing")
    try:
        arr = np.asarray(doc[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where}: {key!r} must be an array of numbers of shape {shape}") from None
    if arr.shape != shape:
        raise ModelFileError(f"{where}: {key!r} must have shape {shape}, found {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ModelFileError(f"{where}: {key!r} contains non-finite numbers")
    return arr


def _params_from_doc(doc: dict, ctype: str, k: int, d: int, where: str) -> GMMParams:
    weights = _array(doc, "weights", (k,), where)
    means = _array(doc, "means", (k, d), where)
    full = _array(doc, "covariances", (k, d, d), where)
    if not np.allclose(full, np.swapaxes(full, 1, 2), rtol=1e-9, atol=0):
        raise ModelFileError(f"{where}: the covariances are not symmetric")
    try:
        np.linalg.cholesky(full)
    except np.linalg.LinAlgError:
        raise ModelFileError(f"{where}: a covariance matrix is not positive definite") from None
    try:
        return GMMParams(weights, means, compact_from_full(full, ctype), ctype).validated()
    except ParamsError as exc:
        raise ModelFileError(f"{where}: {exc}") from None


def _flag(value, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ModelFileError(f"{where}: {key} must be true or false, found {value!r}")
    return value


def load_model(path) -> SavedModel:
    """Read and validate a model file.

    Raises
    ------
    ModelFileError
        With a message naming the file and the problem: not JSON (or truncated), another format,
        a newer format version, wrong shapes, non-finite numbers, weights not summing to 1,
        covariances not symmetric positive definite.
    """
    where = Path(path).name or os.fspath(path)
    try:
        p = Path(path)
        if p.is_dir():
            raise ModelFileError(f"{where} is a folder, not a model file")
        if p.stat().st_size > MAX_MODEL_BYTES:
            raise ModelFileError(f"{where} is too large to be a model file")
        text = p.read_text(encoding="utf-8-sig")
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{os.fspath(path)}: no such file; check the path") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{where} is not a text file, so not a model file (expected JSON)") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        msg = getattr(exc, "msg", str(exc))
        line = getattr(exc, "lineno", None)
        at = f" (line {line})" if line else ""
        raise ModelFileError(
            f"{where} is not valid JSON{at}: {msg}; the file may be truncated or not a model file"
        ) from None
    return model_from_dict(doc, where)


def model_from_dict(doc, where: str = "model") -> SavedModel:
    """Validate a parsed model document (see :func:`load_model`)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ModelFileError(f"{where} is not a gmm-desktop model (format is {found!r}, expected {FORMAT!r})")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where}: format_version must be a positive whole number, found {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where} has format version {version}, newer than this program reads ({FORMAT_VERSION}); "
            "update gmm-desktop to open it"
        )
    ctype = doc.get("covariance_type")
    if ctype not in COVARIANCE_TYPES:
        raise ModelFileError(f"{where}: covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, found {ctype!r}")
    k, d = doc.get("n_components"), doc.get("n_features")
    for name, value in (("n_components", k), ("n_features", d)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ModelFileError(f"{where}: {name} must be a whole number >= 1, found {value!r}")
    params = _params_from_doc(doc, ctype, k, d, where)
    if not np.allclose(params.full_covariances(), _array(doc, "covariances", (k, d, d), where), rtol=1e-9, atol=0):
        what = {"tied": "the same covariance for every component", "diag": "diagonal covariances",
                "spherical": "covariances that are a multiple of the identity"}[ctype]
        raise ModelFileError(f"{where}: a {ctype} model must have {what}; the file's covariances are not")
    initial = None
    if isinstance(doc.get("initial"), dict):
        initial = _params_from_doc(doc["initial"], ctype, k, d, f"{where} (initial)")
    trace = doc.get("log_likelihood_trace", [])
    try:
        trace = tuple(float(v) for v in trace)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where}: log_likelihood_trace must be a list of numbers") from None
    if not all(math.isfinite(v) for v in trace):
        raise ModelFileError(f"{where}: log_likelihood_trace contains non-finite numbers")
    ll = doc.get("log_likelihood")
    if ll is not None and (not isinstance(ll, (int, float)) or isinstance(ll, bool) or not math.isfinite(ll)):
        raise ModelFileError(f"{where}: log_likelihood must be a finite number, found {ll!r}")
    names = doc.get("feature_names") or [f"x{i}" for i in range(d)]
    if not isinstance(names, list) or len(names) != d or not all(isinstance(s, str) for s in names):
        raise ModelFileError(f"{where}: feature_names must be a list of {d} strings")
    n_iter = doc.get("n_iter", len(trace))
    if not isinstance(n_iter, int) or isinstance(n_iter, bool) or n_iter < 0:
        raise ModelFileError(f"{where}: n_iter must be a whole number >= 0, found {n_iter!r}")
    settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else {}
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    method, priors, lower_bound_trace, posterior = _vb_from_doc(doc, ctype, k, d, where)
    return SavedModel(
        params=params,
        initial=initial,
        log_likelihood=None if ll is None else float(ll),
        trace=trace,
        n_iter=n_iter,
        converged=_flag(doc.get("converged", False), "converged", where),
        settings=settings,
        feature_names=names,
        data=data,
        created=str(doc.get("created", "")),
        app_version=str(doc.get("app_version", "")),
        sklearn=doc["sklearn"] if isinstance(doc.get("sklearn"), dict) else {},
        method=method,
        priors=priors,
        lower_bound_trace=lower_bound_trace,
        posterior=posterior,
    )


def _vb_from_doc(doc: dict, ctype: str, k: int, d: int, where: str):
    """``method``, and for a ``vb`` model its priors, lower-bound trace and posterior, validated."""
    method = doc.get("method", "em")
    if method not in METHODS:
        raise ModelFileError(f"{where}: method must be one of {', '.join(METHODS)}, found {method!r}")
    if method == "em":
        return method, None, (), None
    raw = doc.get("priors")
    if not isinstance(raw, dict):
        raise ModelFileError(f"{where}: a vb model needs its priors (the key 'priors' is missing or not an object)")
    try:
        priors = VBPriors.from_dict(raw, ctype, n_features=d)
    except ParamsError as exc:
        raise ModelFileError(f"{where}: priors: {exc}") from None
    lb = doc.get("lower_bound_trace", [])
    try:
        lb = tuple(float(v) for v in lb)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where}: lower_bound_trace must be a list of numbers") from None
    if not all(math.isfinite(v) for v in lb):
        raise ModelFileError(f"{where}: lower_bound_trace contains non-finite numbers")
    posterior = None
    if doc.get("posterior") is not None:
        raw = doc["posterior"]
        if not isinstance(raw, dict):
            raise ModelFileError(f"{where}: posterior must be an object")
        shapes = {
            "weight_concentration": (2, k) if priors.weight_prior == "dirichlet_process" else (k,),
            "mean_precision": (k,),
            "degrees_of_freedom": () if ctype == "tied" else (k,),
        }
        posterior = {}
        for key, shape in shapes.items():
            arr = _array(raw, key, shape, f"{where} (posterior)")
            if np.any(arr <= 0):
                raise ModelFileError(f"{where} (posterior): {key!r} must be positive")
            posterior[key] = arr
    return method, priors, lb, posterior


__all__ = ["FORMAT", "FORMAT_VERSION", "METHODS", "SavedModel", "data_sha256", "load_model", "model_from_dict",
           "model_to_dict", "save_model"]
