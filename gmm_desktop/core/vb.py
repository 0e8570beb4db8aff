"""Variational Bayesian Gaussian mixtures: the model and updates of scikit-learn's
``BayesianGaussianMixture``.

The model (Bishop, *Pattern Recognition and Machine Learning*, section 10.2, with scikit-learn's
conventions):

* weights: a Dirichlet distribution with concentration ``gamma0`` on every component
  (``dirichlet_distribution``), or a Dirichlet process truncated at K components in its
  stick-breaking form, ``Beta(1, gamma0)`` for each stick (``dirichlet_process``);
* each component's precision matrix: a Wishart distribution with ``nu0`` degrees of freedom and scale
  ``inv(covariance_prior)`` (for ``diag`` and ``spherical`` one Gamma per variance, for ``tied`` one
  Wishart shared by all components);
* each mean, given the precision ``L``: ``N(mean_prior, inv(beta0 L))``.

The variational posterior factorises as ``q(Z) q(weights) q(means, precisions)``. Its M-step
(:func:`m_step`) turns the responsibilities' counts ``nk``, means ``xk`` and covariances ``sk``
(with ``reg_covar`` added, as the EM M-step) into the posterior's parameters; its E-step
(:func:`e_step`) turns the posterior into new responsibilities through the expected log weights and
expected log densities. scikit-learn's defaults: ``gamma0 = 1/K``, ``beta0 = 1``, ``mean_prior``
the data's mean, ``nu0 = n_features``, ``covariance_prior`` the data's covariance (unbiased; its
diagonal for ``diag``, the mean variance for ``spherical``).

The evidence lower bound (:func:`lower_bound`) is scikit-learn's: the exact bound of the
responsibilities and the posterior computed from them, up to an additive constant that depends only
on the data's size, K and the priors, so it can be compared across iterations of one fit (it never
decreases) but not with a log-likelihood.

What readers see (:meth:`VBPosterior.params`): the posterior expectations as :class:`GMMParams`:
weights ``E[pi_k]`` (for the stick-breaking prior the product of the sticks' expectations, normalised
over the K components), means the posterior means ``m_k``, covariances ``inv(E[L_k])`` (scikit-learn's
``covariances_``). So a fitted VB model is used as any mixture: ``predict``, ellipses, model files.

Arrays are laid out components x points, as in :mod:`gmm_desktop.core.em`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import betaln, digamma, gammaln

from gmm_desktop.core import em as _em
from gmm_desktop.core import fast as _fast
from gmm_desktop.core.errors import FitError, ParamsError
from gmm_desktop.core.params import GMMParams, ParamsReadout, check_covariance_type

WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")

#: A component whose expected weight is below this is reported as pruned.
PRUNED_WEIGHT = 0.01


def check_weight_prior(weight_prior: str) -> str:
    if weight_prior not in WEIGHT_PRIORS:
        raise ParamsError(
            f"unknown weight prior {weight_prior!r}: choose one of {', '.join(WEIGHT_PRIORS)}"
        )
    return weight_prior


# --------------------------------------------------------------------------- priors
@dataclass(frozen=True, eq=False)
class VBPriors:
    """The priors of a variational Gaussian mixture.

    Attributes
    ----------
    weight_prior : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration : float
        ``gamma0`` (> 0). Small values favour few components with weight.
    mean_precision : float
        ``beta0`` (> 0): how strongly the means are pulled to ``mean``.
    mean : ndarray of shape (n_features,)
    degrees_of_freedom : float
        ``nu0`` (> n_features - 1).
    covariance : ndarray
        The covariance prior, in the compact form of ``covariance_type``: ``full`` and ``tied``
        (n_features, n_features), ``diag`` (n_features,), ``spherical`` a 0-d array.
    covariance_type : {'full', 'diag', 'spherical', 'tied'}
    """

    weight_prior: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray
    covariance_type: str

    def __post_init__(self):
        for name in ("mean", "covariance"):
            arr = np.array(getattr(self, name), dtype=float, copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        for name in ("weight_concentration", "mean_precision", "degrees_of_freedom"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def validated(self) -> "VBPriors":
        """Return ``self`` after checking every prior; raises ParamsError naming the problem."""
        check_weight_prior(self.weight_prior)
        check_covariance_type(self.covariance_type)
        for name in ("weight_concentration", "mean_precision"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ParamsError(f"{name.replace('_', ' ')} must be a finite number > 0, got {value!r}")
        d = self.n_features
        if self.mean.ndim != 1 or not np.all(np.isfinite(self.mean)):
            raise ParamsError(f"the mean prior must be {d} finite numbers")
        if not (math.isfinite(self.degrees_of_freedom) and self.degrees_of_freedom > d - 1):
            raise ParamsError(
                f"the degrees-of-freedom prior must be greater than n_features - 1 = {d - 1}, "
                f"got {self.degrees_of_freedom!r}"
            )
        cov = self.covariance
        expected = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[self.covariance_type]
        if cov.shape != expected or not np.all(np.isfinite(cov)):
            raise ParamsError(
                f"the {self.covariance_type} covariance prior must be finite with shape {expected}, got {cov.shape}"
            )
        if self.covariance_type in ("full", "tied"):
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                ok = False
            else:
                ok = np.allclose(cov, cov.T)
            if not ok:
                raise ParamsError(
                    "the covariance prior must be symmetric positive definite; the data's covariance is "
                    "singular (identical or collinear points): drop a constant or duplicate column"
                )
        elif np.any(cov <= 0):
            raise ParamsError(
                "the covariance prior must be positive; a feature of the data is constant: drop that column"
            )
        return self

    def to_dict(self) -> dict:
        """The priors as plain numbers and lists (for model files)."""
        return {
            "weight_prior": self.weight_prior,
            "weight_concentration": self.weight_concentration,
            "mean_precision": self.mean_precision,
            "mean": self.mean.tolist(),
            "degrees_of_freedom": self.degrees_of_freedom,
            "covariance": self.covariance.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict, covariance_type: str, n_features: int | None = None) -> "VBPriors":
        """Inverse of :meth:`to_dict`; raises ParamsError for missing or malformed values (with
        ``n_features``, also for a mean prior of another length)."""
        try:
            if n_features is not None and np.shape(data["mean"]) != (n_features,):
                raise ParamsError(f"the mean prior must have {n_features} coordinates, found shape "
                                  f"{np.shape(data['mean'])}")
            return cls(
                weight_prior=str(data["weight_prior"]),
                weight_concentration=float(data["weight_concentration"]),
                mean_precision=float(data["mean_precision"]),
                mean=np.asarray(data["mean"], dtype=float),
                degrees_of_freedom=float(data["degrees_of_freedom"]),
                covariance=np.asarray(data["covariance"], dtype=float),
                covariance_type=covariance_type,
            ).validated()
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ParamsError):
                raise
            raise ParamsError(f"malformed priors ({exc!s}): they need weight_prior, weight_concentration, "
                              "mean_precision, mean, degrees_of_freedom and covariance") from None


def default_priors(
    X,
    n_components: int,
    covariance_type: str = "full",
    *,
    weight_prior: str = "dirichlet_process",
    weight_concentration: float | None = None,
    mean_precision: float | None = None,
    mean=None,
    degrees_of_freedom: float | None = None,
    covariance=None,
) -> VBPriors:
    """Priors with scikit-learn's defaults for every one not given.

    ``weight_concentration`` ``1/n_components``; ``mean_precision`` 1; ``mean`` the data's mean;
    ``degrees_of_freedom`` ``n_features``; ``covariance`` the data's unbiased covariance (``full``,
    ``tied``), its diagonal (``diag``), or the mean of that diagonal (``spherical``).
    """
    X = _em.check_data(X)
    check_covariance_type(covariance_type)
    check_weight_prior(weight_prior)
    n, d = X.shape
    if covariance is None:
        if n < 2:
            raise ParamsError("a variational fit needs at least 2 points to set its covariance prior")
        if covariance_type in ("full", "tied"):
            covariance = np.atleast_2d(np.cov(X.T))
        else:
            var = np.var(X, axis=0, ddof=1)
            covariance = var if covariance_type == "diag" else var.mean()
    return VBPriors(
        weight_prior=weight_prior,
        weight_concentration=1.0 / int(n_components) if weight_concentration is None else weight_concentration,
        mean_precision=1.0 if mean_precision is None else mean_precision,
        mean=X.mean(axis=0) if mean is None else mean,
        degrees_of_freedom=float(d) if degrees_of_freedom is None else degrees_of_freedom,
        covariance=covariance,
        covariance_type=covariance_type,
    ).validated()


# --------------------------------------------------------------------------- posterior
@dataclass(frozen=True, eq=False)
class VBPosterior:
    """The variational posterior's parameters (scikit-learn's fitted attributes of the same names).

    Attributes
    ----------
    weight_concentration : ndarray
        ``dirichlet_distribution``: (n_components,), the Dirichlet's concentrations;
        ``dirichlet_process``: (2, n_components), each stick's Beta parameters.
    mean_precision : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    degrees_of_freedom : ndarray of shape (n_components,), or 0-d for ``tied``
    covariances : ndarray
        ``inv(E[precision])`` in the compact form of ``covariance_type``.
    covariance_type : str
    weight_prior : str
    """

    weight_concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    weight_prior: str

    def __post_init__(self):
        for name in ("weight_concentration", "mean_precision", "means", "degrees_of_freedom", "covariances"):
            arr = np.array(getattr(self, name), dtype=float, copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    def expected_weights(self) -> np.ndarray:
        """``E[pi_k]``, normalised over the K components, ndarray of shape (n_components,)."""
        if self.weight_prior == "dirichlet_process":
            a, b = self.weight_concentration
            total = a + b
            w = a / total * np.hstack((1.0, np.cumprod(b / total)[:-1]))
        else:
            w = self.weight_concentration
        return w / np.sum(w)

    def params(self) -> GMMParams:
        """The posterior expectations as mixture parameters (weights, means, covariances)."""
        return GMMParams(self.expected_weights(), self.means, self.covariances, self.covariance_type)

    def to_dict(self) -> dict:
        """The posterior's parameters as plain numbers and lists (for model files)."""
        return {
            "weight_concentration": self.weight_concentration.tolist(),
            "mean_precision": self.mean_precision.tolist(),
            "degrees_of_freedom": self.degrees_of_freedom.tolist(),
        }


def m_step(X, resp, priors: VBPriors, reg_covar: float = 1e-6) -> VBPosterior:
    """The variational M-step: the posterior from responsibilities.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_components, n_samples)
        Responsibilities, components x points.
    priors : VBPriors
    reg_covar : float
        Added to the diagonal of every ``sk`` (the responsibilities' covariances).
    """
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    nk = resp.sum(axis=1) + 10.0 * np.finfo(np.float64).eps
    g = _em.m_step(X, resp, priors.covariance_type, reg_covar)
    return posterior_from_moments(nk, g.means, g.covariances, priors)


def posterior_from_moments(nk, xk, sk, priors: VBPriors) -> VBPosterior:
    """The posterior from the responsibilities' counts ``nk`` (n_components,), means ``xk``
    (n_components, n_features) and covariances ``sk`` (compact form, ``reg_covar`` included)."""
    nk = np.asarray(nk, dtype=float)
    xk = np.asarray(xk, dtype=float)
    sk = np.asarray(sk, dtype=float)
    k, d = xk.shape
    gamma0 = priors.weight_concentration
    if priors.weight_prior == "dirichlet_process":
        weight_conc = np.vstack((1.0 + nk, gamma0 + np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0))))
    else:
        weight_conc = gamma0 + nk
    beta0, m0, nu0, cov0 = priors.mean_precision, priors.mean, priors.degrees_of_freedom, priors.covariance
    mean_precision = beta0 + nk
    means = (beta0 * m0 + nk[:, None] * xk) / mean_precision[:, None]
    diff = xk - m0
    ctype = priors.covariance_type
    if ctype == "full":
        dof = nu0 + nk
        shrink = nk * beta0 / mean_precision
        cov = cov0[None] + nk[:, None, None] * sk + shrink[:, None, None] * np.einsum("ki,kj->kij", diff, diff)
        cov /= dof[:, None, None]
    elif ctype == "tied":
        dof = np.asarray(nu0 + nk.sum() / k)
        cov = cov0 + sk * nk.sum() / k + beta0 / k * np.dot((nk / mean_precision) * diff.T, diff)
        cov = cov / dof
    elif ctype == "diag":
        dof = nu0 + nk
        cov = cov0 + nk[:, None] * (sk + (beta0 / mean_precision)[:, None] * np.square(diff))
        cov /= dof[:, None]
    else:
        dof = nu0 + nk
        cov = cov0 + nk * (sk + beta0 / mean_precision * np.mean(np.square(diff), axis=1))
        cov = cov / dof
    return VBPosterior(weight_conc, mean_precision, means, dof, cov, ctype, priors.weight_prior)


# --------------------------------------------------------------------------- E-step
def expected_log_weights(post: VBPosterior) -> np.ndarray:
    """``E[log pi_k]`` under the posterior, ndarray of shape (n_components,)."""
    if post.weight_prior == "dirichlet_process":
        a, b = post.weight_concentration
        digamma_sum = digamma(a + b)
        return digamma(a) - digamma_sum + np.hstack((0.0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
    return digamma(post.weight_concentration) - digamma(np.sum(post.weight_concentration))


def log_prob_offsets(post: VBPosterior) -> np.ndarray:
    """``c_k`` with ``log rho[k, n] = log N(x_n | m_k, covariances_k) + c_k``, shape (n_components,).

    ``c_k = E[log pi_k] + (E[log det L_k] - D log nu_k - D / beta_k) / 2``: the expected log
    weight, and the difference between the expected log density and the plug-in one.
    """
    d = post.n_features
    nu = post.degrees_of_freedom
    log_lambda = d * math.log(2.0) + np.sum(digamma(0.5 * (nu - np.arange(d)[:, None])), axis=0)
    return (expected_log_weights(post) - 0.5 * d * np.log(nu)
            + 0.5 * (log_lambda - d / post.mean_precision))


def _plugin(post: VBPosterior, log_offsets: np.ndarray | None = None) -> GMMParams:
    """Mixture parameters whose weighted log density is ``log rho`` up to a constant per point:
    the posterior's means and covariances, weights ``exp(c_k - max c)`` (not normalised)."""
    c = log_prob_offsets(post) if log_offsets is None else log_offsets
    return GMMParams(np.exp(c - np.max(c)), post.means, post.covariances, post.covariance_type)


def estimate_log_prob(X, post: VBPosterior) -> np.ndarray:
    """``log rho[k, n]``, the unnormalised log responsibilities, ndarray of shape (n_components, n_samples)."""
    X = np.asarray(X, dtype=np.float64)
    plain = GMMParams(np.ones(post.n_components), post.means, post.covariances, post.covariance_type)
    out = _em.estimate_log_gaussian_prob(X, plain)
    out += log_prob_offsets(post)[:, None]
    return out


def e_step(X, post: VBPosterior) -> tuple[np.ndarray, np.ndarray]:
    """The variational E-step.

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
        ``log sum_k rho[k, n]``.
    log_resp : ndarray of shape (n_components, n_samples)
    """
    from scipy.special import logsumexp

    log_resp = estimate_log_prob(X, post)
    log_prob_norm = logsumexp(log_resp, axis=0)
    log_resp -= log_prob_norm[None, :]
    return log_prob_norm, log_resp


def resp_entropy_term(log_resp: np.ndarray) -> float:
    """``sum_{k,n} resp log resp`` (minus the entropy of q(Z))."""
    return float(np.sum(np.exp(log_resp) * log_resp))


# --------------------------------------------------------------------------- lower bound
def _log_det_precision_chol(post: VBPosterior) -> np.ndarray:
    """Log-determinant of each precision's Cholesky factor (of ``inv(covariances)``)."""
    cov = post.covariances
    ctype = post.covariance_type
    d = post.n_features
    if ctype in ("full", "tied"):
        chol = np.linalg.cholesky(cov)
        return -np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    if ctype == "diag":
        return -0.5 * np.sum(np.log(cov), axis=1)
    return -0.5 * d * np.log(cov)


def _log_wishart_norm(dof, log_det_prec_chol, n_features: int):
    """scikit-learn's log normalisation of the Wishart distribution (without the log pi term)."""
    return -(dof * log_det_prec_chol + dof * n_features * 0.5 * math.log(2.0)
             + np.sum(gammaln(0.5 * (dof - np.arange(n_features)[:, None])), axis=0))


def lower_bound(post: VBPosterior, resp_log_resp: float) -> float:
    """The evidence lower bound of responsibilities and the posterior computed from them.

    Parameters
    ----------
    post : VBPosterior
        The posterior from :func:`m_step` of the responsibilities.
    resp_log_resp : float
        ``sum_{k,n} resp log resp`` of those responsibilities (:func:`resp_entropy_term`).

    Returns
    -------
    float
        scikit-learn's ``lower_bound_`` (the bound without its constant terms).
    """
    d = post.n_features
    try:
        log_det = _log_det_precision_chol(post) - 0.5 * d * np.log(post.degrees_of_freedom)
    except np.linalg.LinAlgError:
        raise FitError("a posterior covariance is not positive definite; try a larger reg_covar") from None
    log_wishart = _log_wishart_norm(post.degrees_of_freedom, log_det, d)
    if post.covariance_type == "tied":
        log_wishart = post.n_components * float(np.asarray(log_wishart).reshape(-1)[0])
    else:
        log_wishart = float(np.sum(log_wishart))
    if post.weight_prior == "dirichlet_process":
        log_norm_weight = -float(np.sum(betaln(*post.weight_concentration)))
    else:
        wc = post.weight_concentration
        log_norm_weight = float(gammaln(np.sum(wc)) - np.sum(gammaln(wc)))
    return (-resp_log_resp - log_wishart - log_norm_weight
            - 0.5 * d * float(np.sum(np.log(post.mean_precision))))


# --------------------------------------------------------------------------- the fitter
@dataclass(frozen=True, eq=False)
class VBSnapshot(ParamsReadout):
    """The state of a variational fit; immutable, safe to hand to another thread.

    It has the attributes of :class:`gmm_desktop.core.em.EMSnapshot`, so a reader of EM snapshots can
    read it: ``log_likelihood`` and ``change`` are those of the lower bound (the quantity the fit
    maximises, which the window's plot shows), and ``params`` are the posterior expectations.

    Attributes
    ----------
    iteration : int
        Iterations done (0: the posterior of the initial responsibilities).
    lower_bound : float
    change : float
        ``lower_bound`` minus that of the previous iteration (NaN at iteration 0).
    converged : bool
    params : GMMParams
        Posterior expectations (:meth:`VBPosterior.params`).
    n_samples : int
    posterior : VBPosterior
    phase : {'M', 'E'}
        ``"M"`` after an M-step (posterior new, responsibilities not yet), ``"E"`` after the
        E-step of the current posterior. A full iteration ends in ``"E"``.
    pruned : tuple of int
        Components whose expected weight is below :data:`PRUNED_WEIGHT` (1 %).
    resp, labels : ndarray or None
        Responsibilities (n_samples, n_components) float32 and hard labels, when asked for.
    """

    iteration: int
    lower_bound: float
    change: float
    converged: bool
    params: GMMParams
    n_samples: int
    posterior: VBPosterior
    phase: str = "E"
    pruned: tuple = ()
    resp: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    method = "vb"
    #: No component is ever reported as collapsed: a VB component losing its weight is pruned, not a fault.
    collapsed = ()

    @property
    def log_likelihood(self) -> float:
        """The lower bound (the objective, for readers of EM snapshots)."""
        return self.lower_bound


class VBFitter:
    """Variational Bayesian EM on one data set, one iteration (or half-iteration) at a time.

    The same interface as :class:`gmm_desktop.core.em.EMFitter`: :meth:`step`, :meth:`run`,
    :attr:`snapshot`, :attr:`done`, :attr:`trace` (here the lower bound after each iteration), plus
    the halves :meth:`m_step` and :meth:`e_step`. One iteration is one M-step (the posterior from
    the responsibilities of the last E-step), then the E-step of the new posterior; the lower bound of
    an iteration is that of the M-step's responsibilities and posterior, which is what scikit-learn
    reports, so after N iterations the posterior and the bound equal those of ``fit`` with
    ``max_iter=N`` from the same initial responsibilities.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    initial : GMMParams
        Starting mixture: its responsibilities are the initial responsibilities (for
        ``kmeans++``-style starts, as in scikit-learn, pass the hard-assignment parameters). Its
        covariance type is the model's. Use :meth:`from_responsibilities` to start from
        responsibilities directly.
    priors : VBPriors, optional
        Default: :func:`default_priors` with ``weight_prior`` and ``weight_concentration``.
    weight_prior : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration : float, optional
        Default ``1 / n_components``.
    tol : float
        Converged when the change of the lower bound is below ``tol`` (``tol_mode`` ``total``,
        scikit-learn's rule) or below ``tol`` per point (``per-sample``). As scikit-learn, the first
        iteration is never called converged.
    tol_mode, max_iter, reg_covar, fast, n_threads
        As for :class:`gmm_desktop.core.em.EMFitter`.
    track_log_likelihood : bool
        Also compute, after every M-step, the total log-likelihood of the data under the posterior
        expectations (:attr:`log_likelihood_trace`); one more pass over the data per iteration.
    """

    def __init__(self, X, initial: GMMParams | None = None, *, priors: VBPriors | None = None,
                 weight_prior="dirichlet_process", weight_concentration=None, tol=1e-4,
                 tol_mode="total", max_iter=1000, reg_covar=1e-6, fast=True, n_threads=None,
                 track_log_likelihood=False, _resp=None, _covariance_type=None):
        _em.check_settings(tol, tol_mode, max_iter, reg_covar)
        self.X = _em.check_data(X)
        n = self.X.shape[0]
        if _resp is None:
            if initial is None:
                raise ParamsError("give initial parameters (or use VBFitter.from_responsibilities)")
            initial.validated()
            _em._check_compatible(self.X, initial)
            covariance_type = initial.covariance_type
            resp = np.exp(_em.e_step(self.X, initial)[1])
        else:
            covariance_type = check_covariance_type(_covariance_type)
            resp = np.asarray(_resp, dtype=float)
        k = resp.shape[0]
        if k > n:
            raise FitError(f"{k} components but only {n} points: use at most as many components as points")
        self.initial = initial
        self.priors = (priors if priors is not None else default_priors(
            self.X, k, covariance_type, weight_prior=weight_prior,
            weight_concentration=weight_concentration)).validated()
        if self.priors.covariance_type != covariance_type or self.priors.n_features != self.X.shape[1]:
            raise ParamsError("the priors do not match the model's covariance type or number of features")
        self.tol = float(tol)
        self.tol_mode = tol_mode
        self.max_iter = int(max_iter)
        self.reg_covar = float(reg_covar)
        self.n_threads = n_threads
        self.trace: list[float] = []
        self.track_log_likelihood = bool(track_log_likelihood)
        self.log_likelihood_trace: list[float] = []
        self._moments = None
        if fast and self.X.shape[1] <= _fast.MAX_FAST_FEATURES:
            self._moments = _fast.Moments(self.X)
        self._iteration = 0
        self._converged = False
        with np.errstate(over="ignore", invalid="ignore"):
            post = m_step(self.X, resp, self.priors, self.reg_covar)
        self._check_posterior(post)
        with np.errstate(divide="ignore", invalid="ignore"):
            rlogr = float(np.sum(np.where(resp > 0, resp * np.log(np.where(resp > 0, resp, 1.0)), 0.0)))
        lb = lower_bound(post, rlogr)
        self._post, self._lb = post, lb
        self._snapshot = self._make_snapshot(math.nan, "M")
        self._state = None
        self._resp = None
        self.e_step()

    @classmethod
    def from_snapshot(cls, X, snapshot: VBSnapshot, trace=None, **settings) -> "VBFitter":
        """A fitter that continues an earlier fit from its ``snapshot`` (of either phase, as a history
        keeps them): its posterior, lower bound, iteration and convergence; ``trace`` is that fit's
        lower bounds of iterations 1 to ``snapshot.iteration``. The next :meth:`step` is iteration
        ``snapshot.iteration + 1``; the priors come from ``settings`` as for a new fit."""
        post = snapshot.posterior
        trace = [] if trace is None else [float(v) for v in trace]
        if len(trace) != snapshot.iteration:
            raise ParamsError(f"continuing from iteration {snapshot.iteration} needs its {snapshot.iteration} "
                              f"lower bounds, got {len(trace)}")
        X = _em.check_data(X)
        resp = np.exp(e_step(X, post)[1])  # only to build the fitter; its posterior is replaced below
        fitter = cls(X, None, _resp=resp, _covariance_type=post.covariance_type, **settings)
        fitter._post, fitter._lb = post, float(snapshot.lower_bound)
        fitter._iteration, fitter._converged = int(snapshot.iteration), bool(snapshot.converged)
        fitter.trace = trace
        fitter._snapshot = dataclasses.replace(snapshot, phase="M", resp=None, labels=None)
        fitter._state = fitter._resp = None
        fitter.e_step()
        return fitter

    @classmethod
    def from_responsibilities(cls, X, resp, covariance_type: str = "full", **settings) -> "VBFitter":
        """A fitter whose initial posterior is the M-step of ``resp`` (n_samples, n_components), as
        scikit-learn's ``_initialize(X, resp)``."""
        resp = np.asarray(resp, dtype=float)
        X = _em.check_data(X)
        if resp.ndim != 2 or resp.shape[0] != X.shape[0] or not np.all(np.isfinite(resp)) or np.any(resp < 0):
            raise ParamsError(f"responsibilities must be finite, non-negative, of shape ({X.shape[0]}, K)")
        return cls(X, None, _resp=resp.T, _covariance_type=covariance_type, **settings)

    # -- state
    @property
    def posterior(self) -> VBPosterior:
        return self._post

    @property
    def params(self) -> GMMParams:
        return self._snapshot.params

    @property
    def lower_bound(self) -> float:
        return self._lb

    @property
    def iteration(self) -> int:
        return self._iteration

    @property
    def converged(self) -> bool:
        return self._converged

    @property
    def done(self) -> bool:
        return self._converged or self._iteration >= self.max_iter

    @property
    def snapshot(self) -> VBSnapshot:
        return self._snapshot

    @property
    def phase(self) -> str:
        return self._snapshot.phase

    def snapshot_with_responsibilities(self) -> VBSnapshot:
        """The latest snapshot with the responsibilities of the current posterior and hard labels."""
        log_resp = e_step(self.X, self._post)[1]
        return dataclasses.replace(self._snapshot, resp=np.exp(log_resp).T.astype(np.float32),
                                   labels=np.argmax(log_resp, axis=0).astype(np.int32))

    def responsibilities_of(self, state) -> tuple[np.ndarray, np.ndarray]:
        """(resp float32 (n_samples, K), labels int32) of a snapshot's posterior (or of GMMParams:
        their EM responsibilities), for colouring a past iteration."""
        post = getattr(state, "posterior", None)
        if post is None:
            log_resp = _em.e_step(self.X, getattr(state, "params", state))[1]
        else:
            log_resp = e_step(self.X, post)[1]
        return np.exp(log_resp).T.astype(np.float32), np.argmax(log_resp, axis=0).astype(np.int32)

    def _make_snapshot(self, change: float, phase: str, resp=None) -> VBSnapshot:
        params = self._post.params()
        pruned = tuple(int(j) for j in np.flatnonzero(params.weights < PRUNED_WEIGHT))
        return VBSnapshot(self._iteration, self._lb, change, self._converged, params, self.X.shape[0],
                          self._post, phase, pruned,
                          None if resp is None else resp[0], None if resp is None else resp[1])

    # -- the halves
    def e_step(self, return_resp: bool = False) -> VBSnapshot:
        """Responsibilities of the current posterior (kept for the next M-step); phase ``"E"``."""
        if self._snapshot.phase == "E" and self._state is not None:
            snap = self._snapshot
        else:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._state, self._resp = self._expect(self._post, return_resp)
            snap = self._snapshot = dataclasses.replace(self._snapshot, phase="E")
        if return_resp:
            if self._resp is None:
                return self.snapshot_with_responsibilities()
            return dataclasses.replace(snap, resp=self._resp[0], labels=self._resp[1])
        return snap

    def m_step(self) -> VBSnapshot:
        """The posterior from the last E-step's responsibilities, and its lower bound; phase ``"M"``.

        Raises
        ------
        FitError
            When the new posterior is unusable.
        """
        if self._snapshot.phase == "M":
            self.e_step()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            post, rlogr = self._maximize()
        self._check_posterior(post)
        lb = lower_bound(post, rlogr)
        if not math.isfinite(lb):
            raise FitError("the lower bound is not finite: scale the data (standardise each column) "
                           "or use a larger reg_covar")
        change = lb - self._lb
        measure = change / self.X.shape[0] if self.tol_mode == "per-sample" else change
        self._post, self._lb = post, lb
        self._iteration += 1
        self._converged = self._iteration >= 2 and abs(measure) < self.tol
        self.trace.append(lb)
        if self.track_log_likelihood:
            self.log_likelihood_trace.append(self.data_log_likelihood(post.params()))
        self._state = None
        self._resp = None
        self._snapshot = self._make_snapshot(change, "M")
        return self._snapshot

    def step(self, return_resp: bool = False) -> VBSnapshot:
        """Run exactly one iteration (M-step, then the E-step of the new posterior)."""
        self.m_step()
        return self.e_step(return_resp)

    def run(self, callback=None) -> VBSnapshot:
        """Iterate until converged or ``max_iter``; ``callback(snapshot)`` after each iteration."""
        while not self.done:
            snap = self.step()
            if callback is not None:
                callback(snap)
        return self._snapshot

    def data_log_likelihood(self, params: GMMParams | None = None) -> float:
        """Total log-likelihood of the data under ``params`` (default: the posterior expectations)."""
        params = self._post.params() if params is None else params
        if self._moments is not None:
            P, log_det, U = _fast.full_precisions(params, _em.precision_cholesky(params))
            return float(self._moments.e_step(params, P, log_det, U, False, self.n_threads)[0])
        return _em.log_likelihood(self.X, params)

    # -- the computations
    def _expect(self, post: VBPosterior, want_resp: bool):
        """E-step of ``post``: what the M-step needs, and optionally (resp float32, labels int32).

        The state is ``("stats", S, W, P, const, rlogr)`` from the fast path or ``("resp", log_resp)``.
        """
        if self._moments is not None:
            offsets = log_prob_offsets(post)
            plug = _plugin(post, offsets)
            prec_chol = _em.precision_cholesky(plug)
            P, log_det, U = _fast.full_precisions(plug, prec_chol)
            ll, stats, resp = self._moments.e_step(plug, P, log_det, U, want_resp, self.n_threads)
            rlogr = self._fast_rlogr(plug, P, log_det, stats, ll)
            return ("stats", stats, rlogr), resp
        log_resp = e_step(self.X, post)[1]
        resp = None
        if want_resp:
            resp = np.exp(log_resp).T.astype(np.float32), np.argmax(log_resp, axis=0).astype(np.int32)
        return ("resp", log_resp), resp

    def _fast_rlogr(self, plug: GMMParams, P, log_det, stats, ll: float) -> float:
        """``sum resp log resp`` from the fast path's statistics: ``sum_n resp[k, n] log rho[k, n]``
        is linear in the moments, so it is ``W[k] . S[k]`` (or, for the components computed directly,
        ``const_k s0 - tr(P_k s2) / 2``), and ``sum resp log resp = sum_k that - sum_n log sum_k rho``."""
        S, shifted = stats
        W = self._moments.weights_matrix(plug, P, log_det)
        live = plug.weights > 0  # a weight that underflowed: its responsibilities are exactly 0
        per = np.zeros(len(live))
        per[live] = np.einsum("kf,kf->k", W[live], S[live])
        d = self.X.shape[1]
        with np.errstate(divide="ignore"):
            const = log_det - 0.5 * d * _em._LOG_2PI + np.log(plug.weights)
        m = plug.means - self._moments.center
        for j, (a, s0, s1, s2) in shifted.items():  # moments about the anchor a: x - m = (x - a) + (a - m)
            delta = np.asarray(a) - m[j]
            quad = float(np.sum(P[j] * s2)) + 2.0 * float(delta @ P[j] @ s1) + float(s0) * float(delta @ P[j] @ delta)
            per[j] = const[j] * s0 - 0.5 * quad if live[j] else 0.0
        return math.fsum(per.tolist()) - ll

    def _maximize(self) -> tuple[VBPosterior, float]:
        state = self._state
        ctype = self.priors.covariance_type
        if state[0] == "stats":
            _, stats, rlogr = state
            g, exact = self._moments.m_step(stats, ctype, self.reg_covar)
            narrow = set(np.flatnonzero(self._moments.condition(g) > _fast.MAX_CONDITION).tolist())
            if narrow <= exact:
                nk = stats[0][:, 0] + 10.0 * np.finfo(np.float64).eps
                return posterior_from_moments(nk, g.means, g.covariances, self.priors), rlogr
            log_resp = e_step(self.X, self._post)[1]  # too narrow for the expanded moments: directly
        else:
            log_resp = state[1]
        return m_step(self.X, np.exp(log_resp), self.priors, self.reg_covar), resp_entropy_term(log_resp)

    def _check_posterior(self, post: VBPosterior) -> None:
        if not (np.all(np.isfinite(post.means)) and np.all(np.isfinite(post.covariances))):
            raise FitError(
                "the M-step overflowed: the data's values are too large for double precision "
                f"(largest magnitude {np.max(np.abs(self.X)):.3g}). Divide the data by a constant "
                "(for example standardise each column) and fit again"
            )
        cov = post.covariances
        if post.covariance_type in ("full", "tied"):
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                ok = False
            else:
                ok = True
        else:
            ok = bool(np.all(cov > 0))
        if not ok:
            raise FitError("a posterior covariance is not positive definite (a component has collapsed "
                           "onto too few points). Try a larger reg_covar, or scale the data")


def fit(X, initial: GMMParams, **settings) -> tuple[VBSnapshot, VBFitter]:
    """Run variational EM to convergence; returns the final snapshot and the fitter (for its trace)."""
    fitter = VBFitter(X, initial, **settings)
    return fitter.run(), fitter
