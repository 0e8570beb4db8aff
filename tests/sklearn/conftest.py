"""The two fixtures scikit-learn's conftest gives its mixture tests (sklearn/conftest.py).

``global_dtype``: scikit-learn runs float64 always and float32 only with SKLEARN_RUN_FLOAT32_TESTS=1;
we run both, always. ``global_random_seed``: scikit-learn's default is 42 (SKLEARN_TESTS_GLOBAL_RANDOM_SEED
widens it); we run 42 and 0, or the seeds that variable names, as scikit-learn reads it.
"""

import os

import numpy as np
import pytest


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def global_dtype(request):
    yield request.param


def _seeds():
    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        return [42, 0]
    if value == "all":
        return list(range(100))
    if "-" in value:
        lo, hi = value.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(value)]


def pytest_generate_tests(metafunc):
    if "global_random_seed" in metafunc.fixturenames:
        metafunc.parametrize("global_random_seed", _seeds())
