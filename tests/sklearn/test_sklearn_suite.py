"""scikit-learn's own GaussianMixture tests, run against gmm_desktop.sklearn.GaussianMixture."""

from sklearn.mixture.tests import test_gaussian_mixture as sk_tests

from gmm_desktop.sklearn import GaussianMixture

from sklearn_suite_helpers import import_tests, substitute_fixture

#: Tests of sklearn/mixture/tests/test_gaussian_mixture.py that exercise the estimator through its
#: public API. Left out (see docs/sklearn.md): tests of scikit-learn's private helper functions, which
#: never build an estimator; tests calling private methods or patching private functions; the array
#: API tests (the core computes with NumPy).
PUBLIC_API_TESTS = [
    "test_gaussian_mixture_attributes",
    "test_check_weights",
    "test_check_means",
    "test_check_precisions",
    "test_gaussian_mixture_estimate_log_prob_resp",
    "test_gaussian_mixture_predict_predict_proba",
    "test_gaussian_mixture_fit_predict",
    "test_gaussian_mixture_fit_predict_n_init",
    "test_gaussian_mixture_fit",
    "test_gaussian_mixture_fit_best_params",
    "test_gaussian_mixture_fit_convergence_warning",
    "test_multiple_init",
    "test_bic_1d_1component",
    "test_gaussian_mixture_aic_bic",
    "test_gaussian_mixture_verbose",
    "test_warm_start",
    "test_convergence_detected_with_warm_start",
    "test_score",
    "test_score_samples",
    "test_monotonic_likelihood",
    "test_regularisation",
    "test_fitted_precision_covariance_concistency",
    "test_sample",
    "test_init",
    "test_gaussian_mixture_setting_best_params",
    "test_init_means_not_duplicated",
    "test_means_for_all_inits",
    "test_max_iter_zero",
    "test_gaussian_mixture_precisions_init_diag",
    "test_gaussian_mixture_single_component_stable",
]

#: Warnings scikit-learn's own test run does not turn into errors (its pytest settings make only some
#: warnings errors; ours make them all): KMeans, inside the initialisation, warns that ten clusters
#: were asked of data with two distinct points, which is what test_regularisation sets up; and
#: test_gaussian_mixture_setting_best_params fits with max_iter=1 to check the result of a fit that
#: did not converge, which warns so.
EXPECTED_WARNINGS = {
    "test_regularisation": ["ignore:Number of distinct clusters:sklearn.exceptions.ConvergenceWarning"],
    "test_gaussian_mixture_setting_best_params": [
        "ignore:Best performing initialization did not converge:sklearn.exceptions.ConvergenceWarning"],
}

import_tests(globals(), sk_tests, PUBLIC_API_TESTS, EXPECTED_WARNINGS)

#: Every test above builds our class where it says GaussianMixture.
_our_estimator = substitute_fixture(sk_tests, "GaussianMixture", GaussianMixture)
