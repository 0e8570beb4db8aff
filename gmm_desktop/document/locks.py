"""Component locks: which parts of which components the M-step must keep.

Values, not objects to mutate: every change makes a new :class:`Locks`, so a captured document
state keeps the locks it had.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gmm_desktop.core.stats import ComponentLock


class Locks(Mapping):
    """Locks by component index; components without an entry are free.

    ``locks[k]`` is the :class:`~gmm_desktop.core.stats.ComponentLock` of component ``k`` (all
    False, and falsy, when free). A mapping of the locked components, as the fitter's ``locks``
    argument takes it.
    """

    __slots__ = ("_by_component",)

    def __init__(self, by_component=None):
        items = {}
        for k, lock in dict(by_component or {}).items():
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise ValueError(f"component index {k!r} must be a whole number >= 0")
            if not isinstance(lock, ComponentLock):
                raise TypeError(f"lock of component {k} must be a ComponentLock, not {type(lock).__name__}")
            if lock:
                items[k] = lock
        self._by_component = MappingProxyType(dict(sorted(items.items())))

    def __getitem__(self, k: int) -> ComponentLock:
        return self._by_component.get(k, ComponentLock())

    def __contains__(self, k) -> bool:
        return k in self._by_component

    def __len__(self) -> int:
        """How many components have something locked."""
        return len(self._by_component)

    def __iter__(self):
        return iter(self._by_component)

    def items(self):
        return self._by_component.items()

    def __eq__(self, other) -> bool:
        return isinstance(other, Locks) and dict(self._by_component) == dict(other._by_component)

    def __hash__(self) -> int:
        return hash(tuple(self._by_component.items()))

    def __repr__(self) -> str:
        return f"Locks({dict(self._by_component)!r})"

    def with_lock(self, k: int, mean: bool = False, covariance: bool = False, weight: bool = False) -> "Locks":
        """These locks with component ``k``'s replaced (all False frees it)."""
        return Locks({**self._by_component, k: ComponentLock(bool(mean), bool(covariance), bool(weight))})

    def without_component(self, k: int) -> "Locks":
        """After component ``k`` was deleted: its lock goes, those above it move down one."""
        return Locks({(j - 1 if j > k else j): lock for j, lock in self._by_component.items() if j != k})

    def limited_to(self, n_components: int) -> "Locks":
        """Only the locks of components ``0 .. n_components - 1``."""
        return Locks({j: lock for j, lock in self._by_component.items() if j < n_components})
