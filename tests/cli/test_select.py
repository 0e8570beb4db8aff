"""The ``select`` command: the chosen model, the table, and every bad option refused in one line."""

import json

import numpy as np
import pytest

from gmm_desktop.cli.main import main
from gmm_desktop.core.selection import select_model
from gmm_desktop.io.datasets import write_csv
from gmm_desktop.io.generator import generate
from tests.blob_data import blobs, separated_centers
from gmm_desktop.io.model_io import load_model
from gmm_desktop.io.selection_table import TABLE_HEADER


@pytest.fixture(scope="module")
def X3():
    return blobs(3, 60, seed=0)


def test_candidate_reproducible_by_fit_with_its_seed(X3, tmp_path):
    best = select_model(X3, k_min=2, k_max=4, covariance_types="tied", n_init=3, seed=4).best
    data, model = tmp_path / "d.npy", tmp_path / "m.json"
    np.save(data, X3)
    assert (
        main(
            [
                "fit",
                str(data),
                "--k",
                str(best.k),
                "--covariance-type",
                "tied",
                "--seed",
                str(best.seed),
                "-o",
                str(model),
            ]
        )
        == 0
    )
    assert load_model(model).log_likelihood == best.log_likelihood


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.csv"
    write_csv(generate(centers=separated_centers(3, 0), seed=0, n_samples=150), path)
    return path


def test_cli_select_writes_model_and_table(data_file, tmp_path, capsys):
    model, table = tmp_path / "model.json", tmp_path / "table.csv"
    code = main(
        [
            "select",
            str(data_file),
            "--k-max",
            "5",
            "--covariance-types",
            "full,diag",
            "--n-init",
            "2",
            "--seed",
            "2",
            "--table",
            str(table),
            "-o",
            str(model),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1 and "chose 3 components" in out and "BIC" in out
    saved = load_model(model)
    assert saved.params.n_components == 3
    assert saved.feature_names == ["x", "y"]
    assert saved.settings["init"] == "kmeans++" and saved.settings["seed"] in (2, 3)
    assert saved.settings["selection"]["covariance_types"] == ["full", "diag"]
    assert saved.settings["selection"]["criterion"] == "bic"
    assert json.loads(model.read_text())["settings"]["tol_mode"] == "total"
    lines = table.read_text().splitlines()
    assert (
        lines[0]
        == "k,covariance_type,log_likelihood,n_parameters,bic,aic"
        == ",".join(TABLE_HEADER)
    )
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 10
    assert [(int(r[0]), r[1]) for r in rows] == [
        (k, t) for t in ("full", "diag") for k in range(1, 6)
    ]
    bics = {(int(r[0]), r[1]): float(r[4]) for r in rows}
    assert min(bics, key=bics.get) == (3, saved.params.covariance_type)
    assert float(rows[0][2]) < float(rows[2][2])  # LL grows from K=1 to K=3


def test_cli_select_aic_without_table(data_file, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert (
        main(
            [
                "select",
                str(data_file),
                "--k-min",
                "2",
                "--k-max",
                "4",
                "--criterion",
                "aic",
                "--n-init",
                "1",
                "-o",
                str(model),
            ]
        )
        == 0
    )
    assert "AIC" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "m.json"]


def test_cli_select_clamps_k_max_with_a_note(tmp_path, capsys):
    data = tmp_path / "few.csv"
    data.write_text("x,y\n0,0\n3,0.5\n0.2,3\n3,3.4\n1.5,1.2\n")
    model = tmp_path / "m.json"
    assert (
        main(
            [
                "select",
                str(data),
                "--k-max",
                "8",
                "--covariance-types",
                "spherical",
                "--n-init",
                "1",
                "-o",
                str(model),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "note: K = 6 to 8 skipped" in err
    assert model.exists()


@pytest.mark.parametrize(
    "options",
    [
        ["--k-min", "0"],
        ["--k-min", "5", "--k-max", "3"],
        ["--k-max", "0"],
        ["--n-init", "0"],
        ["--n-init", "two"],
        ["--covariance-types", "full,banana"],
        ["--covariance-types", ","],
        ["--criterion", "icl"],
        ["--seed", "-1"],
        ["--k-min", "500", "--k-max", "600"],
        ["--tol", "-1"],
        ["--columns", "x,nope"],
    ],
)
def test_cli_select_bad_options(data_file, tmp_path, capsys, options):
    model, table = tmp_path / "m.json", tmp_path / "t.csv"
    code = main(["select", str(data_file), *options, "--table", str(table), "-o", str(model)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_cli_select_needs_output(data_file, capsys):
    assert main(["select", str(data_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_cli_select_table_same_as_output_is_refused(data_file, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["select", str(data_file), "--table", str(model), "-o", str(model)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not model.exists()


def test_cli_select_leaves_existing_output_on_error(data_file, tmp_path, capsys):
    model = tmp_path / "m.json"
    model.write_text("old")
    assert main(["select", str(data_file), "--k-min", "3", "--k-max", "2", "-o", str(model)]) == 2
    assert model.read_text() == "old"
