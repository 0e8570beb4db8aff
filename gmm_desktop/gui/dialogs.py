"""Dialogs: generate a data set; choose the two feature columns of a wider file."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout,
)

from gmm_desktop.io import datasets, generator
from gmm_desktop.core.errors import DataError


def _format_points(points) -> str:
    return "; ".join(",".join(f"{v:g}" for v in row) for row in points)


#: Sizes offered beyond the notebook's presets.
LARGE_SIZES = (100_000, 1_000_000)


class GenerateDialog(QDialog):
    """Preset size, centres and seed of a synthetic data set (the notebook's blobs)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Generate data")
        self.preset_combo = QComboBox()
        for name, n in generator.PRESETS.items():
            self.preset_combo.addItem(f"{name} ({n:,} points)", name)
        for n in LARGE_SIZES:  # to see the window at scale without a file
            self.preset_combo.addItem(f"{n:,} points", n)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData("medium"))
        self.centers_edit = QLineEdit(_format_points(generator.NOTEBOOK_CENTERS))
        self.centers_edit.setToolTip("Centers as x,y pairs separated by semicolons")
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.suggest_check = QCheckBox("Place initial means near the true centers (jittered)")
        self.suggest_check.setChecked(True)
        self._error = QLabel()
        self._error.setStyleSheet("color: #C62828;")
        self._error.setWordWrap(True)
        self._error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Size:", self.preset_combo)
        form.addRow("Centers:", self.centers_edit)
        form.addRow("Seed:", self.seed_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.suggest_check)
        layout.addWidget(self._error)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)

    def values(self) -> dict:
        """Keyword arguments of ``MainWindow.generate_data``; raises DataError for bad centres."""
        size = self.preset_combo.currentData()  # a preset's name, or a number of points
        return {
            "preset": size if isinstance(size, str) else "large",
            "n_samples": None if isinstance(size, str) else int(size),
            "centers": datasets.parse_points(self.centers_edit.text(), what="centers"),
            "seed": self.seed_spin.value(),
            "suggest_means": self.suggest_check.isChecked(),
        }

    def _on_accepted(self) -> None:
        try:
            self.values()
        except DataError as exc:
            self._error.setText(str(exc))
            self._error.show()
            return
        self.accept()


class ColumnsDialog(QDialog):
    """Pick the two feature columns to fit and draw."""

    def __init__(self, names: list[str], source: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose two columns")
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        for combo, index in ((self.x_combo, 0), (self.y_combo, 1)):
            combo.addItems(names)
            combo.setCurrentIndex(index)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Horizontal:", self.x_combo)
        form.addRow("Vertical:", self.y_combo)
        layout = QVBoxLayout(self)
        intro = QLabel(f"{source} has {len(names)} feature columns. The app fits and draws two of them.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def columns(self) -> list[str]:
        return [self.x_combo.currentText(), self.y_combo.currentText()]
