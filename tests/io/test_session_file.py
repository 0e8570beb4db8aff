"""The session file format: round trip, refusals, nothing executed."""

import io
import pickle
import zipfile

import numpy as np
import pytest

from gmm_desktop.core.errors import ModelFileError
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.init import params_from_means
from gmm_desktop.core.stats import ComponentLock
from gmm_desktop.io.session_file import SessionFile, read_session, write_session


def make_session(n=500, steps=4):
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (n // 2, 2)), rng.normal(5, 1, (n - n // 2, 2))])
    means = np.array([[0.5, 0.5], [4.0, 4.0]])
    fitter = EMFitter(X, params_from_means(X, means, "full", 1e-6), tol=0, max_iter=100)
    history = [fitter.snapshot]
    for _ in range(steps):
        history.append(fitter.step())
    return SessionFile(X=X, feature_names=["a", "b"], labels=(np.arange(n) % 2).astype(np.int64), label_name="label",
                       source="two blobs", means=means,
                       settings={"covariance_type": "full", "tol": 0.0, "tol_mode": "total", "max_iter": 100,
                                 "reg_covar": 1e-6},
                       locks={1: ComponentLock(mean=True)}, history=history, cursor=2, view=(1, 0))


def test_round_trip_keeps_everything(tmp_path):
    sf = make_session()
    write_session(tmp_path / "s.gmmsession", sf)
    back = read_session(tmp_path / "s.gmmsession")
    np.testing.assert_array_equal(back.X, sf.X)
    assert back.X.dtype == np.float64
    np.testing.assert_array_equal(back.labels, sf.labels)
    assert back.feature_names == ["a", "b"] and back.view == (1, 0) and back.cursor == 2
    assert back.locks == {1: ComponentLock(mean=True)}
    assert [s.iteration for s in back.history] == [0, 1, 2, 3, 4]
    for a, b in zip(sf.history, back.history):
        np.testing.assert_array_equal(a.params.means, b.params.means)
        np.testing.assert_array_equal(a.params.covariances, b.params.covariances)
        assert a.log_likelihood == b.log_likelihood and a.phase == b.phase and a.converged == b.converged


def test_a_pickled_array_is_refused_without_being_run(tmp_path):
    sf = make_session()
    good = tmp_path / "s.gmmsession"
    write_session(good, sf)
    evil = tmp_path / "evil.gmmsession"
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, buf.getvalue() if item.filename == "labels.npy" else src.read(item))
    with pytest.raises(ModelFileError, match="labels"):
        read_session(evil)
    assert pickle  # (the payload was built with NumPy's pickling writer, never loaded)


def test_a_file_without_manifest_and_a_missing_file(tmp_path):
    empty = tmp_path / "e.gmmsession"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("X.npy", b"")
    with pytest.raises(ModelFileError, match="not a gmm-desktop session file"):
        read_session(empty)
    with pytest.raises(ModelFileError, match="no such file"):
        read_session(tmp_path / "missing.gmmsession")


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "s.gmmsession"
    write_session(path, make_session())
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(ModelFileError, match="No space left"):
        write_session(path, make_session(n=40))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.gmmsession"]  # no temporary file left


def test_a_history_entry_that_is_not_a_mixture_is_refused(tmp_path):
    sf = make_session()
    good = tmp_path / "s.gmmsession"
    write_session(good, sf)
    bad = tmp_path / "bad.gmmsession"
    covs = np.stack([s.params.covariances for s in sf.history]).astype("<f8")
    covs[3, 1] = [[1.0, 2.0], [2.0, 1.0]]  # not positive definite
    buf = io.BytesIO()
    np.save(buf, covs, allow_pickle=False)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, buf.getvalue() if item.filename == "history_covariances.npy" else src.read(item))
    with pytest.raises(ModelFileError, match="not symmetric positive definite"):
        read_session(bad)
