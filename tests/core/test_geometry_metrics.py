import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from gmm_desktop.core.geometry import ellipse_points, ellipses_points
from gmm_desktop.core.metrics import adjusted_rand_index


@pytest.mark.parametrize("seed", range(6))
def test_adjusted_rand_index_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 4, 300), rng.integers(0, 3, 300)
    b[:150] = a[:150]  # partly agreeing
    for x, y in ((a, b), (a * 7 + 3, b), (a.astype(str), b), (a, np.zeros(300, int)), (a, a[::-1])):
        assert adjusted_rand_index(x, y) == pytest.approx(adjusted_rand_score(x, y), abs=1e-12)


def test_adjusted_rand_index_ignores_label_names():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert adjusted_rand_index(a, np.array([5, 5, 9, 9, 1, 1])) == 1.0


def test_ellipse_points_lie_on_the_n_sigma_contour():
    mean, cov = np.array([2.0, -1.0]), np.array([[3.0, 1.2], [1.2, 1.0]])
    for n_sigma in (1.0, 2.0, 3.0):
        pts = ellipse_points(mean, cov, n_sigma, 64)
        d = pts - mean
        maha = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
        np.testing.assert_allclose(maha, n_sigma**2, rtol=1e-10)
        np.testing.assert_allclose(pts[0], pts[-1])


def test_ellipses_points_agree_with_one_at_a_time():
    means = np.array([[0.0, 0.0], [5.0, 5.0]])
    covs = np.array([[[2.0, 0.5], [0.5, 1.0]], [[1.0, 0.0], [0.0, 4.0]]])
    many = ellipses_points(means, covs, (1.0, 2.0, 3.0), 50)
    assert many.shape == (2, 3, 50, 2)
    for k in range(2):
        for s, n_sigma in enumerate((1.0, 2.0, 3.0)):
            np.testing.assert_allclose(many[k, s], ellipse_points(means[k], covs[k], n_sigma, 50), atol=1e-12)
