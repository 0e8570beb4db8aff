"""The history of a fit: every iteration's parameters and log-likelihood, and a cursor.

An entry holds a snapshot without its responsibilities (``O(K * D^2)`` numbers: a million points
of 16 features would cost 64 MB an iteration otherwise); the responsibilities of an old entry are
recomputed when it is shown. Entries are ordered by ``(iteration, phase)``: iteration ``i`` may have
an ``"M"`` entry (after the M-step: new parameters, responsibilities not yet) followed by an ``"E"``
entry (after the E-step); a full iteration ends in ``"E"``, and iteration 0 (the start) is ``"E"``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

PHASES = ("M", "E")  # in the order they happen within an iteration


def phase_of(snapshot) -> str:
    """The phase of a snapshot: ``snapshot.phase`` when the fitter gives one, else ``"E"``."""
    return getattr(snapshot, "phase", "E")


@dataclass(frozen=True)
class HistoryEntry:
    """One state of the fit. ``snapshot`` is an :class:`~gmm_desktop.core.em.EMSnapshot` without
    ``resp``/``labels``; the other attributes read it."""

    snapshot: object

    @classmethod
    def of(cls, snapshot) -> "HistoryEntry":
        """The entry of ``snapshot``, dropping its responsibilities if it has any."""
        if isinstance(snapshot, HistoryEntry):
            return snapshot
        if getattr(snapshot, "resp", None) is not None or getattr(snapshot, "labels", None) is not None:
            snapshot = dataclasses.replace(snapshot, resp=None, labels=None)
        phase = phase_of(snapshot)
        if phase not in PHASES:
            raise ValueError(f"phase must be 'M' or 'E', got {phase!r}")
        return cls(snapshot)

    @property
    def iteration(self) -> int:
        return self.snapshot.iteration

    @property
    def phase(self) -> str:
        return phase_of(self.snapshot)

    @property
    def params(self):
        """GMMParams of this state."""
        return self.snapshot.params

    @property
    def log_likelihood(self) -> float:
        return self.snapshot.log_likelihood

    @property
    def converged(self) -> bool:
        return self.snapshot.converged

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: iteration, then M before E."""
        return self.iteration, PHASES.index(self.phase)


@dataclass(frozen=True)
class Dropped:
    """Entries cut off the end of a history by :meth:`History.truncate`, to give back to
    :meth:`History.restore`.

    Attributes
    ----------
    start : int
        Index the first dropped entry had (the history's length right after the cut).
    entries : tuple of HistoryEntry
    """

    start: int
    entries: tuple

    def __len__(self) -> int:
        return len(self.entries)


class History:
    """Entries in order and a cursor (the index of the entry shown); empty before any fit.

    Change it through the :class:`~gmm_desktop.document.Document` (which tells its subscribers);
    read it freely.
    """

    def __init__(self, entries=(), cursor: int | None = None, recorded=()):
        self._entries: list[HistoryEntry] = []
        self._cursor: int | None = None
        self._recorded: tuple = ()
        self.replace(entries, cursor, recorded)

    # -- reading
    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> HistoryEntry:
        return self._entries[index]

    def __iter__(self):
        return iter(self._entries)

    @property
    def entries(self) -> tuple:
        return tuple(self._entries)

    @property
    def recorded(self) -> tuple:
        """Log-likelihoods after iterations 1, 2, ... of a fit made elsewhere (an opened model's
        trace, a Find K candidate's), for the iterations whose entries the history does not hold:
        :meth:`trace` fills its gaps with them. Empty for a fit made here."""
        return self._recorded

    @property
    def cursor(self) -> int | None:
        """Index of the current entry, None when empty."""
        return self._cursor

    @property
    def current(self) -> HistoryEntry | None:
        return None if self._cursor is None else self._entries[self._cursor]

    @property
    def last(self) -> HistoryEntry | None:
        return self._entries[-1] if self._entries else None

    @property
    def at_end(self) -> bool:
        """True when the cursor is on the newest entry (or the history is empty)."""
        return self._cursor is None or self._cursor == len(self._entries) - 1

    @property
    def n_iterations(self) -> int:
        """How many iterations the history holds, iteration 0 counting (half-steps do not add)."""
        return len({e.iteration for e in self._entries})

    def index_of(self, iteration: int, phase: str | None = None) -> int:
        """Index of ``iteration``'s entry: its last one (the ``"E"`` when both halves are there),
        or that of ``phase``.

        Raises
        ------
        IndexError
            When the history does not hold it; the message says what it holds.
        """
        for i in range(len(self._entries) - 1, -1, -1):
            e = self._entries[i]
            if e.iteration == iteration and (phase is None or e.phase == phase):
                return i
        held = "nothing" if not self._entries else \
            f"iterations {self._entries[0].iteration} to {self._entries[-1].iteration}"
        what = f"iteration {iteration}" + ("" if phase is None else f" ({phase}-step)")
        raise IndexError(f"the history has no {what}: it holds {held}")

    def trace(self, upto: int | None = None) -> list[float]:
        """Log-likelihood after each full iteration from 1 on (as a model file's trace), up to the
        entry at index ``upto`` (default: the whole history)."""
        entries = self._entries if upto is None else self._entries[: upto + 1]
        held = [e for e in entries if e.phase == "E" and e.iteration >= 1]
        if not self._recorded:
            return [e.log_likelihood for e in held]
        # iterations without an entry (between an opened model's start and its fitted state) from
        # the recorded trace, up to the newest full iteration held
        values = dict(enumerate(self._recorded, 1))
        values.update((e.iteration, e.log_likelihood) for e in held)
        top = held[-1].iteration if held else 0
        return [values[i] for i in range(1, top + 1) if i in values]

    @property
    def initial_log_likelihood(self) -> float:
        """That of iteration 0, NaN when the history does not start there."""
        first = self._entries[0] if self._entries else None
        return first.log_likelihood if first is not None and first.iteration == 0 else math.nan

    # -- changes (through the document)
    def append(self, snapshot) -> bool:
        """Add a state after the newest. The cursor follows when it was on the newest entry.

        Returns True when the cursor moved.

        Raises
        ------
        ValueError
            When the state does not come after the newest one (an iteration again, or earlier).
        """
        entry = HistoryEntry.of(snapshot)
        last = self.last
        if last is not None and entry.key <= last.key:
            raise ValueError(
                f"iteration {entry.iteration} ({entry.phase}) does not follow the history's newest state, "
                f"iteration {last.iteration} ({last.phase})")
        follow = self.at_end
        self._entries.append(entry)
        if follow:
            self._cursor = len(self._entries) - 1
        return follow

    def move_to(self, index: int) -> bool:
        """Put the cursor on entry ``index`` (negative counts from the end). True if it moved."""
        n = len(self._entries)
        if not -n <= index < n:
            raise IndexError(f"no history entry {index}: the history has {n}")
        index %= n
        moved = index != self._cursor
        self._cursor = index
        return moved

    def back(self, steps: int = 1) -> bool:
        """Cursor ``steps`` entries back, stopping at the first. True if it moved."""
        if self._cursor is None:
            return False
        return self.move_to(max(0, self._cursor - steps))

    def forward(self, steps: int = 1) -> bool:
        """Cursor ``steps`` entries forward, stopping at the newest. True if it moved."""
        if self._cursor is None:
            return False
        return self.move_to(min(len(self._entries) - 1, self._cursor + steps))

    def truncate(self) -> Dropped:
        """Drop every entry after the cursor; returns them for :meth:`restore`."""
        start = 0 if self._cursor is None else self._cursor + 1
        dropped = Dropped(start, tuple(self._entries[start:]))
        del self._entries[start:]
        return dropped

    def restore(self, dropped: Dropped) -> None:
        """Put back entries :meth:`truncate` dropped; the cursor stays where it is.

        Raises
        ------
        ValueError
            When the history has changed since at the cut (entries added after it, or fewer left).
        """
        if len(self._entries) != dropped.start:
            raise ValueError(
                f"cannot restore {len(dropped)} dropped entries at index {dropped.start}: "
                f"the history now has {len(self._entries)}")
        if dropped.entries and self._entries and dropped.entries[0].key <= self._entries[-1].key:
            raise ValueError("the dropped entries do not follow the history's newest state")
        self._entries.extend(dropped.entries)
        if self._cursor is None and self._entries:
            self._cursor = 0

    def replace(self, entries, cursor: int | None = None, recorded=()) -> None:
        """Hold ``entries`` (snapshots or entries, in order) instead; the cursor on ``cursor``
        (default: the newest); ``recorded``: see :attr:`recorded`."""
        new = [HistoryEntry.of(e) for e in entries]
        for a, b in zip(new, new[1:]):
            if b.key <= a.key:
                raise ValueError(f"history entries out of order: iteration {b.iteration} ({b.phase}) "
                                 f"after iteration {a.iteration} ({a.phase})")
        if cursor is not None and not -len(new) <= cursor < len(new):
            raise IndexError(f"no history entry {cursor}: the history has {len(new)}")
        self._entries = new
        self._cursor = None if not new else (len(new) - 1 if cursor is None else cursor % len(new))
        self._recorded = tuple(float(v) for v in recorded)

    def clear(self) -> None:
        self._entries, self._cursor, self._recorded = [], None, ()
