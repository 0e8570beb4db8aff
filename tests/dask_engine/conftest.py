"""Dask engine tests: real LocalClusters of worker processes on 127.0.0.1, small data.

Every cluster is made by a fixture that closes it; ``_no_cluster_left_running`` fails a module
that leaves one running. One cluster is shared per module where the tests do not disturb it.
"""

import gc

import pytest
from distributed import Client
from distributed.deploy.spec import SpecCluster

from gmm_desktop.dask_engine.cluster import local_cluster


def _live_clusters():
    gc.collect()
    return [c for c in list(SpecCluster._instances) if c.status.name not in ("closed", "closing")]


@pytest.fixture(scope="module", autouse=True)
def _no_cluster_left_running():
    before = {id(c) for c in _live_clusters()}
    yield
    left = [c for c in _live_clusters() if id(c) not in before]
    for c in left:
        c.close()
    if left:
        pytest.fail(f"{len(left)} Dask cluster(s) left running: close every cluster a test starts")


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, on 127.0.0.1 (shared by a module's tests)."""
    c = local_cluster(2)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster, set_as_default=False) as c:
        yield c
