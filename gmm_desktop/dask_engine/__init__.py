"""The same EM on a Dask cluster, for data larger than memory (the optional ``[dask]`` extra).

The only package of gmm_desktop that imports dask or distributed. ::

    from gmm_desktop.dask_engine import engine_for

    with engine_for("points.npy", chunk_rows=1_000_000) as engine:      # a local cluster
        start = engine.initial_params(16, method="kmeans++", sample_size=100_000)
        fit = engine.fit(start, tol=1e-4)

``engine_for(..., scheduler="tcp://host:8786")`` uses a running cluster instead. See docs/dask.md.
"""

from __future__ import annotations

import contextlib

from gmm_desktop.dask_engine.cluster import DEFAULT_TIMEOUT, ClusterError, client_for, connect, local_cluster
from gmm_desktop.dask_engine.engine import DEFAULT_INIT_SAMPLE, DaskEngine, DaskFit, write_predictions
from gmm_desktop.dask_engine.readers import DEFAULT_CHUNK_ROWS, ChunkedData, feature_columns, open_data
from gmm_desktop.dask_engine.select import spread_fits


@contextlib.contextmanager
def engine_for(source, *, scheduler: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS, columns=None,
               timeout: float = DEFAULT_TIMEOUT, n_workers: int | None = None, persist: bool | None = None):
    """A :class:`DaskEngine` on the data at ``source`` for the duration of a ``with`` block.

    With ``scheduler``, on that running cluster; without, on a local cluster of ``n_workers``
    worker processes (default one per core) started here and stopped at the end of the block.
    The data are opened once the cluster is up, so that even counting a CSV file's rows runs on
    the workers.
    """
    with client_for(scheduler, n_workers=n_workers, timeout=timeout) as client:
        yield DaskEngine(open_data(source, chunk_rows=chunk_rows, columns=columns), client, persist=persist)


__all__ = ["DEFAULT_CHUNK_ROWS", "DEFAULT_INIT_SAMPLE", "DEFAULT_TIMEOUT", "ChunkedData", "ClusterError",
           "DaskEngine", "DaskFit", "client_for", "connect", "engine_for", "feature_columns", "local_cluster",
           "open_data",
           "spread_fits", "write_predictions"]
