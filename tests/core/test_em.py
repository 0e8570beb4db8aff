"""EM against scikit-learn, monotonicity, log-space robustness, and the notebook's problem."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from gmm_desktop.core import em
from gmm_desktop.core.em import EMFitter, e_step, log_likelihood, m_step
from gmm_desktop.core.errors import DataError, FitError, ParamsError
from gmm_desktop.core.init import initial_params, params_from_means
from gmm_desktop.core.params import COVARIANCE_TYPES, GMMParams

NOTEBOOK_CENTERS = np.array([[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]])


def blobs(n_features, n_per=150, seed=0, centers=3):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.normal(scale=1.0 + 0.3 * c, size=(n_per, n_features)) + 4.0 * c for c in range(centers)]
    )


def sklearn_after(X, p0, n_iter, reg_covar=1e-6):
    ct = p0.covariance_type
    precisions = np.linalg.inv(p0.covariances) if ct in ("full", "tied") else 1.0 / p0.covariances
    gm = GaussianMixture(p0.n_components, covariance_type=ct, tol=0.0, max_iter=n_iter, reg_covar=reg_covar,
                         weights_init=p0.weights, means_init=p0.means, precisions_init=precisions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges, as intended
        gm.fit(X)
    return gm


def assert_rel(actual, expected, rtol=1e-6):
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("n_features", [2, 3])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_iter", [1, 5, 25])
def test_matches_scikit_learn_after_n_iterations(n_features, covariance_type, n_iter):
    X = blobs(n_features, seed=n_features)
    p0 = initial_params(X, 3, method="kmeans++", covariance_type=covariance_type, seed=1)
    fitter = EMFitter(X, p0, tol=0.0, max_iter=n_iter)
    snap = fitter.run()
    assert snap.iteration == n_iter == len(fitter.trace)
    gm = sklearn_after(X, p0, n_iter)
    assert gm.n_iter_ == n_iter
    assert_rel(snap.weights, gm.weights_)
    assert_rel(snap.means, gm.means_)
    assert_rel(snap.params.covariances, gm.covariances_)
    assert snap.log_likelihood == pytest.approx(gm.score(X) * X.shape[0], rel=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_notebook_start_matches_scikit_learn(covariance_type):
    X = blobs(2, seed=5, centers=4)
    p0 = params_from_means(X, [[0, 0], [4, 4], [8, 8], [12, 12]], covariance_type)
    np.testing.assert_allclose(p0.full_covariances()[0], np.diag(np.diag(np.cov(X.T))) if covariance_type == "diag"
                               else np.cov(X.T) if covariance_type in ("full", "tied")
                               else np.eye(2) * np.diag(np.cov(X.T)).mean())
    np.testing.assert_allclose(p0.weights, 0.25)
    snap = EMFitter(X, p0, tol=0.0, max_iter=10).run()
    gm = sklearn_after(X, p0, 10)
    assert_rel(snap.means, gm.means_)
    assert_rel(snap.params.covariances, gm.covariances_)


@pytest.mark.parametrize("seed", range(40))
def test_log_likelihood_never_decreases_step_by_step(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 5))
    k = int(rng.integers(1, 7))
    n = int(rng.integers(k + 5, 300))
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d) + rng.integers(0, 3, size=(n, 1)) * 3.0
    ctype = COVARIANCE_TYPES[seed % 4]
    fitter = EMFitter(X, initial_params(X, k, method="random", covariance_type=ctype, seed=seed),
                      tol=0.0, max_iter=60)
    previous = fitter.snapshot.log_likelihood
    for _ in range(60):
        snap = fitter.step()
        assert np.isfinite(snap.log_likelihood)
        assert snap.log_likelihood >= previous - 1e-9 * max(1.0, abs(previous))
        previous = snap.log_likelihood


def test_far_point_stays_finite_in_log_space():
    X = np.array([[0.0, 0.0], [1.0, 0.5], [-0.5, 1.0], [0.3, -0.2]])
    params = GMMParams([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)], "full")
    far = np.vstack([X, [[1000.0, -1000.0]]])  # ~1,000 standard deviations from both means
    log_prob_norm, log_resp = e_step(far, params)
    assert np.all(np.isfinite(log_prob_norm)) and np.all(np.isfinite(log_resp))
    resp = np.exp(log_resp)
    np.testing.assert_allclose(resp.sum(axis=0), 1.0)
    assert log_prob_norm[-1] < -4e5
    # the naive density underflows to exactly 0 there: log space is what keeps it finite
    assert np.exp(log_prob_norm[-1]) == 0.0


def test_fitter_stops_on_notebook_rule_and_reports_change():
    X = blobs(2, seed=3, centers=4)
    fitter = EMFitter(X, params_from_means(X, [[0, 0], [4, 4], [8, 8], [12, 12]]), tol=1e-4, max_iter=1000)
    snap = fitter.run()
    assert snap.converged and 1 < snap.iteration < 1000
    assert abs(snap.change) < 1e-4
    assert abs(fitter.trace[-2] - fitter.trace[-3]) >= 1e-4  # it did not stop early
    assert snap.change == pytest.approx(fitter.trace[-1] - fitter.trace[-2])


def test_per_sample_rule_stops_earlier_than_total():
    X = blobs(2, n_per=2000, seed=4, centers=4)
    p0 = params_from_means(X, [[0, 0], [4, 4], [8, 8], [12, 12]])
    total = EMFitter(X, p0, tol=1e-4, tol_mode="total").run()
    per_sample = EMFitter(X, p0, tol=1e-4, tol_mode="per-sample").run()
    assert per_sample.converged and total.converged
    assert per_sample.iteration < total.iteration


def test_max_iter_bounds_a_run():
    X = blobs(2, seed=3)
    snap = EMFitter(X, initial_params(X, 3, seed=0), tol=0.0, max_iter=7).run()
    assert snap.iteration == 7 and not snap.converged


def test_snapshot_is_immutable_and_has_full_covariances():
    X = blobs(2)
    snap = EMFitter(X, initial_params(X, 3, covariance_type="diag"), max_iter=3).step(return_resp=True)
    assert snap.covariances.shape == (3, 2, 2)
    assert snap.resp.shape == (X.shape[0], 3) and snap.resp.dtype == np.float32
    with pytest.raises(ValueError):
        snap.means[0, 0] = 99.0


def test_notebook_problem_recovers_the_centres():
    from gmm_desktop.io.generator import generate

    data = generate("large", seed=0)
    assert data.X.shape == (10500, 2)
    rng = np.random.default_rng(7)
    guess = NOTEBOOK_CENTERS + rng.normal(scale=0.8, size=NOTEBOOK_CENTERS.shape)
    snap = EMFitter(data.X, params_from_means(data.X, guess)).run()
    assert snap.converged
    np.testing.assert_allclose(snap.means, NOTEBOOK_CENTERS, atol=0.1)
    np.testing.assert_allclose(snap.weights, 0.25, atol=0.01)


def test_m_step_uses_the_new_means_not_the_old():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    resp = np.ones((1, 4))
    params = m_step(X, resp, "full", reg_covar=0.0)
    np.testing.assert_allclose(params.means, [[1.0, 1.0]])
    np.testing.assert_allclose(params.covariances[0], np.eye(2), atol=1e-12)  # biased, around the new mean


def test_more_components_than_points_is_refused():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    p = GMMParams(np.full(3, 1 / 3), [[0, 0], [1, 1], [2, 2]], [np.eye(2)] * 3, "full")
    with pytest.raises(FitError, match="at most as many components as points"):
        EMFitter(X, p)


@pytest.mark.parametrize("kwargs,match", [
    ({"tol": -1.0}, "tol"), ({"tol_mode": "mean"}, "tol_mode"), ({"max_iter": 0}, "max_iter"),
    ({"reg_covar": float("nan")}, "reg_covar"),
])
def test_bad_settings_are_refused(kwargs, match):
    X = blobs(2)
    with pytest.raises(ParamsError, match=match):
        EMFitter(X, initial_params(X, 2), **kwargs)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_degenerate_data_finish_finite_or_fail_clearly(covariance_type):
    cases = {
        "identical": np.ones((50, 2)),
        "collinear": np.column_stack([np.arange(50.0), 2 * np.arange(50.0)]),
        "tiny": blobs(2, seed=1) * 1e-150,
        "two distinct": np.repeat([[0.0, 0.0], [1.0, 1.0]], 20, axis=0),
    }
    for name, X in cases.items():
        p0 = params_from_means(X, X[[0, -1]], covariance_type)
        snap = EMFitter(X, p0, max_iter=200).run()
        assert np.isfinite(snap.log_likelihood), name
        np.linalg.cholesky(snap.covariances)  # positive definite
        assert np.all(np.isfinite(snap.means)), name


@pytest.mark.parametrize("method", ["means", "kmeans++", "kmeans", "random"])
def test_huge_scale_is_refused_with_advice(method):
    X = blobs(2, seed=1) * 1e150  # squared distances would overflow (and crash SciPy's k-means++)
    with pytest.raises(DataError, match="divide the data by a constant"):
        initial_params(X, 3, method=method, means=X[:3])
    with pytest.raises(DataError, match="divide the data by a constant"):
        EMFitter(X, GMMParams(np.full(3, 1 / 3), X[:3], [np.eye(2)] * 3))


def test_collapsed_component_is_detected_and_can_be_reseeded_or_removed():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 2)), [[50.0, 50.0]]])  # one isolated point
    p0 = params_from_means(X, [[0.0, 0.0], [0.5, 0.5], [50.0, 50.0]])
    snap = EMFitter(X, p0, max_iter=100).run()
    assert 2 in snap.collapsed  # a component shrank onto the single far point
    reseeded = em.reseed_component(X, snap.params, 2)
    worst = X[np.argmin(em.score_samples(X, snap.params))]
    np.testing.assert_array_equal(reseeded.means[2], worst)
    assert 2 not in em.collapsed_components(reseeded, X.shape[0])
    assert reseeded.weights.sum() == pytest.approx(1.0)
    removed = em.remove_component(snap.params, 2)
    assert removed.n_components == 2 and removed.weights.sum() == pytest.approx(1.0)
    assert np.isfinite(EMFitter(X, removed).run().log_likelihood)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bic_aic_predict_score_match_scikit_learn(covariance_type):
    X = blobs(3, seed=2)
    p0 = initial_params(X, 3, covariance_type=covariance_type, seed=0)
    snap = EMFitter(X, p0, tol=0.0, max_iter=15).run()
    gm = sklearn_after(X, p0, 15)
    assert em.bic(X, snap.params) == pytest.approx(gm.bic(X), rel=1e-9)
    assert em.aic(X, snap.params) == pytest.approx(gm.aic(X), rel=1e-9)
    assert em.n_parameters(snap.params) == gm._n_parameters()
    np.testing.assert_allclose(em.score_samples(X, snap.params), gm.score_samples(X), rtol=1e-7)
    np.testing.assert_allclose(em.predict_proba(X, snap.params), gm.predict_proba(X), atol=1e-7)
    np.testing.assert_array_equal(em.predict(X, snap.params), gm.predict(X))
    assert log_likelihood(X, snap.params) == pytest.approx(snap.log_likelihood)


def test_sample_draws_from_the_mixture():
    params = GMMParams([0.3, 0.7], [[0.0, 0.0], [10.0, 10.0]], [np.eye(2), 4 * np.eye(2)], "full")
    X, labels = em.sample(params, 20000, seed=1)
    assert X.shape == (20000, 2)
    assert np.mean(labels == 1) == pytest.approx(0.7, abs=0.02)
    np.testing.assert_allclose(X[labels == 1].mean(axis=0), [10, 10], atol=0.1)
    np.testing.assert_allclose(np.cov(X[labels == 1].T), 4 * np.eye(2), atol=0.2)
    X2, _ = em.sample(params, 20000, seed=1)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("seed", range(12))
def test_fast_path_agrees_with_direct_computation(seed, monkeypatch):
    from gmm_desktop.core import fast

    calls = []
    original = fast.Moments.expect
    monkeypatch.setattr(fast.Moments, "expect", lambda self, *a, **kw: calls.append(1) or original(self, *a, **kw))
    rng = np.random.default_rng(100 + seed)
    d, k = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    X = rng.normal(size=(400, d)) * rng.uniform(0.5, 3, size=d) + rng.integers(0, 3, size=(400, 1)) * 4.0 + 50.0
    ctype = COVARIANCE_TYPES[seed % 4]
    p0 = initial_params(X, k, method="random", covariance_type=ctype, seed=seed)
    fast_fit = EMFitter(X, p0, tol=0.0, max_iter=20)
    direct = EMFitter(X, p0, tol=0.0, max_iter=20, fast=False)
    for _ in range(20):
        a = fast_fit.step(return_resp=True)
        b = direct.step(return_resp=True)
        assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-10)
    assert calls, "the fast path was not used"
    assert_rel(a.means, b.means, 1e-9)
    assert_rel(a.params.covariances, b.params.covariances, 1e-8)
    assert_rel(a.weights, b.weights, 1e-9)
    np.testing.assert_allclose(a.resp, b.resp, atol=1e-6)


def test_ill_conditioned_data_fall_back_and_still_match_scikit_learn():
    # two very tight clusters far apart: expanding the quadratic form would lose ~14 digits
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(scale=1e-3, size=(200, 2)), rng.normal(scale=1e-3, size=(200, 2)) + 1e5])
    p0 = initial_params(X, 2, covariance_type="full", seed=0)
    snap = EMFitter(X, p0, tol=0.0, max_iter=5).run()
    gm = sklearn_after(X, p0, 5)
    assert_rel(snap.means, gm.means_)
    np.testing.assert_allclose(snap.params.covariances, gm.covariances_, rtol=1e-6)
    assert snap.log_likelihood == pytest.approx(gm.score(X) * X.shape[0], rel=1e-9)


def test_large_data_use_threads_and_agree_with_direct_computation():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(120_000, 2)) + rng.integers(0, 4, size=(120_000, 1)) * 3.0
    p0 = initial_params(X, 4, seed=0)
    a = EMFitter(X, p0, tol=0.0, max_iter=3).run()
    b = EMFitter(X, p0, tol=0.0, max_iter=3, fast=False).run()
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-11)
    assert_rel(a.params.covariances, b.params.covariances, 1e-9)


@pytest.mark.parametrize("fast", [True, False])
def test_hard_labels_come_with_the_responsibilities(fast):
    X = blobs(2, n_per=300, seed=9)
    fitter = EMFitter(X, initial_params(X, 3, seed=0), fast=fast)
    snap = fitter.step(return_resp=True)
    np.testing.assert_array_equal(snap.labels, np.argmax(snap.resp, axis=1))
    again = fitter.snapshot_with_responsibilities()
    assert again.iteration == snap.iteration
    np.testing.assert_array_equal(again.labels, snap.labels)
    assert fitter.step().labels is None


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_far_from_the_origin_fit_as_well_as_near_it(covariance_type):
    # E[x^2] - mean^2 (scikit-learn's diag/tied/spherical M-step) loses every digit at an offset of
    # 1e8; the M-steps here work around each mean, on both paths
    X = blobs(2, seed=4)
    p0 = initial_params(X, 3, covariance_type=covariance_type, seed=0)
    near = EMFitter(X, p0, tol=0.0, max_iter=10).run()
    for offset in (1e6, 1e8):
        shifted = GMMParams(p0.weights, p0.means + offset, p0.covariances, covariance_type)
        for fast in (True, False):
            far = EMFitter(X + offset, shifted, tol=0.0, max_iter=10, fast=fast).run()
            np.testing.assert_allclose(far.params.covariances, near.params.covariances, rtol=1e-5)
            np.testing.assert_allclose(far.means - offset, near.means, atol=1e-6)


def test_a_component_with_no_points_goes_where_scikit_learn_puts_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) + 100.0
    p0 = GMMParams([0.5, 0.5], [[100.0, 100.0], [1000.0, 1000.0]], [np.eye(2), np.eye(2)], "full")
    fast = EMFitter(X, p0, tol=0.0, max_iter=3).run()
    direct = EMFitter(X, p0, tol=0.0, max_iter=3, fast=False).run()
    np.testing.assert_allclose(fast.means, direct.means, atol=1e-9)
    gm = sklearn_after(X, p0, 3)
    np.testing.assert_allclose(fast.means, gm.means_, atol=1e-9)


def test_rounding_never_decides_convergence_on_tight_far_apart_clusters():
    # clusters 1e3 apart and 0.05 wide: the moment expansion alone would add ~1e-3 of noise to the
    # total log-likelihood, more than tol; such components are computed directly
    rng = np.random.default_rng(1)
    centres = np.array([[-1000.0, 0.0], [0.0, 1000.0], [1000.0, 0.0]])
    X = np.concatenate([c + rng.normal(scale=0.05, size=(20_000, 2)) for c in centres])
    p0 = params_from_means(X, centres + 0.3)
    a = EMFitter(X, p0, max_iter=300)
    b = EMFitter(X, p0, max_iter=300, fast=False)
    sa, sb = a.run(), b.run()
    assert sa.iteration == sb.iteration and sa.converged == sb.converged
    np.testing.assert_allclose(a.trace, b.trace, rtol=0, atol=1e-6)
    assert np.all(np.diff(a.trace) >= -1e-9)


def test_fit_runs_to_convergence_in_one_call():
    X = blobs(2, seed=6, centers=4)
    snap, fitter = em.fit(X, params_from_means(X, [[0, 0], [4, 4], [8, 8], [12, 12]]))
    assert snap.converged and snap.iteration == len(fitter.trace) and snap is fitter.snapshot
