"""The table of options is the one place defaults, ranges and choices live: the fitter and the
sweep take their defaults and refusals from it."""

import inspect

import pytest

from gmm_desktop.core import options
from gmm_desktop.core.em import EMFitter, check_settings
from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.init import INIT_METHODS
from gmm_desktop.core.params import COVARIANCE_TYPES
from gmm_desktop.core.selection import check_selection_options, select_model
from gmm_desktop.core.options import OPTIONS


def test_every_default_is_allowed_by_its_own_range():
    for option in OPTIONS.values():
        assert option.check(option.default) == option.default, option.name


def test_the_table_holds_the_documented_defaults():
    # CONTRACTS.md section 1
    assert options.defaults(["covariance_type", "tol", "tol_mode", "max_iter", "reg_covar", "seed"]) == {
        "covariance_type": "full", "tol": 1e-4, "tol_mode": "total", "max_iter": 1000, "reg_covar": 1e-6, "seed": 0}
    assert options.defaults(["k_min", "k_max", "covariance_types", "criterion", "n_init"]) == {
        "k_min": 1, "k_max": 10, "covariance_types": ("full",), "criterion": "bic", "n_init": 3}
    assert OPTIONS["covariance_type"].choices == COVARIANCE_TYPES
    assert OPTIONS["init"].choices == INIT_METHODS


@pytest.mark.parametrize("function", [EMFitter, select_model])
def test_signature_defaults_are_the_tables(function):
    params = inspect.signature(function).parameters
    shared = [name for name in params if name in OPTIONS]
    assert len(shared) >= 4
    for name in shared:
        if name == "accelerate" and params[name].default is None:  # None: the table's, unless tol is 0
            from gmm_desktop.core.accel import resolve_accelerate

            assert resolve_accelerate(None, tol=1e-4) == OPTIONS[name].default == "squarem"
            assert resolve_accelerate(None, tol=0.0) == "none"
            continue
        assert params[name].default == OPTIONS[name].default, name


@pytest.mark.parametrize("name, value, message", [
    ("tol", -1.0, "tol must be a finite number >= 0, got -1.0"),
    ("tol", float("inf"), "tol must be a finite number >= 0, got inf"),
    ("tol_mode", "mean", "tol_mode must be one of total, per-sample, got 'mean'"),
    ("max_iter", 0, "max_iter must be a whole number >= 1, got 0"),
    ("max_iter", 2.5, "max_iter must be a whole number >= 1, got 2.5"),
    ("max_iter", True, "max_iter must be a whole number >= 1, got True"),
    ("reg_covar", float("nan"), "reg_covar must be a finite number >= 0, got nan"),
])
def test_em_settings_are_refused_with_the_tables_message(name, value, message):
    settings = {**options.defaults(options.EM_SETTINGS), name: value}
    with pytest.raises(ParamsError) as info:
        check_settings(**settings)
    assert str(info.value) == message == str(OPTIONS[name].error(value))


@pytest.mark.parametrize("name, value", [("k_min", 0), ("n_init", 0), ("seed", -1), ("criterion", "icl"),
                                         ("k_max", 2.5)])
def test_selection_options_are_refused_with_the_tables_message(name, value):
    grid = {**options.defaults(options.SELECTION_OPTIONS), "k_max": 4, name: value}
    with pytest.raises(ParamsError) as info:
        check_selection_options(**grid)
    assert str(info.value) == str(OPTIONS[name].error(value))
    assert OPTIONS[name].describe_range() in str(info.value)


def test_a_changed_default_reaches_the_fitter(monkeypatch):
    """The fitter reads the table at call time, not a copy: proven by changing the table's range."""
    monkeypatch.setitem(OPTIONS, "max_iter", options.Option("max_iter", "int", 1000, "", minimum=5))
    with pytest.raises(ParamsError, match=r"max_iter must be a whole number >= 5, got 3"):
        check_settings(1e-4, "total", 3, 1e-6)
