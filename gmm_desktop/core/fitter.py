"""The EM fitter: one data set, one iteration (or half an iteration) at a time, over an engine.

An iteration is an M-step (new parameters from the statistics of the last E-step) followed by the
E-step of the new parameters, whose log-likelihood is the one reported for that iteration; the E-step
also gives the statistics of the next M-step, so each iteration costs one E-step and one M-step. The
halves are there too: :meth:`EMFitter.m_step` (snapshot phase ``"M"``: new parameters, their
responsibilities not yet computed) and :meth:`EMFitter.e_step` (phase ``"E"``).

Where the E-step runs is the engine's business (:mod:`gmm_desktop.core.engine`); the M-step is
:meth:`gmm_desktop.core.stats.SuffStats.to_params`, with the component locks applied there.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gmm_desktop.core.em import (
    _check_compatible,
    check_data,
    check_settings,
    collapsed_components,
    precision_cholesky,
)
from gmm_desktop.core.engine import Engine, InMemoryEngine, ReferenceEngine, check_dtype
from gmm_desktop.core.errors import FitError, ParamsError
from gmm_desktop.core.options import OPTIONS
from gmm_desktop.core.params import GMMParams, ParamsReadout
from gmm_desktop.core.stats import ComponentLock, Locks, SuffStats

__all__ = ["ComponentLock", "EMFitter", "EMSnapshot", "Locks", "fit"]

PHASES = ("M", "E")


@dataclass(frozen=True, eq=False)
class EMSnapshot(ParamsReadout):
    """The state of EM after an iteration or half an iteration; immutable, safe to hand to another thread.

    Attributes
    ----------
    iteration : int
        Number of M-steps done (0: the initial parameters).
    log_likelihood : float
        Total log-likelihood of the data under ``params``; NaN in phase ``"M"`` (not computed until
        the E-step).
    change : float
        ``log_likelihood`` minus that of the previous iteration (NaN at iteration 0 and in phase "M").
    converged : bool
    params : GMMParams
    n_samples : int
    collapsed : tuple of int
        Components detected as collapsed (see :func:`gmm_desktop.core.em.collapsed_components`).
    resp : ndarray of shape (n_samples, n_components), float32, or None
        Responsibilities, when asked for (of ``params`` in phase "E"; in phase "M" only from
        :meth:`EMFitter.snapshot_with_responsibilities`).
    labels : ndarray of shape (n_samples,), int32, or None
        The most responsible component of each point, with ``resp``.
    phase : {"E", "M"}
        ``"M"`` after an M-step (parameters new, their responsibilities not yet computed), ``"E"``
        after an E-step (log-likelihood and responsibilities of ``params``). A full iteration ends in
        ``"E"``.
    """

    iteration: int
    log_likelihood: float
    change: float
    converged: bool
    params: GMMParams
    n_samples: int
    collapsed: tuple = ()
    resp: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    phase: str = "E"


class EMFitter:
    """Runs EM on one data set one iteration (or half-iteration) at a time.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or None with ``engine``
    initial : GMMParams
        Starting parameters (their covariance type is the model's); with ``iteration``, the
        parameters of that iteration of an earlier fit.
    tol : float
        Convergence threshold on the change of the log-likelihood.
    tol_mode : {'total', 'per-sample'}
        ``total``: the change of the summed log-likelihood (the notebook's rule);
        ``per-sample``: the change of its mean (scikit-learn's rule).
    max_iter : int
        :meth:`run` stops after this many iterations (counting those before ``iteration``).
    reg_covar : float
        Added to every covariance diagonal after each M-step.
    fast : bool
        With the default engine: the blocked engine (:class:`~gmm_desktop.core.engine.InMemoryEngine`),
        or, with ``False``, the direct reference computation of :mod:`gmm_desktop.core.em`
        (:class:`~gmm_desktop.core.engine.ReferenceEngine`); both give the same results to about 1e-10.
    n_threads : int, optional
        Threads for the default engine's E-step on large data (default: every core, at most 4). The
        window leaves one core to its event loop.
    engine : Engine, optional
        Where the E-step runs (default: an in-memory engine over ``X``).
    dtype : {'float64', 'float32'}
        With the default fast engine: the type in which it holds the data and computes each block
        (float32: half the memory, faster E-steps on large data, log densities good to ~1e-6
        relative; the log-likelihood and statistics are summed in float64 either way). See
        docs/performance.md for when to use it.
    locks : mapping {component: ComponentLock} or Locks, optional
        What each M-step keeps of a component (mean, covariance, weight); the free weights are
        rescaled so that all sum to 1. EM stays monotone (generalised EM).
    iteration : int
        Continue an earlier fit: ``initial`` are the parameters after its ``iteration``-th M-step,
        and the next :meth:`step` is iteration ``iteration + 1``.
    trace : sequence of float
        With ``iteration``: that fit's log-likelihoods after each M-step, ``len(trace) == iteration``.

    Raises
    ------
    DataError, ParamsError, FitError
        For unusable data, parameters or settings.
    """

    def __init__(self, X, initial: GMMParams, *, tol=OPTIONS["tol"].default, tol_mode=OPTIONS["tol_mode"].default,
                 max_iter=OPTIONS["max_iter"].default, reg_covar=OPTIONS["reg_covar"].default,
                 fast=True, n_threads=None, engine: Engine | None = None, locks=None, iteration: int = 0,
                 trace: Sequence[float] | None = None, dtype: str = "float64"):
        check_settings(tol, tol_mode, max_iter, reg_covar)
        self.dtype = check_dtype(dtype)
        initial.validated()
        if engine is None:
            self.X = check_data(X)
            _check_compatible(self.X, initial)
            if not fast and self.dtype != "float64":
                raise ParamsError("dtype='float32' is an option of the fast engine; drop fast=False or use float64")
            engine = (InMemoryEngine(self.X, n_threads=n_threads, dtype=self.dtype) if fast
                      else ReferenceEngine(self.X))
        else:
            self.X = None if X is None else check_data(X)
            if engine.n_features != initial.n_features:
                _check_compatible(np.empty((1, engine.n_features)), initial)
        self.engine = engine
        self.n_samples = int(engine.n_samples)
        if initial.n_components > self.n_samples:
            raise FitError(
                f"{initial.n_components} components but only {self.n_samples} points: "
                "use at most as many components as points"
            )
        if not (isinstance(iteration, (int, np.integer)) and iteration >= 0):
            raise ParamsError(f"iteration must be a whole number >= 0, got {iteration!r}")
        trace = [] if trace is None else [float(v) for v in trace]
        if len(trace) != iteration:
            raise ParamsError(f"continuing from iteration {iteration} needs its {iteration} log-likelihoods "
                              f"(one per M-step), got {len(trace)}")
        self.locks = Locks.of(locks, initial.n_components)
        self.locks.check(initial)
        self.tol = float(tol)
        self.tol_mode = tol_mode
        self.max_iter = int(max_iter)
        self.reg_covar = float(reg_covar)
        self.n_threads = n_threads
        self.initial = initial
        self.trace: list[float] = trace
        self._params = initial
        self._iteration = int(iteration)
        expectation = self.engine.expect(initial)
        self.check_log_likelihood(expectation.log_likelihood)
        self._stats: SuffStats | None = expectation.stats
        self._ll = expectation.log_likelihood
        change = trace[-1] - trace[-2] if len(trace) >= 2 else math.nan
        self._converged = bool(self._measure(change) < self.tol) if len(trace) >= 2 else False
        self._phase = "E"
        self._snapshot = EMSnapshot(self._iteration, self._ll, change, self._converged, initial, self.n_samples,
                                    collapsed_components(initial, self.n_samples, self.reg_covar))

    # -- state
    @property
    def params(self) -> GMMParams:
        return self._params

    @property
    def iteration(self) -> int:
        return self._iteration

    @property
    def converged(self) -> bool:
        return self._converged

    @property
    def phase(self) -> str:
        """``"E"`` (the E-step of ``params`` is done) or ``"M"`` (after an M-step, before its E-step)."""
        return self._phase

    @property
    def done(self) -> bool:
        """True once a full iteration has converged or ``max_iter`` iterations have run."""
        return self._phase == "E" and (self._converged or self._iteration >= self.max_iter)

    @property
    def snapshot(self) -> EMSnapshot:
        """The latest snapshot (iteration 0 before any step), without responsibilities."""
        return self._snapshot

    @property
    def e_stats(self) -> SuffStats | None:
        """The statistics of the last E-step (of ``params``), None in phase "M"; the input of
        :meth:`maximize`."""
        return self._stats

    def snapshot_with_responsibilities(self) -> EMSnapshot:
        """The latest snapshot with the responsibilities and hard labels of its parameters (one more
        E-step's work; the fitter's state does not change, even in phase "M")."""
        resp, labels = self.engine.responsibilities(self._params)
        return dataclasses.replace(self._snapshot, resp=resp, labels=labels)

    def _measure(self, change: float) -> float:
        return abs(change / self.n_samples if self.tol_mode == "per-sample" else change)

    # -- work
    def m_step(self) -> EMSnapshot:
        """The M-step: new parameters from the statistics of the last E-step (phase becomes "M").

        Raises
        ------
        FitError
            When called in phase "M" (the E-step of the current parameters comes first), or when the
            new parameters are unusable (a covariance not positive definite, overflow).
        """
        if self._phase != "E":
            raise FitError("the M-step needs the responsibilities of the current parameters: run the E-step first")
        new = self.maximize(self._params, self._stats, locks=self.locks)
        self._params = new
        self._stats = None
        self._iteration += 1
        self._phase = "M"
        self._converged = False
        self._snapshot = EMSnapshot(self._iteration, math.nan, math.nan, False, new, self.n_samples,
                                    collapsed_components(new, self.n_samples, self.reg_covar), phase="M")
        return self._snapshot

    def maximize(self, params: GMMParams, stats: SuffStats, *, locks=None) -> GMMParams:
        """The M-step of ``params`` from ``stats`` (the E-step of ``params`` on this fitter's engine),
        without changing the fitter: what :meth:`m_step` does, for any parameters.

        Includes the engine's re-take of the moments of a component that became too narrow for
        them (:meth:`Engine.refine_needed <gmm_desktop.core.engine.Engine.refine_needed>`) and the
        checks of :meth:`m_step`. ``locks`` (a mapping or :class:`Locks`, default none) as the
        fitter's ``locks``; :meth:`m_step` passes the fitter's own. Used by accelerated fitters
        (:mod:`gmm_desktop.core.accel`) that evaluate the EM map at extrapolated points.

        Raises
        ------
        FitError
            When the new parameters are unusable (overflow, a covariance not positive definite).
        """
        if locks is not None and locks is not self.locks:
            locks = Locks.of(locks, params.n_components)
            locks.check(params)
        locks = locks if (locks is not None and locks.any) else None
        ctype = params.covariance_type
        with np.errstate(over="ignore", invalid="ignore"):
            new = stats.to_params(ctype, self.reg_covar, locks=locks, previous=params)
            self.check_params(new)
            redo = self.engine.refine_needed(stats, new)
            if redo:  # a component became too narrow for the moments it was summed with: re-take them
                stats = self.engine.refine(params, stats, redo)
                new = stats.to_params(ctype, self.reg_covar, locks=locks, previous=params)
                self.check_params(new)
        precision_cholesky(new)  # FitError now, while the caller's state is unchanged
        return new

    def expect(self, params: GMMParams):
        """The E-step of ``params`` on this fitter's engine, without changing the fitter:
        ``(log_likelihood, stats)``, the log-likelihood checked by :meth:`check_log_likelihood`."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            e = self.engine.expect(params)
        self.check_log_likelihood(e.log_likelihood)
        return e.log_likelihood, e.stats

    def e_step(self, return_resp: bool = False) -> EMSnapshot:
        """The E-step of the current parameters: their log-likelihood (appended to the trace, so an
        iteration is complete) and the statistics of the next M-step. In phase "E" already, returns
        the current snapshot (with responsibilities if asked) without changing anything.

        Raises
        ------
        FitError
            When the log-likelihood is not finite.
        """
        if self._phase == "E":
            return self.snapshot_with_responsibilities() if return_resp else self._snapshot
        expectation = self.engine.expect(self._params, want_resp=return_resp)
        ll = expectation.log_likelihood
        self.check_log_likelihood(ll)
        change = ll - self._ll
        self._stats, self._ll = expectation.stats, ll
        self._phase = "E"
        self._converged = bool(self._measure(change) < self.tol)
        self.trace.append(ll)
        self._snapshot = dataclasses.replace(self._snapshot, log_likelihood=ll, change=change,
                                             converged=self._converged, phase="E")
        if return_resp:
            return dataclasses.replace(self._snapshot, resp=expectation.resp, labels=expectation.labels)
        return self._snapshot

    def step(self, return_resp: bool = False) -> EMSnapshot:
        """Run exactly one EM iteration (M-step, then the E-step of the new parameters); in phase
        "M", only the E-step that completes the iteration. A step that fails changes nothing.

        Raises
        ------
        FitError
            When the new parameters are unusable (a covariance not positive definite, overflow).
        """
        saved = self._save()
        try:
            if self._phase == "E":
                self.m_step()
            return self.e_step(return_resp=return_resp)
        except BaseException:
            self._restore(saved)
            raise

    def run(self, callback=None) -> EMSnapshot:
        """Iterate until converged or ``max_iter``; ``callback(snapshot)`` after each iteration."""
        while not self.done:
            snap = self.step()
            if callback is not None:
                callback(snap)
        return self._snapshot

    def _save(self):
        return (self._params, self._stats, self._ll, self._iteration, self._phase, self._converged,
                self._snapshot, len(self.trace))

    def _restore(self, saved) -> None:
        (self._params, self._stats, self._ll, self._iteration, self._phase, self._converged,
         self._snapshot, n_trace) = saved
        del self.trace[n_trace:]

    def _max_abs(self) -> float:
        return float(self.engine.max_abs)

    def check_params(self, params: GMMParams) -> None:
        """Raise FitError (what to do about it) when an M-step's means or covariances overflowed."""
        if not (np.all(np.isfinite(params.means)) and np.all(np.isfinite(params.covariances))):
            raise FitError(
                "the M-step overflowed: the data's values are too large for double precision "
                f"(largest magnitude {self._max_abs():.3g}). Divide the data by a constant "
                "(for example standardise each column) and fit again"
            )

    def check_log_likelihood(self, ll: float) -> None:
        """Raise FitError (what to do about it) when an E-step's log-likelihood is not finite."""
        if not math.isfinite(ll):
            raise FitError(
                "the log-likelihood is not finite: the data's scale "
                f"(largest magnitude {self._max_abs():.3g}) is outside what double precision "
                "can handle with these covariances. Scale the data (for example standardise each "
                "column) or use a larger reg_covar"
            )


def fit(X, initial: GMMParams, **settings) -> tuple[EMSnapshot, EMFitter]:
    """Run EM to convergence; returns the final snapshot and the fitter (for its trace)."""
    fitter = EMFitter(X, initial, **settings)
    return fitter.run(), fitter
