"""Regression guard: PySide6-Essentials 6.12.0 on CPython < 3.12 dropped a reference to None on
every call of a void C++ method, until None was freed and the interpreter aborted
("Fatal Python error: none_dealloc") in pyqtgraph windows. On 3.12+ None is immortal and the
count does not move, so this test passes there too."""

import sys

from PySide6.QtGui import QColor, QImage, QPainter, QPen

CALLS = 100_000


def test_void_qt_calls_keep_the_reference_count_of_none(qapp):
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    pen = QPen(QColor("#0072B2"))
    try:
        before = sys.getrefcount(None)
        for _ in range(CALLS):
            painter.setPen(pen)
        after = sys.getrefcount(None)
    finally:
        painter.end()
    assert after >= before - 100, f"None lost {before - after} references in {CALLS:,} void Qt calls"
