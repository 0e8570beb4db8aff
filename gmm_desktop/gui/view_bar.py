"""The view bar: which features the canvas shows (X and Y), or the data's principal components.

The fit is always on every feature; this only chooses the picture (the document's
:class:`~gmm_desktop.document.View`). Hidden for one feature (the canvas is then a histogram).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from gmm_desktop.document import PCA

PCA_TEXT = "principal components"


class ViewBar(QWidget):
    """Two combo boxes over the canvas: X (a feature, or principal components) and Y (a feature).

    ``view_requested`` carries ``(x, y)`` feature indices or ``("pca", None)``.
    """

    view_requested = Signal(object, object)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setObjectName("viewBar")
        self._session = session
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        self.x_combo.setObjectName("viewXCombo")
        self.y_combo.setObjectName("viewYCombo")
        self.x_combo.setToolTip("The feature on the horizontal axis, or the data's first two principal components")
        self.y_combo.setToolTip("The feature on the vertical axis")
        for combo in (self.x_combo, self.y_combo):  # never "principal" or "petal_wic" (a dock open)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._y_label = QLabel("Y:")
        box = QHBoxLayout(self)
        box.setContentsMargins(4, 0, 4, 0)
        box.addWidget(QLabel("View   X:"))
        box.addWidget(self.x_combo, 1)
        box.addWidget(self._y_label)
        box.addWidget(self.y_combo, 1)
        self._hint = QLabel()
        self._hint.setStyleSheet("color: #555;")
        self._hint.setWordWrap(True)  # "fit on all 4 features" in two lines rather than the combos cut
        box.addWidget(self._hint, 2)
        self.x_combo.activated.connect(self._on_chosen)
        self.y_combo.activated.connect(self._on_chosen)
        session.data_changed.connect(self._on_data_changed)
        session.view_changed.connect(self._on_view_changed)

    def _on_data_changed(self, dataset) -> None:
        names = list(dataset.feature_names)
        with QSignalBlocker(self.x_combo), QSignalBlocker(self.y_combo):
            self.x_combo.clear()
            self.x_combo.addItems(names)
            if len(names) >= 2:
                self.x_combo.addItem(PCA_TEXT)
            self.y_combo.clear()
            self.y_combo.addItems(names)
        for combo in (self.x_combo, self.y_combo):  # as wide as the longest entry, however narrow the canvas
            combo.setMinimumWidth(0)
            combo.setMinimumWidth(combo.sizeHint().width())
        self.setVisible(len(names) >= 2)
        self._hint.setText(f"fit on all {len(names)} features" if len(names) > 2 else "")
        self._on_view_changed(self._session.document.view.displayed)

    def _on_view_changed(self, displayed) -> None:
        with QSignalBlocker(self.x_combo), QSignalBlocker(self.y_combo):
            if displayed == PCA:
                self.x_combo.setCurrentIndex(self.x_combo.count() - 1)
            elif len(displayed) == 2:
                self.x_combo.setCurrentIndex(displayed[0])
                self.y_combo.setCurrentIndex(displayed[1])
        self.y_combo.setEnabled(displayed != PCA)

    def _on_chosen(self, _index: int) -> None:
        if self.x_combo.currentText() == PCA_TEXT and self.x_combo.currentIndex() == self.x_combo.count() - 1:
            self.view_requested.emit(PCA, None)
            return
        x, y = self.x_combo.currentIndex(), self.y_combo.currentIndex()
        if x == y:  # the same feature twice: move the other axis out of the way
            y = (x + 1) % self.y_combo.count()
        self.view_requested.emit(x, y)
