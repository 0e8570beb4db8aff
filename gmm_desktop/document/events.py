"""Subscriptions without Qt: a model calls its subscribers with a :class:`Change` after each edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

#: What a :class:`Change` can be about.
DATA = "data"  # the data set was replaced (X, feature names, labels)
MEANS = "means"  # the placed means or the explicit start parameters
SETTINGS = "settings"  # the EM settings
LOCKS = "locks"  # the component locks
HISTORY = "history"  # entries were appended, dropped, restored or replaced (``action`` says which)
CURSOR = "cursor"  # the history's cursor moved (to another entry)
VIEW = "view"  # which features are displayed
KINDS = (DATA, MEANS, SETTINGS, LOCKS, HISTORY, CURSOR, VIEW)


@dataclass(frozen=True)
class Change:
    """One thing that changed.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    action : str
        For ``history``: ``"append"``, ``"truncate"``, ``"restore"``, ``"replace"`` or ``"clear"``;
        ``"set"`` otherwise.
    details : dict
        What a subscriber may want without asking the model again (e.g. ``n_dropped``).
    """

    kind: str
    action: str = "set"
    details: dict = field(default_factory=dict, compare=False)


Callback = Callable[[Change], None]


class Observable:
    """A list of subscribers called, in subscription order, with every :class:`Change`.

    A subscriber is called after the model is consistent again (never half-way through an edit).
    A subscriber that raises does not stop the others: the first exception is re-raised after all
    were called, so a bug in one view is not hidden and does not leave another stale.
    """

    def __init__(self):
        self._subscribers: list[tuple[Callback, frozenset | None]] = []

    def subscribe(self, callback: Callback, kinds=None) -> Callable[[], None]:
        """Call ``callback(change)`` for every change (or only those whose kind is in ``kinds``).

        Returns a function that unsubscribes.
        """
        if kinds is not None:
            kinds = frozenset([kinds] if isinstance(kinds, str) else kinds)
            unknown = kinds - set(KINDS)
            if unknown:
                raise ValueError(f"unknown change kind(s) {sorted(unknown)}: use some of {', '.join(KINDS)}")
        entry = (callback, kinds)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def _emit(self, *changes: Change) -> None:
        error = None
        for change in changes:
            for callback, kinds in list(self._subscribers):
                if kinds is None or change.kind in kinds:
                    try:
                        callback(change)
                    except Exception as exc:  # noqa: BLE001 - re-raised below, after the others ran
                        error = error or exc
        if error is not None:
            raise error
