"""Accelerated EM: SQUAREM (Varadhan & Roland 2008), monotone, with EM's fixed point and stopping rule.

EM is a fixed-point iteration ``theta <- F(theta)`` (``F``: one E-step, then one M-step). Where it
crawls (overlapping or elongated clusters, a long plateau) its error shrinks by a nearly constant
factor per step, and a squared extrapolation of two EM steps goes much further along that line.
One SQUAREM cycle from ``theta0``:

1. ``theta1 = F(theta0)``, ``theta2 = F(theta1)`` (two plain EM steps);
   ``r = theta1 - theta0``, ``v = theta2 - 2 theta1 + theta0``;
2. the step length ``a = sqrt(|r|^2 / |v|^2)`` (the paper's scheme SqS3, "squarem2"), kept within
   ``[1, step_max]``; the extrapolated point ``theta' = theta0 + 2 a r + a^2 v``;
3. one stabilising EM step ``theta_new = F(theta')``.

Safeguards (as the authors' R package ``SQUAREM``, but strictly monotone):

* ``theta_new`` is kept only if its log-likelihood is at least that of ``theta1`` (the last value
  reported). Otherwise, or when ``theta'`` is unusable (an E-step that overflows, a covariance that
  cannot be factorised), the cycle falls back to the plain EM step ``theta2``: the reported
  log-likelihood never decreases. :attr:`SquaremFitter.n_fallbacks` counts these.
* ``step_max`` starts at 1 (the first cycle is plain EM) and is multiplied by 4 each time the step
  length reaches it; a fallback at ``step_max`` divides it by 4 again (never below 1).
* ``a`` within 1% of 1 means ``theta' = theta2``: the cycle takes ``theta2`` without the stabilising step.

Parametrisation
    The extrapolation runs in coordinates in which every point is a valid mixture, so ``theta'``
    never needs clipping: log-weights (mapped back by softmax), means, and the lower Cholesky factor
    of each covariance with its diagonal as logarithms (``diag``/``spherical``: the log-variances).
    Means and factors are taken in units of each feature's standard deviation about the mean, as
    the initial mixture describes them (after an M-step: the data's, up to ``reg_covar``), so the
    step length does not depend on the data's units, and every engine (in memory, a Dask cluster)
    takes the same steps. Plain Euclidean norms are used, as in
    the paper; the log-likelihood safeguard catches the steps for which that is a poor choice.

Iterations, stopping rule, fixed point
    Each :meth:`SquaremFitter.step` reports one iterate: alternately ``theta1 = F(theta0)`` and
    the cycle's result (``theta_new``, or ``theta2`` after a fallback), each with the total
    log-likelihood of an E-step of exactly those parameters, so :attr:`SquaremFitter.trace` never
    decreases and every reported iterate is the output of an M-step. The stopping rule is plain EM's
    (:class:`~gmm_desktop.core.em.EMFitter`): stop when one plain EM step changed the log-likelihood
    by less than ``tol`` (``tol_mode`` ``total`` or ``per-sample``): either ``theta0 -> theta1`` or
    the stabilising step ``theta' -> theta_new`` of a kept extrapolation; the saved parameters are
    then that step's result, exactly what plain EM would return from its start. A plain EM step that would
    *lower* the log-likelihood also ends the fit, at the point before it (converged): EM cannot
    improve on that point. Plain EM never gets there, but an extrapolation can land just past EM's
    fixed point, where the M-step's ``reg_covar`` costs a little likelihood (about 1e-6 on a
    component 1e-4 wide), or within rounding of it. Fixed points of SQUAREM are
    those of ``F``, so both methods end at the same maximum (tests check it to 1e-6).
    ``max_iter`` bounds the EM steps (E-steps, the unit of work of plain EM), not the reported
    iterates: an accelerated fit never does more E-steps than plain EM would be allowed.

Why SQUAREM: it needs only the EM map (no gradients or Hessians, unlike quasi-Newton
accelerations), keeps EM's simplicity and its fixed points, costs one extra E-step per cycle, and
is the best-studied monotone scheme for mixtures. Anderson acceleration and parabolic EM were the
alternatives; both need more stored iterates or more line-search E-steps for the same guarantee.

Each EM step evaluates one E-step through the core's fitter (:class:`~gmm_desktop.core.em.EMFitter`
and its fast, blocked path), so a cycle costs three E-steps and three M-steps, like three plain
iterations, plus a few vector operations on the parameters.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from gmm_desktop.core.em import collapsed_components
from gmm_desktop.core.fitter import EMFitter, EMSnapshot
from gmm_desktop.core.errors import FitError, ParamsError
from gmm_desktop.core.options import OPTIONS
from gmm_desktop.core.params import GMMParams

#: Values of the ``accelerate`` option.
ACCELERATIONS = ("none", "squarem")

#: SQUAREM's step-length schedule (the R package's defaults: step.min0 = 1, step.max0 = 1, mstep = 4).
STEP_MIN = 1.0
STEP_MAX0 = 1.0
STEP_FACTOR = 4.0
#: The largest step length ever tried (keeps ``a^2 v`` far from overflow).
STEP_CAP = 1e6


def resolve_accelerate(accelerate: str | None, tol: float, method: str = "em") -> str:
    """The acceleration a headless fit uses: ``accelerate`` when given, else the options table's
    default (``squarem``), except plain EM (``none``) where an accelerated fit could not keep a
    promise: with ``tol == 0`` (``--tol 0 --max-iter N`` runs exactly N EM iterations and saves the
    N-th M-step's parameters) and for ``method='vb'`` (variational EM is not accelerated)."""
    if accelerate is not None:
        return check_accelerate(accelerate)
    if method != "em" or tol == 0:
        return "none"
    return OPTIONS["accelerate"].default


def check_accelerate(accelerate: str) -> str:
    """Return ``accelerate`` if it is one of :data:`ACCELERATIONS`, else raise ParamsError."""
    if accelerate not in ACCELERATIONS:
        raise ParamsError(f"accelerate must be one of {', '.join(ACCELERATIONS)}, got {accelerate!r}")
    return accelerate


# --------------------------------------------------------------------------- the parametrisation
@dataclasses.dataclass(frozen=True, eq=False)
class Coordinates:
    """Maps mixtures to unconstrained vectors and back (see the module docstring).

    Parameters
    ----------
    center : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
        Positive per-feature scales (the data's standard deviations).
    covariance_type : {'full', 'diag', 'spherical', 'tied'}
    n_components, n_features : int
    """

    center: np.ndarray
    scale: np.ndarray
    covariance_type: str
    n_components: int
    n_features: int

    @classmethod
    def for_mixture(cls, params: GMMParams) -> "Coordinates":
        """Centre and scales from the mixture's own mean and variances, for data the fitter does not
        hold (a distributed engine). After an M-step they are the data's, up to ``reg_covar``."""
        w = params.weights
        center = w @ params.means
        second = np.einsum("k,kd->d", w, np.diagonal(params.full_covariances(), axis1=1, axis2=2) + params.means**2)
        var = second - center**2
        scale = np.sqrt(np.where(var > 0, var, 1.0))
        return cls(center, scale, params.covariance_type, params.n_components, params.n_features)

    def to_vector(self, params: GMMParams) -> np.ndarray:
        """The coordinates of ``params``, ndarray of shape (n_coordinates,)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        log_w = np.maximum(log_w, -745.0)  # exp(-745) is the smallest float64 above 0
        means = (params.means - self.center) / self.scale
        ctype = self.covariance_type
        cov = params.covariances
        if ctype in ("full", "tied"):
            mats = cov if ctype == "full" else cov[None]
            s = self.scale
            chol = np.linalg.cholesky(mats / np.outer(s, s)[None])
            i, j = np.tril_indices(self.n_features)
            vals = chol[:, i, j]
            diag = i == j
            vals[:, diag] = np.log(vals[:, diag])
            cov_part = vals.ravel()
        elif ctype == "diag":
            cov_part = np.log(cov / self.scale**2).ravel()
        else:
            cov_part = np.log(cov / np.mean(self.scale**2))
        return np.concatenate([log_w, means.ravel(), cov_part])

    def to_params(self, vector: np.ndarray) -> GMMParams:
        """The mixture at ``vector``; raises FitError when it is not representable (overflow)."""
        k, d = self.n_components, self.n_features
        if not np.all(np.isfinite(vector)):
            raise FitError("the extrapolated parameters are not finite")
        log_w = vector[:k]
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        means = vector[k : k + k * d].reshape(k, d) * self.scale + self.center
        rest = vector[k + k * d :]
        ctype = self.covariance_type
        with np.errstate(over="raise", under="ignore", invalid="raise"):
            try:
                if ctype in ("full", "tied"):
                    m = k if ctype == "full" else 1
                    i, j = np.tril_indices(d)
                    vals = rest.reshape(m, len(i)).copy()
                    diag = i == j
                    vals[:, diag] = np.exp(vals[:, diag])
                    chol = np.zeros((m, d, d))
                    chol[:, i, j] = vals
                    cov = chol @ np.swapaxes(chol, 1, 2) * np.outer(self.scale, self.scale)[None]
                    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
                    if np.any(np.diagonal(chol, axis1=1, axis2=2) <= 0):
                        raise FitError("an extrapolated covariance is singular")
                    cov = cov if ctype == "full" else cov[0]
                elif ctype == "diag":
                    cov = np.exp(rest.reshape(k, d)) * self.scale**2
                else:
                    cov = np.exp(rest) * np.mean(self.scale**2)
            except FloatingPointError:
                raise FitError("the extrapolated parameters overflow") from None
        if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(means))) or (
            ctype in ("diag", "spherical") and np.any(cov <= 0)
        ):
            raise FitError("the extrapolated parameters are not usable")
        return GMMParams(w, means, cov, ctype)



# --------------------------------------------------------------------------- the EM map
class _EMMap:
    """One EM step at any parameters, through the core fitter's engine (its fast, blocked path):
    ``expect(params)`` is :meth:`EMFitter.expect <gmm_desktop.core.fitter.EMFitter.expect>`
    (one E-step: ``(log_likelihood, stats)``), ``maximize(params, stats)`` is
    :meth:`EMFitter.maximize <gmm_desktop.core.fitter.EMFitter.maximize>` (the M-step of
    :meth:`EMFitter.m_step`, without locks, with its re-take of the moments of a component that
    became too narrow for them and its checks). The engine is built once; only the parameters change.
    """

    def __init__(self, fitter: EMFitter):
        self.expect = fitter.expect
        self.maximize = fitter.maximize


# --------------------------------------------------------------------------- the fitter
class SquaremFitter:
    """EM accelerated by SQUAREM, with the interface of :class:`~gmm_desktop.core.em.EMFitter`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or None with ``engine``
    initial : GMMParams
    tol, tol_mode, max_iter, reg_covar, fast, n_threads, dtype, engine
        As for :class:`~gmm_desktop.core.em.EMFitter`; ``max_iter`` bounds the EM steps
        (:attr:`n_em_steps`). With ``engine`` (e.g. the Dask engine) every E-step runs there and
        the coordinates are scaled by the initial mixture's moments (on every engine).
    step_min, step_max : float
        The step length's lower bound and the initial upper bound (SQUAREM's ``step.min0`` and
        ``step.max0``, both 1: the first cycle is plain EM). A larger ``step_min`` forces longer
        extrapolations (the tests use it to make them overshoot).

    Attributes
    ----------
    trace : list of float
        Total log-likelihood of each reported iterate; never decreases.
    n_em_steps : int
        E-steps run after the initial one (each is one EM step's work; plain EM runs one per
        iteration).
    n_extrapolations : int
        Cycles whose extrapolated point was kept.
    n_fallbacks : int
        Cycles that fell back to the plain EM step because the extrapolated point (after its
        stabilising EM step) would have lowered the log-likelihood or was unusable.
    n_plain : int
        Cycles whose step length was 1 (plain EM steps; always the first).

    Raises
    ------
    DataError, ParamsError, FitError
        As :class:`~gmm_desktop.core.em.EMFitter`.
    """

    def __init__(self, X, initial: GMMParams, *, tol=1e-4, tol_mode="total", max_iter=1000, reg_covar=1e-6,
                 fast=True, n_threads=None, step_min=STEP_MIN, step_max=STEP_MAX0, dtype="float64", engine=None):
        if not (math.isfinite(step_min) and 1.0 <= step_min <= STEP_CAP):
            raise ParamsError(f"step_min must be between 1 and {STEP_CAP:g}, got {step_min!r}")
        if not (math.isfinite(step_max) and step_min <= step_max <= STEP_CAP):
            raise ParamsError(f"step_max must be between step_min and {STEP_CAP:g}, got {step_max!r}")
        self.step_min = float(step_min)
        self._step_max0 = float(step_max)
        self._fitter = EMFitter(X, initial, tol=tol, tol_mode=tol_mode, max_iter=max_iter, reg_covar=reg_covar,
                                fast=fast, n_threads=n_threads, dtype=dtype, engine=engine)
        f = self._fitter
        self.X, self.initial = f.X, f.initial
        self.tol, self.tol_mode, self.max_iter, self.reg_covar = f.tol, f.tol_mode, f.max_iter, f.reg_covar
        self._map = _EMMap(f)
        self._coords = Coordinates.for_mixture(initial)  # the same on every engine (a cluster's data are not here)
        self.trace: list[float] = []
        self.n_em_steps = 0
        self.n_extrapolations = 0
        self.n_fallbacks = 0
        self.n_plain = 0
        self.step_max = self._step_max0
        self._converged = False
        # the current point and its E-step; ``_cycle`` holds theta0's coordinates and theta1's state
        # between the two halves of a cycle
        self._params = initial
        self._ll, self._state = f.snapshot.log_likelihood, f.e_stats
        self._cycle = None
        self._vectors = None
        #: True when the fit stopped because a plain EM step would have lowered the log-likelihood
        self.stopped_on_decrease = False
        self._snapshot = f.snapshot

    # -- state (as EMFitter)
    @property
    def params(self) -> GMMParams:
        return self._params

    @property
    def iteration(self) -> int:
        """Number of reported iterates (``len(trace)``)."""
        return len(self.trace)

    @property
    def converged(self) -> bool:
        return self._converged

    @property
    def done(self) -> bool:
        """True once converged or ``max_iter`` EM steps have run."""
        return self._converged or self.n_em_steps >= self.max_iter

    @property
    def snapshot(self) -> EMSnapshot:
        return self._snapshot

    def snapshot_with_responsibilities(self) -> EMSnapshot:
        resp, labels = self._fitter.engine.responsibilities(self._params)
        return dataclasses.replace(self._snapshot, resp=resp, labels=labels)

    # -- work
    def _report(self, params, ll, state, change, converged) -> EMSnapshot:
        self._params, self._ll, self._state = params, ll, state
        self._converged = converged
        self.trace.append(ll)
        n = self._fitter.n_samples
        self._snapshot = EMSnapshot(len(self.trace), ll, change, converged, params, n,
                                    collapsed_components(params, n, self.reg_covar))
        return self._snapshot

    def _is_converged(self, change: float) -> bool:
        measure = change / self._fitter.n_samples if self.tol_mode == "per-sample" else change
        return abs(measure) < self.tol

    def _em_step(self, params, state):
        """``F(params)`` from the E-step ``state`` of ``params``, and the E-step of the result."""
        new = self._map.maximize(params, state)
        ll, new_state = self._map.expect(new)
        self.n_em_steps += 1
        return new, ll, new_state

    def step(self) -> EMSnapshot:
        """Report the next iterate: ``F(theta0)``, or the result of the cycle started from ``theta0``.

        Raises
        ------
        FitError
            When a plain EM step fails (as :meth:`EMFitter.step`); a failed extrapolation only
            makes the cycle fall back to plain EM.
        """
        if self._cycle is None:
            theta0, ll0 = self._params, self._ll
            theta1, ll1, state1 = self._em_step(theta0, self._state)
            if ll1 < ll0:
                return self._stop()
            change = ll1 - ll0
            self._cycle = (theta0, ll0)
            return self._report(theta1, ll1, state1, change, self._is_converged(change))
        theta0, _ll0 = self._cycle
        self._cycle = None
        theta1, ll1, state1 = self._params, self._ll, self._state
        theta2 = self._map.maximize(theta1, state1)
        budget = self.max_iter - self.n_em_steps
        step = self._step_length(theta0, theta1, theta2) if budget >= 2 else 1.0
        if abs(step - 1.0) >= 0.01:
            kept = self._extrapolate(theta0, theta1, theta2, ll1, step)
            if kept is not None:
                self.n_extrapolations += 1
                if step >= self.step_max:
                    self.step_max = min(STEP_CAP, self.step_max * STEP_FACTOR)
                params, ll, state, converged = kept
                return self._report(params, ll, state, ll - ll1, converged)
            self.n_fallbacks += 1
            if step >= self.step_max:
                self.step_max = max(self._step_max0, self.step_max / STEP_FACTOR)
            if self.n_em_steps >= self.max_iter:  # no E-step left to evaluate theta2: theta1 stands
                return self._snapshot
        else:
            self.n_plain += 1
            if step >= self.step_max:
                self.step_max = min(STEP_CAP, self.step_max * STEP_FACTOR)
        ll2, state2 = self._map.expect(theta2)
        self.n_em_steps += 1
        if ll2 < ll1:
            return self._stop()
        change = ll2 - ll1
        return self._report(theta2, ll2, state2, change, self._is_converged(change))

    def _stop(self) -> EMSnapshot:
        """A plain EM step would lower the log-likelihood: the current point is EM's fixed point
        (to within rounding, or the little likelihood ``reg_covar`` costs the M-step), so stop
        there, converged, without reporting the lower point."""
        self.stopped_on_decrease = True
        self._converged = True
        self._snapshot = dataclasses.replace(self._snapshot, converged=True)
        return self._snapshot

    def _step_length(self, theta0, theta1, theta2) -> float:
        c = self._coords
        try:
            t0, t1, t2 = c.to_vector(theta0), c.to_vector(theta1), c.to_vector(theta2)
        except np.linalg.LinAlgError:
            return 1.0  # no extrapolation: a plain EM step
        r = t1 - t0
        v = t2 - t1 - r
        sr2, sv2 = float(r @ r), float(v @ v)
        if not (math.isfinite(sr2) and math.isfinite(sv2)) or sr2 == 0.0:
            return 1.0  # no extrapolation: a plain EM step
        step = self.step_max if sv2 == 0.0 else math.sqrt(sr2 / sv2)
        self._vectors = (t0, r, v)
        return float(min(self.step_max, max(self.step_min, step)))

    def _extrapolate(self, theta0, theta1, theta2, ll1, step):
        """The stabilised extrapolated point, with its E-step, or None to fall back."""
        t0, r, v = self._vectors
        try:
            prime = self._coords.to_params(t0 + 2.0 * step * r + step * step * v)
            ll_prime, state_prime = self._map.expect(prime)
            self.n_em_steps += 1
            if self.n_em_steps >= self.max_iter:
                return None
            new, ll_new, state_new = self._em_step(prime, state_prime)
        except (FitError, np.linalg.LinAlgError):
            return None
        if not (math.isfinite(ll_new) and ll_new >= ll1):
            return None
        # the stabilising step is a plain EM step (theta' -> F(theta')): plain EM's rule applies to it
        return new, ll_new, state_new, self._is_converged(ll_new - ll_prime)

    def run(self, callback=None) -> EMSnapshot:
        """Iterate until converged or ``max_iter`` EM steps; ``callback(snapshot)`` after each iterate."""
        while not self.done:
            before = len(self.trace)
            snap = self.step()
            if callback is not None and len(self.trace) > before:
                callback(snap)
        return self._snapshot


# --------------------------------------------------------------------------- API
def make_fitter(X, initial: GMMParams, *, accelerate: str = "none", **settings):
    """An :class:`~gmm_desktop.core.em.EMFitter` (``accelerate='none'``) or a :class:`SquaremFitter`."""
    check_accelerate(accelerate)
    if accelerate == "squarem":
        return SquaremFitter(X, initial, **settings)
    return EMFitter(X, initial, **settings)


def fit(X, initial: GMMParams, *, accelerate: str = "squarem", **settings):
    """Run EM (accelerated by default) to convergence; returns the final snapshot and the fitter."""
    fitter = make_fitter(X, initial, accelerate=accelerate, **settings)
    return fitter.run(), fitter
