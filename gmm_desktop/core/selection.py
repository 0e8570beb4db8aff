"""Model selection: choose the number of components (and the covariance type) by BIC or AIC.

:func:`select_model` fits every candidate of a grid ``K = k_min..k_max`` x covariance types by EM,
each from ``n_init`` k-means++ starts, keeps the start with the best log-likelihood, and scores it
with scikit-learn's criteria (lower is better)::

    BIC = -2 LL + p log(n)        AIC = -2 LL + 2 p

where ``LL`` is the total log-likelihood of the ``n`` training points and ``p`` the number of free
parameters (:func:`count_parameters`, as scikit-learn's ``GaussianMixture._n_parameters``).

Restart seeds
    Restart ``r`` (``r = 0 .. n_init-1``) of *every* candidate starts from
    ``initial_params(X, K, method="kmeans++", seed=seed + r)``, which is exactly the start of
    ``gmm-desktop fit --k K --covariance-type T --seed <seed + r>``: any candidate can be
    reproduced on its own, and more restarts only add starts (``n_init=3`` tries the start of
    ``n_init=1`` first, so it is never worse).

Choosing
    The best candidate has the lowest criterion among those whose fit has no collapsed component
    (``em.collapsed_components``: less than a point's worth of weight, or a covariance flattened to
    ``reg_covar``). A component shrunk onto a single point has a likelihood bounded only by
    ``reg_covar``, and on well-separated blobs such spurious fits were the only cause of wrong
    picks (docs/model-selection.md). If every candidate collapsed, the lowest criterion wins.

Cancelling
    ``should_stop()`` is polled before every fit and after every EM iteration; when it returns
    True, :class:`SelectionCancelled` is raised, carrying the candidates finished so far in
    ``exc.result`` (the candidate being fitted is dropped).

The ``select`` command is :mod:`gmm_desktop.cli.select`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gmm_desktop.core.accel import make_fitter, resolve_accelerate
from gmm_desktop.core.engine import check_dtype
from gmm_desktop.core.em import check_data, check_settings, count_parameters, information_criteria
from gmm_desktop.core.errors import FitError, GMMError, ParamsError
from gmm_desktop.core.init import initial_params
from gmm_desktop.core.options import CRITERIA, OPTIONS  # noqa: F401 (CRITERIA: re-exported)
from gmm_desktop.core.params import COVARIANCE_TYPES, GMMParams, check_covariance_type


#: Data sets larger than this are not searched for duplicate points (as ``init.initial_params``).
_DISTINCT_CHECK_LIMIT = 200_000


class SelectionCancelled(GMMError):
    """``should_stop()`` returned True; ``result`` holds the candidates finished before that.

    Attributes
    ----------
    result : SelectionResult
        A partial result (``complete`` is False; ``best`` may be None).
    """

    def __init__(self, message: str, result: "SelectionResult"):
        super().__init__(message)
        self.result = result


class _StopRequested(Exception):
    """Raised inside an EM run to abandon it (internal; never escapes :func:`select_model`)."""


# --------------------------------------------------------------------------- pure helpers
def restart_seeds(seed: int, n_init: int) -> list[int]:
    """Seeds of the ``n_init`` k-means++ starts: ``seed, seed + 1, ..., seed + n_init - 1``."""
    return [int(seed) + r for r in range(int(n_init))]


def n_distinct_points(X: np.ndarray) -> int:
    """Number of distinct rows of ``X`` (n_samples, n_features); the row count for huge data."""
    if X.shape[0] > _DISTINCT_CHECK_LIMIT:
        return int(X.shape[0])
    return int(len(np.unique(X, axis=0)))


def parse_covariance_types(text) -> tuple[str, ...]:
    """Covariance types from ``"full,diag"`` (or a sequence), in order, without repeats.

    Raises
    ------
    ParamsError
        For an empty list or an unknown type.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name not in COVARIANCE_TYPES:
            raise ParamsError(
                f"unknown covariance type {str(item).strip()!r}: choose among {', '.join(COVARIANCE_TYPES)} "
                "(several separated by commas, e.g. full,diag)"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise ParamsError(f"give at least one covariance type among {', '.join(COVARIANCE_TYPES)}")
    return tuple(out)


def check_selection_options(k_min, k_max, covariance_types, criterion, n_init, seed) -> tuple[str, ...]:
    """Validate the grid options (the ranges of :mod:`gmm_desktop.core.options`); returns the
    covariance types as a tuple.

    Raises
    ------
    ParamsError
        With what to change.
    """
    for name, value in (("k_min", k_min), ("k_max", k_max), ("n_init", n_init), ("seed", seed),
                        ("criterion", criterion)):
        OPTIONS[name].check(value)
    if k_min > k_max:
        raise ParamsError(f"k_min ({k_min}) is larger than k_max ({k_max}); give k_min <= k_max")
    return parse_covariance_types(covariance_types)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Candidate:
    """One fitted candidate of the grid: the best of its restarts.

    Attributes
    ----------
    k : int
        Number of components.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}
    log_likelihood : float
        Total log-likelihood of the training data under ``params`` (NaN when failed).
    n_parameters : int
        Free parameters (:func:`count_parameters`).
    bic, aic : float
        The criteria (lower is better; NaN when failed).
    params : GMMParams or None
        The fitted parameters of the best restart (None when failed).
    initial : GMMParams or None
        Where that restart started.
    trace : tuple of float
        Total log-likelihood after each EM iteration of that restart; length ``n_iter``.
    converged : bool
    n_iter : int
    error : str or None
        Why every restart failed (then ``params`` is None), else None.
    seed : int or None
        Seed of the best restart (``fit --seed`` reproduces it).
    restart_log_likelihoods : tuple of float
        Final log-likelihood of each restart, in restart order (NaN for a failed restart).
    collapsed : tuple of int
        Components of ``params`` detected as collapsed (tiny weight or a flat covariance).
    """

    k: int
    covariance_type: str
    log_likelihood: float
    n_parameters: int
    bic: float
    aic: float
    params: GMMParams | None
    initial: GMMParams | None
    trace: tuple
    converged: bool
    n_iter: int
    error: str | None = None
    seed: int | None = None
    restart_log_likelihoods: tuple = ()
    collapsed: tuple = ()

    @property
    def ok(self) -> bool:
        """True when at least one restart succeeded."""
        return self.error is None and self.params is not None

    def criterion_value(self, criterion: str) -> float:
        """The value of ``criterion`` ('bic' or 'aic')."""
        OPTIONS["criterion"].check(criterion)
        return self.bic if criterion == "bic" else self.aic


@dataclass(frozen=True, eq=False)
class SelectionResult:
    """The outcome of :func:`select_model`.

    Attributes
    ----------
    candidates : tuple of Candidate
        In grid order (covariance types in the order given, K ascending within each), failed ones
        included; candidates skipped for having more components than distinct points are not.
    criterion : {'bic', 'aic'}
    n_samples, n_features : int
    k_min, k_max : int
        The grid as asked for (before skipping).
    covariance_types : tuple of str
    n_init, seed : int
    settings : dict
        The EM settings ``tol``, ``tol_mode``, ``max_iter``, ``reg_covar``.
    notes : tuple of str
        Things the user should know (skipped K, failed candidates).
    complete : bool
        False for the partial result of a cancelled selection.
    """

    candidates: tuple
    criterion: str
    n_samples: int
    n_features: int
    k_min: int
    k_max: int
    covariance_types: tuple
    n_init: int
    seed: int
    settings: dict = field(default_factory=dict)
    notes: tuple = ()
    complete: bool = True

    @property
    def best(self) -> Candidate | None:
        """The candidate with the lowest ``criterion`` (None if none succeeded)."""
        return self.best_by(self.criterion)

    def best_by(self, criterion: str) -> Candidate | None:
        """The successful candidate with the lowest ``criterion`` ('bic' or 'aic').

        Candidates with a collapsed component are passed over while any other succeeded: a
        component shrunk onto one point (or a line) has an unbounded likelihood, held finite only
        by ``reg_covar``, so its criterion says nothing about the number of clusters. Ties go to
        fewer parameters, then to the earlier candidate.
        """
        ok = [(c.criterion_value(criterion), c.n_parameters, i, c) for i, c in enumerate(self.candidates) if c.ok]
        sound = [t for t in ok if not t[3].collapsed]
        pool = sound or ok
        return min(pool, key=lambda t: t[:3])[3] if pool else None

    def table_rows(self) -> list[tuple]:
        """One row per candidate: ``(k, covariance_type, log_likelihood, n_parameters, bic, aic)``."""
        return [(c.k, c.covariance_type, c.log_likelihood, c.n_parameters, c.bic, c.aic) for c in self.candidates]


# --------------------------------------------------------------------------- the search
def _fit_once(X, k, covariance_type, seed, settings, should_stop):
    """One k-means++ start and its EM run; returns ``(initial, snapshot, fitter)``."""
    initial = initial_params(X, k, method="kmeans++", covariance_type=covariance_type,
                             reg_covar=settings["reg_covar"], seed=seed)
    fitter = make_fitter(X, initial, **settings)

    def poll(_snapshot):
        if should_stop():
            raise _StopRequested

    snap = fitter.run(callback=poll if should_stop is not None else None)
    return initial, snap, fitter


@dataclass(frozen=True)
class FitOutcome:
    """One restart's result: what a :class:`Candidate` keeps of it (small, picklable)."""

    initial: GMMParams
    params: GMMParams
    log_likelihood: float
    trace: tuple
    converged: bool
    n_iter: int
    collapsed: tuple


def fit_job(X, k, covariance_type, seed, settings) -> "FitOutcome | GMMError":
    """One restart (:func:`select_model`'s unit of work): a :class:`FitOutcome`, or the GMMError that
    stopped it (returned, not raised, so a runner elsewhere can hand it back)."""
    try:
        initial, snap, fitter = _fit_once(X, k, covariance_type, seed, settings, None)
    except GMMError as exc:
        return exc
    return FitOutcome(initial, snap.params, snap.log_likelihood, tuple(fitter.trace), snap.converged,
                      snap.iteration, tuple(snap.collapsed))


def _failed_candidate(k, d, covariance_type, error, restart_lls) -> Candidate:
    nan = math.nan
    return Candidate(k, covariance_type, nan, count_parameters(k, d, covariance_type), nan, nan,
                     None, None, (), False, 0, error=error, seed=None, restart_log_likelihoods=tuple(restart_lls))


def select_model(
    X,
    *,
    k_min: int = OPTIONS["k_min"].default,
    k_max: int = OPTIONS["k_max"].default,
    covariance_types=OPTIONS["covariance_types"].default,
    criterion: str = OPTIONS["criterion"].default,
    n_init: int = OPTIONS["n_init"].default,
    seed: int = OPTIONS["seed"].default,
    tol: float = OPTIONS["tol"].default,
    tol_mode: str = OPTIONS["tol_mode"].default,
    max_iter: int = OPTIONS["max_iter"].default,
    reg_covar: float = OPTIONS["reg_covar"].default,
    accelerate: str | None = None,
    dtype: str = OPTIONS["dtype"].default,
    progress=None,
    should_stop=None,
    fit_all=None,
) -> SelectionResult:
    """Fit every candidate of the grid and pick the one with the lowest criterion.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    k_min, k_max : int
        Numbers of components to try, inclusive. K above the number of distinct points is
        skipped (listed in ``result.notes``).
    covariance_types : str or sequence of str
        Among 'full', 'diag', 'spherical', 'tied' (a comma-separated string is accepted).
    criterion : {'bic', 'aic'}
        Decides ``result.best``; both are computed for every candidate.
    n_init : int
        k-means++ restarts per candidate (seeds ``seed + r``, see the module docstring); the
        restart with the highest log-likelihood is kept.
    seed : int
        Base seed, >= 0.
    tol, tol_mode, max_iter, reg_covar
        EM settings, as for :class:`~gmm_desktop.core.em.EMFitter`.
    accelerate : {'none', 'squarem'} or None
        ``squarem``: every candidate is fitted by :class:`~gmm_desktop.core.accel.SquaremFitter`
        (the same maximum in fewer EM steps; ``max_iter`` then bounds the EM steps). None (the
        default): :func:`~gmm_desktop.core.accel.resolve_accelerate`, i.e. ``squarem`` unless
        ``tol`` is 0.
    dtype : {'float64', 'float32'}
        The E-step's data type for every fit (see :class:`~gmm_desktop.core.fitter.EMFitter`).
    progress : callable, optional
        ``progress(done, total, candidate_or_None)`` after every fit (every restart):
        ``total = n_candidates * n_init``; the third argument is the finished
        :class:`Candidate` after its last restart, else None. Called exactly ``total`` times.
    should_stop : callable, optional
        ``should_stop() -> bool``, polled before each fit and after each EM iteration.
    fit_all : callable, optional
        Runs the restarts elsewhere (the Dask engine spreads them over a cluster):
        ``fit_all(X, jobs, settings)`` with ``jobs`` a list of ``(k, covariance_type, seed)`` in the
        order of the search returns an iterable of what :func:`fit_job` returns for each, in the
        same order. Default: one after the other, here.

    Returns
    -------
    SelectionResult
        ``result.best`` is the chosen candidate: the lowest ``criterion`` among the candidates
        without a collapsed component (among all successful ones if every one collapsed; see
        :meth:`SelectionResult.best_by`).

    Raises
    ------
    DataError
        For unusable data.
    ParamsError
        For bad options, or when ``k_min`` exceeds the number of distinct points.
    FitError
        When every candidate failed.
    SelectionCancelled
        When ``should_stop()`` returned True (``exc.result`` holds the finished candidates).

    Notes
    -----
    A candidate fails (``candidate.error``) only when all its restarts fail; the search goes on.
    Call from a worker thread for a responsive window; nothing here touches shared state.
    """
    X = check_data(X)
    covariance_types = check_selection_options(k_min, k_max, covariance_types, criterion, n_init, seed)
    check_settings(tol, tol_mode, max_iter, reg_covar)
    accelerate = resolve_accelerate(accelerate, tol)
    dtype = check_dtype(dtype)
    k_min, k_max, n_init, seed = int(k_min), int(k_max), int(n_init), int(seed)
    settings = {"tol": float(tol), "tol_mode": tol_mode, "max_iter": int(max_iter), "reg_covar": float(reg_covar),
                "accelerate": accelerate, "dtype": dtype}
    n, d = X.shape

    notes: list[str] = []
    n_distinct = n_distinct_points(X)
    if k_min > n_distinct:
        raise ParamsError(
            f"k_min is {k_min} but the data have only {n_distinct} distinct point{'s' if n_distinct != 1 else ''}; "
            f"use a k_min of at most {n_distinct}, or more data"
        )
    k_top = min(k_max, n_distinct)
    if k_top < k_max:
        skipped = f"{k_top + 1}" if k_top + 1 == k_max else f"{k_top + 1} to {k_max}"
        notes.append(
            f"K = {skipped} skipped: the data have only {n_distinct} distinct points "
            f"(at most {n_distinct} components)"
        )
    grid = [(ctype, k) for ctype in covariance_types for k in range(k_min, k_top + 1)]
    seeds = restart_seeds(seed, n_init)
    total = len(grid) * n_init
    done = 0
    candidates: list[Candidate] = []

    def partial(message: str) -> SelectionCancelled:
        result = SelectionResult(tuple(candidates), criterion, n, d, k_min, k_max, covariance_types, n_init,
                                 seed, dict(settings), tuple(notes), complete=False)
        return SelectionCancelled(message, result)

    outcomes = None
    if fit_all is not None:  # each job is fit_job(X, k, ctype, seed, settings), accelerate and dtype included
        outcomes = iter(fit_all(X, [(k, ctype, s) for ctype, k in grid for s in seeds], dict(settings)))
    for ctype, k in grid:
        best = None  # (log_likelihood, r, outcome)
        restart_lls: list[float] = []
        last_error = None
        for r, s in enumerate(seeds):
            if should_stop is not None and should_stop():
                raise partial(f"model selection was cancelled after {len(candidates)} of {len(grid)} candidates")
            try:
                if outcomes is None:
                    initial, snap, fitter = _fit_once(X, k, ctype, s, settings, should_stop)
                    outcome = FitOutcome(initial, snap.params, snap.log_likelihood, tuple(fitter.trace),
                                         snap.converged, snap.iteration, tuple(snap.collapsed))
                else:
                    outcome = next(outcomes)
                    if isinstance(outcome, BaseException):
                        raise outcome
            except _StopRequested:
                raise partial(
                    f"model selection was cancelled after {len(candidates)} of {len(grid)} candidates"
                ) from None
            except GMMError as exc:
                last_error = str(exc)
                restart_lls.append(math.nan)
            else:
                restart_lls.append(outcome.log_likelihood)
                if best is None or outcome.log_likelihood > best[0]:
                    best = (outcome.log_likelihood, r, outcome)
            done += 1
            cand = None
            if r == n_init - 1:
                if best is None:
                    cand = _failed_candidate(k, d, ctype, last_error or "the fit failed", restart_lls)
                    notes.append(f"K = {k} ({ctype}) failed: {cand.error}")
                else:
                    ll, rb, o = best
                    p = count_parameters(k, d, ctype)
                    b, a = information_criteria(ll, p, n)
                    cand = Candidate(k, ctype, ll, p, b, a, o.params, o.initial, o.trace, o.converged, o.n_iter,
                                     None, seeds[rb], tuple(restart_lls), o.collapsed)
                candidates.append(cand)
            if progress is not None:
                progress(done, total, cand)

    collapsed = [c for c in candidates if c.ok and c.collapsed]
    if collapsed and len(collapsed) < sum(c.ok for c in candidates):
        listed = ", ".join(f"K = {c.k} ({c.covariance_type})" for c in collapsed)
        notes.append(
            f"not chosen because a component collapsed (onto very few points or a flat spread): {listed}; "
            "a collapsed component inflates the likelihood, so its criterion does not count clusters"
        )
    result = SelectionResult(tuple(candidates), criterion, n, d, k_min, k_max, covariance_types, n_init, seed,
                             dict(settings), tuple(notes))
    if result.best is None:
        first = next((c for c in candidates if c.error), None)
        why = f" (K = {first.k}, {first.covariance_type}: {first.error.rstrip('.')})" if first else ""
        raise FitError(
            f"every candidate failed{why}; try a larger reg_covar, a smaller k_max, or scale the data"
        )
    return result
