"""Our GaussianMixture gives scikit-learn's results from the same start, and holds no
(n_samples, n_components) array while fitting."""

import contextlib
import io
import pickle
import re
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gmm_desktop.sklearn import GaussianMixture

TYPES = ["full", "tied", "diag", "spherical"]
INITS = ["kmeans", "k-means++", "random", "random_from_data"]


def blobs(n=3000, d=2, seed=0, offset=0.0):
    rng = np.random.RandomState(seed)
    centers = np.array([[0, 0, 0], [6, 1, -2], [2, 7, 3], [9, 8, 1]], dtype=float)[:, :d]
    X = np.vstack([c + rng.randn(n // 4, d) @ (np.eye(d) + 0.3 * rng.randn(d, d)) for c in centers])
    return X + offset


def both(**params):
    return GaussianMixture(**params), SklearnGaussianMixture(**params)


def assert_same_fit(ours, theirs, rtol=1e-6, atol=1e-8):
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=atol, err_msg=name)
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype, name
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9)
    assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-9)


@pytest.mark.parametrize("init_params", INITS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_fit_and_predictions_as_sklearn(covariance_type, init_params):
    X = blobs()
    kw = dict(n_components=4, covariance_type=covariance_type, init_params=init_params, random_state=3,
              max_iter=500, tol=1e-8)
    ours, theirs = both(**kw)
    labels = ours.fit_predict(X)
    assert_array_equal(labels, theirs.fit_predict(X))
    assert_same_fit(ours, theirs)
    Xn = blobs(n=400, seed=9)
    assert_allclose(ours.predict_proba(Xn), theirs.predict_proba(Xn), rtol=1e-6, atol=1e-9)
    assert_allclose(ours.score_samples(Xn), theirs.score_samples(Xn), rtol=1e-9)
    assert_array_equal(ours.predict(Xn), theirs.predict(Xn))
    assert_allclose([ours.score(Xn), ours.bic(Xn), ours.aic(Xn)],
                    [theirs.score(Xn), theirs.bic(Xn), theirs.aic(Xn)], rtol=1e-9)
    # the same random_state draws the same samples
    assert_allclose(ours.sample(50)[0], theirs.sample(50)[0], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_fixed_iterations_from_given_start(covariance_type):
    """Means, weights and precisions given, a fixed number of iterations (tol=0): the same path."""
    X = blobs(d=3, seed=1)
    means = X[[10, 900, 1600, 2500]]
    precisions = {"full": np.stack([np.eye(3)] * 4), "tied": np.eye(3), "diag": np.ones((4, 3)),
                  "spherical": np.ones(4)}[covariance_type]
    kw = dict(n_components=4, covariance_type=covariance_type, weights_init=[0.1, 0.2, 0.3, 0.4],
              means_init=means, precisions_init=precisions, tol=0, max_iter=25)
    ours, theirs = both(**kw)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        ours.fit(X)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        theirs.fit(X)
    assert_same_fit(ours, theirs)


def test_same_best_of_n_init_and_float32():
    X = blobs(seed=2).astype(np.float32)
    ours, theirs = both(n_components=4, n_init=4, random_state=0, tol=1e-6)
    ours.fit(X)
    theirs.fit(X)
    assert ours.means_.dtype == np.float32 and ours.predict_proba(X).dtype == np.float32
    # scikit-learn computes in float32 here, we in float64: equal to float32's precision
    order_o, order_t = np.argsort(ours.means_[:, 0]), np.argsort(theirs.means_[:, 0])
    assert_allclose(ours.means_[order_o], theirs.means_[order_t], rtol=1e-3, atol=1e-3)
    assert_allclose(ours.weights_[order_o], theirs.weights_[order_t], rtol=1e-3, atol=1e-4)
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-5)


def test_warm_start_continues_like_sklearn():
    X = blobs(seed=4)
    ours, theirs = both(n_components=4, warm_start=True, max_iter=2, random_state=1, tol=1e-10)
    for _ in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours.fit(X)
            theirs.fit(X)
        assert_same_fit(ours, theirs)


def test_far_from_origin_narrow_components():
    """Data 1e5 from the origin with components 1e-2 wide: the core's guarded fast path still
    gives scikit-learn's full-covariance fit."""
    X = blobs(seed=5) * 1e-2 + 1e5
    ours, theirs = both(n_components=4, random_state=0, tol=1e-6, max_iter=300)
    ours.fit(X)
    theirs.fit(X)
    assert_same_fit(ours, theirs, rtol=1e-6, atol=1e-12)


def test_verbose_output_matches_sklearn():
    X = blobs(seed=6)

    def output(est):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            est.fit(X)
        return re.sub(r"\d+\.\d+s", "T", buf.getvalue())  # times differ

    for verbose in (1, 2):
        ours, theirs = both(n_components=4, random_state=0, verbose=verbose, verbose_interval=2, n_init=2)
        text = output(ours)
        assert text == output(theirs)
        assert "Initialization 1" in text and "converged" in text


def test_validation_messages_are_sklearns():
    X = blobs(n=40)
    for bad in (dict(n_components=0), dict(covariance_type="round"), dict(tol=-1.0), dict(init_params="x")):
        messages = []
        for est in both(**bad):
            with pytest.raises(ValueError) as info:
                est.fit(X)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        assert "parameter of GaussianMixture must be" in messages[0]


def test_clone_pickle_and_isinstance():
    X = blobs(n=400)
    est = GaussianMixture(n_components=3, random_state=0).fit(X)
    assert isinstance(est, SklearnGaussianMixture)
    assert clone(est).get_params() == est.get_params()
    again = pickle.loads(pickle.dumps(est))
    assert_allclose(again.predict_proba(X), est.predict_proba(X))


def test_fit_holds_no_samples_by_components_array():
    """fit_predict on 200,000 points needs about as much memory with 32 components as with 4: nothing
    of size N x K is allocated (N x 32 float64s are 51 MB; scikit-learn's fit holds several)."""
    rng = np.random.RandomState(0)
    X = rng.randn(200_000, 2)
    n = X.shape[0]

    def peak(k, init):
        est = GaussianMixture(n_components=k, init_params=init, max_iter=2, tol=0, random_state=0)
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                labels = est.fit_predict(X)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert labels.shape == (n,)

    for init in ("random_from_data", "random", "k-means++"):
        small, large = peak(4, init), peak(32, init)
        assert large < 0.5 * n * 32 * 8, (init, large)
        assert large - small < 4 * n * 8, (init, small, large)  # k-means++ keeps ~log K distances a point
