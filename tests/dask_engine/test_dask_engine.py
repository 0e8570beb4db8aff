"""The Dask engine gives the in-memory engine's results, from every reader, on a real cluster."""

import numpy as np
import pandas as pd
import pytest
from dask_helpers import START_MEANS, blobs

from gmm_desktop.io.datasets import data_sha256
from gmm_desktop.core.em import EMFitter, e_step
from gmm_desktop.core.errors import DataError
from gmm_desktop.core.init import initial_params, params_from_means
from gmm_desktop.core.params import GMMParams
from gmm_desktop.dask_engine.engine import DaskEngine, write_predictions
from gmm_desktop.dask_engine.readers import open_data

RTOL = 1e-9


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X = blobs()
    path = tmp_path_factory.mktemp("npy") / "blobs.npy"
    np.save(path, X)
    return X, str(path)


def memory_fit(X, initial, **settings):
    fitter = EMFitter(X, initial, **settings)
    return fitter.run(), fitter


def assert_same_fit(dask_fit, snap, fitter):
    assert dask_fit.n_iter == snap.iteration
    assert dask_fit.converged == snap.converged
    np.testing.assert_allclose(dask_fit.trace, fitter.trace, rtol=RTOL, atol=0)
    p, q = dask_fit.params, snap.params
    np.testing.assert_allclose(p.weights, q.weights, rtol=RTOL, atol=0)
    np.testing.assert_allclose(p.means, q.means, rtol=RTOL, atol=0)
    np.testing.assert_allclose(p.covariances, q.covariances, rtol=RTOL, atol=RTOL * np.abs(q.covariances).max())


@pytest.mark.parametrize("ctype", ["full", "diag", "spherical", "tied"])
def test_equals_memory_engine_for_every_covariance_type(client, data, ctype):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=700), client)
    assert engine.n_chunks == 7  # 4,500 rows in chunks of 700: the last one short
    initial = engine.initial_params(method="means", means=START_MEANS, covariance_type=ctype)
    reference_start = params_from_means(X, START_MEANS, ctype)
    np.testing.assert_allclose(initial.covariances, reference_start.covariances, rtol=1e-12)
    settings = dict(tol=0.0, max_iter=12, reg_covar=1e-6)
    got = engine.fit(initial, **settings)
    snap, fitter = memory_fit(X, reference_start, **settings)
    assert fitter.trace[-1] - fitter.trace[0] > 1.0  # a real run: the fit moved
    assert_same_fit(got, snap, fitter)


@pytest.mark.parametrize("ctype", ["full", "diag", "spherical", "tied"])
def test_a_component_that_becomes_narrow_is_re_taken_as_in_memory(client, tmp_path, monkeypatch, ctype):
    # two clusters 1e-3 wide, 2000 apart, started 30 wide: after the first M-step the moments about the
    # data's centre would cancel 12 digits, so the fitter has the engine re-take them about the new means
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(scale=1e-3, size=(500, 2)) + [-1000.0, 0.0],
                        rng.normal(scale=1e-3, size=(500, 2)) + [1000.0, 0.0]])[rng.permutation(1000)]
    np.save(tmp_path / "narrow.npy", X)
    wide = {"full": [1e3 * np.eye(2)] * 2, "tied": 1e3 * np.eye(2), "diag": np.full((2, 2), 1e3),
            "spherical": [1e3, 1e3]}[ctype]
    initial = GMMParams([0.5, 0.5], [[-1000.0, 0.01], [1000.0, -0.01]], wide, ctype)
    refined = []
    original = DaskEngine.refine
    monkeypatch.setattr(DaskEngine, "refine", lambda self, *a: refined.append(a[2]) or original(self, *a))
    engine = DaskEngine(open_data(str(tmp_path / "narrow.npy"), chunk_rows=300), client)
    got = engine.fit(initial, tol=0.0, max_iter=3)
    assert refined and set(refined[0]) == {0, 1}  # both turned narrow after the first M-step: re-taken
    assert np.all(got.params.full_covariances()[:, 0, 0] < 1e-4)  # really narrow now (started at 1e3)
    snap, fitter = memory_fit(X, initial, tol=0.0, max_iter=3)
    assert_same_fit(got, snap, fitter)


def test_fixed_number_of_iterations_and_per_sample_rule(client, data):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=1000), client)
    initial = params_from_means(X, START_MEANS)
    got = engine.fit(initial, tol=0.0, max_iter=7)
    assert got.n_iter == 7 and not got.converged and len(got.trace) == 7
    snap, fitter = memory_fit(X, initial, tol=0.0, max_iter=7)
    assert_same_fit(got, snap, fitter)
    got = engine.fit(initial, tol=1e-3, tol_mode="per-sample")
    snap, fitter = memory_fit(X, initial, tol=1e-3, tol_mode="per-sample")
    assert snap.converged and 3 < snap.iteration < 40  # stopped by the rule, not by max_iter
    assert_same_fit(got, snap, fitter)


def test_progress_reports_every_iteration(client, data):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=1000), client)
    seen = []
    got = engine.fit(params_from_means(X, START_MEANS), tol=0.0, max_iter=4,
                     callback=lambda it, ll, change, sec: seen.append((it, ll, sec)))
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert [s[1] for s in seen] == got.trace
    assert all(s[2] > 0 for s in seen)


def test_kmeanspp_on_a_sample_of_everything_is_the_in_memory_start(client, data):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=800), client)
    for ctype in ("full", "diag"):
        got = engine.initial_params(3, method="kmeans++", covariance_type=ctype, seed=5, sample_size=10**9)
        want = initial_params(X, 3, method="kmeans++", covariance_type=ctype, seed=5)
        np.testing.assert_allclose(got.means, want.means, rtol=1e-12)
        np.testing.assert_allclose(got.covariances, want.covariances, rtol=1e-12)
        np.testing.assert_allclose(got.weights, want.weights, rtol=1e-12)


def test_sample_is_uniform_without_replacement_and_seeded(client, data):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=500), client)
    s1 = engine.sample(600, seed=1)
    assert s1.shape == (600, 2)
    rows = {tuple(r) for r in X}
    assert all(tuple(r) in rows for r in s1)  # rows of the data
    assert len({tuple(r) for r in s1}) == 600  # without replacement
    np.testing.assert_array_equal(engine.sample(600, seed=1), s1)
    assert not np.array_equal(engine.sample(600, seed=2), s1)
    # every chunk contributes about its share (9 chunks of 500 rows: 66.7 each on average)
    index = {tuple(r): i for i, r in enumerate(X)}
    per_chunk = np.bincount([index[tuple(r)] // 500 for r in s1], minlength=9)
    assert per_chunk.min() > 30 and per_chunk.max() < 110


def test_kmeanspp_on_a_small_sample_gives_a_good_fit(client, data):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=500), client)
    initial = engine.initial_params(3, method="kmeans++", sample_size=300, seed=0)
    got = engine.fit(initial, tol=1e-2)
    ref, _ = memory_fit(X, initial_params(X, 3, seed=0), tol=1e-2)
    assert got.log_likelihood == pytest.approx(ref.log_likelihood, rel=1e-5)  # the same optimum
    found = got.params.means[np.argsort(got.params.means[:, 0])]
    np.testing.assert_allclose(found, ref.params.means[np.argsort(ref.params.means[:, 0])], atol=2e-2)


def test_parquet_folder_and_csv_glob_read_as_the_same_data(client, data, tmp_path):
    X, _ = data
    pq_dir = tmp_path / "parts.parquet"
    pq_dir.mkdir()
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for i, part in enumerate(np.array_split(X, 3)):
        frame = pd.DataFrame({"x": part[:, 0], "y": part[:, 1], "label": np.arange(len(part)) % 3})
        frame.to_parquet(pq_dir / f"part-{i}.parquet", row_group_size=400)
        frame.to_csv(csv_dir / f"part-{i}.csv", index=False, float_format="%.17g")
    initial = params_from_means(X, START_MEANS)
    snap, fitter = memory_fit(X, initial, tol=0.0, max_iter=6)
    for source in (str(pq_dir), str(csv_dir / "part-*.csv")):
        chunked = open_data(source, chunk_rows=600)
        assert chunked.feature_names == ["x", "y"]  # the label column is not a feature
        engine = DaskEngine(chunked, client)
        assert engine.sha256() == data_sha256(X)  # the same rows, in the same order
        assert_same_fit(engine.fit(initial, tol=0.0, max_iter=6), snap, fitter)


def test_zarr_array(client, data, tmp_path):
    import zarr

    X, _ = data
    z = zarr.open_array(str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(1000, 2), dtype="f8")
    z[:] = X
    engine = DaskEngine(open_data(str(tmp_path / "X.zarr"), chunk_rows=900), client)
    initial = params_from_means(X, START_MEANS, "diag")
    snap, fitter = memory_fit(X, initial, tol=0.0, max_iter=6)
    assert_same_fit(engine.fit(initial, tol=0.0, max_iter=6), snap, fitter)


def test_predictions_written_chunk_by_chunk_match_the_memory_engine(client, data, tmp_path):
    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=1000), client)
    params = engine.fit(params_from_means(X, START_MEANS), tol=0.0, max_iter=5).params
    out = tmp_path / "pred.csv"
    out.write_text("an older file\n")
    assert write_predictions(engine, params, out) == len(X)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["label", "p0", "p1", "p2", "log_density"]
    log_density, log_resp = e_step(X, params)
    np.testing.assert_array_equal(frame["label"], np.argmax(log_resp, axis=0))
    np.testing.assert_allclose(frame[["p0", "p1", "p2"]], np.exp(log_resp).T, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(frame["log_density"], log_density, rtol=1e-12)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_non_finite_value_is_refused_with_its_row(client, tmp_path):
    X = blobs(n_per=200)
    X[457, 1] = np.nan
    np.save(tmp_path / "bad.npy", X)
    engine = DaskEngine(open_data(str(tmp_path / "bad.npy"), chunk_rows=100), client)
    with pytest.raises(DataError, match=r"row 457, column 'col1' is nan"):
        engine.initial_params(method="means", means=START_MEANS)


def test_readers_refuse_what_they_cannot_read(tmp_path):
    with pytest.raises(DataError, match="no files match"):
        open_data(str(tmp_path / "nothing-*.csv"))
    with pytest.raises(DataError, match="does not exist"):
        open_data(str(tmp_path / "missing.npy"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="folder without"):
        open_data(str(tmp_path / "empty"))
    np.save(tmp_path / "three.npy", np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="must be 2-D"):
        open_data(str(tmp_path / "three.npy"))
    np.save(tmp_path / "ok.npy", np.zeros((5, 2)))
    with pytest.raises(DataError, match="no column 'z'"):
        open_data(str(tmp_path / "ok.npy"), columns=["z"])


@pytest.mark.parametrize("ctype", ["full", "diag"])
def test_squarem_on_the_cluster_takes_the_memory_engines_steps(client, data, ctype):
    """Accelerated EM on the cluster: the same iterates as SQUAREM in memory, EM's maximum, fewer passes."""
    from gmm_desktop.core.accel import SquaremFitter

    X, path = data
    engine = DaskEngine(open_data(path, chunk_rows=1000), client)
    initial = params_from_means(X, START_MEANS, ctype)
    settings = dict(tol=1e-6, max_iter=300)
    got = engine.fit(initial, accelerate="squarem", **settings)
    memory = SquaremFitter(X, initial, **settings)
    snap = memory.run()
    assert got.fitter.n_em_steps == memory.n_em_steps and got.converged and snap.converged
    np.testing.assert_allclose(got.trace, memory.trace, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.params.means, snap.params.means, rtol=1e-8)
    assert np.all(np.diff(got.trace) >= 0)
    plain_snap, plain = memory_fit(X, initial, **settings)
    assert got.fitter.n_em_steps < plain_snap.iteration  # fewer passes over the chunks
    np.testing.assert_allclose(got.params.means, plain_snap.params.means, atol=1e-3)
