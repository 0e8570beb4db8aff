"""Model selection: criteria against scikit-learn, picking the true K, restarts, progress and
cancel, the table (the ``select`` command is tested in tests/cli/test_select.py)."""

import math
import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from gmm_desktop.core import em
from gmm_desktop.core.errors import FitError, GMMError, ParamsError
from gmm_desktop.core.params import COVARIANCE_TYPES
from gmm_desktop.core.selection import (
    SelectionCancelled,
    count_parameters,
    information_criteria,
    parse_covariance_types,
    restart_seeds,
    select_model,
)
from gmm_desktop.io.generator import generate
from tests.blob_data import blobs, separated_centers
from gmm_desktop.io.provenance import candidate_settings
from gmm_desktop.io.selection_table import selection_table_text


@pytest.fixture(scope="module")
def X3():
    return blobs(3, 60, seed=0)


# --------------------------------------------------------------------------- criteria
def sklearn_model(params):
    """A scikit-learn GaussianMixture holding ``params`` as its fitted state."""
    ct = params.covariance_type
    gm = GaussianMixture(params.n_components, covariance_type=ct)
    gm.weights_ = np.array(params.weights)
    gm.means_ = np.array(params.means)
    gm.covariances_ = np.array(params.covariances)
    gm.precisions_cholesky_ = _compute_precision_cholesky(gm.covariances_, ct)
    gm.n_features_in_ = params.n_features
    gm.converged_, gm.n_iter_, gm.lower_bound_ = True, 1, 0.0
    return gm


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bic_and_aic_equal_scikit_learn(X3, covariance_type):
    result = select_model(X3, k_min=1, k_max=4, covariance_types=(covariance_type,), n_init=1)
    assert [c.k for c in result.candidates] == [1, 2, 3, 4]
    for c in result.candidates:
        gm = sklearn_model(c.params)
        assert c.n_parameters == gm._n_parameters() == em.n_parameters(c.params)
        assert c.bic == pytest.approx(gm.bic(X3), rel=1e-10)
        assert c.aic == pytest.approx(gm.aic(X3), rel=1e-10)
        assert c.bic == pytest.approx(em.bic(X3, c.params), rel=1e-12)
        assert c.aic == pytest.approx(em.aic(X3, c.params), rel=1e-12)
        assert c.log_likelihood == pytest.approx(em.log_likelihood(X3, c.params), rel=1e-12)


def test_criteria_match_scikit_learn_fit_from_same_start(X3):
    """scikit-learn's own EM from our start, same number of iterations, gives the same BIC/AIC."""
    c = select_model(
        X3, k_min=3, k_max=3, covariance_types="diag", n_init=1, tol=0.0, max_iter=20
    ).best
    p0 = c.initial
    gm = GaussianMixture(
        3,
        covariance_type="diag",
        tol=0.0,
        max_iter=20,
        weights_init=p0.weights,
        means_init=p0.means,
        precisions_init=1.0 / p0.covariances,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges, as intended
        gm.fit(X3)
    assert c.n_iter == 20
    assert c.bic == pytest.approx(gm.bic(X3), rel=1e-7)
    assert c.aic == pytest.approx(gm.aic(X3), rel=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("k,d", [(1, 1), (3, 2), (5, 4)])
def test_count_parameters_matches_em(covariance_type, k, d):
    params = em.m_step(
        np.random.default_rng(0).normal(size=(20, d)), np.full((k, 20), 1.0 / k), covariance_type
    )
    assert count_parameters(k, d, covariance_type) == em.n_parameters(params)


def test_information_criteria_definitions():
    bic, aic = information_criteria(-100.0, 7, 50)
    assert bic == pytest.approx(200.0 + 7 * math.log(50))
    assert aic == pytest.approx(214.0)


# --------------------------------------------------------------------------- picks the true K
@pytest.mark.slow
def test_picks_the_true_k_on_well_separated_data():
    """Measured over 10 seeds per K (see docs/model-selection.md); here 2 seeds per K, K = 2..6."""
    hits, picks = 0, []
    for k in range(2, 7):
        for seed in (0, 1):
            X = blobs(k, 100, seed=seed)
            chosen = select_model(X, k_min=1, k_max=8, n_init=1, seed=seed).best.k
            picks.append((k, chosen))
            hits += chosen == k
    assert hits / len(picks) >= 0.8, picks


def test_a_fit_collapsed_onto_one_point_is_not_chosen():
    """Four spherical blobs: the K = 5 fit of seed 1 puts a component on a single point, which
    gives a lower BIC than the true K = 4 (scikit-learn with 20 starts finds no such fit and
    prefers K = 4)."""
    X = blobs(4, 100, seed=0)
    result = select_model(X, k_min=4, k_max=5, covariance_types="spherical", n_init=3, seed=0)
    four, five = result.candidates
    assert five.collapsed and five.bic < four.bic
    assert not four.collapsed
    assert result.best is four
    assert any("K = 5 (spherical)" in n and "collapsed" in n for n in result.notes)


def test_best_falls_back_to_collapsed_candidates_when_all_collapsed():
    X = np.repeat([[0.0, 0.0], [4.0, 0.5], [0.5, 4.0]], 5, axis=0)
    result = select_model(X, k_min=3, k_max=3, covariance_types="spherical", n_init=1)
    assert result.candidates[0].collapsed
    assert result.best is result.candidates[0]


# --------------------------------------------------------------------------- restarts
def test_restart_seeds_are_base_plus_index():
    assert restart_seeds(7, 3) == [7, 8, 9]


def test_restarts_never_worse_than_the_first_start():
    X = blobs(5, 30, seed=0)
    one = select_model(X, k_min=2, k_max=7, n_init=1, seed=1)
    three = select_model(X, k_min=2, k_max=7, n_init=3, seed=1)
    for a, b in zip(one.candidates, three.candidates):
        assert (a.k, a.covariance_type) == (b.k, b.covariance_type)
        assert b.restart_log_likelihoods[0] == a.log_likelihood  # the same first start
        assert b.log_likelihood >= a.log_likelihood
        assert b.log_likelihood == max(b.restart_log_likelihoods)
        assert b.seed == 1 + b.restart_log_likelihoods.index(b.log_likelihood)
    # the restarts matter on this data: some candidate is strictly better than its first start
    assert any(
        b.log_likelihood > a.log_likelihood + 1e-6 for a, b in zip(one.candidates, three.candidates)
    )


def test_same_seed_same_result(X3):
    a = select_model(X3, k_min=1, k_max=4, n_init=2, seed=11)
    b = select_model(X3, k_min=1, k_max=4, n_init=2, seed=11)
    assert selection_table_text(a) == selection_table_text(b)
    np.testing.assert_array_equal(a.best.params.means, b.best.params.means)


# --------------------------------------------------------------------------- progress and cancel
def test_progress_is_called_total_times(X3):
    calls = []
    result = select_model(
        X3,
        k_min=1,
        k_max=3,
        covariance_types="full,spherical",
        n_init=2,
        progress=lambda done, total, cand: calls.append((done, total, cand)),
    )
    total = 3 * 2 * 2
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert all(c[1] == total for c in calls)
    finished = [c[2] for c in calls if c[2] is not None]
    assert [i + 1 for i, c in enumerate(calls) if c[2] is not None] == list(range(2, total + 1, 2))
    assert finished == list(result.candidates)
    assert [(c.covariance_type, c.k) for c in finished] == [
        ("full", 1),
        ("full", 2),
        ("full", 3),
        ("spherical", 1),
        ("spherical", 2),
        ("spherical", 3),
    ]


def test_cancel_between_fits_keeps_finished_candidates(X3):
    seen = []
    with pytest.raises(SelectionCancelled) as info:
        select_model(
            X3,
            k_min=1,
            k_max=6,
            n_init=2,
            progress=lambda d, t, c: seen.append(d),
            should_stop=lambda: len(seen) >= 5,
        )
    partial = info.value.result
    assert isinstance(info.value, GMMError) and "cancelled" in str(info.value)
    assert seen == [1, 2, 3, 4, 5]  # no fit after the request
    assert not partial.complete
    assert [c.k for c in partial.candidates] == [1, 2]  # the half-done K = 3 is dropped
    assert partial.best is not None and partial.best.k in (1, 2)


def test_cancel_inside_an_em_run_is_prompt(X3):
    polls = []

    def should_stop():
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(SelectionCancelled) as info:
        select_model(
            X3, k_min=5, k_max=5, n_init=1, tol=0.0, max_iter=10_000, should_stop=should_stop
        )
    assert len(polls) == 4  # one before the fit, then one per EM iteration
    assert info.value.result.candidates == ()
    assert info.value.result.best is None


# --------------------------------------------------------------------------- edge cases
def test_k_above_distinct_points_is_skipped_with_a_note():
    X = np.repeat([[0.0, 0.0], [4.0, 0.5], [0.5, 4.0], [5.0, 5.0]], 5, axis=0)
    result = select_model(X, k_min=1, k_max=6, n_init=1, covariance_types="spherical")
    assert [c.k for c in result.candidates] == [1, 2, 3, 4]
    assert any("5 to 6 skipped" in n and "4 distinct points" in n for n in result.notes)


def test_k_min_above_distinct_points_is_refused():
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 4, axis=0)
    with pytest.raises(ParamsError, match="3 distinct points"):
        select_model(X, k_min=4, k_max=6)


def test_failed_candidates_are_recorded_not_fatal():
    # three distinct points, no regularisation: K = 1 fits; K >= 2 leaves a component with a
    # singular covariance, which fails for every restart.
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 10, axis=0)
    result = select_model(X, k_min=1, k_max=3, n_init=2, reg_covar=0.0)
    ok = [c for c in result.candidates if c.ok]
    failed = [c for c in result.candidates if not c.ok]
    assert [c.k for c in ok] == [1] and [c.k for c in failed] == [2, 3]
    for c in failed:
        assert c.error and c.params is None and math.isnan(c.bic) and math.isnan(c.log_likelihood)
        assert all(math.isnan(v) for v in c.restart_log_likelihoods)
    assert result.best.k == 1
    assert any("K = 2 (full) failed" in n for n in result.notes)
    lines = selection_table_text(result).splitlines()
    assert lines[2].startswith("2,full,nan,11,nan,nan")
    with pytest.raises(FitError, match="every candidate failed"):
        select_model(X, k_min=2, k_max=3, n_init=1, reg_covar=0.0)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"k_min": 0}, "k_min"),
        ({"k_min": 4, "k_max": 3}, "k_min"),
        ({"n_init": 0}, "n_init"),
        ({"k_max": 2.5}, "k_max"),
        ({"seed": -1}, "seed"),
        ({"criterion": "icl"}, "criterion"),
        ({"covariance_types": "full,banana"}, "banana"),
        ({"covariance_types": ()}, "at least one"),
        ({"tol": -1.0}, "tol"),
    ],
)
def test_bad_options_raise_params_error(X3, options, match):
    with pytest.raises(ParamsError, match=match):
        select_model(X3, **options)


def test_parse_covariance_types():
    assert parse_covariance_types(" full, Diag,full ") == ("full", "diag")
    assert parse_covariance_types(["tied"]) == ("tied",)


def test_best_by_other_criterion_and_model_settings(X3):
    result = select_model(
        X3, k_min=1, k_max=4, covariance_types=("full", "diag"), criterion="aic", n_init=1, seed=3
    )
    sound = [c for c in result.candidates if not c.collapsed]
    assert result.best is result.best_by("aic")
    assert result.best_by("aic").aic == min(c.aic for c in sound)
    assert result.best_by("bic").bic == min(c.bic for c in sound)
    s = candidate_settings(result)
    assert s["init"] == "kmeans++" and s["seed"] == result.best.seed == 3
    assert s["selection"] == {
        "criterion": "aic",
        "k_min": 1,
        "k_max": 4,
        "covariance_types": ["full", "diag"],
        "n_init": 1,
        "seed": 3,
        "n_candidates": 8,
    }
