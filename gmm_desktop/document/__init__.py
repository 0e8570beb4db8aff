"""The Qt-free document: data, feature names, labels, means, settings, locks, history + cursor, view.

Imports only :mod:`gmm_desktop.core` (and NumPy); the GUI's ``Session`` is a thin Qt adapter over it.
"""

from gmm_desktop.document.document import DEFAULT_SETTINGS, Document, DocumentState
from gmm_desktop.document.events import (CURSOR, DATA, HISTORY, KINDS, LOCKS, MEANS, SETTINGS, VIEW, Change,
                                         Observable)
from gmm_desktop.document.history import PHASES, Dropped, History, HistoryEntry, phase_of
from gmm_desktop.document.locks import ComponentLock, Locks
from gmm_desktop.document.view import PCA, View, ViewState

__all__ = [
    "CURSOR", "DATA", "DEFAULT_SETTINGS", "HISTORY", "KINDS", "LOCKS", "MEANS", "PCA", "PHASES", "SETTINGS",
    "VIEW", "Change", "ComponentLock", "Document", "DocumentState", "Dropped", "History", "HistoryEntry",
    "Locks", "Observable", "View", "ViewState", "phase_of",
]
