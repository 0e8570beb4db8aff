"""A banner over the canvas that reports a collapsed component and offers to re-seed or remove it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from gmm_desktop.gui import palette


class CollapseBanner(QFrame):
    """Shown while the newest fit has a collapsed component.

    Parameters
    ----------
    session : Session
    """

    reseed_requested = Signal(int)  # component index
    remove_requested = Signal(int)  # component index

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setObjectName("collapseBanner")
        self.setStyleSheet("#collapseBanner { background: #FFF4E5; border: 1px solid #F0B46B; border-radius: 4px; }")
        self._component = 0
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.reseed_button = QPushButton("Re-seed at the worst-explained point")
        self.remove_button = QPushButton("Remove component")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.reseed_button)
        layout.addWidget(self.remove_button)
        self.reseed_button.clicked.connect(self._on_reseed_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        session.fit_changed.connect(self._on_fit_changed)
        self.hide()

    def _on_fit_changed(self, snapshot) -> None:
        collapsed = () if snapshot is None else snapshot.collapsed
        self.setVisible(bool(collapsed))
        if not collapsed:
            return
        self._component = collapsed[0]
        color = palette.component_color(self._component).name()
        names = ", ".join(str(k + 1) for k in collapsed)
        self.label.setText(
            f"<b><span style='color:{color}'>●</span> Component {names} has collapsed</b> onto too few points "
            f"(its weight or its spread is almost zero). Re-seed it or remove it.")
        self.remove_button.setEnabled(snapshot.means.shape[0] > 1)

    def _on_reseed_clicked(self) -> None:
        self.reseed_requested.emit(self._component)

    def _on_remove_clicked(self) -> None:
        self.remove_requested.emit(self._component)
