"""Where the work runs: a running Dask scheduler, or a local cluster started (and stopped) here."""

from __future__ import annotations

import contextlib
import logging
import os

from gmm_desktop.core.errors import GMMError

#: Seconds to wait for a scheduler before giving up.
DEFAULT_TIMEOUT = 10.0


class ClusterError(GMMError):
    """The cluster cannot be reached or started; the message names the address and what to do."""


def local_cluster(n_workers: int | None = None, memory_limit="auto", **kwargs):
    """A ``LocalCluster`` of ``n_workers`` worker processes (default: one per core), one thread each,
    listening on 127.0.0.1 only (its HTTP server on a free port: 8787 may be taken by another cluster).
    The caller closes it."""
    from distributed import LocalCluster

    n = int(n_workers or os.cpu_count() or 1)
    kwargs.setdefault("silence_logs", logging.ERROR)
    try:
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address="127.0.0.1:0", memory_limit=memory_limit, **kwargs)
    except Exception as exc:  # ports, spawn failures
        raise ClusterError(f"could not start a local Dask cluster ({type(exc).__name__}: {exc}); "
                           "give a running scheduler with --scheduler") from None


def connect(address: str, timeout: float = DEFAULT_TIMEOUT):
    """A ``distributed.Client`` of the scheduler at ``address``, or :class:`ClusterError` after ``timeout`` s."""
    from distributed import Client

    try:
        return Client(address, timeout=f"{float(timeout)}s", set_as_default=True)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({_short(exc)}): check the "
            "address and that the scheduler is running, or leave out --scheduler to use a local cluster"
        ) from None
    except ValueError as exc:
        raise ClusterError(f"{address!r} is not a Dask scheduler address ({_short(exc)}): give one like "
                           "tcp://host:8786") from None


def _short(exc) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


@contextlib.contextmanager
def client_for(scheduler: str | None = None, *, n_workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
               memory_limit="auto", **cluster_kwargs):
    """A client for the duration of a ``with`` block.

    With ``scheduler``, connects to that running cluster (which is left running). Without it,
    starts :func:`local_cluster` and stops it, whatever happens in the block.
    """
    from distributed import Client

    if scheduler:
        client = connect(scheduler, timeout)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = local_cluster(n_workers, memory_limit=memory_limit, **cluster_kwargs)
    try:
        client = Client(cluster, set_as_default=True)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
