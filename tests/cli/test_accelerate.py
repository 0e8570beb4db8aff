"""``--accelerate`` for ``fit`` and ``select``: the same model in fewer EM steps, recorded in the file."""

import numpy as np
import pytest

from gmm_desktop.cli.main import main
from tests.cli.cli_helpers import NOTEBOOK_MEANS, run
from gmm_desktop.io.datasets import write_csv
from gmm_desktop.io.generator import generate
from gmm_desktop.io.model_io import load_model




def test_fit_squarem_same_model_fewer_em_steps(data_csv, tmp_path, capsys):
    plain, fast = tmp_path / "plain.json", tmp_path / "fast.json"
    code, out_plain, err = run(capsys, "fit", data_csv, "--means", NOTEBOOK_MEANS, "--tol", "1e-8",
                               "--accelerate", "none", "-o", plain)
    assert code == 0, err
    code, out_fast, err = run(capsys, "fit", data_csv, "--means", NOTEBOOK_MEANS, "--tol", "1e-8",
                              "--accelerate", "squarem", "-o", fast)
    assert code == 0, err
    assert out_fast.startswith("converged after") and "squarem:" in out_fast and "EM steps" in out_fast
    em_steps = int(out_fast.split("squarem: ")[1].split(" EM steps")[0])
    a, b = load_model(plain), load_model(fast)
    assert em_steps < a.n_iter
    assert a.settings["accelerate"] == "none" and b.settings["accelerate"] == "squarem"
    assert b.log_likelihood >= a.log_likelihood - 1e-6
    np.testing.assert_allclose(b.params.means, a.params.means, atol=1e-4)
    assert np.all(np.diff(b.trace) >= 0) and len(b.trace) == b.n_iter


def test_default_accelerates_and_tol_zero_is_plain_em(data_csv, tmp_path, capsys):
    default, plain = tmp_path / "default.json", tmp_path / "plain.json"
    code, stdout, err = run(capsys, "fit", data_csv, "--means", NOTEBOOK_MEANS, "-o", default)
    assert code == 0, err
    assert "(squarem:" in stdout and load_model(default).settings["accelerate"] == "squarem"
    code, stdout, err = run(capsys, "fit", data_csv, "--means", NOTEBOOK_MEANS, "--accelerate", "none", "-o", plain)
    assert code == 0 and "(squarem:" not in stdout
    a, b = load_model(plain), load_model(default)
    assert a.settings["accelerate"] == "none" and len(b.trace) < len(a.trace)  # fewer iterations by default
    assert b.log_likelihood >= a.log_likelihood - 1e-6 * abs(a.log_likelihood)
    # the contract: --tol 0 --max-iter N runs exactly N (plain) EM iterations
    out = tmp_path / "m.json"
    code, stdout, _ = run(capsys, "fit", data_csv, "--k", "4", "--tol", "0", "--max-iter", "7", "-o", out)
    assert code == 0 and "(squarem:" not in stdout
    model = load_model(out)
    assert model.n_iter == 7 and model.settings["accelerate"] == "none"


def test_vb_is_not_accelerated_and_says_so_when_asked(data_csv, tmp_path, capsys):
    out = tmp_path / "vb.json"
    code, _, err = run(capsys, "fit", data_csv, "--k", "4", "--method", "vb", "-o", out)
    assert code == 0, err  # the default does not get in the way of --method vb
    code, stdout, err = run(capsys, "fit", data_csv, "--k", "4", "--method", "vb", "--accelerate", "squarem",
                            "-o", tmp_path / "vb2.json")
    assert code == 2 and "--method em only" in err and not (tmp_path / "vb2.json").exists()


def test_select_default_accelerates_and_tol_zero_is_plain_em(data_csv, tmp_path, capsys):
    out = tmp_path / "sel.json"
    args = ("select", data_csv, "--k-min", "3", "--k-max", "4", "--n-init", "1")
    assert run(capsys, *args, "-o", out)[0] == 0
    assert load_model(out).settings["accelerate"] == "squarem"
    assert run(capsys, *args, "--tol", "0", "--max-iter", "5", "-o", out)[0] == 0
    model = load_model(out)
    assert model.settings["accelerate"] == "none" and model.n_iter == 5


def test_bad_accelerate_value_is_one_error_line(data_csv, tmp_path, capsys):
    out = tmp_path / "m.json"
    code, stdout, err = run(capsys, "fit", data_csv, "--k", "2", "--accelerate", "fast", "-o", out)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error:") and "squarem" in err
    assert not out.exists()


def test_select_squarem_picks_the_same_model(data_csv, tmp_path, capsys):
    plain, fast = tmp_path / "plain.json", tmp_path / "fast.json"
    args = ("select", data_csv, "--k-min", "3", "--k-max", "5", "--n-init", "1")
    assert run(capsys, *args, "--accelerate", "none", "-o", plain)[0] == 0
    code, stdout, err = run(capsys, *args, "--accelerate", "squarem", "-o", fast)
    assert code == 0, err
    a, b = load_model(plain), load_model(fast)
    assert b.params.n_components == a.params.n_components == 4
    assert b.settings["accelerate"] == "squarem"
    assert b.log_likelihood == pytest.approx(a.log_likelihood, abs=1e-2)


def test_help_lists_accelerate(capsys):
    for command in ("fit", "select"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--accelerate {none,squarem}" in capsys.readouterr().out
