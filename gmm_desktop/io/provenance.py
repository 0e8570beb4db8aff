"""The ``settings`` block of a model file, built in one place from what actually happened.

Every writer of a model file (``fit``, ``select``, the window's Save model, a Find K candidate adopted
in the window) describes the start of its fit with a :class:`Start` and calls :func:`model_settings`,
so a model file records the initialisation and the seed that made its start, and ``fit`` with those
settings starts the same way:

* ``fit``: ``Start(init, seed)`` as given on the command line;
* a selection candidate (``select``, Find K): :func:`candidate_start` -- ``kmeans++`` with the seed of
  the candidate's best restart, and the search under ``selection``;
* means placed in the window: ``Start("means", 0)`` for clicked means (as ``fit --means`` records
  them), ``Start("means", seed, means_from="kmeans++")`` for means placed by the k-means++ button;
* a model file opened in the window: :func:`start_from_settings` of that file's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gmm_desktop.core.options import EM_SETTINGS, OPTIONS


@dataclass(frozen=True)
class Start:
    """How the start of a fit was made.

    Attributes
    ----------
    init : {'means', 'kmeans++', 'kmeans', 'random'}
        The initialisation method (:func:`gmm_desktop.core.init.initial_params`).
    seed : int or None
        The seed of its random choices (None for a selection candidate whose every restart failed).
    extra : dict
        More keys of the settings block, e.g. ``selection`` (the search a candidate came from) or
        ``means_from`` (how means given to ``init='means'`` were placed).
    """

    init: str = "means"
    seed: int | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        OPTIONS["init"].check(self.init)
        if self.seed is not None:
            object.__setattr__(self, "seed", OPTIONS["seed"].check(self.seed))


def model_settings(em_settings: dict, start: Start) -> dict:
    """The ``settings`` object of a model file: the EM settings ``tol``, ``tol_mode``, ``max_iter``,
    ``reg_covar`` (missing ones at their defaults) and ``accelerate`` and ``dtype`` when given, then ``init`` and
    ``seed`` of ``start`` and its extra keys."""
    block = {name: em_settings.get(name, OPTIONS[name].default) for name in EM_SETTINGS}
    for name in ("accelerate", "dtype"):  # recorded when the writer fitted with a choice of them
        if name in em_settings:
            block[name] = em_settings[name]
    block.update({"init": start.init, "seed": start.seed})
    block.update(start.extra)
    return block


def selection_record(result) -> dict:
    """The ``selection`` object of a model file: the search of ``result`` (a
    :class:`~gmm_desktop.core.selection.SelectionResult`)."""
    return {
        "criterion": result.criterion,
        "k_min": result.k_min,
        "k_max": result.k_max,
        "covariance_types": list(result.covariance_types),
        "n_init": result.n_init,
        "seed": result.seed,
        "n_candidates": len(result.candidates),
    }


def candidate_start(candidate, result=None) -> Start:
    """The start of a selection candidate: k-means++ with the seed of its best restart (so
    ``fit --k K --covariance-type T --seed SEED`` reproduces it), and the search when ``result`` is
    given."""
    return Start("kmeans++", candidate.seed, {"selection": selection_record(result)} if result is not None else {})


def candidate_settings(result, candidate=None) -> dict:
    """The settings block of a model file for ``candidate`` of ``result`` (default: ``result.best``)."""
    candidate = result.best if candidate is None else candidate
    return model_settings(result.settings, candidate_start(candidate, result))


def start_from_settings(settings: dict) -> Start:
    """The :class:`Start` a model file's ``settings`` record (for a model opened and fitted further):
    its ``init``, ``seed`` and extra keys; an unusable or missing ``init`` reads as ``means``."""
    extra = {k: v for k, v in settings.items() if k not in (*EM_SETTINGS, "accelerate", "dtype", "init", "seed")}
    try:
        return Start(settings.get("init", "means"), settings.get("seed"), extra)
    except ValueError:  # ParamsError: a value this version does not know
        return Start("means", None, extra)
