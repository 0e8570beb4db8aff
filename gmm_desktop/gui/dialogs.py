"""Dialogs: generate a data set; choose the feature columns and the label column of a file."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QSpinBox, QVBoxLayout,
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
        self.scene_combo = QComboBox()
        self.scene_combo.setObjectName("generateScene")
        for name in generator.SCENES:
            self.scene_combo.addItem(name, name)
        self.centers_edit = QLineEdit(_format_points(generator.NOTEBOOK_CENTERS))
        self.centers_edit.setToolTip("Centers as x,y pairs separated by semicolons")
        self.shapes_edit = QLineEdit()
        self.shapes_edit.setObjectName("generateShapes")
        self.shapes_edit.setPlaceholderText("round (std 1); or std,aspect,angle per cluster: 3,6,0; 3,6,0")
        self.shapes_edit.setToolTip("Each cluster's shape: std along its long axis, aspect (long / short axis, "
                                    ">= 1) and the long axis's angle in degrees, clusters separated by ';'. "
                                    "Empty: round clusters of std 1")
        self.scene_combo.currentIndexChanged.connect(self._on_scene_chosen)
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
        form.addRow("Problem:", self.scene_combo)
        form.addRow("Size:", self.preset_combo)
        form.addRow("Centers:", self.centers_edit)
        form.addRow("Shapes:", self.shapes_edit)
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
            "shapes": self._shapes(),
        }

    def choose_scene(self, name: str) -> None:
        """Fill the centres and shapes of one of ``generator.SCENES``."""
        self.scene_combo.setCurrentIndex(self.scene_combo.findData(name))
        self._on_scene_chosen()

    def _on_scene_chosen(self, *_args) -> None:
        scene = generator.SCENES[self.scene_combo.currentData()]
        self.centers_edit.setText(_format_points(scene["centers"]))
        self.shapes_edit.setText(_format_points(scene["shapes"]) if scene.get("shapes") else "")

    def _shapes(self):
        text = self.shapes_edit.text().strip()
        if not text:
            return None
        shapes = datasets.parse_points(text, n_features=3, what="shapes")
        n = len(datasets.parse_points(self.centers_edit.text(), what="centers"))
        if len(shapes) != n:
            raise DataError(f"give one shape (std, aspect, angle) per cluster: {n} centers, {len(shapes)} shapes")
        if (shapes[:, 0] <= 0).any() or (shapes[:, 1] < 1).any():
            raise DataError("each shape's std must be > 0 and its aspect (long / short axis) >= 1, as 3,6,0")
        return shapes.tolist()

    def _on_accepted(self) -> None:
        try:
            self.values()
        except DataError as exc:
            self._error.setText(str(exc))
            self._error.show()
            return
        self.accept()


NO_LABEL = "(none)"


class ColumnsDialog(QDialog):
    """Pick the feature columns to fit on (every one is fitted; the view chooses what is drawn) and
    the column holding the true labels."""

    def __init__(self, names: list[str], labels: list[str], source: str, parent=None, chosen=None, label=None):
        super().__init__(parent)
        self.setWindowTitle("Choose columns")
        self.features = QListWidget()
        self.features.setObjectName("featureList")
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if chosen is None or name in chosen else Qt.CheckState.Unchecked)
            self.features.addItem(item)
        self.label_combo = QComboBox()
        self.label_combo.setObjectName("labelCombo")
        self.label_combo.addItems([NO_LABEL, *labels])
        if label in labels:
            self.label_combo.setCurrentText(label)
        self._error = QLabel("Choose at least one feature, and not the label column as a feature.")
        self._error.setStyleSheet("color: #C62828;")
        self._error.setWordWrap(True)
        self._error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel(f"{source}: EM fits on every checked feature; the view above the canvas chooses "
                       "which two are drawn.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Features:"))
        layout.addWidget(self.features, 1)
        form = QFormLayout()
        form.addRow("True labels:", self.label_combo)
        layout.addLayout(form)
        layout.addWidget(self._error)
        layout.addWidget(buttons)

    def columns(self) -> list[str]:
        items = (self.features.item(i) for i in range(self.features.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    def label(self) -> str | None:
        text = self.label_combo.currentText()
        return None if text == NO_LABEL else text

    def _on_accepted(self) -> None:
        if not self.columns() or self.label() in self.columns():
            self._error.show()
            return
        self.accept()
