"""Issue 11.5: a column of text (iris's ``species``) is the label, never a feature, and every
command says which columns were the features and which the label."""

import json

import numpy as np
import pytest

from gmm_desktop.cli.main import main
from gmm_desktop.core.errors import DataError
from gmm_desktop.io.datasets import describe_columns, load_data
from gmm_desktop.io.generator import generate

SPECIES = ("setosa", "versicolor", "virginica")


@pytest.fixture
def iris_like(tmp_path):
    """Three well separated 4-D clusters with a text ``species`` column (iris's layout), 150 rows."""
    rng = np.random.default_rng(0)
    rows = []
    for k, name in enumerate(SPECIES):
        for x in rng.normal(loc=3.0 * k, scale=0.4, size=(50, 4)):
            rows.append(",".join(f"{v:.3f}" for v in x) + f",{name}")
    path = tmp_path / "iris.csv"
    path.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n" + "\n".join(rows) + "\n")
    return path


def test_the_first_text_column_is_the_label_not_a_feature(iris_like):
    data = load_data(iris_like)
    assert data.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert data.label_name == "species"
    assert data.label_names == list(SPECIES) and np.bincount(data.labels).tolist() == [50, 50, 50]
    assert "species" not in data.all_feature_names  # never offered as a feature
    assert describe_columns(data) == ("features 'sepal_length', 'sepal_width', 'petal_length', 'petal_width'; "
                                      "label 'species'")


def test_choosing_the_text_label_as_a_feature_is_refused_with_the_reason(iris_like):
    with pytest.raises(DataError, match="'species' holds text.*the label.*never a feature.*'sepal_length'"):
        load_data(iris_like, columns=["sepal_length", "species"])


def test_a_column_named_label_still_wins_over_a_text_column(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("name,x,y,label\na,1,2,0\nb,2,3,1\nc,3,1,0\n")
    data = load_data(path)
    assert data.label_name == "label" and data.feature_names == ["x", "y"]
    assert data.labels.tolist() == [0, 1, 0]


def test_an_empty_column_is_not_a_label(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("x,y,\n1,2,\n2,3,\n3,1,\n")
    data = load_data(path)
    assert data.label_name is None and data.labels is None and data.feature_names == ["x", "y"]


def test_fit_and_select_say_which_columns_were_features_and_which_the_label(iris_like, tmp_path, capsys):
    model = tmp_path / "iris.json"
    assert main(["fit", str(iris_like), "--k", "3", "-o", str(model)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # still one summary line
    assert "features 'sepal_length', 'sepal_width', 'petal_length', 'petal_width'; label 'species'" in out
    doc = json.loads(model.read_text())
    assert doc["n_features"] == 4 and doc["feature_names"] == ["sepal_length", "sepal_width", "petal_length",
                                                               "petal_width"]
    assert doc["data"]["label_column"] == "species"
    assert doc["log_likelihood"] < 0  # no degenerate feature made of 0/1/2 codes
    assert main(["select", str(iris_like), "--k-max", "4", "-o", str(model)]) == 0
    assert "label 'species'" in capsys.readouterr().out
    assert json.loads(model.read_text())["data"]["label_column"] == "species"


def test_generated_data_name_their_label_column(tmp_path, capsys):
    data = generate("small", seed=0)
    assert data.label_name == "label"
    path = tmp_path / "no_label.csv"
    path.write_text("x,y\n1,2\n2,3\n3,1\n4,4\n")
    assert main(["fit", str(path), "--k", "1", "-o", str(tmp_path / "m.json")]) == 0
    assert "no label column" in capsys.readouterr().out
    assert "label_column" not in json.loads((tmp_path / "m.json").read_text())["data"]
