"""The document's tests run without Qt: the root conftest's Qt settings fixture is not needed here."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_qt_settings():
    """Overrides the root fixture of that name, which imports PySide6 (the document never needs Qt)."""
    yield
