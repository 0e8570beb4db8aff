"""Faults: data larger than the workers' memory, a worker killed mid-fit, a scheduler that is not there."""

import os
import sys

import cloudpickle
import dask
import numpy as np
import pytest
from dask_helpers import START_MEANS, blobs
from distributed import Client, WorkerPlugin

import gmm_desktop.dask_engine.cluster as cluster_mod
from gmm_desktop.core.em import EMFitter
from gmm_desktop.core.init import params_from_means
from gmm_desktop.dask_engine.cluster import ClusterError, connect, local_cluster
from gmm_desktop.dask_engine.engine import DaskEngine
from gmm_desktop.dask_engine.readers import open_data

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the plugin below travels to the workers


def test_a_npy_larger_than_the_workers_memory_is_re_read_not_kept(tmp_path):
    X = blobs(n_per=100_000)  # 300,000 x 2 float64: 4.8 MB on disk
    path = tmp_path / "big.npy"
    np.save(path, X)
    assert os.path.getsize(path) > 4_000_000
    # 1 MB per worker, 2 MB in all: less than the file. A Python process needs more than that just
    # to run, so the nanny's "terminate"/"pause" reactions (which would kill any worker at this
    # limit) are off; the limit is what the engine sees, and spilling stays on.
    with dask.config.set({"distributed.worker.memory.terminate": False,
                          "distributed.worker.memory.pause": False}):
        cluster = local_cluster(2, memory_limit="1MB")
        try:
            with Client(cluster, set_as_default=False) as client:
                engine = DaskEngine(open_data(str(path), chunk_rows=20_000), client)
                assert not engine.persisted  # 4.8 MB of data, 2 MB of memory limit
                initial = engine.initial_params(method="means", means=START_MEANS)
                got = engine.fit(initial, tol=0.0, max_iter=4)
                # nothing of the data stayed in the workers: only small keys (parameters) may remain
                held = client.run(lambda dask_worker: sum(
                    getattr(v, "nbytes", 0) for v in dask_worker.data.values()))
                assert sum(held.values()) < 100_000
        finally:
            cluster.close()
    fitter = EMFitter(X, params_from_means(X, START_MEANS), tol=0.0, max_iter=4)
    snap = fitter.run()
    np.testing.assert_allclose(got.trace, fitter.trace, rtol=1e-9)
    np.testing.assert_allclose(got.params.means, snap.params.means, rtol=1e-9)
    np.testing.assert_allclose(got.params.covariances, snap.params.covariances, rtol=1e-9)


class KillWorkerOnce(WorkerPlugin):
    """Kills the worker process (os._exit) as it starts a task whose key holds ``prefix``,
    once: the marker file tells the restarted workers it happened."""

    name = "kill-worker-once"

    def __init__(self, marker, prefix):
        self.marker, self.prefix = marker, prefix

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and self.prefix in str(key) and not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)


def test_a_worker_killed_mid_fit_costs_a_retry_not_the_fit(tmp_path):
    X = blobs(n_per=2000)
    path = tmp_path / "blobs.npy"
    np.save(path, X)
    marker = tmp_path / "killed"
    cluster = local_cluster(2)
    try:
        with Client(cluster, set_as_default=False) as client:
            engine = DaskEngine(open_data(str(path), chunk_rows=500), client, persist=False)
            initial = engine.initial_params(method="means", means=START_MEANS)
            before = set(client.scheduler_info()["workers"])
            # round 1 is the start's E-step; round 4 is the E-step of iteration 3
            client.register_plugin(KillWorkerOnce(str(marker), "gmm-estep-r4-part"))
            got = engine.fit(initial, tol=0.0, max_iter=6)
            assert marker.exists()  # a worker did die, mid-iteration
            client.wait_for_workers(2, timeout=60)
            assert set(client.scheduler_info()["workers"]) != before  # the nanny replaced it
    finally:
        cluster.close()
    fitter = EMFitter(X, params_from_means(X, START_MEANS), tol=0.0, max_iter=6)
    snap = fitter.run()
    assert got.n_iter == 6
    np.testing.assert_allclose(got.trace, fitter.trace, rtol=1e-9)
    np.testing.assert_allclose(got.params.means, snap.params.means, rtol=1e-9)


def test_an_unreachable_scheduler_is_named_in_one_error():
    with pytest.raises(ClusterError) as info:
        connect("tcp://127.0.0.1:9", timeout=1)
    message = str(info.value)
    assert "tcp://127.0.0.1:9" in message and "\n" not in message
    assert "--scheduler" in message  # says what to do


def test_client_for_stops_the_local_cluster_it_started():
    with cluster_mod.client_for(n_workers=1) as client:
        cluster = client.cluster
        assert client.submit(sum, [1, 2], pure=False).result() == 3
        workers = client.scheduler_info()["workers"]
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)  # loopback only
    assert cluster.status.name == "closed"
