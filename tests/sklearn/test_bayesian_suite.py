"""scikit-learn's own BayesianGaussianMixture tests, run against gmm_desktop.sklearn.BayesianGaussianMixture."""

from sklearn.mixture.tests import test_bayesian_mixture as sk_tests
from sklearn_suite_helpers import import_tests, substitute_fixture

from gmm_desktop.sklearn import BayesianGaussianMixture

#: Every test of sklearn/mixture/tests/test_bayesian_mixture.py that builds an estimator. Left out:
#: test_log_dirichlet_norm and test_log_wishart_norm, which test scikit-learn's private helper
#: functions and never build one (see docs/sklearn.md).
PUBLIC_API_TESTS = [
    "test_bayesian_mixture_weights_prior_initialisation",
    "test_bayesian_mixture_mean_prior_initialisation",
    "test_bayesian_mixture_precisions_prior_initialisation",
    "test_bayesian_mixture_check_is_fitted",
    "test_bayesian_mixture_weights",
    "test_monotonic_likelihood",
    "test_compare_covar_type",
    "test_check_covariance_precision",
    "test_invariant_translation",
    "test_bayesian_mixture_fit_predict",
    "test_bayesian_mixture_fit_predict_n_init",
    "test_bayesian_mixture_predict_predict_proba",
]

import_tests(globals(), sk_tests, PUBLIC_API_TESTS)

#: Every test above builds our class where it says BayesianGaussianMixture.
_our_estimator = substitute_fixture(sk_tests, "BayesianGaussianMixture", BayesianGaussianMixture)
