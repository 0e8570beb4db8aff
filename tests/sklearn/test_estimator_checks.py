"""scikit-learn's estimator checks (sklearn.utils.estimator_checks) on our GaussianMixture."""

import os
import subprocess
import sys

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gmm_desktop.sklearn import BayesianGaussianMixture, GaussianMixture

_MARK = parametrize_with_checks([GaussianMixture(), BayesianGaussianMixture()])
_ARGNAMES, _PARAMS = _MARK.args
_IDS = _MARK.kwargs.get("ids")
_IDS = [_IDS(p) for p in _PARAMS] if callable(_IDS) else [None] * len(_PARAMS)


def _name(check):
    return getattr(check, "func", check).__name__


# check_array_api_input needs SCIPY_ARRAY_API=1 set before SciPy is first imported (it skips
# otherwise), so it runs below in a process of its own instead of here.
_IN_PROCESS = [(p, i) for p, i in zip(_PARAMS, _IDS) if _name(p[1]) != "check_array_api_input"]


def test_every_check_is_run():
    names = {_name(p[1]) for p in _PARAMS}
    assert "check_array_api_input" in names and len(_IN_PROCESS) == len(_PARAMS) - 2
    for cls in (GaussianMixture, BayesianGaussianMixture):
        assert sum(type(p[0]) is cls for p, _ in _IN_PROCESS) > 30


@pytest.mark.parametrize(_ARGNAMES, [p for p, _ in _IN_PROCESS], ids=[i for _, i in _IN_PROCESS])
def test_sklearn_estimator_check(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", ["GaussianMixture", "BayesianGaussianMixture"])
def test_array_api_check_with_numpy_inputs(name):
    """The array API check scikit-learn runs for estimators without array API support: with
    array_api_dispatch enabled and NumPy inputs, the results are unchanged. With the parameters
    scikit-learn gives its own GaussianMixture for this check (PER_ESTIMATOR_CHECK_PARAMS): like
    scikit-learn's, ours refuses the kmeans initialisations while array_api_dispatch is on."""
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        f"from gmm_desktop.sklearn import {name}\n"
        f"check_array_api_input({name!r}, {name}(max_iter=5, n_init=2, init_params='random_from_data'),"
        " array_namespace='numpy',"
        " expect_only_array_outputs=False)\n"
        "print('passed')\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "passed"
