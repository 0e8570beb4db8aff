"""``--dtype`` for ``fit`` and ``select``: float32 data in the E-step, recorded in the model file."""

import numpy as np
import pytest

from gmm_desktop.cli.main import main
from tests.cli.cli_helpers import NOTEBOOK_MEANS, run
from gmm_desktop.io.datasets import write_csv
from gmm_desktop.io.generator import generate
from gmm_desktop.io.model_io import load_model




def test_fit_float32_same_model_recorded_in_the_file(data_csv, tmp_path, capsys):
    single, double = tmp_path / "f32.json", tmp_path / "f64.json"
    args = ("fit", data_csv, "--means", NOTEBOOK_MEANS, "--tol", "1e-6", "--tol-mode", "per-sample")
    code, _, err = run(capsys, *args, "-o", double)
    assert code == 0, err
    code, stdout, err = run(capsys, *args, "--dtype", "float32", "-o", single)
    assert code == 0, err
    assert stdout.startswith("converged after")
    a, b = load_model(double), load_model(single)
    assert a.settings["dtype"] == "float64" and b.settings["dtype"] == "float32"
    np.testing.assert_allclose(b.params.means, a.params.means, atol=1e-3)
    assert b.log_likelihood == pytest.approx(a.log_likelihood, abs=1e-5 * 10_000)


def test_select_float32_records_it(data_csv, tmp_path, capsys):
    out = tmp_path / "sel.json"
    code, _, err = run(capsys, "select", data_csv, "--k-min", "3", "--k-max", "5", "--n-init", "1",
                       "--tol-mode", "per-sample", "--tol", "1e-4", "--dtype", "float32", "-o", out)
    assert code == 0, err
    model = load_model(out)
    assert model.settings["dtype"] == "float32" and model.params.n_components == 4


@pytest.mark.parametrize("command", ["fit", "select"])
def test_bad_dtype_is_one_error_line(command, data_csv, tmp_path, capsys):
    out = tmp_path / "m.json"
    extra = ["--k", "2"] if command == "fit" else []
    code, stdout, err = run(capsys, command, data_csv, *extra, "--dtype", "float16", "-o", out)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error:") and "float32" in err and "float16" in err
    assert not out.exists()


def test_help_lists_dtype(capsys):
    for command in ("fit", "select"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--dtype {float64,float32}" in capsys.readouterr().out
