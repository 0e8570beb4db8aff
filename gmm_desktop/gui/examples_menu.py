"""File → Examples: the data sets shipped in ``resources/`` (see :mod:`gmm_desktop.io.examples`).

An example with rows that miss values (Palmer penguins) asks whether to skip them; scripts and tests
answer with ``window.open_example(key, skip_invalid=True)``.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox

from gmm_desktop.core.errors import DataError
from gmm_desktop.io.datasets import DROP_HINT
from gmm_desktop.io.examples import EXAMPLES, example


#: What the window says instead of the command line's flag: its own menu item, and what to do with it.
WINDOW_DROP_HINT = ("fix or remove the row, or turn on File → Skip rows with invalid values and open the file "
                    "again (the rows with invalid values are then left out)")


def data_error_text(exc) -> str:
    """A data file's error in the window's words: the window's menu item, not the command line's
    ``--drop-invalid`` flag (which the commands keep)."""
    return str(exc).strip("'\"").replace(DROP_HINT, WINDOW_DROP_HINT)


def build_examples_menu(window, parent_menu: QMenu, before: QAction | None = None) -> QMenu:
    """Add the Examples submenu (one action per example, named ``actionExample_<key>``)."""
    menu = QMenu("&Examples", parent_menu)
    menu.setObjectName("menuExamples")
    for ex in EXAMPLES:
        action = QAction(ex.title, window)
        action.setObjectName(f"actionExample_{ex.key}")
        action.setToolTip(ex.about)
        action.setStatusTip(ex.about)
        # the menu's route asks about unsaved work first (window.confirm_new_data); open_example does not
        action.triggered.connect(lambda _=False, key=ex.key: window._on_example_triggered(key))
        menu.addAction(action)
    parent_menu.insertMenu(before, menu) if before is not None else parent_menu.addMenu(menu)
    return menu


def ask_skip_invalid(parent, source: str, n_rows: int) -> bool:
    """Ask whether to leave out the rows with missing values; True to skip them."""
    buttons = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Question, "Rows with missing values",
                      f"{source} has {n_rows} row{'s' if n_rows != 1 else ''} with empty or non-numeric values "
                      "in the feature columns. Skip those rows and open the rest?",
                      buttons.Yes | buttons.Cancel, parent)
    box.setObjectName("skipInvalidBox")
    box.button(buttons.Yes).setText("Skip those rows")
    box.setDefaultButton(buttons.Yes)
    return box.exec() == buttons.Yes


def open_example(window, key: str, skip_invalid: bool | None = None) -> bool:
    """Open example ``key``; rows with invalid values are skipped when ``skip_invalid`` (None: ask)."""
    try:
        ex = example(key)
        dataset = ex.load(drop_invalid=True)
        if dataset.n_dropped:
            if skip_invalid is None:
                skip_invalid = window._ask_skip_invalid(dataset.source, dataset.n_dropped)
            if not skip_invalid:
                ex.load(drop_invalid=False)  # raises the error naming the first bad row
    except (DataError, KeyError) as exc:
        window._show_error("Could not open the example", data_error_text(exc))
        return False
    window._set_dataset(dataset)
    window._data_path = str(ex.path)  # File → Choose columns… reads the example's file again
    window._data_drop_invalid = True if dataset.n_dropped else None  # its rows without values stay out
    skipped = f"; skipped {dataset.n_dropped} rows with missing values" if dataset.n_dropped else ""
    window.statusBar().showMessage(f"Opened the example {ex.title}: {ex.about}{skipped}", 10000)
    return True
