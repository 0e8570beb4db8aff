"""A drop-in ``sklearn.mixture.GaussianMixture`` whose EM runs on this project's core (and a drop-in
``sklearn.mixture.BayesianGaussianMixture`` whose variational iterations run on
:class:`gmm_desktop.core.vb.VBFitter`, built the same way: see docs/sklearn.md).

``from gmm_desktop.sklearn import GaussianMixture`` in place of ``from sklearn.mixture import
GaussianMixture``: the same constructor parameters and defaults, the same validation and messages,
fitted attributes, methods, warnings, ``n_init``, ``warm_start``, ``verbose`` output and
``random_state`` handling, and the same results from the same start, computed by
:mod:`gmm_desktop.core` (the fitter's blocked fast path) many times faster and in a fraction of the
memory.

How it is built
---------------
The class subclasses scikit-learn's own ``GaussianMixture``, so everything that is scikit-learn's
contract stays scikit-learn's code: ``__init__`` and ``_parameter_constraints`` (validated by
``_fit_context``), the checks of ``weights_init``/``means_init``/``precisions_init``, ``score``,
``bic``, ``aic``, ``sample``, the verbose messages, ``get_params``/``set_params``/``clone``. What is
replaced is what allocates arrays of size (n_samples, n_components) and does the work:

* ``fit``/``fit_predict``: the loop of ``BaseMixture.fit_predict``, statement for statement (same
  convergence rule on the change of the per-sample lower bound, same choice of the best of
  ``n_init``, same ``ConvergenceWarning``, same ``warm_start``), driving the core's
  :class:`~gmm_desktop.core.fitter.EMFitter` instead of ``_e_step``/``_m_step``.
* the initialisation: the responsibilities scikit-learn would build (``kmeans``: one-hot of
  ``KMeans(n_init=1).labels_``; ``k-means++``: one-hot of ``kmeans_plusplus``'s indices;
  ``random_from_data``: of ``random_state.choice``; ``random``: uniform draws, normalised per row),
  drawn with scikit-learn's own helpers from the same ``random_state`` in the same order, but
  reduced to the M-step's statistics cluster by cluster or block by block instead of being held as
  an (n_samples, n_components) matrix.
* ``predict``, ``predict_proba``, ``score_samples`` (and through it ``score``, ``bic``, ``aic``):
  :class:`~gmm_desktop.core.evaluate.MixtureEvaluator`, block by block, writing only the result.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings

import numpy as np
from scipy.linalg import solve_triangular
from sklearn import cluster
from sklearn.base import _fit_context
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as _SklearnBayesianGaussianMixture
from sklearn.mixture import GaussianMixture as _SklearnGaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)

from gmm_desktop.core.em import precision_cholesky
from gmm_desktop.core.errors import FitError, ModelFileError, ParamsError
from gmm_desktop.core.evaluate import MixtureEvaluator
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.params import GMMParams
from gmm_desktop.core.vb import VBFitter, VBPosterior, VBPriors
from gmm_desktop.core.vb import e_step as vb_e_step
from gmm_desktop.core.vb import log_prob_offsets as vb_log_prob_offsets
from gmm_desktop.io import model_io
from gmm_desktop.io.datasets import data_sha256

__all__ = ["BayesianGaussianMixture", "GaussianMixture", "load_model", "save_model"]

#: scikit-learn's message when a covariance is not positive definite (its tests match it).
PRECISION_ERROR = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, increase reg_covar, or scale the input data."
)

#: Random responsibilities (rows x components) drawn at a time by the ``random`` initialisation.
_INIT_BLOCK_ELEMENTS = 262_144

_CHECK_TAKES_XP = "xp" in inspect.signature(_SklearnGaussianMixture._check_parameters).parameters


def _namespace(X):
    if not _CHECK_TAKES_XP:
        return {}
    from sklearn.utils._array_api import get_namespace

    return {"xp": get_namespace(X)[0]}


def _value_error(exc: FitError) -> ValueError:
    """scikit-learn's ValueError for a failure of the core (its message for a collapsed component)."""
    text = str(exc)
    if "collapsed" in text:
        return ValueError(PRECISION_ERROR)
    return ValueError(text)


def _core_precision_cholesky(params: GMMParams) -> np.ndarray:
    try:
        return precision_cholesky(params)
    except FitError as exc:
        raise _value_error(exc) from None


def _flip(a):
    return a[..., ::-1, ::-1]


def _prec_chol_from_precisions(precisions, covariance_type):
    """Upper-triangular ``U`` with ``U @ U.T = precision``, as scikit-learn computes it (#26415)."""
    P = np.asarray(precisions, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return _flip(np.linalg.cholesky(_flip(P)))
    return np.sqrt(P)


def _covariances_from_prec_chol(prec_chol, covariance_type):
    U = np.asarray(prec_chol, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        mats = U if covariance_type == "full" else U[None]
        eye = np.eye(mats.shape[-1])
        cov = np.empty_like(mats)
        for k, u in enumerate(mats):
            v = solve_triangular(u, eye, lower=False)  # U^-1; Sigma = P^-1 = U^-T U^-1
            c = v.T @ v
            cov[k] = 0.5 * (c + c.T)
        return cov if covariance_type == "full" else cov[0]
    return 1.0 / (U * U)


class _CoreFit:
    """``fit`` and ``fit_predict`` as scikit-learn's BaseMixture has them, over the estimator's own
    ``_fit(X, want_labels)`` (which runs the core), with scikit-learn's validation of ``X``."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate model parameters (see scikit-learn's ``fit``)."""
        self._fit(X, want_labels=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None):
        """Estimate model parameters using X and predict the labels for X (see scikit-learn's)."""
        return self._fit(X, want_labels=True)

    def _validated_for_fit(self, X):
        """``X`` validated as scikit-learn's ``fit_predict`` does, and whether and how often to
        initialise: ``(X, do_init, n_init)``."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        if X.shape[0] < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {X.shape[0]}"
            )
        self._check_parameters(X, **_namespace(X))
        # if we enable warm_start, we will have a unique initialisation
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        return X, do_init, (self.n_init if do_init else 1)


class GaussianMixture(_CoreFit, _SklearnGaussianMixture):
    """Gaussian mixture fitted by EM on gmm_desktop's core; a drop-in for scikit-learn's.

    Parameters, attributes and methods are those of :class:`sklearn.mixture.GaussianMixture` (see
    its documentation); results equal it from the same start. Data are handled in float64 inside
    the core; fitted attributes, responsibilities and log densities have the dtype scikit-learn
    gives them (float32 for float32 data).
    """

    # ------------------------------------------------------------------ fitting: _CoreFit
    def _fit(self, X, want_labels):
        X, do_init, n_init = self._validated_for_fit(X)

        max_lower_bound = -np.inf
        best_lower_bounds = []
        self.converged_ = False
        random_state = check_random_state(self.random_state)
        X64 = np.ascontiguousarray(X, dtype=np.float64)
        n_samples = X.shape[0]
        best_params = best_record = None
        best_n_iter = 0
        engine = None  # the data's quadratic features, built once for all n_init starts

        for init in range(n_init):
            self._print_verbose_msg_init_beg(init)
            if do_init:
                self._initialize_from_sklearn_start(X, X64, random_state)
            lower_bound = -np.inf if do_init else self.lower_bound_
            current_lower_bounds = []

            if self.max_iter == 0:
                best_params = self._get_parameters()
                best_n_iter = 0
                best_record = None
                continue

            fitter, log_weight_sum = self._start_fitter(X64, engine)
            engine = fitter.engine
            converged = False
            ll = fitter.snapshot.log_likelihood  # of the parameters the next M-step starts from
            for n_iter in range(1, self.max_iter + 1):
                prev_lower_bound = lower_bound
                # scikit-learn's lower bound of iteration n is the mean log-likelihood of the
                # parameters *before* its M-step (its E-step comes first); its first E-step uses the
                # initial weights as they are (k-means++ starts them at 1/n_samples each)
                lower_bound = ll / n_samples + (log_weight_sum if n_iter == 1 else 0.0)
                try:
                    ll = fitter.step().log_likelihood
                except FitError as exc:
                    raise _value_error(exc) from None
                current_lower_bounds.append(lower_bound)

                change = lower_bound - prev_lower_bound
                self._print_verbose_msg_iter_end(n_iter, change)
                if abs(change) < self.tol:
                    converged = True
                    break

            self._print_verbose_msg_init_end(lower_bound, converged)
            self._set_core_parameters(fitter.params, X.dtype)

            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best_params = self._get_parameters()
                best_n_iter = n_iter
                best_lower_bounds = current_lower_bounds
                self.converged_ = converged
                best_record = {"initial": fitter.initial, "trace": list(fitter.trace),
                               "log_likelihood": ll, "converged": converged}

        # Should only warn about convergence if max_iter > 0, otherwise
        # the user is assumed to have used 0-iters initialization
        # to get the initial means.
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                (
                    "Best performing initialization did not converge. "
                    "Try different init parameters, or increase max_iter, "
                    "tol, or check for degenerate data."
                ),
                ConvergenceWarning,
            )

        self._set_fitted(best_params)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = X.dtype.type(max_lower_bound)
        self.lower_bounds_ = [X.dtype.type(v) for v in best_lower_bounds]
        self._gmm_desktop_fit = self._fit_record(X64, best_record)

        if want_labels:
            # labels of the final parameters, so that fit_predict(X) == fit(X).predict(X)
            return self._evaluator().predict(X64)
        return None

    # ------------------------------------------------------------------ initialisation
    def _initialize_from_sklearn_start(self, X, X64, random_state):
        """``GaussianMixture._initialize_parameters`` and ``_initialize``, without their
        (n_samples, n_components) responsibilities."""
        n_samples = X.shape[0]
        dtype = X.dtype
        compute_resp = self.weights_init is None or self.means_init is None or self.precisions_init is None
        weights = means = covariances = None
        if compute_resp:
            nk, means, covariances = self._initial_statistics(X, X64, random_state)
            weights = nk / n_samples if self.weights_init is None else None

        self.weights_ = np.asarray(weights if self.weights_init is None else self.weights_init, dtype=dtype)
        self.means_ = np.asarray(means if self.means_init is None else self.means_init, dtype=dtype)
        if self.precisions_init is None:
            start = GMMParams(self.weights_, self.means_, covariances, self.covariance_type)
            self.covariances_ = np.asarray(covariances, dtype=dtype)
            self.precisions_cholesky_ = _core_precision_cholesky(start).astype(dtype)
            self._start_covariances = covariances
        else:
            prec_chol = _prec_chol_from_precisions(self.precisions_init, self.covariance_type)
            self.precisions_cholesky_ = prec_chol.astype(dtype)
            self._start_covariances = _covariances_from_prec_chol(prec_chol, self.covariance_type)

    def _initial_statistics(self, X, X64, random_state):
        """``(nk, means, covariances)`` of scikit-learn's initial M-step, from the same random draws."""
        n_samples, _ = X.shape
        k = self.n_components
        eps = 10 * np.finfo(X.dtype).eps
        if self.init_params == "kmeans":
            labels = cluster.KMeans(n_clusters=k, n_init=1, random_state=random_state).fit(X).labels_
            return self._statistics_from_labels(X64, labels, eps)
        if self.init_params == "random":
            return self._statistics_from_random(X64, random_state, eps)
        if self.init_params == "random_from_data":
            indices = random_state.choice(n_samples, size=k, replace=False)
        else:  # "k-means++"
            _, indices = kmeans_plusplus(X, k, random_state=random_state)
        return self._statistics_from_points(X64, np.asarray(indices), eps)

    def _covariance_from_scatter(self, scatter, nk):
        """Compact covariances from each component's scatter about its mean (K, D, D)."""
        d = scatter.shape[-1]
        reg = self.reg_covar
        if self.covariance_type == "full":
            cov = scatter / nk[:, None, None]
            cov[:, np.arange(d), np.arange(d)] += reg
            return cov
        if self.covariance_type == "tied":
            cov = scatter.sum(axis=0) / nk.sum()
            cov.flat[:: d + 1] += reg
            return cov
        diag = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg
        return diag if self.covariance_type == "diag" else diag.mean(axis=1)

    def _statistics_from_labels(self, X64, labels, eps):
        """One-hot responsibilities of a hard assignment (every point in one component)."""
        k = self.n_components
        d = X64.shape[1]
        counts = np.bincount(labels, minlength=k)
        nk = counts + eps
        order = np.argsort(labels, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        means = np.zeros((k, d))
        scatter = np.zeros((k, d, d))
        for j in range(k):
            members = X64[order[bounds[j]:bounds[j + 1]]]
            means[j] = members.sum(axis=0) / nk[j]
            diff = members - means[j]
            scatter[j] = diff.T @ diff
        return nk, means, self._covariance_from_scatter(scatter, nk)

    def _statistics_from_points(self, X64, indices, eps):
        """One-hot responsibilities with one point per component (k-means++, random_from_data)."""
        k = self.n_components
        points = X64[indices]
        nk = np.full(k, 1.0 + eps)
        means = points / nk[:, None]
        if self.covariance_type == "tied":
            # scikit-learn's tied estimate, X'X - sum_k nk mu_k mu_k', uses every point, whether or
            # not it has any responsibility: the start is what it computes
            cov = (X64.T @ X64 - (nk * means.T) @ means) / nk.sum()
            cov.flat[:: X64.shape[1] + 1] += self.reg_covar
            return nk, means, cov
        if self.covariance_type in ("diag", "spherical"):
            # scikit-learn's E[x^2] - mean^2, literally: with one point per component it is
            # ~x^2 * 2e-15, which sets the start (and its log-likelihood) when reg_covar is small
            diag = points * points / nk[:, None] - means**2 + self.reg_covar
            return nk, means, diag if self.covariance_type == "diag" else diag.mean(axis=1)
        diff = points - means
        scatter = np.einsum("ki,kj->kij", diff, diff)
        return nk, means, self._covariance_from_scatter(scatter, nk)

    def _statistics_from_random(self, X64, random_state, eps):
        """Uniform random responsibilities normalised per row, drawn block by block (the same
        stream of numbers as one (n_samples, n_components) draw) and reduced to moments about the
        data's mean (every component starts near it, so nothing cancels)."""
        n, d = X64.shape
        k = self.n_components
        center = X64.mean(axis=0)
        s0 = np.zeros(k)
        s1 = np.zeros((k, d))
        s2 = np.zeros((k, d, d))
        rows = max(1024, _INIT_BLOCK_ELEMENTS // k)
        for lo in range(0, n, rows):
            hi = min(n, lo + rows)
            resp = random_state.uniform(size=(hi - lo, k))
            resp /= resp.sum(axis=1)[:, np.newaxis]
            xc = X64[lo:hi] - center
            s0 += resp.sum(axis=0)
            s1 += resp.T @ xc
            for j in range(k):
                s2[j] += (resp[:, j, None] * xc).T @ xc
        nk = s0 + eps
        offset = s1 / nk[:, None]  # mean - center
        means = center + offset - (eps / nk)[:, None] * center
        scatter = (s2 - np.einsum("ki,kj->kij", offset, s1) - np.einsum("ki,kj->kij", s1, offset)
                   + s0[:, None, None] * np.einsum("ki,kj->kij", offset, offset))
        return nk, means, self._covariance_from_scatter(scatter, nk)

    # ------------------------------------------------------------------ the core
    def _start_fitter(self, X64, engine=None):
        """The core's fitter on the current parameters, and the log of the weights' sum (scikit-learn
        evaluates the first lower bound with the weights as they are; the core needs them to sum to 1)."""
        weights = np.asarray(self.weights_, dtype=np.float64)
        total = float(weights.sum())
        covariances = getattr(self, "_start_covariances", None)
        if covariances is None:
            covariances = self.covariances_
        start = GMMParams(weights / total, self.means_, covariances, self.covariance_type)
        self._start_covariances = None
        try:
            fitter = EMFitter(X64 if engine is None else None, start, tol=0.0, tol_mode="per-sample",
                              max_iter=max(1, self.max_iter), reg_covar=self.reg_covar, engine=engine)
        except FitError as exc:
            raise _value_error(exc) from None
        return fitter, math.log(total)

    def _set_core_parameters(self, params: GMMParams, dtype):
        self.weights_ = np.array(params.weights, dtype=dtype)
        self.means_ = np.array(params.means, dtype=dtype)
        self.covariances_ = np.array(params.covariances, dtype=dtype)
        self.precisions_cholesky_ = _core_precision_cholesky(params).astype(dtype)

    def _set_fitted(self, params):
        """``_set_parameters``: the four arrays and the precisions computed from their factors."""
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        U = self.precisions_cholesky_
        if self.covariance_type == "full":
            self.precisions_ = U @ np.swapaxes(U, 1, 2)
        elif self.covariance_type == "tied":
            self.precisions_ = U @ U.T
        else:
            self.precisions_ = U**2

    def _core_params(self) -> GMMParams:
        covariances = getattr(self, "covariances_", None)
        if covariances is None:
            covariances = _covariances_from_prec_chol(self.precisions_cholesky_, self.covariance_type)
        return GMMParams(self.weights_, self.means_, covariances, self.covariance_type)

    def _evaluator(self) -> MixtureEvaluator:
        return MixtureEvaluator(self._core_params(), prec_chol=self.precisions_cholesky_)

    def _fit_record(self, X64, record):
        """What a model file needs that the fitted attributes do not hold."""
        if record is None:  # max_iter == 0: the initial parameters are the result
            params = self._core_params()
            ll = float(self._evaluator().score_samples(X64).sum())
            record = {"initial": params, "trace": [], "log_likelihood": ll, "converged": False}
        return {**record, "n_samples": int(X64.shape[0]), "sha256": data_sha256(X64)}

    # ------------------------------------------------------------------ evaluation
    def _validated(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        dtype = np.result_type(X.dtype, self.means_.dtype)
        if not np.issubdtype(dtype, np.floating):
            dtype = np.float64
        return np.ascontiguousarray(X, dtype=np.float64), dtype

    def score_samples(self, X):
        """Compute the log-likelihood of each sample (see scikit-learn's ``score_samples``)."""
        X64, dtype = self._validated(X)
        out = np.empty(X64.shape[0], dtype=dtype)
        self._evaluator().evaluate(X64, log_density=out)
        return out

    def predict(self, X):
        """Predict the labels for the data samples in X (see scikit-learn's ``predict``)."""
        X64, _ = self._validated(X)
        return self._evaluator().predict(X64)

    def predict_proba(self, X):
        """Evaluate the components' density for each sample (see scikit-learn's ``predict_proba``)."""
        X64, dtype = self._validated(X)
        out = np.empty((X64.shape[0], self.n_components), dtype=dtype)
        self._evaluator().evaluate(X64, resp=out)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = False  # the core computes with NumPy
        return tags


# ---------------------------------------------------------------------- variational
class BayesianGaussianMixture(_CoreFit, _SklearnBayesianGaussianMixture):
    """Variational Bayesian Gaussian mixture fitted on gmm_desktop's core; a drop-in for scikit-learn's.

    Parameters, attributes and methods are those of :class:`sklearn.mixture.BayesianGaussianMixture`
    (see its documentation); results equal it from the same start. The iterations are
    :class:`gmm_desktop.core.vb.VBFitter`'s (its blocked fast path for up to
    ``core.fast.MAX_FAST_FEATURES`` features); the initial responsibilities are scikit-learn's own
    (``_initialize_parameters``, the same random draws); ``predict``, ``predict_proba`` and
    ``score_samples`` are evaluated block by block by the core. The core computes in float64: with
    float32 data the fitted attributes are float64.
    """

    # ------------------------------------------------------------------ fitting: _CoreFit
    def _fit(self, X, want_labels):
        X, do_init, n_init = self._validated_for_fit(X)

        max_lower_bound = -np.inf
        best_lower_bounds = []
        self.converged_ = False
        random_state = check_random_state(self.random_state)
        X64 = np.ascontiguousarray(X, dtype=np.float64)
        self._X64 = X64
        best_params = best_record = None
        best_n_iter = 0

        try:
            for init in range(n_init):
                self._print_verbose_msg_init_beg(init)
                if do_init:
                    # scikit-learn's responsibilities; our _initialize turns them into the core's fitter
                    self._initialize_parameters(X, random_state, **_namespace(X))
                    fitter, pending = self._vb_fitter, False
                else:
                    # warm start: the fitter's initial M-step is that of the first iteration
                    fitter, pending = self._fitter_from_posterior(X64), True
                lower_bound = -np.inf if do_init else self.lower_bound_
                current_lower_bounds = []

                if self.max_iter == 0:
                    best_params = self._get_parameters()
                    best_n_iter = 0
                    best_record = {"fitter": fitter, "converged": False}
                    continue

                converged = False
                for n_iter in range(1, self.max_iter + 1):
                    prev_lower_bound = lower_bound
                    if pending:
                        pending = False
                    else:
                        fitter.step()
                    lower_bound = fitter.lower_bound
                    if self.covariance_type == "tied":
                        # scikit-learn's tied bound is an array of shape (1,) (its Wishart term is)
                        lower_bound = np.array([lower_bound])
                    current_lower_bounds.append(lower_bound)

                    change = lower_bound - prev_lower_bound
                    self._print_verbose_msg_iter_end(n_iter, change)
                    if abs(change) < self.tol:
                        converged = True
                        break

                self._print_verbose_msg_init_end(lower_bound, converged)
                self._set_posterior(fitter.posterior)

                if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                    max_lower_bound = lower_bound
                    best_params = self._get_parameters()
                    best_n_iter = n_iter
                    best_lower_bounds = current_lower_bounds
                    self.converged_ = converged
                    best_record = {"fitter": fitter, "converged": converged}
        except (FitError, ParamsError) as exc:
            raise _value_error(exc) from None
        finally:
            self._vb_fitter = None
            self._X64 = None

        # Should only warn about convergence if max_iter > 0, otherwise
        # the user is assumed to have used 0-iters initialization
        # to get the initial means.
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                (
                    "Best performing initialization did not converge. "
                    "Try different init parameters, or increase max_iter, "
                    "tol, or check for degenerate data."
                ),
                ConvergenceWarning,
            )

        self._set_parameters(best_params)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds
        self._gmm_desktop_fit = self._fit_record(X64, best_record)

        if want_labels:
            return self.predict(X)
        return None

    # ------------------------------------------------------------------ the core
    def _core_priors(self, X) -> VBPriors:
        """The priors scikit-learn's ``_check_parameters`` set (``*_prior_`` attributes)."""
        return VBPriors(
            weight_prior=self.weight_concentration_prior_type,
            weight_concentration=self.weight_concentration_prior_,
            mean_precision=self.mean_precision_prior_,
            mean=np.asarray(self.mean_prior_, dtype=np.float64),
            degrees_of_freedom=self.degrees_of_freedom_prior_,
            covariance=np.asarray(self.covariance_prior_, dtype=np.float64),
            covariance_type=self.covariance_type,
        ).validated()

    def _new_fitter(self, X64, resp):
        return VBFitter.from_responsibilities(
            X64, resp, self.covariance_type, priors=self._core_priors(X64), tol=0.0,
            max_iter=max(1, self.max_iter), reg_covar=self.reg_covar)

    def _initialize(self, X, resp):
        """scikit-learn's ``_initialize(X, resp)``: the posterior of the initial responsibilities,
        computed by the core's fitter (kept for the iterations that follow)."""
        X64 = getattr(self, "_X64", None)
        if X64 is None or X64.shape != X.shape:
            X64 = np.ascontiguousarray(X, dtype=np.float64)
        try:
            self._vb_fitter = self._new_fitter(X64, resp)
        except (FitError, ParamsError) as exc:
            raise _value_error(exc) from None
        self._set_posterior(self._vb_fitter.posterior)

    def _fitter_from_posterior(self, X64):
        post = self._posterior()
        log_resp = vb_e_step(X64, post)[1]
        return self._new_fitter(X64, np.exp(log_resp).T)

    def _posterior(self) -> VBPosterior:
        wc = self.weight_concentration_
        if self.weight_concentration_prior_type == "dirichlet_process":
            wc = np.vstack([np.asarray(wc[0], dtype=np.float64), np.asarray(wc[1], dtype=np.float64)])
        return VBPosterior(wc, self.mean_precision_, self.means_, self.degrees_of_freedom_, self.covariances_,
                           self.covariance_type, self.weight_concentration_prior_type)

    def _set_posterior(self, post: VBPosterior):
        """scikit-learn's fitted attributes from the core's posterior (``_estimate_weights``,
        ``_estimate_means``, ``_estimate_precisions``)."""
        wc = np.array(post.weight_concentration)
        self.weight_concentration_ = (wc[0], wc[1]) if post.weight_prior == "dirichlet_process" else wc
        self.mean_precision_ = np.array(post.mean_precision)
        self.means_ = np.array(post.means)
        dof = np.array(post.degrees_of_freedom)
        self.degrees_of_freedom_ = np.float64(dof) if self.covariance_type == "tied" else dof
        self.covariances_ = np.array(post.covariances)
        self.precisions_cholesky_ = _core_precision_cholesky(post.params())

    def _fit_record(self, X64, record):
        """What a model file needs that the fitted attributes do not hold."""
        post = self._posterior()
        params = post.params()
        ll = float(MixtureEvaluator(params, prec_chol=self.precisions_cholesky_).score_samples(X64).sum())
        fitter = record["fitter"] if record is not None else None
        return {"initial": None if fitter is None else fitter.initial,
                "trace": [], "log_likelihood": ll, "converged": bool(record and record["converged"]),
                "n_samples": int(X64.shape[0]), "sha256": data_sha256(X64),
                "priors": self._core_priors(X64)}

    # ------------------------------------------------------------------ evaluation
    def _evaluator(self):
        """The evaluator of ``log rho`` (scikit-learn's weighted log probabilities) up to the constant
        returned with it: the posterior's means and covariances, weights ``exp(c_k - max c)``."""
        post = self._posterior()
        c = vb_log_prob_offsets(post)
        shift = float(np.max(c))
        plug = GMMParams(np.exp(c - shift), post.means, post.covariances, post.covariance_type)
        return MixtureEvaluator(plug, prec_chol=self.precisions_cholesky_), shift

    _validated = GaussianMixture._validated

    def score_samples(self, X):
        """``log sum_k rho_k`` of each sample, as scikit-learn's ``score_samples``."""
        X64, dtype = self._validated(X)
        evaluator, shift = self._evaluator()
        out = np.empty(X64.shape[0], dtype=np.float64)
        evaluator.evaluate(X64, log_density=out)
        out += shift
        return out.astype(dtype, copy=False)

    def predict(self, X):
        """Predict the labels for the data samples in X (see scikit-learn's ``predict``)."""
        X64, _ = self._validated(X)
        return self._evaluator()[0].predict(X64)

    def predict_proba(self, X):
        """The responsibilities of each sample (see scikit-learn's ``predict_proba``)."""
        X64, dtype = self._validated(X)
        out = np.empty((X64.shape[0], self.n_components), dtype=dtype)
        self._evaluator()[0].evaluate(X64, resp=out)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = False  # the core computes with NumPy
        return tags


# ---------------------------------------------------------------------- model files
_SAVED_PARAMS = ("n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init", "init_params",
                 "random_state", "warm_start", "verbose", "verbose_interval")
#: BayesianGaussianMixture's scalar parameters besides those (its array priors are in "priors").
_SAVED_VB_PARAMS = ("weight_concentration_prior_type", "weight_concentration_prior", "mean_precision_prior",
                    "degrees_of_freedom_prior")


def _scalar(value) -> float:
    """A lower bound as a float (scikit-learn's tied variational bound is an array of shape (1,))."""
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def _is_variational(estimator) -> bool:
    return isinstance(estimator, _SklearnBayesianGaussianMixture)


def _json_params(estimator) -> dict:
    params = estimator.get_params()
    out = {}
    for name in _SAVED_PARAMS + (_SAVED_VB_PARAMS if _is_variational(estimator) else ()):
        value = params.get(name)
        if isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, np.floating):
            value = float(value)
        if value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def save_model(estimator, path, X=None, *, source: str = "") -> None:
    """Write a fitted ``GaussianMixture`` or ``BayesianGaussianMixture`` as a gmm-desktop model file
    (atomically). A variational estimator's file has ``"method": "vb"``, its priors, its lower bounds
    (``lower_bound_trace``) and its posterior (see docs/model-format.md).

    Parameters
    ----------
    estimator : GaussianMixture or BayesianGaussianMixture
        Fitted; this module's, or scikit-learn's own (then ``X`` is needed).
    path : str or path-like
        The ``.json`` file to write; the desktop app opens it (File, Open model).
    X : array-like of shape (n_samples, n_features), optional
        The training data. Without it, what this module's estimator recorded when it was fitted is
        used (the number of points, the data's SHA-256 and the log-likelihood).
    source : str
        The data's file name, recorded in the model file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.
    ModelFileError
        When the file cannot be written (nothing is overwritten) or the training data are needed.
    """
    check_is_fitted(estimator)
    ctype = estimator.covariance_type
    weights = np.asarray(estimator.weights_, dtype=np.float64)
    params = GMMParams(weights / weights.sum(), estimator.means_, estimator.covariances_, ctype).validated()
    record = getattr(estimator, "_gmm_desktop_fit", None)
    names = getattr(estimator, "feature_names_in_", None)
    feature_names = [str(s) for s in names] if names is not None else None
    sk = {"class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
          "params": _json_params(estimator),
          "lower_bound": _scalar(estimator.lower_bound_),
          "lower_bounds": [_scalar(v) for v in getattr(estimator, "lower_bounds_", [])],
          "n_iter": int(estimator.n_iter_),
          "feature_names_in": names is not None}
    settings = {"tol": float(estimator.tol), "tol_mode": "per-sample", "max_iter": int(estimator.max_iter),
                "reg_covar": float(estimator.reg_covar), "init": estimator.init_params,
                "seed": estimator.random_state if isinstance(estimator.random_state, int) else None}
    common = dict(settings=settings, feature_names=feature_names, source=source, sklearn=sk)
    if _is_variational(estimator):
        common.update(_vb_model_keys(estimator))
    if X is not None:
        X = np.ascontiguousarray(validate_data(estimator, X, reset=False), dtype=np.float64)
        ll = float(MixtureEvaluator(params).score_samples(X).sum())
        same_data = record is not None and record["n_samples"] == X.shape[0] and record["sha256"] == data_sha256(X)
        model_io.save_model(path, params, X=X, initial=record["initial"] if same_data else None,
                            trace=record["trace"] if same_data else [], converged=bool(estimator.converged_),
                            log_likelihood=ll, **common)
    elif record is not None:
        model_io.save_model(path, params, initial=record["initial"], trace=record["trace"],
                            converged=bool(record["converged"]), log_likelihood=record["log_likelihood"],
                            n_samples=record["n_samples"], sha256=record["sha256"],
                            **common)
    else:
        raise ModelFileError(
            "this estimator was not fitted by gmm_desktop.sklearn, so the model file's log-likelihood and "
            "data hash are unknown: pass the training data, save_model(estimator, path, X)")


def _vb_model_keys(estimator) -> dict:
    """``method``, ``priors``, ``lower_bound_trace`` and ``posterior`` of a variational estimator."""
    ctype = estimator.covariance_type
    priors = VBPriors(
        weight_prior=estimator.weight_concentration_prior_type,
        weight_concentration=estimator.weight_concentration_prior_,
        mean_precision=estimator.mean_precision_prior_,
        mean=np.asarray(estimator.mean_prior_, dtype=np.float64),
        degrees_of_freedom=estimator.degrees_of_freedom_prior_,
        covariance=np.asarray(estimator.covariance_prior_, dtype=np.float64),
        covariance_type=ctype,
    ).validated()
    wc = estimator.weight_concentration_
    if priors.weight_prior == "dirichlet_process":
        wc = np.vstack([np.asarray(wc[0], dtype=np.float64), np.asarray(wc[1], dtype=np.float64)])
    posterior = {"weight_concentration": np.asarray(wc, dtype=np.float64),
                 "mean_precision": np.asarray(estimator.mean_precision_, dtype=np.float64),
                 "degrees_of_freedom": np.asarray(estimator.degrees_of_freedom_, dtype=np.float64)}
    return {"method": "vb", "priors": priors,
            "lower_bound_trace": [_scalar(v) for v in getattr(estimator, "lower_bounds_", [])],
            "posterior": posterior}


def _load_variational(model, kwargs, path):
    """A fitted BayesianGaussianMixture from a ``"method": "vb"`` model file."""
    p, priors, post = model.params, model.priors, model.posterior
    if post is None:
        raise ModelFileError(
            f"{os.fspath(path)}: this vb model has no 'posterior' (weight concentrations, mean precisions, degrees "
            "of freedom), which a BayesianGaussianMixture needs: save it again with this version")
    kwargs = {**kwargs, "weight_concentration_prior_type": priors.weight_prior}
    est = BayesianGaussianMixture(**kwargs)
    try:
        est._validate_params()
    except Exception:  # settings of the app that scikit-learn does not take: its defaults
        est = BayesianGaussianMixture(n_components=p.n_components, covariance_type=p.covariance_type,
                                      weight_concentration_prior_type=priors.weight_prior)
    est.weight_concentration_prior_ = priors.weight_concentration
    est.mean_precision_prior_ = priors.mean_precision
    est.mean_prior_ = np.array(priors.mean)
    est.degrees_of_freedom_prior_ = priors.degrees_of_freedom
    cov0 = np.array(priors.covariance)
    est.covariance_prior_ = float(cov0) if p.covariance_type == "spherical" else cov0
    wc = np.array(post["weight_concentration"], dtype=np.float64)
    wc = (wc[0], wc[1]) if priors.weight_prior == "dirichlet_process" else wc
    dof = np.array(post["degrees_of_freedom"], dtype=np.float64)
    dof = np.float64(dof) if p.covariance_type == "tied" else dof
    est._set_parameters((wc, np.array(post["mean_precision"], dtype=np.float64), np.array(p.means), dof,
                         np.array(p.covariances), precision_cholesky(p)))
    return est


def load_model(path) -> GaussianMixture | BayesianGaussianMixture:
    """A fitted :class:`GaussianMixture` (or, for a ``"method": "vb"`` file, a fitted
    :class:`BayesianGaussianMixture` with the file's priors and posterior) from a gmm-desktop model
    file (the app's, the ``fit`` command's, or :func:`save_model`'s).

    ``lower_bound_``/``lower_bounds_``/``n_iter_`` are the saved estimator's when the file was written
    by :func:`save_model`; for other files, the mean log-likelihood of the training data (total
    divided by the number of points) and its trace.

    Raises
    ------
    ModelFileError
        With a message naming the file and the problem (see ``gmm_desktop.io.model_io.load_model``).
    """
    model = model_io.load_model(path)
    sk = model.sklearn
    saved = sk.get("params") if isinstance(sk.get("params"), dict) else {}
    p = model.params
    kwargs = {name: saved[name] for name in _SAVED_PARAMS if name in saved}
    kwargs.update(n_components=p.n_components, covariance_type=p.covariance_type)
    for name in ("tol", "reg_covar", "max_iter"):
        if name not in kwargs and name in model.settings:
            kwargs[name] = model.settings[name]
    if model.method == "vb":
        kwargs.update({name: saved[name] for name in _SAVED_VB_PARAMS if name in saved})
        est = _load_variational(model, kwargs, path)
    else:
        est = GaussianMixture(**kwargs)
        try:
            est._validate_params()
        except Exception:  # settings of the app that scikit-learn does not take: its defaults
            est = GaussianMixture(n_components=p.n_components, covariance_type=p.covariance_type)
        prec_chol = precision_cholesky(p)
        est._set_fitted((np.array(p.weights), np.array(p.means), np.array(p.covariances), prec_chol))
    est.converged_ = bool(model.converged)
    n = model.data.get("n_samples") if isinstance(model.data.get("n_samples"), int) else 0
    scale = 1.0 / n if n > 0 else 1.0
    if "lower_bound" in sk:
        est.lower_bound_ = float(sk["lower_bound"])
        est.lower_bounds_ = [float(v) for v in sk.get("lower_bounds", [])]
        est.n_iter_ = int(sk.get("n_iter", model.n_iter))
    elif model.method == "vb" and model.lower_bound_trace:  # the fit command's: its lower bound is the bound
        est.lower_bound_ = float(model.lower_bound_trace[-1])
        est.lower_bounds_ = [float(v) for v in model.lower_bound_trace]
        est.n_iter_ = len(model.lower_bound_trace)
    else:
        ll = model.log_likelihood if model.log_likelihood is not None else (model.trace[-1] if model.trace else -np.inf)
        est.lower_bound_ = float(ll) * scale
        est.lower_bounds_ = [float(v) * scale for v in model.trace]
        est.n_iter_ = int(model.n_iter)
    if model.method == "vb" and p.covariance_type == "tied":  # scikit-learn's shape (1,) tied bound
        est.lower_bound_ = np.array([est.lower_bound_])
        est.lower_bounds_ = [np.array([v]) for v in est.lower_bounds_]
    est.n_features_in_ = p.n_features
    if sk.get("feature_names_in"):
        est.feature_names_in_ = np.asarray(model.feature_names, dtype=object)
    if model.log_likelihood is not None and n > 0:
        est._gmm_desktop_fit = {"initial": model.initial, "trace": list(model.trace),
                                "log_likelihood": float(model.log_likelihood), "converged": bool(model.converged),
                                "n_samples": n, "sha256": str(model.data.get("sha256", ""))}
    return est
