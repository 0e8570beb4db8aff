"""Any number of features, 1 to 32: the fitter (fast path up to MAX_FAST_FEATURES, direct beyond)
agrees with scikit-learn from the same start."""

import numpy as np
import pytest

from gmm_desktop.core import fast
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.init import initial_params
from gmm_desktop.core.params import COVARIANCE_TYPES
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

