"""Any number of features, 1 to 32: the fitter (fast path up to MAX_FAST_FEATURES, direct beyond)
agrees with scikit-learn from the same start."""

import numpy as np
import pytest

from gmm_desktop.core import fast
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.init import initial_params
from gmm_desktop.core.params import COVARIANCE_TYPES, GMMParams
from tests.core.test_em import assert_rel, sklearn_after


def wide_blobs(n_features, n_per=120, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(3, n_features))
    return np.concatenate([rng.normal(scale=1.0 + 0.4 * c, size=(n_per, n_features)) + centres[c] for c in range(3)])


#: both sides of the fast path's feature limit, and far beyond it
WIDTHS = sorted({1, 2, 3, 5, fast.MAX_FAST_FEATURES, fast.MAX_FAST_FEATURES + 1, 16, 32})


@pytest.mark.parametrize("n_features", WIDTHS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_any_width_matches_scikit_learn(n_features, covariance_type):
    X = wide_blobs(n_features, seed=n_features)
    p0 = initial_params(X, 3, method="kmeans++", covariance_type=covariance_type, seed=2)
    snap = EMFitter(X, p0, tol=0.0, max_iter=12).run()
    gm = sklearn_after(X, p0, 12)
    assert snap.means.shape == (3, n_features) and snap.covariances.shape == (3, n_features, n_features)
    assert_rel(snap.weights, gm.weights_)
    assert_rel(snap.means, gm.means_)
    assert_rel(snap.params.covariances, gm.covariances_)
    assert snap.log_likelihood == pytest.approx(gm.score(X) * X.shape[0], rel=1e-9)



def narrowing_wide(n_features, offset, seed=0):
    """Three clusters 1e-3 wide ~50 apart and one 3 wide among them, ``offset`` from the origin, started
    30 wide: after the first M-step the narrow ones are ~1e9 times too narrow for moments about the
    data's centre (computed directly, moments re-taken about their means), the wide one is not."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=15.0, size=(4, n_features))
    scales = np.array([1e-3, 2e-3, 1e-3, 3.0])
    labels = rng.integers(0, 4, size=2000)
    X = centres[labels] + rng.normal(size=(2000, n_features)) * scales[labels, None] + offset
    return X, centres + offset + rng.normal(scale=0.1, size=centres.shape)


@pytest.mark.parametrize("offset", [0.0, 1e6])
@pytest.mark.parametrize("n_features", [16, 32])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_wide_diagonal_fits_with_narrow_components_far_out_match_the_reference(covariance_type, n_features, offset,
                                                                               monkeypatch):
    X, means = narrowing_wide(n_features, offset, seed=n_features)
    var = np.full((4, n_features), 30.0) if covariance_type == "diag" else np.full(4, 30.0)
    p0 = GMMParams(np.full(4, 0.25), means, var, covariance_type)
    refined = []
    original_refine = fast.Moments.refine
    monkeypatch.setattr(fast.Moments, "refine", lambda self, *a, **kw: refined.append(1) or original_refine(self, *a, **kw))
    ours = EMFitter(X, p0, tol=0.0, max_iter=8)
    reference = EMFitter(X, p0, tol=0.0, max_iter=8, fast=False)
    for _ in range(8):
        a, b = ours.step(), reference.step()
        # each variance to 1e-9 of its own size: the narrow ones are 1e-6 in data ~50 across
        np.testing.assert_allclose(a.params.covariances, b.params.covariances, rtol=1e-9)
        np.testing.assert_allclose(a.means, b.means, rtol=0, atol=1e-9 * max(1.0, offset))
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10)
        assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-10)
    assert refined, "no narrow component was re-taken about its mean"
    narrow = ours.engine.data.condition(a.params) > fast.MAX_CONDITION
    assert narrow.sum() == 3 and not narrow[3]  # the wide one stayed on the expansion
    if offset == 0.0:  # scikit-learn expands about the origin: far out it loses the narrow variances
        gm = sklearn_after(X, p0, 8)
        assert_rel(a.params.covariances, gm.covariances_)
        assert_rel(a.means, gm.means_)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_wide_diagonal_fits_in_float32_agree_with_float64(covariance_type):
    X = wide_blobs(24, n_per=1500, seed=5) + 100.0
    p0 = initial_params(X, 3, method="kmeans++", covariance_type=covariance_type, seed=1)
    a = EMFitter(X, p0, tol=0.0, max_iter=30).run()
    b = EMFitter(X, p0, tol=0.0, max_iter=30, dtype="float32").run()
    assert np.max(np.abs(a.means - b.means) / X.std(axis=0)) < 1e-4
    np.testing.assert_allclose(b.params.covariances, a.params.covariances, rtol=1e-4)
    assert abs(a.log_likelihood - b.log_likelihood) / len(X) < 1e-5


def test_wide_diagonal_statistics_refuse_a_full_m_step():
    X = wide_blobs(16, seed=3)
    p0 = initial_params(X, 3, covariance_type="diag", seed=0)
    stats = EMFitter(X, p0).engine.expect(p0).stats
    assert stats.diagonal
    with pytest.raises(ValueError, match="only the diagonals"):
        stats.to_params("full")
    assert stats.to_params("diag").covariances.shape == (3, 16)
