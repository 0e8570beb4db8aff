"""The notebook's synthetic data: isotropic Gaussian blobs around given centres, and the demo data set.

Every bad argument raises :class:`~gmm_desktop.core.errors.DataError` saying what to change.
"""

from __future__ import annotations

import operator
from dataclasses import replace
from pathlib import Path

import numpy as np

from gmm_desktop.core.errors import DataError
from gmm_desktop.io.datasets import Dataset, load_data, parse_points

NOTEBOOK_CENTERS = np.array([[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]])
NOTEBOOK_CENTERS.flags.writeable = False

#: Number of points of each generator preset (the notebook's problem speaks of 105 points).
PRESETS = {"small": 105, "medium": 1050, "large": 10500}

#: Most points :func:`generate` makes.
MAX_GENERATED = 10_000_000

DEMO_PATH = Path(__file__).resolve().parents[2] / "resources" / "demo.csv"


def generate(preset="medium", centers=None, seed=0, n_samples=None, cluster_std=1.0, shapes=None) -> Dataset:
    """Gaussian blobs, as scikit-learn's ``make_blobs`` (and the notebook) make them, isotropic or,
    with ``shapes``, elongated and rotated (a covariance per cluster).

    Parameters
    ----------
    preset : {"small", "medium", "large"}
        105, 1050 or 10500 points; ``n_samples`` overrides the count.
    centers : array-like of shape (n_components, n_features), or str, optional
        The centres, or text such as ``"1,-1;5,5"``. Default :data:`NOTEBOOK_CENTERS`.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same data.
    n_samples : int, optional
        Number of points, split as evenly as possible over the centres (the first
        ``n_samples % n_components`` centres get one more).
    cluster_std : float
        Standard deviation of the noise around each centre, in every direction.
    shapes : sequence of (std, aspect, angle), one per centre, optional
        Each cluster's spread in the first two features: standard deviation ``std`` along its long
        axis, ``std / aspect`` across it (``aspect >= 1``), the long axis at ``angle`` degrees
        anticlockwise from the first feature; other features keep ``cluster_std``. Without it
        every cluster is isotropic (and the output is exactly that of earlier versions).

    Returns
    -------
    Dataset
        Rows shuffled; ``labels[i]`` is the index of the centre of row ``i``; ``provenance`` holds
        the arguments (:func:`regenerate` makes the same data from it).
    """
    if preset not in PRESETS:
        raise DataError(
            f"unknown preset {preset!r}: choose small (105 points), medium (1050) or large (10500)"
        )
    centers = NOTEBOOK_CENTERS if centers is None else _as_centers(centers)
    n_components, n_features = centers.shape
    n = PRESETS[preset] if n_samples is None else _as_int(n_samples, "the number of points")
    if not 1 <= n <= MAX_GENERATED:
        raise DataError(f"the number of points must be between 1 and {MAX_GENERATED:,}, not {n}")
    seed = _as_int(seed, "the seed")
    if seed < 0:
        raise DataError(f"the seed must be a whole number >= 0, not {seed}")
    try:
        std = float(cluster_std)
    except (TypeError, ValueError):
        std = float("nan")
    if not (np.isfinite(std) and std >= 0):
        raise DataError(f"the cluster spread must be a finite number >= 0, not {cluster_std!r}")

    shape_rows = None if shapes is None else _as_shapes(shapes, n_components, n_features)

    rng = np.random.default_rng(seed)
    counts = np.full(n_components, n // n_components)
    counts[: n % n_components] += 1
    labels = np.repeat(np.arange(n_components, dtype=np.int64), counts)
    X = centers[labels] + rng.normal(scale=std, size=(n, n_features))
    if shape_rows is not None:  # the same draws, stretched and turned: z ~ N(0, I) mapped by L_k
        Z = (X - centers[labels])[:, :2] / (std if std > 0 else 1.0)
        for k, (s, aspect, angle) in enumerate(shape_rows):
            t = np.deg2rad(angle)
            L = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.diag([s, s / aspect])
            rows = labels == k
            X[rows, :2] = centers[k, :2] + Z[rows] @ L.T
    order = rng.permutation(n)
    what = preset if n_samples is None else f"{n} points"
    names = (
        ["x", "y", "z"][:n_features] if n_features <= 3 else [f"x{j}" for j in range(n_features)]
    )
    return Dataset(
        X=np.ascontiguousarray(X[order]),
        feature_names=names,
        labels=labels[order],
        source=f"generated ({what}, seed {seed})",
        true_centers=np.array(centers, dtype=np.float64),
        all_feature_names=list(names),
        label_name="label",  # the column write_csv gives the labels
        provenance={"generator": "gmm_desktop.io.generator.generate", "format_version": 1, "parameters": {
            "preset": preset, "n_samples": n_samples if n_samples is None else n, "centers": centers.tolist(),
            "seed": seed, "cluster_std": std,
            "shapes": None if shape_rows is None else [list(map(float, r)) for r in shape_rows]}},
    )


#: Ready-made problems for the Generate dialog: keyword arguments of :func:`generate` (their
#: ``preset``/``n_samples`` and ``seed`` come from the dialog). Failure cases take seconds to set up.
SCENES = {
    "The notebook's four blobs": {"centers": NOTEBOOK_CENTERS.tolist()},
    "Two parallel elongated clusters": {"centers": [[0.0, 1.5], [0.0, -1.5]], "shapes": [[3.0, 6.0, 0.0]] * 2},
    "Two crossing clusters (an X)": {"centers": [[0.0, 0.0], [0.0, 0.0]],
                                     "shapes": [[3.0, 8.0, 35.0], [3.0, 8.0, -35.0]]},
    "Three rotated clusters": {"centers": [[-4.0, 0.0], [3.0, 3.0], [3.0, -3.0]],
                               "shapes": [[2.0, 4.0, 90.0], [2.0, 4.0, 30.0], [2.0, 4.0, -30.0]]},
}


def regenerate(provenance) -> Dataset:
    """The data :func:`generate` made, again, from their ``provenance`` (a dict, or the path of
    the ``.generator.json`` sidecar the window writes next to saved data)."""
    import json

    if not isinstance(provenance, dict):
        try:
            provenance = json.loads(Path(provenance).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read the generator's parameters from {provenance}: {exc}") from None
    params = provenance.get("parameters") if isinstance(provenance, dict) else None
    if provenance.get("generator") != "gmm_desktop.io.generator.generate" or not isinstance(params, dict):
        raise DataError("these data were not made by the generator alone (painted, or from a file): "
                        "they cannot be regenerated")
    return generate(**params)


def _as_shapes(shapes, n_components: int, n_features: int) -> np.ndarray:
    try:
        rows = np.array(shapes, dtype=np.float64)
    except (TypeError, ValueError):
        rows = np.empty((0,))
    if rows.shape != (n_components, 3):
        raise DataError(f"give one (std, aspect, angle) per cluster: {n_components} clusters, "
                        f"got {np.shape(shapes)}")
    if not np.isfinite(rows).all() or (rows[:, 0] <= 0).any() or (rows[:, 1] < 1).any():
        raise DataError("each cluster's std must be > 0 and its aspect (long / short axis) >= 1")
    return rows


def suggest_means(centers, seed=0, jitter=0.75) -> np.ndarray:
    """Initial means near the true centres, as the notebook's ``make_ds`` returned them.

    Parameters
    ----------
    centers : array-like of shape (n_components, n_features)
    seed : int
    jitter : float
        Each coordinate moves by a uniform amount in ``[-jitter, jitter]``.

    Returns
    -------
    means : ndarray of shape (n_components, n_features)
    """
    centers = _as_centers(centers)
    rng = np.random.default_rng(_as_int(seed, "the seed"))
    return centers + rng.uniform(-jitter, jitter, size=centers.shape)


def _as_int(value, what: str) -> int:
    if isinstance(value, bool):
        raise DataError(f"{what} must be a whole number, not {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise DataError(f"{what} must be a whole number, not {value!r}") from None


def _as_centers(centers) -> np.ndarray:
    if isinstance(centers, str):
        centers = parse_points(centers, what="centers")
    try:
        c = np.array(centers, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            'centers must be a list of points of equal length, such as "1,-1;5,5;8,7"'
        ) from None
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] < 2:
        raise DataError(
            f"centers must have shape (n_centers, n_features) with at least one center of at least "
            f'two coordinates, not shape {c.shape}: write them as "x1,y1;x2,y2"'
        )
    if not np.all(np.isfinite(c)):
        raise DataError("centers must be finite numbers")
    return c


def demo_dataset() -> Dataset:
    """The built-in demo: ``resources/demo.csv``, or the same data generated when it is missing.

    Both are ``generate("medium", seed=0)``; the result carries the notebook's true centres.
    """
    if DEMO_PATH.is_file():
        try:
            return replace(load_data(DEMO_PATH), true_centers=np.array(NOTEBOOK_CENTERS))
        except DataError:
            pass
    return generate("medium", seed=0)
