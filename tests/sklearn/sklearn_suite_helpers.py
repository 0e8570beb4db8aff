"""Running a scikit-learn test module against one of our estimators (shared by the suite files)."""

import os

import pytest


def import_tests(namespace: dict, sk_tests, names, expected_warnings=None) -> None:
    """Put the tests ``names`` of the scikit-learn test module ``sk_tests`` into ``namespace`` (a test
    module's ``globals()``), with the warnings of ``expected_warnings`` (test name -> filterwarnings
    rules) let through."""
    expected_warnings = expected_warnings or {}
    for name in names:
        test = getattr(sk_tests, name)
        for rule in expected_warnings.get(name, []):
            test = pytest.mark.filterwarnings(rule)(test)
        namespace[name] = test


def substitute_fixture(sk_tests, name: str, ours):
    """An autouse fixture that makes the scikit-learn test module build ``ours`` where it says
    ``name`` (unless GMM_SKLEARN_BASELINE=1, which runs scikit-learn's own class for comparison)."""

    @pytest.fixture(autouse=True)
    def _our_estimator(monkeypatch):
        if os.environ.get("GMM_SKLEARN_BASELINE") != "1":
            monkeypatch.setattr(sk_tests, name, ours)
        yield

    return _our_estimator
