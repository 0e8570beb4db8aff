"""Sufficient statistics of EM as a value: computed from a block of points, added, turned into parameters.

The M-step of a Gaussian mixture needs, per component ``k``, only responsibility-weighted sums over
the points: the count ``nk = sum_n r_nk``, the first moment and the second moment. A
:class:`SuffStats` holds them for one block of points (or, once added, for all of them), with the
block's log-likelihood and size. It is small (O(K D^2) numbers), immutable and picklable, so an engine
can compute one per chunk of data on another machine and reduce them with ``+`` in any order (a tree
reduction), and :meth:`SuffStats.to_params` turns the total into the next parameters with
scikit-learn's update rules.

Numerical accuracy. Moments are taken about a point near the data: ``center`` (the same for every block
that is to be added, e.g. the data's mean), shifted per component by ``anchors[k]``. The cheap blocked
E-step of :mod:`gmm_desktop.core.fast` sums the moments of most components about ``center`` itself
(one matrix product); turning those into a covariance cancels ``|mean_k - center|^2 / lambda_min``, so a
component whose covariance is narrow compared with its distance from the centre (see :func:`condition`)
has its moments taken about its own mean instead (``anchors[k]`` = its mean minus ``center``): then no
digits cancel. Which components are anchored, and where, is decided once per E-step, before the
blocks are computed, so that every block's statistics have the same anchors and can be added.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gmm_desktop.core import fast
from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.fast import MAX_CONDITION, condition  # noqa: F401 - part of this module's surface
from gmm_desktop.core.params import GMMParams, check_covariance_type

_EPS10 = 10.0 * np.finfo(np.float64).eps  # scikit-learn's guard against empty components


# --------------------------------------------------------------------------- locks
@dataclass(frozen=True)
class ComponentLock:
    """What the M-step keeps of one component: its mean, its covariance, its weight."""

    mean: bool = False
    covariance: bool = False
    weight: bool = False

    def __bool__(self) -> bool:
        return self.mean or self.covariance or self.weight


@dataclass(frozen=True, eq=False)
class Locks:
    """Per-component locks as three boolean arrays of shape (n_components,).

    Build with :meth:`of` from a mapping ``{k: ComponentLock(...)}`` (or ``{k: {"mean": True}}``, or
    ``{k: ("mean", "weight")}``) or from a sequence with one lock per component.
    """

    mean: np.ndarray
    covariance: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, locks, n_components: int) -> "Locks":
        if isinstance(locks, Locks):
            if locks.mean.shape != (n_components,):
                raise ParamsError(f"locks are for {locks.mean.size} components, the model has {n_components}")
            return locks
        arrays = {name: np.zeros(n_components, dtype=bool) for name in ("mean", "covariance", "weight")}
        if locks is None:
            items: Iterable = ()
        elif isinstance(locks, Mapping):
            items = locks.items()
        elif isinstance(locks, Sequence):
            if len(locks) != n_components:
                raise ParamsError(f"{len(locks)} locks given for {n_components} components: give one per component")
            items = enumerate(locks)
        else:
            raise ParamsError(f"locks must be a mapping from component to lock, got {type(locks).__name__}")
        for k, lock in items:
            if not (isinstance(k, (int, np.integer)) and 0 <= k < n_components):
                raise ParamsError(f"lock for component {k!r}: components are numbered 0 to {n_components - 1}")
            if isinstance(lock, ComponentLock):
                lock = {"mean": lock.mean, "covariance": lock.covariance, "weight": lock.weight}
            elif not isinstance(lock, Mapping):
                lock = {name: True for name in lock}
            for name, value in lock.items():
                if name not in arrays:
                    raise ParamsError(f"unknown lock {name!r} for component {k}: use mean, covariance or weight")
                arrays[name][k] = bool(value)
        for a in arrays.values():
            a.setflags(write=False)
        return cls(**arrays)

    @property
    def any(self) -> bool:
        return bool(self.mean.any() or self.covariance.any() or self.weight.any())

    def check(self, params: GMMParams) -> None:
        """Raise ParamsError when the locked weights leave no room for the free ones."""
        free = ~self.weight
        if free.any() and self.weight.any() and params.weights[self.weight].sum() >= 1.0 - 1e-12:
            raise ParamsError(
                "the locked weights sum to 1, leaving nothing for the unlocked components: "
                "unlock a weight or lower a locked one"
            )


# --------------------------------------------------------------------------- the statistics
@dataclass(frozen=True, eq=False)
class SuffStats:
    """What the M-step needs from a block of points, as an immutable value.

    Attributes
    ----------
    n_samples : int
        Points in the block.
    log_likelihood : float
        Total log-likelihood of the block's points under the parameters of the E-step.
    nk : ndarray of shape (n_components,)
        ``sum_n r_nk`` (without scikit-learn's ``10 eps``; :meth:`to_params` adds it).
    center : ndarray of shape (n_features,)
        Reference point of the moments (the same in every block that is added).
    anchors : ndarray of shape (n_components, n_features)
        Component ``k``'s moments are taken about ``center + anchors[k]``.
    s1 : ndarray of shape (n_components, n_features)
        ``sum_n r_nk (x_n - center - anchors[k])``.
    s2 : ndarray of shape (n_components, n_features, n_features)
        ``sum_n r_nk (x_n - center - anchors[k]) (x_n - center - anchors[k])^T``.
    anchored : ndarray of shape (n_components,), bool
        Components whose moments are about their own mean (computed directly in every block).
    radius2 : float
        Largest ``|x_n - center|^2`` over the block's points (the maximum, when added).
    diagonal : bool
        Only the diagonals of ``s2`` were summed (the E-step of diagonal or spherical covariances
        beyond :data:`~gmm_desktop.core.fast.MAX_FAST_FEATURES` features); its off-diagonal entries
        are zeros, so these statistics give diagonal and spherical covariances only. The sum with
        statistics that have the whole of ``s2`` is diagonal too.
    """

    n_samples: int
    log_likelihood: float
    nk: np.ndarray
    center: np.ndarray
    anchors: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    anchored: np.ndarray
    radius2: float = 0.0
    diagonal: bool = False

    def __post_init__(self):
        for name in ("nk", "center", "anchors", "s1", "s2", "anchored"):
            a = getattr(self, name)
            if a.flags.writeable:
                a.setflags(write=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def zero(cls, n_components: int, center, anchors=None, anchored=None) -> "SuffStats":
        """Statistics of no points, to start a sum (``anchors`` default to ``center`` itself)."""
        center = np.array(center, dtype=np.float64)
        d = center.shape[0]
        anchors = np.zeros((n_components, d)) if anchors is None else np.array(anchors, dtype=np.float64)
        anchored = np.zeros(n_components, bool) if anchored is None else np.array(anchored, dtype=bool)
        return cls(0, 0.0, np.zeros(n_components), center, anchors, np.zeros((n_components, d)),
                   np.zeros((n_components, d, d)), anchored, 0.0)

    @classmethod
    def from_block(cls, X_block, params: GMMParams, *, center=None, anchors=None) -> "SuffStats":
        """The E-step of ``params`` on one block of points, as statistics (the engine's block code).

        Parameters
        ----------
        X_block : ndarray of shape (n_block, n_features)
        params : GMMParams
        center : ndarray of shape (n_features,), optional
            Reference point of the moments; every block to be added needs the same one. Default:
            the mixture's mean ``sum_k w_k mu_k`` (after any M-step, the data's mean), which depends
            on ``params`` alone, so every block agrees without a pass over the data.
        anchors : mapping {component: ndarray of shape (n_features,)}, optional
            Components to compute directly (no expansion), with their moments about
            ``center + anchors[k]``. Blocks to be added need the same anchors: choose them once,
            e.g. with :func:`gmm_desktop.core.fast.direct_anchors`. Default: as the in-memory engine
            would choose them with this block's radius (fine for a single block).

        Raises
        ------
        FitError
            When a covariance is not positive definite.
        """
        X_block = np.asarray(X_block, dtype=np.float64)
        if X_block.ndim != 2 or X_block.shape[1] != params.n_features:
            raise ValueError(f"a block of shape {X_block.shape} for a model with {params.n_features} features")
        if center is None:
            center = params.weights @ params.means / params.weights.sum()
        data = fast.Moments(X_block, center=center)
        ll, packed, _ = data.expect(params, anchors=anchors, n_threads=1)
        return cls.from_packed(data.n_samples, ll, packed, data.center, data.radius2, params.n_components)

    @classmethod
    def from_packed(cls, n_samples: int, log_likelihood: float, packed: "fast.Packed", center, radius2: float,
                    n_components: int) -> "SuffStats":
        """From the raw arrays of :meth:`gmm_desktop.core.fast.Moments.expect` (or ``refine``)."""
        k, d = n_components, center.shape[0]
        nk = np.zeros(k)
        s1 = np.zeros((k, d))
        s2 = np.zeros((k, d, d))
        if packed.S is not None:
            S = packed.S
            i, j = np.triu_indices(d)
            nk[:] = S[:, 0]
            s1[:] = S[:, 1 : 1 + d]
            s2[:, i, j] = S[:, 1 + d :]
            s2[:, j, i] = S[:, 1 + d :]
        anchors = np.zeros((k, d))
        anchored = np.zeros(k, dtype=bool)
        idx = packed.direct
        nk[idx] = packed.s0
        s1[idx] = packed.s1
        s2[idx] = packed.s2
        anchors[idx] = packed.anchors
        anchored[idx] = True
        return cls(int(n_samples), float(log_likelihood), nk, np.array(center, dtype=np.float64), anchors, s1, s2,
                   anchored, float(radius2), bool(packed.diagonal))

    # ---------------------------------------------------------------- algebra
    @property
    def n_components(self) -> int:
        return self.nk.shape[0]

    @property
    def n_features(self) -> int:
        return self.center.shape[0]

    def _check_compatible(self, other: "SuffStats") -> None:
        if not (np.array_equal(self.center, other.center) and np.array_equal(self.anchors, other.anchors)
                and np.array_equal(self.anchored, other.anchored)):
            raise ValueError("statistics about different centres or anchors cannot be added: compute every "
                             "block with the same center and anchors")

    def __add__(self, other: "SuffStats") -> "SuffStats":
        if not isinstance(other, SuffStats):
            return NotImplemented
        self._check_compatible(other)
        return SuffStats(self.n_samples + other.n_samples, self.log_likelihood + other.log_likelihood,
                         self.nk + other.nk, self.center, self.anchors, self.s1 + other.s1,
                         self.s2 + other.s2, self.anchored, max(self.radius2, other.radius2),
                         self.diagonal or other.diagonal)

    def __radd__(self, other):
        if isinstance(other, (int, float)) and other == 0:  # the start of the built-in sum()
            return self
        return NotImplemented

    @staticmethod
    def sum(parts: Iterable["SuffStats"]) -> "SuffStats":
        """The sum of several statistics (log-likelihoods summed exactly, with ``math.fsum``)."""
        parts = list(parts)
        if not parts:
            raise ValueError("SuffStats.sum needs at least one part (use SuffStats.zero for none)")
        first = parts[0]
        for p in parts[1:]:
            first._check_compatible(p)
        if len(parts) == 1:
            return first
        return SuffStats(sum(p.n_samples for p in parts), math.fsum(p.log_likelihood for p in parts),
                         np.sum([p.nk for p in parts], axis=0), first.center, first.anchors,
                         np.sum([p.s1 for p in parts], axis=0), np.sum([p.s2 for p in parts], axis=0),
                         first.anchored, max(p.radius2 for p in parts), any(p.diagonal for p in parts))

    def with_components(self, components, nk, anchors, s1, s2, diagonal: bool = False) -> "SuffStats":
        """These statistics with the moments of ``components`` replaced (taken about new anchors);
        ``diagonal``: only the diagonals of the new ``s2`` were summed."""
        idx = np.asarray(components, dtype=np.intp)
        new = {name: getattr(self, name).copy() for name in ("nk", "anchors", "s1", "s2", "anchored")}
        new["nk"][idx] = nk
        new["anchors"][idx] = anchors
        new["s1"][idx] = s1
        new["s2"][idx] = s2
        new["anchored"][idx] = True
        return SuffStats(self.n_samples, self.log_likelihood, new["nk"], self.center, new["anchors"],
                         new["s1"], new["s2"], new["anchored"], self.radius2, self.diagonal or bool(diagonal))

    # ---------------------------------------------------------------- the M-step
    def to_params(self, covariance_type: str, reg_covar: float = 1e-6, *, locks: Locks | None = None,
                  previous: GMMParams | None = None) -> GMMParams:
        """The M-step: parameters from these statistics, with scikit-learn's update rules.

        ``nk + 10 eps`` per component, means ``sum r x / nk``, covariances about the new means
        (``reg_covar`` added to every diagonal), weights ``nk / sum(nk)``.

        With ``locks`` (and the ``previous`` parameters they keep), a locked mean or covariance is
        kept and the covariance of a locked mean is taken about that mean; locked weights are kept and
        the free ones share the rest in proportion to their ``nk``. Each is the maximiser of EM's
        expected complete log-likelihood under the locks, so the log-likelihood still never decreases
        (generalised EM) but by the little ``reg_covar`` costs near a fixed point (its addition comes
        after the maximisation, as in scikit-learn; about 1e-10 of the log-likelihood on iris).
        """
        check_covariance_type(covariance_type)
        if self.diagonal and covariance_type not in fast.DIAGONAL_TYPES:
            raise ValueError(f"these statistics hold only the diagonals of the second moments (an E-step of "
                             f"diagonal or spherical covariances): they cannot give {covariance_type!r} "
                             "covariances; run the E-step with parameters of that type")
        d = self.n_features
        s0 = self.nk
        nk = s0 + _EPS10
        a = self.anchors
        # new mean - anchor; s1 / nk unless the component is (almost) empty
        delta = (self.s1 - (nk - s0)[:, None] * a) / nk[:, None]
        means_c = a + delta
        # S0 / nk is 1 but for a component with no points: its mean goes to 0 / eps = the origin, as on
        # the direct path and in scikit-learn, not to the centre
        means = means_c + (s0 / nk)[:, None] * self.center
        locked = locks is not None and locks.any
        if locked:
            if previous is None:
                raise ValueError("to_params with locks needs the previous parameters")
            lm = locks.mean
            means[lm] = previous.means[lm]
            delta[lm] = (previous.means[lm] - self.center) - a[lm]
        # sum r (x - mu)(x - mu)^T from the moments about the anchor: no cancellation when mu is near it
        scatter = (self.s2 - np.einsum("ki,kj->kij", delta, self.s1) - np.einsum("ki,kj->kij", self.s1, delta)
                   + s0[:, None, None] * np.einsum("ki,kj->kij", delta, delta))
        if covariance_type == "full":
            cov = scatter / nk[:, None, None]
            cov[:, np.arange(d), np.arange(d)] += reg_covar
        elif covariance_type == "tied":
            cov = scatter.sum(axis=0) / nk.sum()
            cov.flat[:: d + 1] += reg_covar
        else:
            diag = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
            cov = diag if covariance_type == "diag" else diag.mean(axis=1)
        weights = nk / nk.sum()
        if locked:
            lc, lw = locks.covariance, locks.weight
            if covariance_type == "tied":
                if lc.any():
                    cov = np.array(previous.covariances)
            else:
                cov[lc] = previous.covariances[lc]
            if lw.any():
                free = ~lw
                weights = np.array(previous.weights, dtype=np.float64)
                if free.any():
                    weights[free] = nk[free] / nk[free].sum() * (1.0 - previous.weights[lw].sum())
        return GMMParams(weights, means, cov, covariance_type)
