"""Shared by the command tests: the notebook's medium data set as a CSV file."""

import pytest

from gmm_desktop.io.datasets import write_csv
from gmm_desktop.io.generator import generate


@pytest.fixture
def data_csv(tmp_path):
    path = tmp_path / "data.csv"
    write_csv(generate("medium", seed=0), path)
    return path
