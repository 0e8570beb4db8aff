"""EM over a Dask cluster: a map of the core's block statistics over the chunks, a tree reduction.

One iteration:

1. the client broadcasts the current parameters to every worker (``client.scatter(...,
   broadcast=True)``: a few KB);
2. every chunk computes its log-likelihood and M-step statistics where it is read (the map);
3. dask's tree reduction (``dask.bag`` ``reduction``, ``split_every`` at a time) sums them;
4. the client runs the M-step on the sum, and the convergence test on the summed log-likelihood.

:class:`DaskEngine` implements the core's engine protocol (:mod:`gmm_desktop.core.engine`): the
map is the core's block code (:meth:`gmm_desktop.core.stats.SuffStats.from_block`), the values
summed are the core's :class:`~gmm_desktop.core.stats.SuffStats`, and the fit loop, the M-step and
the convergence test are :class:`gmm_desktop.core.fitter.EMFitter`'s (``EMFitter(None, initial,
engine=DaskEngine(...))``; :meth:`DaskEngine.fit` is that, with per-iteration timings).

Only values whose size is independent of the number of rows travel to the client. The data stay
where they are read; they are kept in worker memory (``persist``) only when they fit comfortably
(half the workers' combined memory limit), otherwise every iteration reads the chunks again.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

import dask
import dask.bag as db
import numpy as np

from gmm_desktop.core.accel import make_fitter
from gmm_desktop.core.em import precision_cholesky
from gmm_desktop.core.engine import Engine, Expectation
from gmm_desktop.core.errors import DataError, ParamsError
from gmm_desktop.core.fitter import EMFitter
from gmm_desktop.core.params import GMMParams, check_covariance_type, compact_from_full
from gmm_desktop.core.stats import SuffStats
from gmm_desktop.dask_engine import blocks
from gmm_desktop.dask_engine.readers import ChunkedData

#: Share of the workers' combined memory limit the data may take and still be persisted.
PERSIST_FRACTION = 0.5
#: Default size of the uniform sample k-means++ (or k-means, random) chooses its means on.
DEFAULT_INIT_SAMPLE = 100_000


@dataclass
class DaskFit:
    """What :meth:`DaskEngine.fit` returns (the in-memory fitter's final state, in short)."""

    params: GMMParams
    initial: GMMParams
    log_likelihood: float
    trace: list = field(default_factory=list)
    converged: bool = False
    n_iter: int = 0
    collapsed: tuple = ()
    seconds_per_iteration: list = field(default_factory=list)
    fitter: EMFitter | None = field(default=None, repr=False)


class DaskEngine(Engine):
    """Exact EM over the chunks of a dask array, on the cluster of ``client``: an engine of the
    core's protocol (:mod:`gmm_desktop.core.engine`) for :class:`~gmm_desktop.core.fitter.EMFitter`.

    ``center`` (the data's mean), ``max_abs`` (one pass, which also checks every value) and
    ``radius2`` (one more pass) are computed when first needed.

    Parameters
    ----------
    data : ChunkedData or dask.array.Array of shape (n_samples, n_features)
    client : distributed.Client
    persist : bool or None
        Keep the chunks in worker memory between iterations. ``None`` (default): only if they take
        at most half of the workers' combined memory limit; else each iteration re-reads them.
    retries : int
        Times a failing task is re-run (a worker that dies is handled by the scheduler itself:
        its tasks run again elsewhere).
    split_every : int
        Fan-in of the tree reduction.
    """

    def __init__(self, data, client, *, persist: bool | None = None, retries: int = 3, split_every: int = 8):
        self.data = data if isinstance(data, ChunkedData) else ChunkedData(data, [f"col{j}" for j in range(data.shape[1])], "array", "array")
        self.client = client
        self.retries = int(retries)
        self.split_every = int(split_every)
        arr = self.data.array
        self.persisted = self._fits_in_memory() if persist is None else bool(persist)
        if self.persisted:
            arr = client.persist(arr)
        self._array = arr
        self._blocks = list(arr.to_delayed().ravel())
        self._offsets = np.concatenate([[0], np.cumsum(arr.chunks[0])]).astype(np.int64)
        self._summary = None
        self._radius2 = None
        self._round = 0

    # ---------------------------------------------------------------- sizes
    @property
    def n_samples(self) -> int:
        return self.data.n_samples

    @property
    def n_features(self) -> int:
        return self.data.n_features

    @property
    def n_chunks(self) -> int:
        return len(self._blocks)

    def _fits_in_memory(self) -> bool:
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        limits = [w.get("memory_limit") or 0 for w in workers]
        if not limits or any(limit <= 0 for limit in limits):
            return False  # no limit known: do not guess
        return self.data.nbytes <= PERSIST_FRACTION * sum(limits)

    # ---------------------------------------------------------------- map + tree reduction
    def _map_reduce(self, func, *args, name: str):
        """``sum(func(chunk, *args) for chunk in chunks)``: a map over the chunks and dask's tree reduction."""
        self._round += 1
        parts = [dask.delayed(_as_partition)(func, b, *args) for b in self._blocks]
        # reading a chunk, its statistics and its partition fuse into one task per chunk, named
        # e.g. "...gmm-estep-r3-part-<token>": round 3 of the E-step
        total = db.from_delayed(parts).reduction(blocks.add, blocks.add, split_every=self.split_every,
                                                 name=f"{name}-r{self._round}")
        future = self.client.compute(total, retries=self.retries)
        try:
            return future.result()
        finally:
            future.release()

    def _broadcast(self, value):
        """``value`` sent once to every worker; tasks take the returned future as an argument.

        Wrapped in a list: ``scatter`` would send a dict's (or a list's) items one by one."""
        return self.client.scatter([value], broadcast=True, hash=False)[0]

    def _map_reduce_with(self, func, args: tuple, *, name: str):
        """:meth:`_map_reduce` of ``func(chunk, *args)``, ``args`` sent once to every worker."""
        futures = [self._broadcast(a) for a in args]
        try:
            return self._map_reduce(func, *futures, name=name)
        finally:
            for f in futures:
                f.release()

    # ---------------------------------------------------------------- checks and summaries
    def _reduce_chunks(self, func, *args, combine=blocks.add, name: str):
        """``combine`` of ``func(chunk, *args, offset)`` over the chunks (tasks named ``name``-i)."""
        parts = [dask.delayed(_as_partition)(func, b, *args, int(off), dask_key_name=f"{name}-{i}")
                 for i, (b, off) in enumerate(zip(self._blocks, self._offsets[:-1]))]
        total = db.from_delayed(parts).reduction(combine, combine, split_every=self.split_every)
        future = self.client.compute(total, retries=self.retries)
        try:
            return future.result()
        finally:
            future.release()

    def summary(self) -> blocks.Summary:
        """Count, mean, scatter of the data (one pass); raises DataError for unusable values."""
        if self._summary is None:
            try:
                s = self._reduce_chunks(blocks.summarize, name="gmm-summary")
            except ValueError as exc:  # a CSV cell that is not a number, raised by the reader
                raise DataError(f"{self.data.source}: {' '.join(str(exc).split())[:300]}; fix the file or "
                                "choose other columns with --columns") from None
            if s.bad is not None:
                row, col, value = s.bad
                name = self.data.feature_names[col] if col < len(self.data.feature_names) else col
                what = "not a finite number" if not math.isfinite(value) else "too large for EM in double precision"
                raise DataError(f"{self.data.source}: row {row}, column {name!r} is {value!r}, {what}; "
                                "remove or fix that row (or scale the data)")
            self._summary = s
        return self._summary

    def check(self) -> None:
        """Raise DataError unless every value is finite and of a usable size."""
        self.summary()

    # ---------------------------------------------------------------- the engine protocol
    @property
    def center(self) -> np.ndarray:
        """The data's mean: the reference point of every chunk's moments."""
        return self.summary().mean

    @property
    def max_abs(self) -> float:
        return float(self.summary().maxabs)

    @property
    def radius2(self) -> float:
        """Largest ``|x - center|^2`` over the data (one pass, the first time)."""
        if self._radius2 is None:
            self._radius2 = float(self._reduce_chunks(_max_radius2, self.center, combine=max, name="gmm-radius"))
        return self._radius2

    def expect(self, params: GMMParams, *, anchors: dict | None = None, want_resp: bool = False) -> Expectation:
        """E-step of ``params`` over every chunk: the core's block statistics, summed by a tree reduction.

        ``want_resp`` is refused: the responsibilities are N x K numbers, which are never gathered on
        the client (``predict --engine dask`` writes them chunk by chunk).
        """
        if want_resp:
            raise DataError("the Dask engine does not gather responsibilities on the client (they are as large "
                            "as the data): write them chunk by chunk with predict --engine dask")
        precision_cholesky(params)  # FitError here, not once per chunk on the workers
        center = self.center
        if anchors is None:
            anchors = self.direct_anchors(params)
        stats = self._map_reduce_with(blocks.em_stats, (params, center, anchors), name="gmm-estep")
        return Expectation(stats.log_likelihood, stats)

    def log_likelihood(self, params: GMMParams) -> float:
        return self.expect(params).log_likelihood

    # ---------------------------------------------------------------- initialisation
    def sample(self, size: int, seed=0) -> np.ndarray:
        """A uniform sample of ``size`` rows without replacement, drawn chunk by chunk, in data order.

        The number of rows from each chunk is drawn on the client (a multivariate hypergeometric
        draw over the chunk sizes, so every set of ``size`` rows is equally likely); each chunk then
        draws its rows with its own seed. With ``size >= n_samples`` the sample is the whole data.
        """
        n = self.n_samples
        sizes = np.diff(self._offsets)
        rng = np.random.default_rng(seed)
        if size >= n:
            counts = sizes
        else:
            counts = rng.multivariate_hypergeometric(sizes, int(size), method="marginals")
        seeds = np.random.SeedSequence(rng.integers(2**63)).spawn(len(sizes))
        parts = [dask.delayed(blocks.sample_rows)(b, int(c), s, dask_key_name=f"gmm-sample-{self._round}-{i}")
                 for i, (b, c, s) in enumerate(zip(self._blocks, counts, seeds)) if c > 0]
        self._round += 1
        futures = self.client.compute(parts, retries=self.retries)
        try:
            return np.concatenate(self.client.gather(futures))
        finally:
            for f in futures:
                f.release()

    def params_from_means(self, means, covariance_type: str = "full", reg_covar: float = 1e-6) -> GMMParams:
        """The notebook's start (as ``core.init.params_from_means``): the given means, every covariance
        the data's covariance (unbiased), weights 1/K."""
        check_covariance_type(covariance_type)
        means = np.asarray(means, dtype=float)
        if means.ndim != 2 or means.shape[0] < 1:
            raise ParamsError("give at least one mean")
        if means.shape[1] != self.n_features:
            raise ParamsError(f"each mean needs {self.n_features} coordinates (one per feature), got {means.shape[1]}")
        if not np.all(np.isfinite(means)):
            raise ParamsError("means must be finite numbers")
        k = means.shape[0]
        if k > self.n_samples:
            raise ParamsError(f"{k} means but only {self.n_samples} points: use at most as many components as points")
        cov = self.summary().covariance()
        try:
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            cov = cov + max(reg_covar, 1e-300) * np.eye(self.n_features)
        full = np.broadcast_to(cov, (k,) + cov.shape)
        compact = cov.copy() if covariance_type == "tied" else compact_from_full(full, covariance_type)
        return GMMParams(np.full(k, 1.0 / k), means, compact, covariance_type).validated()

    def hard_assignment_params(self, means, covariance_type: str, reg_covar: float) -> GMMParams:
        """One M-step from assigning every point to its nearest mean (the k-means start), over all chunks."""
        stats = self._map_reduce_with(blocks.hard_assignment_stats, (np.asarray(means, dtype=float), self.center),
                                      name="gmm-assign")
        return stats.to_params(covariance_type, reg_covar)

    def initial_params(self, n_components=None, *, method="kmeans++", means=None, covariance_type="full",
                       reg_covar=1e-6, seed=0, sample_size: int = DEFAULT_INIT_SAMPLE) -> GMMParams:
        """Starting parameters, as ``core.init.initial_params`` but at scale.

        ``means``: the given means (the data's covariance comes from one pass). ``kmeans++``,
        ``kmeans``, ``random``: the core's method chooses the means on a uniform sample of
        ``sample_size`` rows (:meth:`sample`), then one M-step from the hard assignment of *every*
        point to its nearest mean. With ``sample_size >= n_samples`` the start is exactly the
        in-memory one.
        """
        from gmm_desktop.core.init import INIT_METHODS
        from gmm_desktop.core.init import initial_centers

        if method not in INIT_METHODS:
            raise ParamsError(f"unknown init method {method!r}: choose one of {', '.join(INIT_METHODS)}")
        self.check()
        if method == "means":
            if means is None:
                raise ParamsError("init 'means' needs means: give --means or --means-file")
            means = np.asarray(means, dtype=float)
            if n_components is not None and means.ndim == 2 and means.shape[0] != n_components:
                raise ParamsError(f"--k is {n_components} but {means.shape[0]} means were given; make them agree")
            return self.params_from_means(means, covariance_type, reg_covar)
        if not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
            raise ParamsError(f"the initialisation sample size must be a whole number >= 1, got {sample_size!r}")
        if n_components is None or int(n_components) != n_components or n_components < 1:
            raise ParamsError(f"the number of components must be a whole number >= 1, got {n_components!r}")
        k = int(n_components)
        if k > self.n_samples:
            raise ParamsError(f"{k} components but only {self.n_samples} points: use at most as many components as points")
        sample = self.sample(max(int(sample_size), k), seed)
        n_distinct = len(np.unique(sample, axis=0))
        if k > n_distinct:
            raise DataError(f"{k} components but only {n_distinct} distinct points in a sample of {len(sample)} "
                            f"rows: use at most {n_distinct} components, or a larger --init-sample")
        centers = initial_centers(sample, k, method, seed)
        return self.hard_assignment_params(centers, covariance_type, reg_covar)

    # ---------------------------------------------------------------- the fit
    def fitter(self, initial: GMMParams, accelerate: str = "none", **settings):
        """The core's :class:`~gmm_desktop.core.fitter.EMFitter` on this engine (``settings`` are its
        own: tol, tol_mode, max_iter, reg_covar, locks, ...), or with ``accelerate='squarem'`` the
        core's :class:`~gmm_desktop.core.accel.SquaremFitter` on it (every E-step still one pass over
        the chunks, and fewer of them); its constructor runs the first E-step."""
        self.check()
        if initial.n_features != self.n_features:
            raise DataError(f"the data have {self.n_features} features but the model has {initial.n_features}; "
                            "choose the same columns the model was fitted on")
        return make_fitter(None, initial, accelerate=accelerate, engine=self, **settings)

    def fit(self, initial: GMMParams, *, tol=1e-4, tol_mode="total", max_iter=1000, reg_covar=1e-6,
            callback=None, accelerate: str = "none", **settings) -> DaskFit:
        """EM from ``initial`` by the core's fitter (:meth:`fitter`, :meth:`EMFitter.run`): one iteration
        is an M-step then the E-step of the new parameters, stopped by the fitter's rule.
        ``accelerate='squarem'``: SQUAREM's iterates (:mod:`gmm_desktop.core.accel`), fewer passes.

        ``callback(iteration, log_likelihood, change, seconds)`` after each iteration.
        """
        fitter = self.fitter(initial, accelerate=accelerate, tol=tol, tol_mode=tol_mode, max_iter=max_iter,
                             reg_covar=reg_covar, **settings)
        times: list[float] = []
        last = [time.perf_counter()]

        def timed(snap):
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now
            if callback is not None:
                callback(snap.iteration, snap.log_likelihood, snap.change, times[-1])

        snap = fitter.run(timed)
        return DaskFit(snap.params, initial, snap.log_likelihood, list(fitter.trace), snap.converged,
                       snap.iteration, snap.collapsed, times, fitter)

    # ---------------------------------------------------------------- streamed passes
    def iter_chunks(self, func=None, *args, window: int = 4):
        """Each chunk's ``func(chunk, *args)`` (default: the chunk), in order, ``window`` in flight at a time.

        The client holds at most ``window`` results: this streams, it never gathers.
        """
        from collections import deque

        arg_futures = [self._broadcast(a) for a in args]
        pending: deque = deque()
        try:
            for i, b in enumerate(self._blocks):
                task = b if func is None else dask.delayed(func)(b, *arg_futures, dask_key_name=f"gmm-stream-{self._round}-{i}")
                pending.append(self.client.compute(task, retries=self.retries))
                if len(pending) >= window:
                    f = pending.popleft()
                    yield f.result()
                    f.release()
            while pending:
                f = pending.popleft()
                yield f.result()
                f.release()
        finally:
            for f in pending:
                f.release()
            for f in arg_futures:
                f.release()
            self._round += 1

    def gather(self) -> np.ndarray:
        """All the data on the client, ndarray of shape (n_samples, n_features): only for data that fit
        in memory (``select`` fits each candidate in memory on a worker)."""
        try:
            return np.concatenate(list(self.iter_chunks()))
        except MemoryError:
            raise DataError(f"{self.data.source} does not fit in memory ({self.data.nbytes / 1e9:.1f} GB): "
                            "select needs the data in memory on each worker; fit a few K with fit "
                            "--engine dask instead") from None

    def sha256(self) -> str:
        """SHA-256 of the data as float64 C-order little-endian bytes (the model file's ``data.sha256``),
        hashed chunk by chunk as they stream past."""
        h = hashlib.sha256()
        for chunk in self.iter_chunks():
            h.update(np.ascontiguousarray(chunk, dtype="<f8").tobytes())
        return h.hexdigest()


def _max_radius2(chunk, center, offset):
    return blocks.max_radius2(chunk, center)


def _as_partition(func, chunk, *args):
    """``[func(chunk, *args)]``: a bag partition of one value."""
    return [func(chunk, *args)]


def write_predictions(engine: DaskEngine, params: GMMParams, path, window: int = 4) -> int:
    """Write ``predict``'s CSV (``label,p0,..,log_density``) for every row, chunk by chunk.

    Each chunk's rows are formatted on the worker that read it; the client appends them in order
    to a temporary file beside ``path`` (at most ``window`` chunks in flight) and renames it over
    ``path`` at the end, so a failure leaves no partial file. Returns the number of rows written.
    """
    from gmm_desktop.io.fileio import atomic_write_stream

    if params.n_features != engine.n_features:
        raise DataError(f"the model has {params.n_features} features but the data have {engine.n_features}; "
                        "choose the model's columns with --columns")
    engine.check()
    header = ("label," + ",".join(f"p{j}" for j in range(params.n_components)) + ",log_density\n").encode()
    with atomic_write_stream(path) as fh:
        fh.write(header)
        for text in engine.iter_chunks(blocks.predictions_csv, params, window=window):
            fh.write(text)
    return engine.n_samples
