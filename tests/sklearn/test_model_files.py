"""save_model / load_model: our estimator and the project's model files."""

import errno
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gmm_desktop.core.errors import ModelFileError
from gmm_desktop.io import generator, model_io
from gmm_desktop.sklearn import GaussianMixture, load_model, save_model

ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


@pytest.fixture
def X():
    return generator.generate("medium", seed=0).X


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_save_then_load_gives_the_same_estimator(X, tmp_path, covariance_type):
    est = GaussianMixture(n_components=4, covariance_type=covariance_type, random_state=0, tol=1e-5).fit(X)
    path = tmp_path / "model.json"
    save_model(est, path)
    back = load_model(path)
    assert isinstance(back, GaussianMixture)
    assert back.get_params() == est.get_params()
    for name in ATTRIBUTES:
        assert_allclose(getattr(back, name), getattr(est, name), rtol=1e-12, err_msg=name)
    assert (back.n_iter_, back.converged_, back.n_features_in_) == (est.n_iter_, est.converged_, 2)
    assert_allclose(back.lower_bound_, est.lower_bound_)
    assert_allclose(back.lower_bounds_, est.lower_bounds_)
    assert_array_equal(back.predict(X), est.predict(X))
    assert_allclose(back.predict_proba(X), est.predict_proba(X), rtol=1e-9, atol=1e-12)
    # the project's reader takes it: the training data's size, hash and log-likelihood are right
    saved = model_io.load_model(path)
    assert saved.data["n_samples"] == len(X) and saved.data["sha256"] == model_io.data_sha256(X)
    assert_allclose(saved.log_likelihood, est.score(X) * len(X), rtol=1e-9)
    assert len(saved.trace) == est.n_iter_ and saved.settings["tol_mode"] == "per-sample"
    assert saved.initial is not None


def test_warm_start_from_a_loaded_model_continues(X, tmp_path):
    est = GaussianMixture(n_components=4, random_state=0, max_iter=3, tol=0)
    with pytest.warns(Warning, match="did not converge"):
        est.fit(X)
    save_model(est, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json").set_params(warm_start=True, max_iter=200, tol=1e-6)
    est.set_params(warm_start=True, max_iter=200, tol=1e-6)
    back.fit(X)
    est.fit(X)
    assert back.converged_
    assert_allclose(back.means_, est.means_, rtol=1e-9)


def test_feature_names_come_back(X, tmp_path):
    frame = pd.DataFrame(X, columns=["height", "weight"])
    est = GaussianMixture(n_components=2, random_state=0).fit(frame)
    save_model(est, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert list(back.feature_names_in_) == ["height", "weight"]
    assert_array_equal(back.predict(frame), est.predict(frame))
    assert json.loads((tmp_path / "m.json").read_text())["feature_names"] == ["height", "weight"]


def test_sklearns_own_estimator_is_saved_with_its_data(X, tmp_path):
    theirs = SklearnGaussianMixture(n_components=3, random_state=0).fit(X)
    with pytest.raises(ModelFileError, match="pass the training data"):
        save_model(theirs, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    save_model(theirs, tmp_path / "m.json", X)
    back = load_model(tmp_path / "m.json")
    assert_allclose(back.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert_allclose(model_io.load_model(tmp_path / "m.json").log_likelihood, theirs.score(X) * len(X))


def test_unfitted_and_unwritable(X, tmp_path, monkeypatch):
    with pytest.raises(NotFittedError):
        save_model(GaussianMixture(), tmp_path / "m.json")
    est = GaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ModelFileError, match="folder does not exist"):
        save_model(est, tmp_path / "missing" / "m.json")
    good = tmp_path / "m.json"
    save_model(est, good)
    before = good.read_bytes()

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)  # the last step of the atomic write fails
    with pytest.raises(ModelFileError, match="disk is full.*nothing was overwritten"):
        save_model(GaussianMixture(n_components=3, random_state=0).fit(X), good)
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary file left


def test_a_model_from_the_fit_command_loads(X, tmp_path):
    data = tmp_path / "data.csv"
    from gmm_desktop.io import datasets

    datasets.write_csv(generator.generate("medium", seed=0), data)
    out = tmp_path / "cli.json"
    done = subprocess.run([sys.executable, "main.py", "fit", str(data), "--k", "4", "--tol-mode", "per-sample",
                           "--covariance-type", "diag", "-o", str(out)],
                          capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__)))), timeout=300)
    assert done.returncode == 0, done.stderr
    est = load_model(out)
    saved = model_io.load_model(out)
    assert est.covariance_type == "diag" and est.n_components == 4
    assert_allclose(est.covariances_, saved.params.covariances)
    assert_allclose(est.lower_bound_, saved.log_likelihood / len(X))
    assert_allclose(est.score(X) * len(X), saved.log_likelihood, rtol=1e-9)
    assert est.n_iter_ == saved.n_iter


def test_bad_model_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "something-else"}')
    with pytest.raises(ModelFileError, match="not a gmm-desktop model"):
        load_model(path)
