"""The variational mixture against scikit-learn's BayesianGaussianMixture, surplus components losing
their weight, a lower bound that never decreases, and the fitter's stepping interface."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from gmm_desktop.core import vb
from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.init import initial_params, params_from_means
from gmm_desktop.core.params import COVARIANCE_TYPES

CENTRES = np.array([[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]])


def blobs(n_features=2, n_per=80, seed=0, centers=4, scale=0.8):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.normal(scale=scale, size=(n_per, n_features)) + 4.0 * c for c in range(centers)]
    )


def random_resp(n, k, seed):
    r = np.random.default_rng(seed).random((n, k))
    return r / r.sum(axis=1, keepdims=True)


def sklearn_from_resp(X, resp, n_iter, covariance_type, weight_prior, **priors):
    """scikit-learn's own fit(), started from ``resp`` (its initialisation replaced by ours)."""
    bgm = BayesianGaussianMixture(n_components=resp.shape[1], covariance_type=covariance_type,
                                  weight_concentration_prior_type=weight_prior, tol=0.0, max_iter=n_iter,
                                  random_state=0, **priors)
    bgm._initialize_parameters = lambda X_, random_state, xp=None: bgm._initialize(X_, resp)
    with pytest.warns(ConvergenceWarning):  # tol=0 never converges, as intended
        bgm.fit(X)
    assert bgm.n_iter_ == n_iter
    return bgm


def assert_rel(actual, expected, rtol=1e-6):
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("weight_prior", vb.WEIGHT_PRIORS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features,n_iter", [(2, 1), (2, 30), (3, 12)])
def test_matches_scikit_learn_from_the_same_responsibilities(covariance_type, weight_prior, fast, n_features, n_iter):
    X = blobs(n_features, seed=n_features)
    resp = random_resp(len(X), 7, seed=n_iter)
    fitter = vb.VBFitter.from_responsibilities(X, resp, covariance_type, weight_prior=weight_prior,
                                               tol=0.0, max_iter=n_iter, fast=fast)
    snap = fitter.run()
    assert snap.iteration == n_iter == len(fitter.trace)
    bgm = sklearn_from_resp(X, resp, n_iter, covariance_type, weight_prior)
    assert_rel(snap.weights, bgm.weights_)
    assert_rel(snap.means, bgm.means_)
    assert_rel(snap.params.covariances, bgm.covariances_)
    assert snap.lower_bound == pytest.approx(float(np.ravel(bgm.lower_bound_)[0]), rel=1e-9)
    assert_rel(fitter.trace, np.ravel(bgm.lower_bounds_).astype(float), rtol=1e-9)
    post = fitter.posterior
    assert_rel(post.mean_precision, bgm.mean_precision_)
    assert_rel(post.degrees_of_freedom, bgm.degrees_of_freedom_)
    assert_rel(post.weight_concentration, np.asarray(bgm.weight_concentration_))
    # the expectations predict as scikit-learn's posterior predicts
    np.testing.assert_array_equal(fitter.snapshot_with_responsibilities().labels, bgm.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_priors_given_explicitly_match_scikit_learn(covariance_type):
    X = blobs(2, seed=11)
    resp = random_resp(len(X), 5, seed=3)
    d = X.shape[1]
    cov_prior = {"full": np.array([[2.0, 0.3], [0.3, 1.0]]), "tied": np.array([[2.0, 0.3], [0.3, 1.0]]),
                 "diag": np.array([2.0, 1.0]), "spherical": 1.5}[covariance_type]
    given = dict(weight_concentration_prior=0.5, mean_precision_prior=0.2, mean_prior=np.array([1.0, 2.0]),
                 degrees_of_freedom_prior=d + 1.5, covariance_prior=cov_prior)
    priors = vb.default_priors(X, 5, covariance_type, weight_prior="dirichlet_distribution",
                               weight_concentration=0.5, mean_precision=0.2, mean=[1.0, 2.0],
                               degrees_of_freedom=d + 1.5, covariance=cov_prior)
    fitter = vb.VBFitter.from_responsibilities(X, resp, covariance_type, priors=priors, tol=0.0, max_iter=10)
    snap = fitter.run()
    bgm = sklearn_from_resp(X, resp, 10, covariance_type, "dirichlet_distribution", **given)
    assert_rel(snap.weights, bgm.weights_)
    assert_rel(snap.means, bgm.means_)
    assert_rel(snap.params.covariances, bgm.covariances_)
    assert snap.lower_bound == pytest.approx(float(np.ravel(bgm.lower_bound_)[0]), rel=1e-9)


def test_default_priors_are_scikit_learns():
    X = blobs(3, seed=4)
    bgm = BayesianGaussianMixture(n_components=6, covariance_type="diag")
    bgm._check_parameters(X)
    priors = vb.default_priors(X, 6, "diag")
    assert priors.weight_prior == "dirichlet_process"
    assert priors.weight_concentration == bgm.weight_concentration_prior_ == pytest.approx(1 / 6)
    assert priors.mean_precision == bgm.mean_precision_prior_
    np.testing.assert_allclose(priors.mean, bgm.mean_prior_)
    assert priors.degrees_of_freedom == bgm.degrees_of_freedom_prior_
    np.testing.assert_allclose(priors.covariance, bgm.covariance_prior_)


@pytest.mark.parametrize("weight_prior", vb.WEIGHT_PRIORS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_twelve_components_on_four_clusters_keep_four(covariance_type, weight_prior):
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.normal(c, 0.5, size=(150, 2)) for c in CENTRES])
    p0 = initial_params(X, 12, method="kmeans++", covariance_type=covariance_type, seed=3)
    snap = vb.VBFitter(X, p0, weight_prior=weight_prior, tol=1e-3, max_iter=2000).run()
    assert snap.converged
    kept = np.flatnonzero(snap.weights > 0.01)
    assert len(kept) == 4
    assert set(snap.pruned) == set(range(12)) - set(kept.tolist())
    # one surviving component on each true centre, each with about a quarter of the weight
    dist = np.linalg.norm(snap.means[kept][:, None, :] - CENTRES[None], axis=2)
    assert sorted(np.argmin(dist, axis=1).tolist()) == [0, 1, 2, 3]
    assert np.max(np.min(dist, axis=1)) < 0.2
    np.testing.assert_allclose(snap.weights[kept], 0.25, atol=0.02)


@pytest.mark.parametrize("fast", [True, False])
def test_lower_bound_never_decreases_over_many_random_problems(fast):
    rng = np.random.default_rng(2026)
    for trial in range(32):
        d = int(rng.integers(1, 4))
        k = int(rng.integers(1, 9))
        n = int(rng.integers(max(k, 2) + 5, 300))
        ctype = COVARIANCE_TYPES[trial % 4]
        prior = vb.WEIGHT_PRIORS[(trial // 4) % 2]
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=d) + rng.normal(scale=5.0, size=d)
        n_cl = int(rng.integers(1, 5))
        X += rng.normal(scale=4.0, size=(n_cl, d))[rng.integers(0, n_cl, size=n)]
        resp = random_resp(n, k, seed=trial)
        conc = float(10.0 ** rng.uniform(-3, 2))
        fitter = vb.VBFitter.from_responsibilities(X, resp, ctype, weight_prior=prior, weight_concentration=conc,
                                                   tol=0.0, max_iter=30, fast=fast)
        bounds = [fitter.lower_bound]
        for _ in range(30):
            bounds.append(fitter.step().lower_bound)
        steps = np.diff(bounds)
        slack = 1e-9 * max(1.0, np.max(np.abs(bounds)))
        assert np.all(steps >= -slack), (trial, ctype, prior, d, k, n, steps.min())


def test_fast_path_equals_direct_computation():
    X = blobs(2, n_per=400, seed=9)
    p0 = initial_params(X, 8, method="kmeans++", covariance_type="full", seed=0)
    a = vb.VBFitter(X, p0, tol=0.0, max_iter=40, fast=True).run()
    b = vb.VBFitter(X, p0, tol=0.0, max_iter=40, fast=False).run()
    assert a.lower_bound == pytest.approx(b.lower_bound, rel=1e-10)
    assert_rel(a.means, b.means, rtol=1e-9)
    assert_rel(a.weights, b.weights, rtol=1e-9)


def test_half_steps_are_the_full_step_and_phases_follow():
    X = blobs(2, seed=1)
    p0 = params_from_means(X, CENTRES + 0.5)
    whole = vb.VBFitter(X, p0, tol=0.0, max_iter=10)
    halves = vb.VBFitter(X, p0, tol=0.0, max_iter=10)
    assert whole.snapshot.iteration == 0 and whole.snapshot.phase == "E"
    assert np.isnan(whole.snapshot.change)
    for i in range(1, 6):
        full = whole.step(return_resp=True)
        m = halves.m_step()
        assert m.phase == "M" and m.iteration == i and m.resp is None
        e = halves.e_step(return_resp=True)
        assert e.phase == "E" and e.iteration == i
        assert e.lower_bound == full.lower_bound == m.lower_bound
        np.testing.assert_array_equal(e.means, full.means)
        np.testing.assert_array_equal(e.resp, full.resp)
        assert e.resp.shape == (len(X), 4)
    assert halves.trace == whole.trace


def test_snapshot_reads_like_an_em_snapshot():
    X = blobs(2, seed=2)
    p0 = initial_params(X, 6, method="kmeans++", covariance_type="diag", seed=0)
    fitter = vb.VBFitter(X, p0, tol=1e-6, max_iter=500)
    snap = fitter.run()
    assert snap.method == "vb"
    assert snap.log_likelihood == snap.lower_bound == fitter.trace[-1]
    assert snap.covariances.shape == (6, 2, 2)
    assert snap.params.validated() is snap.params  # proper weights summing to 1, SPD covariances
    assert snap.collapsed == ()
    assert fitter.done and snap.converged and snap.iteration == len(fitter.trace)
    assert abs(snap.change) < 1e-6


def test_tol_stops_as_scikit_learn_does():
    X = blobs(2, seed=6)
    resp = random_resp(len(X), 5, seed=0)
    ours = vb.VBFitter.from_responsibilities(X, resp, "full", tol=1e-3, max_iter=500).run()
    bgm = BayesianGaussianMixture(n_components=5, tol=1e-3, max_iter=500)
    bgm._initialize_parameters = lambda X_, random_state, xp=None: bgm._initialize(X_, resp)
    bgm.fit(X)
    assert bgm.converged_ and ours.converged
    assert ours.iteration == bgm.n_iter_
    assert_rel(ours.means, bgm.means_)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(weight_prior="dirichlet"), "weight prior"),
        (dict(weight_concentration=0.0), "weight concentration"),
        (dict(weight_concentration=float("nan")), "weight concentration"),
        (dict(mean_precision=-1.0), "mean precision"),
        (dict(degrees_of_freedom=0.5), "degrees-of-freedom"),
        (dict(covariance=np.array([[1.0, 2.0], [2.0, 1.0]])), "positive definite"),
        (dict(covariance=np.eye(3)), "shape"),
    ],
)
def test_bad_priors_are_refused_with_a_clear_message(kwargs, words):
    X = blobs(2, seed=0)
    with pytest.raises(ParamsError, match=words):
        vb.default_priors(X, 4, "full", **kwargs)


def test_constant_feature_is_refused_not_nan():
    X = blobs(2, seed=0)
    X[:, 1] = 3.0
    with pytest.raises(ParamsError, match="constant|singular"):
        vb.default_priors(X, 4, "diag")
    with pytest.raises(ParamsError, match="constant|singular"):
        vb.default_priors(X, 4, "full")


def test_priors_round_trip_through_a_dict():
    X = blobs(3, seed=0)
    for ctype in COVARIANCE_TYPES:
        p = vb.default_priors(X, 5, ctype, weight_concentration=2.5)
        q = vb.VBPriors.from_dict(p.to_dict(), ctype)
        assert q.to_dict() == p.to_dict()
    with pytest.raises(ParamsError, match="weight_prior"):
        vb.VBPriors.from_dict({"weight_concentration": 1.0}, "full")


def test_log_likelihood_of_the_expectations_can_be_tracked():
    from gmm_desktop.core.em import log_likelihood

    X = blobs(2, seed=3)
    p0 = initial_params(X, 5, method="kmeans++", seed=0)
    for fast in (True, False):
        fitter = vb.VBFitter(X, p0, tol=0.0, max_iter=6, track_log_likelihood=True, fast=fast)
        fitter.run()
        assert len(fitter.log_likelihood_trace) == len(fitter.trace) == 6
        assert fitter.log_likelihood_trace[-1] == pytest.approx(log_likelihood(X, fitter.params), rel=1e-10)
    assert vb.VBFitter(X, p0, max_iter=3).run() is not None and not vb.VBFitter(X, p0).log_likelihood_trace


def test_fast_path_equals_direct_with_a_narrow_component():
    # a tight cluster far from the others: the fast path computes that component directly
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 6.0,
                        rng.normal(scale=1e-3, size=(60, 2)) + [40.0, -30.0]])
    p0 = params_from_means(X, [[0.0, 0.0], [6.0, 6.0], [40.0, -30.0], [3.0, 3.0]])
    # a covariance prior as small as the tight cluster (the default, the data's covariance, widens it)
    priors = vb.default_priors(X, 4, "full", covariance=np.eye(2) * 1e-6)
    a = vb.VBFitter(X, p0, priors=priors, tol=0.0, max_iter=15, fast=True)
    b = vb.VBFitter(X, p0, priors=priors, tol=0.0, max_iter=15, fast=False)
    a.run()
    b.run()
    from gmm_desktop.core import fast as _fast

    assert _fast.Moments(X).direct_anchors(a.params)  # the case this test is about
    np.testing.assert_allclose(a.trace, b.trace, rtol=1e-9)
    assert_rel(a.params.means, b.params.means, rtol=1e-9)
    assert_rel(a.params.covariances, b.params.covariances, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_a_fit_continued_from_a_past_snapshot_is_the_same_fit(covariance_type):
    """The window's history: going on from iteration 5 (after its E-step, or after its M-step alone)
    gives the iterations 6.. of the uninterrupted fit, with the same trace and iteration count."""
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(c, 0.6, (80, 2)) for c in [(0, 0), (6, 0), (0, 6), (6, 6)]])
    start = params_from_means(X, X[rng.choice(len(X), 10, replace=False)], covariance_type, 1e-6)
    whole = vb.VBFitter(X, start, tol=0.0)
    for _ in range(9):
        whole.step()
    part = vb.VBFitter(X, start, tol=0.0)
    for _ in range(5):
        at_five = part.step()
    m_six = part.m_step()  # a snapshot of phase "M": continuing from it redoes nothing twice
    for snap, trace in ((at_five, part.trace[:5]), (m_six, part.trace[:6])):
        go_on = vb.VBFitter.from_snapshot(X, snap, trace=trace, tol=0.0)
        assert go_on.iteration == snap.iteration and go_on.phase == "E"
        while go_on.iteration < 9:
            go_on.step()
        np.testing.assert_allclose(go_on.params.means, whole.params.means, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(go_on.trace, whole.trace, rtol=1e-12)
    with pytest.raises(ParamsError, match="needs its 5 lower bounds"):
        vb.VBFitter.from_snapshot(X, at_five, trace=[1.0])
