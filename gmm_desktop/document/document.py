"""The document: what is being fitted and everything the fit went through, without Qt.

A :class:`Document` holds the data set, the placed means, explicit start parameters, the EM
settings, the component locks, the :class:`~gmm_desktop.document.history.History` of the fit with
its cursor, and the :class:`~gmm_desktop.document.view.View`. Views and adapters subscribe to it
(:meth:`Document.subscribe`) and are told, after every edit, what changed.

The document records; it does not decide what an edit does to the fit. The GUI's session does
(today every edit of the means or settings restarts the fit, clearing the history), and it runs EM
elsewhere, appending each state here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from gmm_desktop.core.geometry import lift_point, move_in_view, principal_axes
from gmm_desktop.core.init import params_from_means
from gmm_desktop.core.options import EM_SETTINGS, OPTIONS
from gmm_desktop.core.params import GMMParams
from gmm_desktop.document.events import CURSOR, DATA, HISTORY, LOCKS, MEANS, SETTINGS, Change, Observable
from gmm_desktop.document.history import Dropped, History, HistoryEntry
from gmm_desktop.document.locks import Locks
from gmm_desktop.document.view import PCA, View, ViewState

#: The EM settings of a new document.
DEFAULT_SETTINGS = {name: OPTIONS[name].default for name in ("covariance_type", *EM_SETTINGS)}  # core.options
#: The fit's method and the variational prior (core.options; a weight_concentration of None is 1/K).
METHOD_SETTINGS = {"method": OPTIONS["method"].default, "weight_prior": OPTIONS["weight_prior"].default,
                   "weight_concentration": None}
DEFAULT_SETTINGS.update(METHOD_SETTINGS)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class DocumentState:
    """Everything a document holds, as a value (:meth:`Document.capture`, :meth:`Document.restore`).

    Cheap to take: the data set is shared (never copied), the history's entries are immutable
    and shared, only the list of them is new. Undo commands keep one before and one after an edit.
    """

    dataset: object
    means: np.ndarray
    start: GMMParams | None
    settings: tuple
    locks: Locks
    entries: tuple
    cursor: int | None
    view: ViewState
    recorded: tuple = ()  # the history's recorded trace (History.recorded)


class Document(Observable):
    """The data, the means, the settings, the locks, the history with its cursor and the view.

    Attributes (read them; change them through the methods, which tell the subscribers)
    ----------
    dataset : Dataset or None
        Anything with ``X`` (ndarray of shape (n_samples, n_features)), ``feature_names`` and
        ``labels`` (ndarray of shape (n_samples,) or None); :class:`gmm_desktop` data sets.
    means : ndarray of shape (n_means, n_features), read-only
        The placed initial means; K is their number.
    start : GMMParams or None
        Explicit starting parameters (an opened model, a re-seeded fit), or None to start from the
        means by the notebook's rule (:func:`~gmm_desktop.core.init.params_from_means`).
    locks : Locks
    history : History
    view : View
    """

    def __init__(self):
        super().__init__()
        self.dataset = None
        self.means = _frozen(np.empty((0, 2)))
        self.start: GMMParams | None = None
        self._settings = dict(DEFAULT_SETTINGS)
        self.locks = Locks()
        self.history = History()
        self.view = View(2)
        self._pending: list[Change] | None = None
        self.view.subscribe(self._relay)

    # ------------------------------------------------------------------ notifications
    def _relay(self, change: Change) -> None:
        if self._pending is not None:
            self._pending.append(change)
        else:
            self._emit(change)

    @contextlib.contextmanager
    def _edit(self):
        """Collect the changes of an edit and tell them once it is complete."""
        if self._pending is not None:  # nested: the outer edit tells
            yield self._pending
            return
        self._pending = pending = []
        try:
            yield pending
        finally:
            self._pending = None
        self._emit(*pending)

    # ------------------------------------------------------------------ reading
    @property
    def X(self) -> np.ndarray | None:
        return None if self.dataset is None else self.dataset.X

    @property
    def feature_names(self) -> list[str]:
        return [] if self.dataset is None else list(self.dataset.feature_names)

    @property
    def labels(self) -> np.ndarray | None:
        return None if self.dataset is None else self.dataset.labels

    @property
    def n_features(self) -> int:
        return self.means.shape[1] if self.dataset is None else int(self.dataset.X.shape[1])

    @property
    def settings(self) -> dict:
        """A copy of ``covariance_type``, ``tol``, ``tol_mode``, ``max_iter``, ``reg_covar``."""
        return dict(self._settings)

    def em_settings(self) -> dict:
        """Keyword arguments of ``EMFitter`` (all settings but the covariance type and the method's)."""
        return {k: v for k, v in self._settings.items() if k != "covariance_type" and k not in METHOD_SETTINGS}

    def method_settings(self) -> dict:
        """``method`` ("em" or "vb"), ``weight_prior`` and ``weight_concentration`` (None: 1/K)."""
        return {k: self._settings[k] for k in METHOD_SETTINGS}

    @property
    def current(self) -> HistoryEntry | None:
        """The history's entry under the cursor (what is shown), None before a fit."""
        return self.history.current

    def start_params(self) -> GMMParams:
        """The parameters a fit starts from: ``start`` in the chosen covariance type, or the
        notebook's initialisation from the means.

        Raises
        ------
        GMMError
            When there is no data or the means cannot start a fit.
        """
        ctype = self._settings["covariance_type"]
        if self.start is None:
            return params_from_means(self.X, self.means, ctype, self._settings["reg_covar"])
        if self.start.covariance_type != ctype:
            return self.start.with_covariance_type(ctype).validated()
        return self.start

    # ------------------------------------------------------------------ edits
    def set_dataset(self, dataset) -> None:
        """New data: no means, no start, no locks, no history, the default view."""
        with self._edit() as changes:
            self.dataset = dataset
            changes.append(Change(DATA))
            self._set_means(np.empty((0, dataset.X.shape[1])), None, changes)
            self._set_locks(Locks(), changes)
            self._clear_history(changes)
            self.view.reset(dataset.X.shape[1])

    def set_means(self, means, start: GMMParams | None = None) -> None:
        """Place ``means`` (array-like of shape (n_means, n_features)), with explicit ``start``
        parameters or None. Locks of components beyond the new K go."""
        with self._edit() as changes:
            self._set_means(np.asarray(means, dtype=float).reshape(-1, self.n_features), start, changes)
            self._set_locks(self.locks.limited_to(len(self.means)), changes)

    def _set_means(self, means, start, changes) -> None:
        self.means, self.start = _frozen(means), start
        changes.append(Change(MEANS, details={"n_means": len(means)}))

    def set_settings(self, settings: dict) -> None:
        """Replace the EM settings (told only when they differ)."""
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}: use {', '.join(DEFAULT_SETTINGS)}")
        new = {**DEFAULT_SETTINGS, **settings}
        if new != self._settings:
            with self._edit() as changes:
                self._settings = new
                changes.append(Change(SETTINGS))

    def lock_component(self, k: int, mean: bool = False, covariance: bool = False, weight: bool = False) -> None:
        """Lock (or, all False, free) parts of component ``k`` of the placed means."""
        if not 0 <= k < len(self.means):
            raise ValueError(f"no component {k}: there are {len(self.means)}")
        with self._edit() as changes:
            self._set_locks(self.locks.with_lock(k, mean, covariance, weight), changes)

    def set_locks(self, locks: Locks) -> None:
        with self._edit() as changes:
            self._set_locks(locks, changes)

    def _set_locks(self, locks: Locks, changes) -> None:
        if locks != self.locks:
            self.locks = locks
            changes.append(Change(LOCKS))

    # ------------------------------------------------------------------ history
    def append_iteration(self, snapshot) -> None:
        """Add the newest state of the fit (an EMSnapshot; its responsibilities are not kept).
        The cursor follows if it was on the newest entry."""
        with self._edit() as changes:
            moved = self.history.append(snapshot)
            changes.append(Change(HISTORY, "append", {"n_added": 1}))
            if moved:
                changes.append(self._cursor_change())

    def move_cursor(self, index: int) -> None:
        """Show history entry ``index`` (negative counts from the end)."""
        with self._edit() as changes:
            if self.history.move_to(index):
                changes.append(self._cursor_change())

    def step_back(self, steps: int = 1) -> bool:
        """Cursor ``steps`` entries back (stops at the first); True if it moved."""
        with self._edit() as changes:
            moved = self.history.back(steps)
            if moved:
                changes.append(self._cursor_change())
        return moved

    def step_forward(self, steps: int = 1) -> bool:
        """Cursor ``steps`` entries forward (stops at the newest); True if it moved."""
        with self._edit() as changes:
            moved = self.history.forward(steps)
            if moved:
                changes.append(self._cursor_change())
        return moved

    def show_iteration(self, iteration: int, phase: str | None = None) -> None:
        """Cursor on ``iteration`` (its last half, or ``phase``). IndexError if it is not held."""
        self.move_cursor(self.history.index_of(iteration, phase))

    def truncate(self) -> Dropped:
        """Drop the entries after the cursor (before stepping or editing from a past state);
        returns them, for :meth:`restore_dropped` or an undo command."""
        with self._edit() as changes:
            dropped = self.history.truncate()
            if len(dropped):
                changes.append(Change(HISTORY, "truncate", {"n_dropped": len(dropped)}))
        return dropped

    def restore_dropped(self, dropped: Dropped) -> None:
        """Put back what :meth:`truncate` dropped (the cursor stays)."""
        with self._edit() as changes:
            self.history.restore(dropped)
            if len(dropped):
                changes.append(Change(HISTORY, "restore", {"n_added": len(dropped)}))

    def replace_history(self, entries, cursor: int | None = None, recorded=()) -> None:
        """Hold ``entries`` (snapshots, in order) instead, the cursor on ``cursor`` (default: newest):
        an opened model with its trace (``recorded``: the log-likelihoods of the iterations it has
        no entries for, see :attr:`History.recorded`), a session file."""
        with self._edit() as changes:
            self.history.replace(entries, cursor, recorded)
            changes.append(Change(HISTORY, "replace", {"n_entries": len(self.history)}))
            changes.append(self._cursor_change())

    def clear_history(self) -> None:
        """No fit (a restart from the start parameters)."""
        with self._edit() as changes:
            self._clear_history(changes)

    def _clear_history(self, changes) -> None:
        if len(self.history):
            self.history.clear()
            changes.append(Change(HISTORY, "clear"))
            changes.append(self._cursor_change())

    def _cursor_change(self) -> Change:
        entry = self.history.current
        return Change(CURSOR, details={"index": self.history.cursor,
                                       "iteration": None if entry is None else entry.iteration})

    # ------------------------------------------------------------------ view
    def set_view(self, x, y=None) -> None:
        """Display features ``x`` and ``y`` (0-based; only ``x`` for 1-D data) or ``"pca"``, the
        data's first two principal axes. ValueError for a view the data does not have."""
        if isinstance(x, str) and x == PCA:
            if self.dataset is None:
                raise ValueError("there is no data to take principal components of")
            self.view.set_displayed(PCA, pca_axes=principal_axes(self.X, 2) if self.n_features >= 2 else None)
        else:
            self.view.set_displayed(x, y)

    def mean_at(self, *shown) -> np.ndarray:
        """The full-dimensional mean a click at ``shown`` (canvas coordinates: two, or one for 1-D
        data) places: the shown coordinates are the clicked ones, each hidden coordinate is the mean of
        that coordinate over the data points nearest the click in the shown plane
        (:func:`~gmm_desktop.core.geometry.lift_point`)."""
        return lift_point(self.X, self.view.matrix(), shown)

    def means_with_moved(self, k: int, *shown) -> np.ndarray:
        """The placed means with mean ``k`` dragged to ``shown``: only its shown coordinates change."""
        means = np.array(self.means)
        means[k] = move_in_view(means[k], self.view.matrix(), shown)
        return means

    # ------------------------------------------------------------------ undo
    def capture(self) -> DocumentState:
        """The whole state, for an undo command (see :class:`DocumentState`)."""
        return DocumentState(self.dataset, self.means, self.start, tuple(self._settings.items()), self.locks,
                             self.history.entries, self.history.cursor, self.view.capture(),
                             self.history.recorded)

    def restore(self, state: DocumentState) -> None:
        """Put back a captured state; subscribers hear of each part that differs."""
        with self._edit() as changes:
            if state.dataset is not self.dataset:
                self.dataset = state.dataset
                changes.append(Change(DATA))
            if (state.start is not self.start or state.means.shape != self.means.shape
                    or not np.array_equal(state.means, self.means)):
                self._set_means(state.means, state.start, changes)
            if dict(state.settings) != self._settings:
                self._settings = dict(state.settings)
                changes.append(Change(SETTINGS))
            self._set_locks(state.locks, changes)
            entries, cursor = self.history.entries, self.history.cursor
            if (len(entries) != len(state.entries) or any(a is not b for a, b in zip(entries, state.entries))
                    or self.history.recorded != state.recorded):
                self.history.replace(state.entries, state.cursor, state.recorded)
                changes.append(Change(HISTORY, "replace", {"n_entries": len(state.entries)}))
                changes.append(self._cursor_change())
            elif cursor != state.cursor:
                self.history.move_to(state.cursor)
                changes.append(self._cursor_change())
            self.view.restore(state.view)
