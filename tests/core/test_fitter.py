"""The fitter's halves, continuing from a past state, locks, the statistics value and the engine seam."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from gmm_desktop.core import em, fast
from gmm_desktop.core.engine import Engine, Expectation, InMemoryEngine
from gmm_desktop.core.errors import FitError, ParamsError
from gmm_desktop.core.fitter import ComponentLock, EMFitter
from gmm_desktop.core.init import initial_params, params_from_means
from gmm_desktop.core.params import COVARIANCE_TYPES, GMMParams
from gmm_desktop.core.stats import SuffStats


def blobs(n_features, n_per=150, seed=0, centers=3):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.normal(scale=1.0 + 0.3 * c, size=(n_per, n_features)) + 4.0 * c for c in range(centers)]
    )


def narrowing_problem(n=6000, seed=0, width=0.003, spread=300.0):
    """Elongated clusters 0.003 wide in data ~600 across, started from the whole data's covariance:
    components become too narrow for the expanded moments at different iterations of the fit."""
    rng = np.random.default_rng(seed)
    k = 4
    centres = rng.uniform(-spread, spread, size=(k, 2))
    labels = rng.integers(0, k, size=n)
    z = rng.normal(size=(n, 2)) * np.array([2.0, width])
    angle = rng.uniform(0, np.pi, size=k)[labels]
    X = centres[labels] + np.column_stack([np.cos(angle) * z[:, 0] - np.sin(angle) * z[:, 1],
                                           np.sin(angle) * z[:, 0] + np.cos(angle) * z[:, 1]])
    return X, params_from_means(X, centres + rng.normal(scale=0.3, size=centres.shape))


def assert_params_close(a: GMMParams, b: GMMParams, tol=1e-10):
    for name in ("weights", "means", "covariances"):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(x, y, rtol=0, atol=tol * max(1.0, np.max(np.abs(y))), err_msg=name)


# --------------------------------------------------------------------------- statistics as a value
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_of_two_halves_add_up_to_those_of_the_whole(covariance_type):
    X = blobs(3, seed=1) + 40.0
    p = initial_params(X, 3, method="random", covariance_type=covariance_type, seed=2)
    center = X.mean(axis=0)
    anchors = {1: p.means[1] - center}  # one component computed directly, about its own mean
    whole = SuffStats.from_block(X, p, center=center, anchors=anchors)
    cut = 137
    a = SuffStats.from_block(X[:cut], p, center=center, anchors=anchors)
    b = SuffStats.from_block(X[cut:], p, center=center, anchors=anchors)
    for total in (a + b, SuffStats.sum([a, b]), sum([a, b]), SuffStats.zero(3, center, whole.anchors,
                                                                              whole.anchored) + a + b):
        assert total.n_samples == X.shape[0]
        assert total.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
        for name in ("nk", "s1", "s2"):
            scale = np.max(np.abs(getattr(whole, name)))
            np.testing.assert_allclose(getattr(total, name), getattr(whole, name), rtol=0, atol=1e-12 * scale)
    assert whole.log_likelihood == pytest.approx(em.log_likelihood(X, p), rel=1e-12)


def test_statistics_are_small_and_survive_pickling():
    X = blobs(2, n_per=5000)
    p = initial_params(X, 4, seed=0)
    s = SuffStats.from_block(X, p)
    blob = pickle.dumps(s)
    assert len(blob) < 4000  # O(K D^2) numbers, not O(N)
    back = pickle.loads(blob)
    assert_params_close(back.to_params("full"), s.to_params("full"), tol=0)
    with pytest.raises(ValueError):
        s.nk[0] = 1.0  # immutable


def test_statistics_with_other_anchors_refuse_to_add():
    X = blobs(2)
    p = initial_params(X, 3, seed=0)
    c = X.mean(axis=0)
    a = SuffStats.from_block(X[:100], p, center=c, anchors={})
    b = SuffStats.from_block(X[100:], p, center=c, anchors={0: p.means[0] - c})
    with pytest.raises(ValueError, match="same center and anchors"):
        a + b


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_give_the_reference_m_step(covariance_type):
    X = blobs(2, seed=3) + 1e4  # far from the origin
    p = initial_params(X, 3, method="random", covariance_type=covariance_type, seed=1)
    _, log_resp = em.e_step(X, p)
    expected = em.m_step(X, np.exp(log_resp), covariance_type, 1e-6)
    for anchors in (None, {0: p.means[0] - X.mean(axis=0)}):
        got = SuffStats.from_block(X, p, center=X.mean(axis=0), anchors=anchors).to_params(covariance_type, 1e-6)
        assert_params_close(got, expected, tol=1e-9)


# --------------------------------------------------------------------------- halves
def test_m_step_then_e_step_is_one_iteration():
    X = blobs(2, seed=4)
    p0 = initial_params(X, 3, seed=0)
    whole = EMFitter(X, p0, tol=0.0, max_iter=10)
    halves = EMFitter(X, p0, tol=0.0, max_iter=10)
    for i in range(1, 6):
        full = whole.step()
        m = halves.m_step()
        assert m.phase == "M" and m.iteration == i and halves.phase == "M"
        assert np.isnan(m.log_likelihood) and not halves.done
        assert len(halves.trace) == i - 1  # no log-likelihood until the E-step
        assert_params_close(m.params, full.params, tol=0)
        e = halves.e_step(return_resp=True)
        assert e.phase == "E" == full.phase and e.iteration == i
        assert e.log_likelihood == full.log_likelihood and halves.trace == whole.trace
        assert e.change == pytest.approx(full.change)
        np.testing.assert_allclose(e.resp, em.predict_proba(X, e.params), atol=1e-6)


def test_the_m_step_of_any_parameters_is_the_fitters_own_and_changes_nothing():
    # maximize(params, stats) is the M-step of m_step() (the hook the accelerated fitter uses),
    # for parameters the fitter is not at, with or without locks, including the narrow re-take
    X, p0 = narrowing_problem()
    fitter = EMFitter(X, p0, tol=0.0, max_iter=30)
    for _ in range(12):
        fitter.step()
    elsewhere = fitter.params
    probe = EMFitter(X, p0, tol=0.0, max_iter=30)
    before = (probe.params, probe.iteration, probe.phase, list(probe.trace), probe.e_stats)
    ll, stats = probe.expect(elsewhere)
    assert ll == fitter.snapshot.log_likelihood
    new = probe.maximize(elsewhere, stats)
    assert (probe.params, probe.iteration, probe.phase, list(probe.trace), probe.e_stats) == before
    assert_params_close(new, fitter.m_step().params, tol=0)
    locks = {1: ComponentLock(mean=True, weight=True)}
    locked = EMFitter(X, elsewhere, tol=0.0, locks=locks).m_step().params
    assert_params_close(probe.maximize(elsewhere, stats, locks=locks), locked, tol=0)
    np.testing.assert_array_equal(locked.means[1], elsewhere.means[1])


def test_the_public_checks_name_the_problem():
    X = blobs(2, seed=4)
    fitter = EMFitter(X, initial_params(X, 3, seed=0))
    with pytest.raises(FitError, match="log-likelihood is not finite"):
        fitter.check_log_likelihood(float("nan"))
    bad = GMMParams([0.5, 0.5], [[np.inf, 0.0], [0.0, 0.0]], [np.eye(2)] * 2, "full")
    with pytest.raises(FitError, match="M-step overflowed"):
        fitter.check_params(bad)


def test_half_steps_in_the_wrong_order():
    X = blobs(2, seed=5)
    fitter = EMFitter(X, initial_params(X, 3, seed=0), tol=0.0)
    before = fitter.snapshot
    assert fitter.e_step() is before and fitter.trace == []  # already done: nothing changes
    m = fitter.m_step()
    with pytest.raises(FitError, match="run the E-step first"):
        fitter.m_step()
    assert fitter.snapshot is m
    shown = fitter.snapshot_with_responsibilities()  # the new parameters' colours, before their E-step
    np.testing.assert_allclose(shown.resp, em.predict_proba(X, m.params), atol=1e-6)
    assert fitter.phase == "M" and fitter.trace == []
    done = fitter.step()  # in phase M, a step completes the iteration
    assert done.iteration == 1 and done.phase == "E" and len(fitter.trace) == 1


def test_a_failed_step_changes_nothing():
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 20, axis=0)
    p0 = params_from_means(X, [[0.0, 0.0], [1.0, 1.0]])
    fitter = EMFitter(X, p0, tol=0.0, reg_covar=0.0)  # both components collapse onto one point
    with pytest.raises(FitError):
        for _ in range(10):
            fitter.step()
    last = fitter.snapshot
    assert last.phase == "E" and last.iteration == len(fitter.trace)


# --------------------------------------------------------------------------- continuing
@pytest.mark.parametrize("fast_path", [True, False])
def test_continuing_from_a_past_iteration_is_the_same_fit(fast_path):
    X = blobs(2, seed=6, centers=4)
    p0 = params_from_means(X, [[0, 0], [4, 4], [8, 8], [12, 12]])
    straight = EMFitter(X, p0, tol=0.0, max_iter=8, fast=fast_path)
    snaps = [straight.step() for _ in range(8)]
    past = snaps[2]  # iteration 3
    resumed = EMFitter(X, past.params, tol=0.0, max_iter=8, fast=fast_path, iteration=3,
                       trace=straight.trace[:3])
    assert resumed.snapshot.iteration == 3 and resumed.snapshot.change == pytest.approx(past.change)
    nxt = resumed.step()
    assert nxt.iteration == 4
    assert_params_close(nxt.params, snaps[3].params, tol=1e-12)
    assert nxt.log_likelihood == pytest.approx(snaps[3].log_likelihood, rel=1e-12)
    final = resumed.run()
    assert final.iteration == 8 and len(resumed.trace) == 8
    np.testing.assert_allclose(resumed.trace, straight.trace, rtol=1e-12)


def test_continuing_needs_the_whole_trace():
    X = blobs(2)
    with pytest.raises(ParamsError, match="needs its 3 log-likelihoods"):
        EMFitter(X, initial_params(X, 2), iteration=3, trace=[-1.0])


def test_continuing_from_a_converged_iteration_runs_no_more():
    X = blobs(2, seed=7)
    fitter = EMFitter(X, initial_params(X, 3, seed=0), tol=1e-3)
    snap = fitter.run()
    assert snap.converged
    again = EMFitter(X, snap.params, tol=1e-3, iteration=snap.iteration, trace=fitter.trace)
    assert again.done and again.run().iteration == snap.iteration


# --------------------------------------------------------------------------- locks
def random_locks(rng, k):
    locks = {}
    for j in range(k):
        mean, cov, weight = (bool(v) for v in rng.random(3) < 0.35)
        if mean or cov or weight:
            locks[j] = ComponentLock(mean=mean, covariance=cov, weight=weight)
    if all(locks.get(j, ComponentLock()).weight for j in range(k)):
        locks.pop(0)  # leave one weight free
    return locks


@pytest.mark.parametrize("seed", range(40))
def test_locked_em_keeps_what_is_locked_and_never_lowers_the_log_likelihood(seed):
    rng = np.random.default_rng(1000 + seed)
    d = int(rng.integers(1, 4))
    k = int(rng.integers(2, 6))
    n = int(rng.integers(k + 20, 400))
    X = rng.normal(size=(n, d)) * rng.uniform(0.2, 5, size=d) + rng.integers(0, 3, size=(n, 1)) * 3.0
    ctype = COVARIANCE_TYPES[seed % 4]
    p0 = initial_params(X, k, method="random", covariance_type=ctype, seed=seed)
    locks = random_locks(rng, k)
    fitter = EMFitter(X, p0, tol=0.0, max_iter=40, locks=locks, fast=bool(seed % 3))
    previous = fitter.snapshot.log_likelihood
    for _ in range(40):
        snap = fitter.step()
        assert snap.log_likelihood >= previous - 1e-9 * max(1.0, abs(previous))
        previous = snap.log_likelihood
        p = snap.params
        assert p.weights.sum() == pytest.approx(1.0, abs=1e-12)
        for j, lock in locks.items():
            if lock.mean:
                np.testing.assert_array_equal(p.means[j], p0.means[j])
            if lock.weight:
                assert p.weights[j] == p0.weights[j]
            if lock.covariance:
                kept = p.covariances if ctype == "tied" else p.covariances[j]
                np.testing.assert_array_equal(kept, p0.covariances if ctype == "tied" else p0.covariances[j])


def test_a_locked_mean_gets_the_covariance_about_it():
    X = blobs(2, seed=8)
    p0 = initial_params(X, 3, seed=0)
    fitter = EMFitter(X, p0, tol=0.0, reg_covar=0.0, locks={1: ComponentLock(mean=True)})
    _, log_resp = em.e_step(X, p0)
    r = np.exp(log_resp[1])
    diff = X - p0.means[1]
    expected = (r[:, None] * diff).T @ diff / (r.sum() + 10 * np.finfo(float).eps)
    snap = fitter.step()
    np.testing.assert_allclose(snap.params.covariances[1], expected, rtol=1e-10)
    free = EMFitter(X, p0, tol=0.0, reg_covar=0.0).step()
    np.testing.assert_allclose(snap.weights, free.weights, rtol=1e-12)  # weights free: as without locks


def test_locked_weights_scale_the_free_ones():
    X = blobs(2, seed=9)
    p0 = GMMParams([0.5, 0.25, 0.25], [[0, 0], [4, 4], [8, 8]], [np.eye(2)] * 3)
    snap = EMFitter(X, p0, tol=0.0, locks={0: {"weight": True}}).step()
    free = EMFitter(X, p0, tol=0.0).step()
    assert snap.weights[0] == 0.5
    np.testing.assert_allclose(snap.weights[1:], free.weights[1:] / free.weights[1:].sum() * 0.5, rtol=1e-10)


def test_locks_that_leave_no_weight_are_refused():
    X = blobs(2)
    p0 = GMMParams([0.5, 0.5, 0.0], [[0, 0], [4, 4], [8, 8]], [np.eye(2)] * 3)
    with pytest.raises(ParamsError, match="locked weights sum to 1"):
        EMFitter(X, p0, locks={0: ComponentLock(weight=True), 1: ComponentLock(weight=True)})
    with pytest.raises(ParamsError, match="unknown lock"):
        EMFitter(X, p0, locks={0: ("means",)})


# --------------------------------------------------------------------------- no cliff
def test_components_becoming_narrow_are_handled_in_the_blocked_path(monkeypatch):
    X, p0 = narrowing_problem()
    refined, direct_e_steps = [], []
    original_refine, original_e_step = fast.Moments.refine, em.e_step
    monkeypatch.setattr(fast.Moments, "refine", lambda self, *a, **kw: refined.append(1) or original_refine(self, *a, **kw))
    monkeypatch.setattr(em, "e_step", lambda *a, **kw: direct_e_steps.append(1) or original_e_step(*a, **kw))
    fitter = EMFitter(X, p0, tol=0.0, max_iter=30)
    narrow_counts = []
    for _ in range(30):
        before = fitter.params
        snap = fitter.step()
        assert not direct_e_steps, "a whole direct E-step ran"
        narrow_counts.append(int(np.sum(fitter.engine.data.condition(snap.params) > fast.MAX_CONDITION)))
        # every M-step equals the reference one from the same parameters, each covariance to 1e-10 of
        # its own size (the narrow ones are ~1e-5 against a data radius of ~400)
        _, log_resp = original_e_step(X, before)
        expected = em.m_step(X, np.exp(log_resp), "full", 1e-6)
        np.testing.assert_allclose(snap.means, expected.means, rtol=0, atol=1e-10 * 300)
        for ours, theirs in zip(snap.params.covariances, expected.covariances):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10 * np.max(np.abs(theirs)))
        assert snap.log_likelihood == pytest.approx(em.log_likelihood(X, snap.params), rel=1e-12)
    assert narrow_counts[0] == 0 and narrow_counts[-1] >= 2  # they did become narrow mid-fit
    assert refined, "no component was re-taken after becoming narrow"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_component_that_shrinks_a_millionfold_in_one_step_keeps_every_digit(covariance_type):
    # two clusters 1e-3 wide, 2000 apart, started 30 wide: after the first M-step each covariance is
    # ~1e12 times smaller than the squared distance to the centre, so moments about the centre would
    # cancel 12 digits; they are re-taken about the new means instead
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(scale=1e-3, size=(500, 2)) + [-1000.0, 0.0],
                        rng.normal(scale=1e-3, size=(500, 2)) + [1000.0, 0.0]])
    wide = {"full": [1e3 * np.eye(2)] * 2, "tied": 1e3 * np.eye(2), "diag": np.full((2, 2), 1e3),
            "spherical": [1e3, 1e3]}[covariance_type]
    p0 = GMMParams([0.5, 0.5], [[-1000.0, 0.01], [1000.0, -0.01]], wide, covariance_type)
    fitter = EMFitter(X, p0, tol=0.0, max_iter=3)
    assert not np.any(fitter.engine.data.condition(p0) > fast.MAX_CONDITION)  # not narrow at the start
    for _ in range(3):
        before = fitter.params
        snap = fitter.step()
        _, log_resp = em.e_step(X, before)
        expected = em.m_step(X, np.exp(log_resp), covariance_type, 1e-6)
        np.testing.assert_allclose(snap.params.covariances, expected.covariances, rtol=1e-9)
        np.testing.assert_allclose(snap.means, expected.means, rtol=0, atol=1e-12 * 1000)


def test_many_features_use_the_blocked_direct_path_and_match_scikit_learn():
    X = blobs(10, n_per=300, seed=10)
    p0 = initial_params(X, 3, covariance_type="full", seed=0)
    fitter = EMFitter(X, p0, tol=0.0, max_iter=8)
    assert isinstance(fitter.engine, InMemoryEngine) and fitter.engine.data.F is None
    snap = fitter.run()
    ref = EMFitter(X, p0, tol=0.0, max_iter=8, fast=False).run()
    assert_params_close(snap.params, ref.params, tol=1e-10)
    gm = GaussianMixture(3, tol=0.0, max_iter=8, weights_init=p0.weights, means_init=p0.means,
                         precisions_init=np.linalg.inv(p0.covariances))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    np.testing.assert_allclose(snap.means, gm.means_, atol=1e-6 * np.max(np.abs(gm.means_)))
    assert snap.log_likelihood == pytest.approx(gm.score(X) * X.shape[0], rel=1e-9)


# --------------------------------------------------------------------------- the engine seam
class ChunkedEngine(Engine):
    """An engine as a distributed one would be: statistics per chunk, from the chunk alone, summed."""

    def __init__(self, X, chunk_rows):
        self.chunks = [X[i : i + chunk_rows] for i in range(0, X.shape[0], chunk_rows)]
        self.n_samples, self.n_features = X.shape
        self.center = X.mean(axis=0)
        self.radius2 = float(np.max(np.sum((X - self.center) ** 2, axis=1)))
        self.max_abs = float(np.max(np.abs(X)))
        self.calls = 0

    def expect(self, params, *, anchors=None, want_resp=False):
        self.calls += 1
        anchors = self.direct_anchors(params) if anchors is None else anchors
        parts = [pickle.loads(pickle.dumps(SuffStats.from_block(c, params, center=self.center, anchors=anchors)))
                 for c in self.chunks]
        stats = SuffStats.sum(parts)
        out = Expectation(stats.log_likelihood, stats)
        if want_resp:
            resp = np.concatenate([em.predict_proba(c, params) for c in self.chunks]).astype(np.float32)
            out = out._replace(resp=resp, labels=resp.argmax(axis=1).astype(np.int32))
        return out


def test_an_engine_over_chunks_gives_the_in_memory_results():
    X, p0 = narrowing_problem(n=3000, seed=1)
    engine = ChunkedEngine(X, 700)
    chunked = EMFitter(None, p0, tol=0.0, max_iter=25, engine=engine)
    memory = EMFitter(X, p0, tol=0.0, max_iter=25)
    for _ in range(25):
        a, b = chunked.step(), memory.step()
        assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-11)
    assert_params_close(a.params, b.params, tol=1e-9)
    assert engine.calls > 26  # refine fell back to a whole E-step over the chunks when one turned narrow
    assert chunked.snapshot_with_responsibilities().resp.shape == (3000, 4)
