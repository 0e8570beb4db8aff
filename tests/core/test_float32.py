"""``dtype='float32'``: the E-step's blocks hold the data in single precision, the totals stay float64.

Stated tolerance (docs/performance.md, "float32 data"): against the float64 fit from the same start
and the same number of iterations, means within 1e-4 of each feature's standard deviation,
covariances within 1e-4 of each covariance's largest entry, weights within 1e-4; the float64
log-likelihood of the float32 parameters within 1e-7 per point of the float64 fit's; the reported
(float32) log-likelihood within 1e-5 per point of the exact value of its parameters.
"""

import numpy as np
import pytest

from gmm_desktop.core.accel import SquaremFitter
from gmm_desktop.core.em import log_likelihood
from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.init import initial_params
from gmm_desktop.core.params import COVARIANCE_TYPES
from gmm_desktop.core.selection import select_model


def blobs(d, k, n, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    return centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels] + 100.0


def assert_agree(X, a, b):
    sd = X.std(axis=0)
    assert np.max(np.abs(a.means - b.means) / sd) < 1e-4
    ca, cb = a.params.full_covariances(), b.params.full_covariances()
    for x, y in zip(ca, cb):
        assert np.max(np.abs(x - y)) < 1e-4 * np.max(np.abs(x))
    assert np.max(np.abs(a.weights - b.weights)) < 1e-4
    n = X.shape[0]
    exact_a, exact_b = log_likelihood(X, a.params), log_likelihood(X, b.params)
    assert abs(exact_b - exact_a) / n < 1e-7
    assert abs(b.log_likelihood - exact_b) / n < 1e-5


# 2 and 5 features: the expanded path; 12: every component direct
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d,k", [(2, 4), (5, 3), (12, 3)])
def test_float32_fit_agrees_with_float64(d, k, covariance_type):
    X = blobs(d, k, 3000, seed=d)
    p0 = initial_params(X, k, covariance_type=covariance_type, seed=0)
    a = EMFitter(X, p0, tol=0.0, max_iter=60).run()
    f32 = EMFitter(X, p0, tol=0.0, max_iter=60, dtype="float32")
    b = f32.run()
    assert b.iteration == a.iteration == 60
    assert_agree(X, a, b)
    assert f32.trace[-1] == b.log_likelihood and np.isfinite(f32.trace).all()


def test_float32_holds_the_data_in_half_the_memory():
    X = blobs(2, 3, 5000, seed=1)
    p0 = initial_params(X, 3, seed=0)
    e64, e32 = EMFitter(X, p0).engine.data, EMFitter(X, p0, dtype="float32").engine.data
    assert e32.F.dtype == np.float32 and e64.F.dtype == np.float64
    assert e32.F.nbytes * 2 == e64.F.nbytes
    X = blobs(12, 3, 2000, seed=1)
    p0 = initial_params(X, 3, seed=0)
    assert EMFitter(X, p0, dtype="float32").engine.data.Xt.dtype == np.float32


def test_float32_accelerated_and_selection_agree_with_float64():
    X = blobs(2, 3, 4000, seed=3)
    p0 = initial_params(X, 3, seed=0)
    a = SquaremFitter(X, p0, tol=1e-9, tol_mode="per-sample").run()
    b = SquaremFitter(X, p0, tol=1e-9, tol_mode="per-sample", dtype="float32").run()
    assert a.converged and b.converged
    sd = X.std(axis=0)
    assert np.max(np.abs(a.means - b.means) / sd) < 1e-4
    assert abs(log_likelihood(X, a.params) - log_likelihood(X, b.params)) / len(X) < 1e-7
    r64 = select_model(X, k_min=2, k_max=4, n_init=1, tol=1e-3, tol_mode="per-sample")
    r32 = select_model(X, k_min=2, k_max=4, n_init=1, tol=1e-3, tol_mode="per-sample", dtype="float32")
    assert r32.best.k == r64.best.k == 3 and r32.settings["dtype"] == "float32"


def test_components_becoming_narrow_stay_usable_in_float32():
    # clusters 0.01 wide, ~600 apart (R^2 / lambda ~ 1e9): moments re-taken about the new means
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(scale=0.01, size=(800, 2)) + c for c in ([-300.0, 0.0], [300.0, 5.0], [0.0, 300.0])])
    p0 = initial_params(X, 3, seed=0)
    a = EMFitter(X, p0, tol=0.0, max_iter=25).run()
    b = EMFitter(X, p0, tol=0.0, max_iter=25, dtype="float32").run()
    np.testing.assert_allclose(b.means, a.means, atol=1e-4)  # float32 of values ~300: ~2e-5
    np.testing.assert_allclose(np.sqrt(b.params.covariances[:, [0, 1], [0, 1]]),
                               np.sqrt(a.params.covariances[:, [0, 1], [0, 1]]), rtol=0.05)


@pytest.mark.parametrize("bad", ["float16", "double", 32, None])
def test_bad_dtype_is_refused_with_the_choices(bad):
    X = blobs(2, 2, 200, seed=0)
    p0 = initial_params(X, 2, seed=0)
    with pytest.raises(ParamsError, match="dtype must be one of float64, float32"):
        EMFitter(X, p0, dtype=bad)
    with pytest.raises(ParamsError, match="dtype must be one of"):
        select_model(X, k_min=1, k_max=2, dtype=bad)


def test_float32_needs_the_fast_engine():
    X = blobs(2, 2, 200, seed=0)
    with pytest.raises(ParamsError, match="fast engine"):
        EMFitter(X, initial_params(X, 2, seed=0), fast=False, dtype="float32")


def test_numpy_types_are_accepted():
    X = blobs(2, 2, 500, seed=0)
    p0 = initial_params(X, 2, seed=0)
    assert EMFitter(X, p0, dtype=np.float32).dtype == "float32"
