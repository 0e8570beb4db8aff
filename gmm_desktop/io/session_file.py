"""Session files (``.gmmsession``): the data, the means, the settings, the locks, the whole history
and the view in one file, read without executing anything.

The file is a ZIP archive (stored, not compressed: float64 data hardly compresses and reading it
back is then a copy) holding ``manifest.json`` and NumPy ``.npy`` arrays, each written and read with
``allow_pickle=False``: opening a session file never runs code from it. ZIP64 is used, so any size
the app can hold fits. Every member is checked against its CRC-32 as it is read, and the manifest
lists every array with its dtype and shape, so a damaged or truncated file is refused with a clear
:class:`~gmm_desktop.core.errors.ModelFileError` before anything of it is used.

The format is described in ``docs/session-format.md``. Qt-free: the window turns a
:class:`SessionFile` into its document's state (``gui/session_files.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gmm_desktop import __version__
from gmm_desktop.core.em import check_settings
from gmm_desktop.core.errors import GMMError, ModelFileError
from gmm_desktop.core.fitter import EMSnapshot
from gmm_desktop.core.params import COVARIANCE_TYPES, GMMParams, _is_spd
from gmm_desktop.core.stats import ComponentLock
from gmm_desktop.io.fileio import atomic_write_stream

FORMAT = "gmm-desktop-session"
FORMAT_VERSION = 1
SUFFIX = ".gmmsession"
MANIFEST = "manifest.json"
_EM_SETTINGS = ("tol", "tol_mode", "max_iter", "reg_covar")
_MAX_MANIFEST = 64 * 1024 * 1024  # a manifest of a few KB a thousand iterations; more is not ours

__all__ = ["FORMAT", "FORMAT_VERSION", "SUFFIX", "SessionFile", "read_session", "write_session"]


@dataclass
class SessionFile:
    """What a session file holds.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    feature_names : list of str
    labels : ndarray of shape (n_samples,) of int64, or None
    label_names : list of str or None
    label_name : str or None
    source : str
    true_centers : ndarray or None
    provenance : dict or None
        How the data were made (the generator's parameters), when known.
    means : ndarray of shape (n_means, n_features)
        The placed initial means.
    start : GMMParams or None
        Explicit start parameters (an opened model), or None for the notebook's rule.
    settings : dict
        The EM settings (``covariance_type``, ``tol``, ``tol_mode``, ``max_iter``, ``reg_covar``).
    locks : dict of int to ComponentLock
    history : list of EMSnapshot
        Every state of the fit, in order (without responsibilities).
    cursor : int or None
        Index of the history entry shown.
    view : tuple of int, or "pca"
    pca_axes : ndarray of shape (2, n_features) or None
    extra : dict
        The window's own keys (the canvas's visible range...), JSON values.
    """

    X: np.ndarray
    feature_names: list
    labels: np.ndarray | None = None
    label_names: list | None = None
    label_name: str | None = None
    source: str = ""
    true_centers: np.ndarray | None = None
    provenance: dict | None = None
    means: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    start: GMMParams | None = None
    settings: dict = field(default_factory=dict)
    locks: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    cursor: int | None = None
    view: tuple | str = (0, 1)
    pca_axes: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    app_version: str = ""
    created: str = ""


# --------------------------------------------------------------------------- writing


def write_session(path, session: SessionFile) -> None:
    """Write ``session`` to ``path`` atomically (a crash never leaves half a file where one was).

    Raises
    ------
    ModelFileError
        When the folder cannot be written (the message says why), or the history's states do not
        all have the same number of components and features.
    """
    arrays: dict[str, np.ndarray] = {"X": np.ascontiguousarray(session.X, dtype="<f8"),
                                     "means": np.asarray(session.means, dtype="<f8")}
    if session.labels is not None:
        arrays["labels"] = np.asarray(session.labels, dtype="<i8")
    if session.true_centers is not None:
        arrays["true_centers"] = np.asarray(session.true_centers, dtype="<f8")
    if session.pca_axes is not None:
        arrays["pca_axes"] = np.asarray(session.pca_axes, dtype="<f8")
    if session.start is not None:
        arrays.update(_params_arrays("start", session.start))
    history = list(session.history)
    covariance_type = None
    if history:
        covariance_type = history[0].params.covariance_type
        shapes = {(s.params.covariance_type, s.params.weights.shape, s.params.covariances.shape) for s in history}
        if len(shapes) != 1:
            raise ModelFileError("cannot save a history whose states differ in components or covariance type")
        arrays["history_weights"] = np.stack([s.params.weights for s in history]).astype("<f8")
        arrays["history_means"] = np.stack([s.params.means for s in history]).astype("<f8")
        arrays["history_covariances"] = np.stack([s.params.covariances for s in history]).astype("<f8")
        arrays["history_iteration"] = np.array([s.iteration for s in history], dtype="<i8")
        arrays["history_log_likelihood"] = np.array([s.log_likelihood for s in history], dtype="<f8")
        arrays["history_change"] = np.array([s.change for s in history], dtype="<f8")
        arrays["history_converged"] = np.array([bool(s.converged) for s in history], dtype="|b1")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {
            "n_samples": int(session.X.shape[0]),
            "n_features": int(session.X.shape[1]),
            "feature_names": [str(n) for n in session.feature_names],
            "label_names": None if session.label_names is None else [str(n) for n in session.label_names],
            "label_name": session.label_name,
            "source": str(session.source),
            "provenance": session.provenance,
        },
        "start_covariance_type": None if session.start is None else session.start.covariance_type,
        "settings": dict(session.settings),
        "locks": {str(k): {"mean": bool(v.mean), "covariance": bool(v.covariance), "weight": bool(v.weight)}
                  for k, v in sorted(session.locks.items()) if v},
        "history": {
            "n_entries": len(history),
            "covariance_type": covariance_type,
            "phases": "".join(getattr(s, "phase", "E") for s in history),
            "collapsed": [list(map(int, s.collapsed)) for s in history],
            "n_samples": [int(s.n_samples) for s in history],
            "cursor": session.cursor,
        },
        "view": session.view if isinstance(session.view, str) else [int(i) for i in session.view],
        "extra": dict(session.extra),
        "arrays": {name: {"dtype": a.dtype.str, "shape": list(a.shape)} for name, a in arrays.items()},
    }
    text = json.dumps(manifest, indent=1, allow_nan=False)
    try:
        with atomic_write_stream(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(MANIFEST, text)
            for name, a in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=a.nbytes > 2**31) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(a), allow_pickle=False)
    except OSError as exc:
        raise ModelFileError(f"cannot write the session file '{path}': {exc.strerror or exc}; check that the "
                             "folder exists and is writable") from None


def _params_arrays(prefix: str, params: GMMParams) -> dict:
    return {f"{prefix}_weights": np.asarray(params.weights, dtype="<f8"),
            f"{prefix}_means": np.asarray(params.means, dtype="<f8"),
            f"{prefix}_covariances": np.asarray(params.covariances, dtype="<f8")}


# --------------------------------------------------------------------------- reading


def read_session(path) -> SessionFile:
    """Read a session file, checking everything before returning.

    Raises
    ------
    ModelFileError
        When the file is missing, is not a session file, is damaged or truncated, was written by a
        newer version of the app, or holds inconsistent contents; the message names the file and
        what is wrong.
    """
    name = Path(path).name
    try:
        zf = zipfile.ZipFile(path, "r")
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name} is a folder, not a session file") from None
    except zipfile.BadZipFile:
        raise ModelFileError(f"{name} is not a session file, or it is damaged or truncated (not a complete "
                             "ZIP archive): open another file, or the recovery copy") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        with zf:
            return _read(zf, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ModelFileError(f"{name} is damaged or truncated ({exc}): it cannot be opened") from None


def _read(zf: zipfile.ZipFile, name: str) -> SessionFile:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise ModelFileError(f"{name} is not a gmm-desktop session file (it has no {MANIFEST})") from None
    if info.file_size > _MAX_MANIFEST:
        raise ModelFileError(f"{name}: its manifest is {info.file_size:,} bytes, too large for a session file")
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{name}: its manifest is not valid JSON ({exc}): the file is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{name} is not a gmm-desktop session file (format {manifest.get('format')!r} "
                             f"where {FORMAT!r} was expected)" if isinstance(manifest, dict) else
                             f"{name} is not a gmm-desktop session file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{name}: format_version {version!r} is not a version number: the file is damaged")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by a newer gmm-desktop ({manifest.get('app_version') or 'unknown version'}, "
            f"session format {version}); this app ({__version__}) reads format {FORMAT_VERSION}: update the app "
            "to open it")
    try:
        return _parse(zf, manifest, name)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{name}: its contents are inconsistent ({exc}): the file is damaged") from None


def _parse(zf: zipfile.ZipFile, manifest: dict, name: str) -> SessionFile:
    declared = manifest["arrays"]
    if not isinstance(declared, dict):
        raise ModelFileError(f"{name}: the manifest's list of arrays is damaged")

    def array(key: str, required: bool = True):
        if key not in declared:
            if required:
                raise ModelFileError(f"{name}: the array {key!r} is missing")
            return None
        spec = declared[key]
        try:
            with zf.open(f"{key}.npy") as fh:
                a = np.lib.format.read_array(fh, allow_pickle=False)
                if fh.read(1):
                    raise ModelFileError(f"{name}: the array {key!r} has trailing bytes: the file is damaged")
        except KeyError:
            raise ModelFileError(f"{name}: the array {key!r} is listed but not in the file (truncated?)") from None
        except ValueError as exc:  # short reads, bad headers, object arrays
            raise ModelFileError(f"{name}: the array {key!r} cannot be read ({exc}): the file is damaged or "
                                 "truncated") from None
        if a.dtype.str != spec["dtype"] or list(a.shape) != list(spec["shape"]):
            raise ModelFileError(f"{name}: the array {key!r} is {a.dtype.str} {list(a.shape)} where the manifest "
                                 f"says {spec['dtype']} {spec['shape']}: the file is damaged")
        if a.dtype.kind not in "fib":
            raise ModelFileError(f"{name}: the array {key!r} is not numeric")
        return a

    data = manifest["data"]
    X = array("X").astype(np.float64, copy=False)
    n, d = int(data["n_samples"]), int(data["n_features"])
    if X.ndim != 2 or X.shape != (n, d) or d < 1:
        raise ModelFileError(f"{name}: the data have shape {X.shape}, the manifest says ({n}, {d})")
    if not np.isfinite(X).all():
        raise ModelFileError(f"{name}: the data hold NaN or infinite values: the file is damaged")
    feature_names = [str(s) for s in data["feature_names"]]
    if len(feature_names) != d:
        raise ModelFileError(f"{name}: {len(feature_names)} feature names for {d} features")
    labels = array("labels", required=False)
    if labels is not None and labels.shape != (n,):
        raise ModelFileError(f"{name}: {labels.shape[0]} labels for {n} points")
    label_names = data.get("label_names")
    if label_names is not None:
        label_names = [str(s) for s in label_names]
        if labels is not None and len(labels) and not 0 <= labels.min() <= labels.max() < len(label_names):
            raise ModelFileError(f"{name}: a label has no name")
    means = array("means")
    if means.ndim != 2 or means.shape[1] != d:
        raise ModelFileError(f"{name}: the means have shape {means.shape}, not (K, {d})")
    settings = manifest["settings"]
    if (not isinstance(settings, dict) or not {"covariance_type", *_EM_SETTINGS} <= set(settings)
            or not all(isinstance(v, (str, int, float, bool)) or v is None for v in settings.values())):
        raise ModelFileError(f"{name}: the settings are damaged")  # other keys (the method's...) pass on
    if settings.get("covariance_type", "full") not in COVARIANCE_TYPES:
        raise ModelFileError(f"{name}: unknown covariance type {settings.get('covariance_type')!r}")
    try:
        check_settings(**{k: settings[k] for k in _EM_SETTINGS})
    except GMMError as exc:
        raise ModelFileError(f"{name}: its EM settings are not valid ({exc})") from None
    start = None
    if "start_means" in declared:
        start = _params(array, "start", manifest["start_covariance_type"], name)
    locks = {}
    for k, lock in manifest["locks"].items():
        locks[int(k)] = ComponentLock(bool(lock["mean"]), bool(lock["covariance"]), bool(lock["weight"]))
    hist = manifest["history"]
    n_entries = int(hist["n_entries"])
    history = []
    if n_entries:
        ctype = hist["covariance_type"]
        weights, hmeans, covs = array("history_weights"), array("history_means"), array("history_covariances")
        its, lls = array("history_iteration"), array("history_log_likelihood")
        changes, conv = array("history_change"), array("history_converged")
        phases, collapsed, sizes = str(hist["phases"]), hist["collapsed"], hist["n_samples"]
        for a in (weights, hmeans, covs, its, lls, changes, conv):
            if len(a) != n_entries:
                raise ModelFileError(f"{name}: the history's arrays do not all have {n_entries} entries")
        if len(phases) != n_entries or set(phases) - {"E", "M"} or len(collapsed) != n_entries:
            raise ModelFileError(f"{name}: the history's phases are damaged")
        if hmeans.ndim != 3 or hmeans.shape[2] != d:
            raise ModelFileError(f"{name}: the history's means have {hmeans.shape[-1]} features, the data {d}")
        _check_history_params(weights, hmeans, covs, ctype, name)  # all entries at once (not 1 ms each)
        for i in range(n_entries):
            params = GMMParams(weights[i], hmeans[i], covs[i], ctype)
            ll = float(lls[i])
            if phases[i] == "E" and not math.isfinite(ll):
                raise ModelFileError(f"{name}: history entry {i} has no finite log-likelihood")
            history.append(EMSnapshot(int(its[i]), ll, float(changes[i]), bool(conv[i]), params, int(sizes[i]),
                                      tuple(int(c) for c in collapsed[i]), phase=phases[i]))
        keys = [(s.iteration, "ME".index(s.phase)) for s in history]
        if any(b <= a for a, b in zip(keys, keys[1:])):
            raise ModelFileError(f"{name}: the history's iterations are out of order")
    cursor = hist.get("cursor")
    if cursor is not None and not (isinstance(cursor, int) and 0 <= cursor < max(1, n_entries) and n_entries):
        raise ModelFileError(f"{name}: the history's cursor {cursor!r} is not one of its {n_entries} entries")
    view = manifest["view"]
    pca_axes = array("pca_axes", required=False)
    if isinstance(view, str):
        if view != "pca" or pca_axes is None or pca_axes.shape != (2, d):
            raise ModelFileError(f"{name}: the view {view!r} is damaged")
    else:
        view = tuple(int(i) for i in view)
        if not 1 <= len(view) <= 2 or any(not 0 <= i < d for i in view):
            raise ModelFileError(f"{name}: the view {list(view)} does not fit data of {d} features")
    true_centers = array("true_centers", required=False)
    return SessionFile(
        X=np.ascontiguousarray(X), feature_names=feature_names,
        labels=None if labels is None else labels.astype(np.int64, copy=False),
        label_names=label_names, label_name=data.get("label_name"), source=str(data.get("source", "")),
        true_centers=true_centers, provenance=data.get("provenance"),
        means=means.astype(np.float64, copy=False), start=start, settings=settings, locks=locks, history=history,
        cursor=cursor, view=view, pca_axes=pca_axes, extra=dict(manifest.get("extra") or {}),
        app_version=str(manifest.get("app_version", "")), created=str(manifest.get("created", "")))


def _params(array, prefix: str, covariance_type, name: str) -> GMMParams:
    params = GMMParams(array(f"{prefix}_weights"), array(f"{prefix}_means"), array(f"{prefix}_covariances"),
                       covariance_type)
    return _checked_params(params, "the start parameters", name)


def _check_history_params(weights, means, covs, ctype, name: str) -> None:
    """What ``GMMParams.validated`` checks, for every history entry in a few array operations."""
    if ctype not in COVARIANCE_TYPES:
        raise ModelFileError(f"{name}: the history has an unknown covariance type {ctype!r}")
    h, k = weights.shape if weights.ndim == 2 else (len(weights), -1)
    d = means.shape[-1]
    expected = {"full": (h, k, d, d), "tied": (h, d, d), "diag": (h, k, d), "spherical": (h, k)}[ctype]
    if weights.ndim != 2 or means.shape != (h, k, d) or covs.shape != expected or k < 1:
        raise ModelFileError(f"{name}: the history's parameters have inconsistent shapes")
    if not (np.isfinite(weights).all() and np.isfinite(means).all() and np.isfinite(covs).all()):
        raise ModelFileError(f"{name}: the history holds NaN or infinite parameters")
    if (weights < 0).any() or (np.abs(weights.sum(axis=1) - 1) > 1e-6).any():
        raise ModelFileError(f"{name}: a history entry's weights do not sum to 1")
    if ctype in ("diag", "spherical"):
        if (covs <= 0).any():
            raise ModelFileError(f"{name}: a history entry has a variance <= 0")
        return
    if not _is_spd(covs.reshape(-1, d, d)):  # the rule GMMParams.validated applies
        raise ModelFileError(f"{name}: a history entry's covariance is not symmetric positive definite")


def _checked_params(params: GMMParams, what: str, name: str) -> GMMParams:
    if params.covariance_type not in COVARIANCE_TYPES:
        raise ModelFileError(f"{name}: {what} have an unknown covariance type {params.covariance_type!r}")
    try:
        return params.validated()
    except ValueError as exc:
        raise ModelFileError(f"{name}: {what} are not valid mixture parameters ({exc})") from None

