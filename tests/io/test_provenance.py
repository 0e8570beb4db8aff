"""The settings block of a model file is built in one place, from how the start was made."""

import pytest

from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.selection import select_model
from gmm_desktop.io.generator import generate
from gmm_desktop.io.provenance import Start, candidate_settings, model_settings, start_from_settings


def test_model_settings_holds_the_em_settings_then_the_start():
    block = model_settings({"tol": 0.5, "max_iter": 7, "unrelated": 1}, Start("kmeans", 3))
    assert block == {"tol": 0.5, "tol_mode": "total", "max_iter": 7, "reg_covar": 1e-6, "init": "kmeans", "seed": 3}
    assert list(block)[:4] == ["tol", "tol_mode", "max_iter", "reg_covar"]


def test_a_start_refuses_what_fit_could_not_repeat():
    with pytest.raises(ParamsError, match="init must be one of"):
        Start("magic", 0)
    with pytest.raises(ParamsError, match="seed must be a whole number >= 0"):
        Start("kmeans++", -1)


def test_a_candidate_records_the_seed_of_its_best_restart_and_the_search():
    X = generate("small", seed=3).X
    result = select_model(X, k_min=2, k_max=3, n_init=2, seed=5)
    for candidate in result.candidates:
        block = candidate_settings(result, candidate)
        assert block["init"] == "kmeans++" and block["seed"] == candidate.seed
        assert block["selection"]["seed"] == 5 and block["selection"]["n_init"] == 2
    assert candidate_settings(result)["seed"] == result.best.seed


def test_an_opened_models_start_is_read_back():
    saved = model_settings({}, Start("kmeans++", 4, {"selection": {"k_min": 1}}))
    start = start_from_settings(saved)
    assert (start.init, start.seed, start.extra) == ("kmeans++", 4, {"selection": {"k_min": 1}})
    assert model_settings({}, start) == saved
    assert start_from_settings({"init": "from the future"}) == Start("means", None)
