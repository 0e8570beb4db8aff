"""Model files: round trip, validation of bad files, atomic saves."""

import json
import os

import numpy as np
import pytest

from gmm_desktop.io import model_io
from gmm_desktop.core.em import EMFitter, log_likelihood
from gmm_desktop.core.errors import ModelFileError
from gmm_desktop.core.init import initial_params
from gmm_desktop.io.model_io import data_sha256, load_model, save_model
from gmm_desktop.core.params import COVARIANCE_TYPES


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 5])
    p0 = initial_params(X, 2, covariance_type="full", seed=0)
    fitter = EMFitter(X, p0, max_iter=50)
    snap = fitter.run()
    return X, p0, fitter, snap


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


def saved_doc(tmp_path, fitted):
    X, p0, fitter, snap = fitted
    path = tmp_path / "m.json"
    save_model(path, snap.params, X=X, initial=p0, trace=fitter.trace, converged=snap.converged,
               settings={"tol": 1e-4}, feature_names=["x", "y"], source="demo.csv")
    return json.loads(path.read_text())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_every_covariance_type(tmp_path, covariance_type):
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=(80, 3)), rng.normal(size=(80, 3)) + 4])
    p0 = initial_params(X, 2, covariance_type=covariance_type, seed=0)
    fitter = EMFitter(X, p0, max_iter=30)
    snap = fitter.run()
    path = tmp_path / "model.json"
    save_model(path, snap.params, X=X, initial=p0, trace=fitter.trace, converged=snap.converged,
               settings={"tol": 1e-4, "tol_mode": "total", "max_iter": 30, "reg_covar": 1e-6,
                         "init": "kmeans++", "seed": 0},
               feature_names=["a", "b", "c"], source="d.csv")
    doc = json.loads(path.read_text())
    assert doc["format"] == "gmm-desktop-model" and doc["format_version"] == 1
    assert np.asarray(doc["covariances"]).shape == (2, 3, 3)  # always full matrices
    assert doc["n_iter"] == len(doc["log_likelihood_trace"]) == snap.iteration
    assert doc["log_likelihood"] == pytest.approx(log_likelihood(X, snap.params), rel=1e-12)
    assert doc["data"] == {"n_samples": 160, "sha256": data_sha256(X), "source": "d.csv"}
    model = load_model(path)
    assert model.params.covariance_type == covariance_type
    np.testing.assert_array_equal(model.params.means, snap.params.means)
    np.testing.assert_allclose(model.params.covariances, snap.params.covariances, rtol=1e-15)
    np.testing.assert_array_equal(model.initial.means, p0.means)
    assert model.trace == tuple(fitter.trace) and model.converged == snap.converged
    assert model.feature_names == ["a", "b", "c"]


def test_sha256_is_of_little_endian_float64_c_order():
    X = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(3, 2))
    import hashlib

    assert data_sha256(X) == hashlib.sha256(np.arange(6, dtype="<f8").tobytes()).hexdigest()


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d.update(format="something-else"), "not a gmm-desktop model"),
    (lambda d: d.update(format_version=2), "newer than this program reads"),
    (lambda d: d.update(means=[[0.0, 0.0]]), "'means' must have shape"),
    (lambda d: d.update(weights=[0.7, 0.7]), "sum to 1"),
    (lambda d: d["covariances"][0].__setitem__(0, [1.0, 5.0]), "not symmetric"),
    (lambda d: d.update(covariances=[[[1.0, 2.0], [2.0, 1.0]]] * 2), "not positive definite"),
    (lambda d: d.update(covariance_type="banana"), "covariance_type must be one of"),
    (lambda d: d.update(n_components="2"), "n_components must be a whole number"),
    (lambda d: d.pop("weights"), "'weights' is missing"),
    (lambda d: d.update(weights=[0.5, "x"]), "array of numbers"),
])
def test_bad_model_files_are_refused(tmp_path, fitted, mutate, match):
    doc = saved_doc(tmp_path, fitted)
    mutate(doc)
    with pytest.raises(ModelFileError, match=match):
        load_model(write(tmp_path / "bad.json", doc))


def test_non_finite_numbers_are_refused(tmp_path, fitted):
    text = json.dumps(saved_doc(tmp_path, fitted)).replace('"log_likelihood": ', '"log_likelihood": NaN, "x": ', 1)
    (tmp_path / "nan.json").write_text(text)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(tmp_path / "nan.json")
    doc = saved_doc(tmp_path, fitted)
    doc["means"][0][0] = 1e400  # json writes Infinity only with allow_nan; 1e400 parses to inf
    (tmp_path / "inf.json").write_text(json.dumps(doc).replace("Infinity", "1e400"))
    with pytest.raises(ModelFileError, match="non-finite"):
        load_model(tmp_path / "inf.json")


def test_truncated_and_garbage_files_are_refused(tmp_path, fitted):
    save_model(tmp_path / "m.json", fitted[3].params, X=fitted[0])
    text = (tmp_path / "m.json").read_text()
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="cut.json is not valid JSON.*truncated"):
        load_model(tmp_path / "cut.json")
    (tmp_path / "bin.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ModelFileError, match="not"):
        load_model(tmp_path / "bin.json")
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    with pytest.raises(ModelFileError, match="not a gmm-desktop model"):
        load_model(tmp_path / "list.json")


def test_loading_executes_nothing(tmp_path):
    (tmp_path / "evil.json").write_text('{"format": "__import__(\'os\').system(\'touch pwned\')"}')
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "evil.json")
    assert not (tmp_path / "pwned").exists()


def test_failed_save_leaves_the_old_file(tmp_path, fitted, monkeypatch):
    X, p0, fitter, snap = fitted
    path = tmp_path / "model.json"
    save_model(path, snap.params, X=X)
    before = path.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ModelFileError, match="No space left on device; the disk is full.*nothing was overwritten"):
        save_model(path, p0, X=X)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temp file left behind


def test_read_only_folder_is_reported(tmp_path, fitted, monkeypatch):
    # CI runs as root, which ignores folder permissions, so the refusal is simulated where it happens
    import tempfile

    X, _, _, snap = fitted
    path = tmp_path / "m.json"
    path.write_text("old")

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(ModelFileError, match="could not save.*Permission denied"):
        save_model(path, snap.params, X=X)
    assert path.read_text() == "old"


def test_saving_in_a_missing_folder_is_reported(tmp_path, fitted):
    X, _, _, snap = fitted
    with pytest.raises(ModelFileError, match="could not save.*the folder does not exist"):
        save_model(tmp_path / "nope" / "m.json", snap.params, X=X)


def test_model_dict_has_every_contract_key(tmp_path, fitted):
    doc = saved_doc(tmp_path, fitted)
    for key in ("format", "format_version", "app_version", "created", "covariance_type", "n_components",
                "n_features", "feature_names", "weights", "means", "covariances", "log_likelihood",
                "log_likelihood_trace", "n_iter", "converged", "settings", "initial", "data"):
        assert key in doc
    assert set(doc["initial"]) == {"weights", "means", "covariances"}
    assert model_io.FORMAT_VERSION == 1


def test_saved_files_get_ordinary_permissions(tmp_path, fitted):
    # mkstemp creates owner-only files; a model on a shared lab machine must be readable as usual
    X, _, _, snap = fitted
    old = os.umask(0o022)
    try:
        save_model(tmp_path / "new.json", snap.params, X=X)
        assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644
        (tmp_path / "kept.json").write_text("{}")
        (tmp_path / "kept.json").chmod(0o640)
        save_model(tmp_path / "kept.json", snap.params, X=X)
        assert (tmp_path / "kept.json").stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
    finally:
        os.umask(old)


@pytest.mark.parametrize("covariance_type,cov,needle", [
    ("diag", [[1.0, 0.3], [0.3, 1.0]], "diagonal covariances"),
    ("spherical", [[1.0, 0.0], [0.0, 2.0]], "multiple of the identity"),
])
def test_covariances_must_match_the_declared_type(tmp_path, fitted, covariance_type, cov, needle):
    doc = saved_doc(tmp_path, fitted)
    doc["covariance_type"] = covariance_type
    doc["covariances"] = [cov, cov]
    doc.pop("initial")
    with pytest.raises(ModelFileError, match=needle):
        load_model(write(tmp_path / "m.json", doc))


def test_converged_must_be_a_boolean(tmp_path, fitted):
    doc = saved_doc(tmp_path, fitted)
    doc["converged"] = "no"
    with pytest.raises(ModelFileError, match="converged must be true or false"):
        load_model(write(tmp_path / "m.json", doc))
