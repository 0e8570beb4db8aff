"""The side panel's scroll area (settings and inspector): at least as wide as its contents, so no
label is cut and no horizontal scroll bar shows; it scrolls vertically only."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QScrollArea, QWidget

#: The panel never takes more than this share of the window's width (very wide data: an 8 x 8
#: covariance matrix in the inspector); beyond it the panel scrolls sideways.
MAX_WINDOW_SHARE = 0.5


class SidePanelScroll(QScrollArea):
    """Scroll area whose width hints are its contents' width (plus the vertical scroll bar's room):
    a splitter holding it keeps it that wide, and widens it when the contents grow (a 4-feature
    component in the inspector)."""

    def __init__(self, contents: QWidget, parent=None):
        super().__init__(parent)
        self.setWidget(contents)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        contents.installEventFilter(self)

    def contents_width(self) -> int:
        """The width the contents need with none of their labels cut, the vertical scroll bar's
        room included, at most :data:`MAX_WINDOW_SHARE` of the window."""
        contents = self.widget()
        need = (max(contents.minimumSizeHint().width(), contents.sizeHint().width())
                + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth())
        window = self.window()
        if window is not None and window is not self and window.width() > 0:
            need = min(need, int(MAX_WINDOW_SHARE * window.width()))
        return need

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.contents_width(), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.contents_width(), super().sizeHint().height())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the contents' hints changed: the splitter reads ours again
        return False
