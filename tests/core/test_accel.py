"""SQUAREM-accelerated EM: EM's fixed point, a trace that never decreases, the safeguard, the budget."""

import numpy as np
import pytest

from gmm_desktop.core import accel
from gmm_desktop.core.accel import Coordinates, SquaremFitter, make_fitter
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.init import initial_params, params_from_means
from gmm_desktop.core.params import COVARIANCE_TYPES

NOTEBOOK_START = [[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]]


def separated(seed, n=600):
    """2-4 clusters in 1-3 dimensions, far enough apart that EM converges to one maximum."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    d = int(rng.integers(1, 4))
    centres = np.arange(k)[:, None] * 8.0 + rng.normal(size=(k, d))
    X = centres[rng.integers(0, k, size=n)] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    return X, k


def overlapping(seed, n=500):
    """Overlapping clusters of different shapes: EM crawls and extrapolations overshoot now and then."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 6))
    d = int(rng.integers(1, 3))
    centres = rng.normal(scale=3.0, size=(k, d))
    X = centres[rng.integers(0, k, size=n)] + rng.normal(size=(n, d)) * rng.uniform(0.3, 2.0, size=d)
    return X, k


def assert_same_mixture(a, b, atol=1e-6):
    np.testing.assert_allclose(a.weights, b.weights, rtol=0, atol=atol)
    np.testing.assert_allclose(a.means, b.means, rtol=0, atol=atol)
    np.testing.assert_allclose(a.full_covariances(), b.full_covariances(), rtol=0, atol=atol)


@pytest.mark.parametrize("seed", range(12))
def test_reaches_plain_em_fixed_point(seed):
    X, k = separated(seed)
    ctype = COVARIANCE_TYPES[seed % 4]
    p0 = initial_params(X, k, method="kmeans++", covariance_type=ctype, seed=seed)
    # plain EM's fixed point, to far tighter a tolerance than the fits compared with it
    fixed_point = EMFitter(X, p0, tol=1e-12, max_iter=2000).run()
    plain = EMFitter(X, p0, tol=1e-9, max_iter=2000).run()
    fitter = SquaremFitter(X, p0, tol=1e-9, max_iter=2000)
    fast = fitter.run()
    assert fixed_point.converged and fast.converged
    assert_same_mixture(fast.params, fixed_point.params)
    assert fast.log_likelihood >= plain.log_likelihood - 1e-7
    assert fitter.n_em_steps <= plain.iteration + 3


@pytest.mark.parametrize("ctype", COVARIANCE_TYPES)
def test_notebook_problem_same_answer_in_fewer_em_steps(ctype):
    from gmm_desktop.io.generator import demo_dataset

    X = demo_dataset().X
    p0 = params_from_means(X, NOTEBOOK_START, ctype)
    plain_fitter = EMFitter(X, p0, tol=1e-8)
    plain = plain_fitter.run()
    fitter = SquaremFitter(X, p0, tol=1e-8)
    fast = fitter.run()
    assert fast.converged
    # plain EM crawls here, so its own stopping point is only near the maximum: same maximum, and
    # the accelerated fit no lower
    assert_same_mixture(fast.params, plain.params, atol=1e-4)
    assert fast.log_likelihood >= plain.log_likelihood - 1e-6
    assert fitter.n_em_steps < plain.iteration
    assert fitter.n_extrapolations > 0


@pytest.mark.parametrize("seed", range(16))
def test_trace_never_decreases(seed):
    X, k = overlapping(seed)
    ctype = COVARIANCE_TYPES[seed % 4]
    p0 = initial_params(X, k, method="random", covariance_type=ctype, seed=seed)
    fitter = SquaremFitter(X, p0, tol=0.0, max_iter=150)
    previous = fitter.snapshot.log_likelihood
    while not fitter.done:
        snap = fitter.step()
        assert np.isfinite(snap.log_likelihood)
        assert snap.log_likelihood >= previous  # exactly: every kept point is checked
        previous = snap.log_likelihood
    assert np.all(np.diff(fitter.trace) >= 0)
    assert fitter.n_em_steps <= 150
    # the snapshot describes the parameters it holds
    assert fitter.snapshot.log_likelihood == pytest.approx(
        EMFitter(X, fitter.params, fast=False).snapshot.log_likelihood, rel=1e-10)


def test_safeguard_falls_back_when_extrapolation_overshoots():
    # steps of at least 40 times the EM step overshoot: every such point is refused and the cycle
    # takes the plain EM step instead, so the fit is plain EM's
    X, k = separated(3)
    p0 = initial_params(X, k, method="kmeans++", covariance_type="full", seed=3)
    plain = EMFitter(X, p0, tol=1e-9, max_iter=5000).run()
    fitter = SquaremFitter(X, p0, tol=1e-9, max_iter=5000, step_min=40.0, step_max=40.0)
    snap = fitter.run()
    assert fitter.n_fallbacks > 0
    assert fitter.n_fallbacks >= fitter.n_extrapolations
    assert np.all(np.diff(fitter.trace) >= 0)
    assert snap.converged
    assert_same_mixture(snap.params, plain.params)


def test_safeguard_survives_extrapolations_that_overflow():
    # a step of 1e6 sends the log-variances to overflow: the point is unusable, never an error
    X, k = overlapping(2)
    p0 = initial_params(X, k, method="random", covariance_type="diag", seed=2)
    fitter = SquaremFitter(X, p0, tol=0.0, max_iter=60, step_min=1e6, step_max=1e6)
    fitter.run()
    assert fitter.n_fallbacks > 0 and fitter.n_extrapolations == 0
    # every cycle fell back: the iterates are plain EM's, two per cycle
    plain = EMFitter(X, p0, tol=0.0, max_iter=len(fitter.trace))
    plain.run()
    np.testing.assert_allclose(fitter.trace, plain.trace, rtol=1e-12)
    assert_same_mixture(fitter.params, plain.params, atol=1e-10)


def test_safeguard_exercised_on_a_natural_hard_problem():
    # overlapping clusters, random start: the default schedule's long steps sometimes overshoot
    fallbacks = 0
    for seed in range(4):
        X, k = overlapping(seed)
        p0 = initial_params(X, k, method="random", covariance_type=COVARIANCE_TYPES[seed % 4], seed=seed)
        fitter = SquaremFitter(X, p0, tol=1e-8, max_iter=1500)
        fitter.run()
        fallbacks += fitter.n_fallbacks
        assert np.all(np.diff(fitter.trace) >= 0)
    assert fallbacks > 0


@pytest.mark.parametrize("max_iter", [1, 2, 3, 4, 7, 10])
def test_max_iter_bounds_em_steps(max_iter):
    X, k = overlapping(2)
    p0 = initial_params(X, k, method="random", seed=2)
    fitter = SquaremFitter(X, p0, tol=0.0, max_iter=max_iter)
    snap = fitter.run()
    assert fitter.n_em_steps <= max_iter
    assert len(fitter.trace) == snap.iteration >= 1
    if max_iter == 1:  # one EM step: exactly plain EM's first iteration
        assert_same_mixture(snap.params, EMFitter(X, p0, tol=0.0, max_iter=1).run().params, atol=1e-12)


def test_per_sample_tolerance_is_plain_em_rule():
    X, k = overlapping(1)
    p0 = initial_params(X, k, method="random", seed=1)
    fitter = SquaremFitter(X, p0, tol=1e-3, tol_mode="per-sample")
    snap = fitter.run()
    assert snap.converged and snap.iteration >= 2
    assert fitter.stopped_on_decrease or abs(snap.change) / X.shape[0] < 1e-3
    # with the total rule at the same number the fit goes on further
    total = SquaremFitter(X, p0, tol=1e-3, tol_mode="total")
    total.run()
    assert total.n_em_steps >= fitter.n_em_steps


@pytest.mark.parametrize("ctype", COVARIANCE_TYPES)
def test_coordinates_round_trip(ctype):
    X, k = separated(7)
    p = initial_params(X, k, method="kmeans++", covariance_type=ctype, seed=7)
    c = Coordinates.for_mixture(p)
    # after an M-step the mixture's overall mean and spread are the data's (its units)
    np.testing.assert_allclose(c.center, X.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(c.scale, X.std(axis=0), rtol=0.01)  # spherical: one variance for all features
    back = c.to_params(c.to_vector(p))
    assert_same_mixture(back, p, atol=1e-12)
    # every vector is a valid mixture
    rng = np.random.default_rng(0)
    v = c.to_vector(p) + rng.normal(scale=3.0, size=c.to_vector(p).shape)
    c.to_params(v).validated()


def test_make_fitter_and_bad_option():
    X, k = separated(0)
    p0 = initial_params(X, k, seed=0)
    assert type(make_fitter(X, p0)) is EMFitter
    assert type(make_fitter(X, p0, accelerate="squarem")) is SquaremFitter
    with pytest.raises(ParamsError, match="accelerate must be one of none, squarem"):
        make_fitter(X, p0, accelerate="fast")
    snap, fitter = accel.fit(X, p0, accelerate="squarem")
    assert snap.converged and isinstance(fitter, SquaremFitter)


@pytest.mark.parametrize("name, k", [("faithful.csv", 2), ("iris.csv", 3)])
def test_never_more_em_steps_than_plain_em_where_em_is_quick(name, k):
    """Where plain EM converges in a handful of steps (Old Faithful: 5), SQUAREM must not cost more:
    the stabilising step of a kept extrapolation is a plain EM step and ends the fit by the same rule."""
    from pathlib import Path

    from gmm_desktop.io.datasets import load_data

    X = load_data(Path(__file__).resolve().parents[2] / "resources" / name).X
    p0 = initial_params(X, k, method="kmeans++", seed=0)
    plain = EMFitter(X, p0, tol=1e-4)
    plain_snap = plain.run()
    fast = SquaremFitter(X, p0, tol=1e-4)
    snap = fast.run()
    assert plain_snap.converged and snap.converged
    assert fast.n_em_steps <= plain_snap.iteration
    assert snap.log_likelihood >= plain_snap.log_likelihood - 1e-6 * abs(plain_snap.log_likelihood)
