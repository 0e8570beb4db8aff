"""The example data sets of File → Examples, shipped in ``resources/`` (sources and licences in
``resources/README.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gmm_desktop.io.datasets import Dataset, load_data

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


@dataclass(frozen=True)
class Example:
    """One example: which file, which columns are the features, which is the label."""

    key: str
    title: str
    file: str
    columns: tuple | None = None  # None: every numeric column but the label
    label: str | None = None  # None: the column named "label" (or the file's first text column)
    about: str = ""

    @property
    def path(self) -> Path:
        return RESOURCES / self.file

    def load(self, drop_invalid: bool = False) -> Dataset:
        """The data set (DataError when a row has a missing value and ``drop_invalid`` is False)."""
        return load_data(self.path, columns=list(self.columns) if self.columns else None,
                         drop_invalid=drop_invalid, label=self.label)


EXAMPLES = (
    Example("demo", "The notebook's four clusters", "demo.csv",
            about="1,050 points around four centres, the notebook's problem"),
    Example("faithful", "Old Faithful", "faithful.csv",
            about="272 eruptions: duration and waiting time (min), the classic two-cluster data"),
    Example("iris", "Iris (4 features, species as label)", "iris.csv", label="species",
            about="150 flowers, four measurements (cm), three species"),
    Example("penguins", "Palmer penguins (4 features, species as label)", "penguins.csv",
            columns=("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"), label="species",
            about="344 penguins, four measurements, three species; two rows have no measurements"),
)


def example(key: str) -> Example:
    """The example named ``key`` (``"demo"``, ``"faithful"``, ``"iris"``, ``"penguins"``)."""
    for ex in EXAMPLES:
        if ex.key == key:
            return ex
    raise KeyError(f"no example {key!r}: choose among {', '.join(e.key for e in EXAMPLES)}")
