"""The headless commands, as a user runs them."""

import json
import subprocess
import sys

import numpy as np
import pytest

from gmm_desktop.cli.main import main
from tests.cli.cli_helpers import NOTEBOOK_MEANS, run
from gmm_desktop.io.datasets import load_data, write_csv
from gmm_desktop.io.generator import generate
from gmm_desktop.io.model_io import data_sha256, load_model




def test_generate_is_deterministic_and_has_the_contract_header(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(capsys, "generate", "--preset", "small", "--seed", "3", "-o", a)[0] == 0
    assert run(capsys, "generate", "--preset", "small", "--seed", "3", "-o", b)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_text().splitlines()[0] == "x,y,label"
    assert load_data(a).X.shape == (105, 2)
    code, _, _ = run(capsys, "generate", "--centers", "0,0;10,10", "--preset", "large", "-o", b)
    data = load_data(b)
    assert code == 0 and data.X.shape == (10500, 2) and set(data.labels) == {0, 1}


def test_fit_from_the_notebooks_means_recovers_the_centres(data_csv, tmp_path, capsys):
    out = tmp_path / "model.json"
    code, stdout, err = run(capsys, "fit", data_csv, "--means", NOTEBOOK_MEANS, "-o", out)
    assert code == 0, err
    assert stdout.count("\n") == 1 and stdout.startswith("converged after")
    model = load_model(out)
    assert model.converged and model.settings["init"] == "means" and model.settings["tol"] == 1e-4
    np.testing.assert_allclose(model.params.means, [[1, -1], [5, 5], [8, 7], [10, 0]], atol=0.25)
    doc = json.loads(out.read_text())
    assert doc["data"]["sha256"] == data_sha256(load_data(data_csv).X)
    assert doc["data"]["source"] == "data.csv" and doc["feature_names"] == ["x", "y"]
    assert doc["n_iter"] == len(doc["log_likelihood_trace"]) and doc["initial"]["means"][0] == [
        1.0,
        -1.0,
    ]


def test_fit_with_tol_zero_runs_exactly_max_iter(data_csv, tmp_path, capsys):
    out = tmp_path / "m.json"
    code, stdout, _ = run(
        capsys,
        "fit",
        data_csv,
        "--k",
        "4",
        "--tol",
        "0",
        "--max-iter",
        "7",
        "--covariance-type",
        "diag",
        "--seed",
        "2",
        "-o",
        out,
    )
    assert code == 0 and "did not converge after 7 iterations" in stdout
    model = load_model(out)
    assert (
        model.n_iter == 7 and model.params.covariance_type == "diag" and model.settings["seed"] == 2
    )


def test_fit_with_means_file_and_columns(tmp_path, capsys):
    path = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), rng.normal(size=200) * 5, rng.normal(size=200)])
    path.write_text("a,b,c\n" + "\n".join(",".join(repr(float(v)) for v in r) for r in X) + "\n")
    means = tmp_path / "means.csv"
    means.write_text("0,0\n1,1\n")
    out = tmp_path / "m.json"
    code, _, err = run(capsys, "fit", path, "--columns", "a,c", "--means-file", means, "-o", out)
    assert code == 0, err
    assert load_model(out).feature_names == ["a", "c"]


def test_predict_writes_labels_responsibilities_and_log_density(data_csv, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert run(capsys, "fit", data_csv, "--means", NOTEBOOK_MEANS, "-o", model)[0] == 0
    out = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", model, data_csv, "-o", out)
    assert code == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == "label,p0,p1,p2,p3,log_density"
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (1050, 6)
    np.testing.assert_allclose(table[:, 1:5].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(table[:, 0], np.argmax(table[:, 1:5], axis=1))
    truth = load_data(data_csv).labels
    assert np.mean(table[:, 0] == truth) > 0.95  # components keep the order of the given means


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["fit", "{data}", "--k", "0"], "must be at least 1"),
        (["fit", "{data}", "--k", "5000"], "only 1050 points"),
        (["fit", "{data}", "--tol", "-1", "--k", "2"], "finite number >= 0"),
        (["fit", "{data}", "--covariance-type", "banana", "--k", "2"], "invalid choice: 'banana'"),
        (["fit", "{data}", "--means", "1,2;3"], "mean 2"),
        (["fit", "{data}", "--means", "1,2,3;4,5,6"], "2"),
        (["fit", "{data}"], "--k"),
        (["fit", "{data}", "--means", "1,1;2,2", "--k", "3"], "make them agree"),
        (["fit", "{missing}", "--k", "2"], "missing.csv"),
        (["fit", "{data}", "--k", "2", "--init", "means"], "needs --means"),
        (["predict", "{data}", "{data}"], "not valid JSON"),
        (["generate", "--preset", "huge"], "invalid choice"),
        (["fit", "{data}", "--k", "2", "--max-iter", "zero"], "not a whole number"),
        (["fit", "{data}", "--k", "2", "--seed", "-1"], "give a seed of 0 or more"),
    ],
)
def test_bad_options_exit_2_with_one_error_line_and_no_output(
    data_csv, tmp_path, capsys, argv, needle
):
    out = tmp_path / "out.json"
    argv = [a.format(data=data_csv, missing=tmp_path / "missing.csv") for a in argv] + [
        "-o",
        str(out),
    ]
    code, stdout, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert needle in err
    assert "Traceback" not in err and not out.exists()


def test_failed_fit_leaves_an_existing_output_untouched(data_csv, tmp_path, capsys):
    out = tmp_path / "model.json"
    out.write_text("precious")
    assert run(capsys, "fit", data_csv, "--k", "9999", "-o", out)[0] == 2
    assert out.read_text() == "precious"


def test_output_in_a_missing_folder_is_refused(data_csv, tmp_path, capsys):
    code, _, err = run(capsys, "fit", data_csv, "--k", "2", "-o", tmp_path / "no" / "m.json")
    assert code == 2 and "does not exist" in err


def test_predict_refuses_a_model_with_other_features(data_csv, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert run(capsys, "fit", data_csv, "--k", "2", "-o", model)[0] == 0
    wide = tmp_path / "wide.csv"
    wide.write_text("p,q,r\n1,2,3\n4,5,6\n")
    code, _, err = run(capsys, "predict", model, wide, "-o", tmp_path / "p.csv")
    assert code == 2 and "--columns" in err


def test_main_py_runs_headless_without_qt(data_csv, tmp_path):
    out = tmp_path / "m.json"
    code = (
        "import sys, runpy; sys.argv = ['main.py', 'fit', sys.argv[1], '--k', '4', '-o', sys.argv[2]];"
        "import gmm_desktop.app as app\n"
        "try:\n    app.main()\nexcept SystemExit as e:\n    code = e.code\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]\n"
        "print(code, len(bad))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(data_csv), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "0 0"
    assert load_model(out).params.n_components == 4


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in ("fit", "generate", "predict"):
        assert command in text


@pytest.mark.parametrize("argv,env_drop,needle", [
    (["selct"], (), "unknown command 'selct': did you mean 'select'?"),
    ([], ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"), "no display to open the window on"),
])
def test_the_window_refuses_clearly_when_it_cannot_open(argv, env_drop, needle):
    import os

    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    res = subprocess.run([sys.executable, "-c", "from gmm_desktop.app import main; main()", *argv],
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and needle in res.stderr


@pytest.mark.parametrize("command", ["fit", "select", "generate", "predict"])
def test_help_shows_each_default_once_as_typed(capsys, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps help at the terminal's width
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "('full',)" not in text
    for line in text.split(" --")[1:]:
        assert line.count("default:") <= 1, line


def test_help_defaults_come_from_the_options_table(capsys, monkeypatch):
    from gmm_desktop.core.options import OPTIONS

    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps help at the terminal's width
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    fit_help = " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["select", "--help"])
    select_help = " ".join(capsys.readouterr().out.split())
    assert "how to start; means needs --means or --means-file (default: kmeans++, or means when means are given)" in fit_help
    for name in ("tol", "max_iter", "reg_covar", "covariance_type", "tol_mode", "seed"):
        option = OPTIONS[name]
        assert f"{option.flag} " in fit_help
        assert f"{option.help} (default: {option.default})" in fit_help, name
    assert "(default: full)" in select_help and "--covariance-types TYPES" in select_help
    for name in ("k_min", "k_max", "criterion", "n_init"):
        assert f"{OPTIONS[name].help} (default: {OPTIONS[name].default})" in select_help, name


@pytest.mark.parametrize("argv, needle", [
    (["--max-iter", "0"], "'0' must be a whole number >= 1"),
    (["--reg-covar", "nan"], "'nan' must be a finite number >= 0"),
    (["--tol-mode", "mean"], "invalid choice: 'mean'"),
])
def test_bad_em_options_are_refused_by_the_tables_range(data_csv, tmp_path, capsys, argv, needle):
    code, _, err = run(capsys, "fit", data_csv, "--k", "2", *argv, "-o", tmp_path / "m.json")
    assert code == 2 and needle in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, init, seed", [
    (["--k", "3", "--init", "random", "--seed", "9"], "random", 9),
    (["--k", "3", "--seed", "4"], "kmeans++", 4),
    (["--means", "1,-1;5,5;8,7;10,0"], "means", 0),
])
def test_fit_records_the_start_it_made(data_csv, tmp_path, capsys, argv, init, seed):
    model = tmp_path / "m.json"
    code, _, err = run(capsys, "fit", data_csv, *argv, "--max-iter", "3", "-o", model)
    assert code == 0, err
    settings = load_model(model).settings
    assert (settings["init"], settings["seed"], settings["max_iter"]) == (init, seed, 3)


def test_fit_and_select_accept_a_one_feature_file(tmp_path, capsys):
    """Old Faithful's eruption times alone: two components, around 2 and 4.3 minutes."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(2.0, 0.25, 100), rng.normal(4.3, 0.4, 170)])
    path = tmp_path / "eruptions.csv"
    path.write_text("eruptions\n" + "\n".join(map(repr, x.tolist())) + "\n")
    out = tmp_path / "model.json"
    code, stdout, err = run(capsys, "fit", path, "--means", "1.5;5", "-o", out)
    assert code == 0, err
    model = load_model(out)
    assert model.params.means.shape == (2, 1) and model.feature_names == ["eruptions"]
    np.testing.assert_allclose(np.sort(model.params.means[:, 0]), [2.0, 4.3], atol=0.1)
    code, _, err = run(capsys, "select", path, "--k-max", "4", "-o", tmp_path / "best.json")
    assert code == 0, err
    assert load_model(tmp_path / "best.json").params.n_components == 2
    code, _, err = run(capsys, "fit", path, "--means", "1,2;3,4", "-o", tmp_path / "bad.json")
    assert code == 2 and err.startswith("error:") and "the data has 1 features" in err
