"""``fit --method vb``: a variational Bayesian mixture from the command line, as a user runs it."""

import json

import numpy as np
import pytest

from gmm_desktop.cli.main import main
from gmm_desktop.core.em import log_likelihood, predict_proba
from gmm_desktop.io.datasets import load_data, write_csv
from gmm_desktop.io.generator import generate
from gmm_desktop.io.model_io import load_model, model_from_dict, model_to_dict

CENTRES = np.array([[1.0, -1.0], [5.0, 5.0], [8.0, 7.0], [10.0, 0.0]])


@pytest.fixture
def data_csv(tmp_path):
    path = tmp_path / "data.csv"
    write_csv(generate("medium", seed=0, cluster_std=0.6), path)
    return path


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_vb_fit_keeps_four_of_twelve_and_writes_its_priors(data_csv, tmp_path, capsys):
    out = tmp_path / "vb.json"
    code, stdout, err = run(capsys, "fit", data_csv, "--k", "12", "--method", "vb", "--tol", "1e-3", "-o", out)
    assert code == 0, err
    assert stdout.count("\n") == 1 and stdout.startswith("converged after")
    assert "4 of 12 components" in stdout
    doc = json.loads(out.read_text())
    assert doc["method"] == "vb"
    priors = doc["priors"]
    assert priors["weight_prior"] == "dirichlet_process"
    assert priors["weight_concentration"] == pytest.approx(1 / 12)
    X = load_data(data_csv).X
    np.testing.assert_allclose(priors["mean"], X.mean(axis=0))
    np.testing.assert_allclose(priors["covariance"], np.cov(X.T))
    assert priors["degrees_of_freedom"] == 2 and priors["mean_precision"] == 1
    lb = doc["lower_bound_trace"]
    assert len(lb) == doc["n_iter"] == len(doc["log_likelihood_trace"])
    assert np.all(np.diff(lb) >= -1e-9 * abs(lb[-1]))
    weights = np.array(doc["weights"])
    kept = weights > 0.01
    assert kept.sum() == 4 and abs(weights.sum() - 1) < 1e-12
    dist = np.linalg.norm(np.array(doc["means"])[kept][:, None] - CENTRES[None], axis=2)
    assert sorted(dist.argmin(axis=1).tolist()) == [0, 1, 2, 3] and dist.min(axis=1).max() < 0.2
    # the saved log-likelihood is that of the saved (expected) parameters, as for an EM model
    model = load_model(out)
    assert doc["log_likelihood"] == pytest.approx(log_likelihood(X, model.params), rel=1e-9)
    assert set(doc["posterior"]) == {"weight_concentration", "mean_precision", "degrees_of_freedom"}
    assert np.shape(doc["posterior"]["weight_concentration"]) == (2, 12)


def test_predict_works_on_a_vb_model(data_csv, tmp_path, capsys):
    model_path, pred = tmp_path / "vb.json", tmp_path / "pred.csv"
    assert run(capsys, "fit", data_csv, "--k", "6", "--method", "vb", "--covariance-type", "diag",
               "-o", model_path)[0] == 0
    code, _, err = run(capsys, "predict", model_path, data_csv, "-o", pred)
    assert code == 0, err
    lines = pred.read_text().splitlines()
    assert lines[0] == "label," + ",".join(f"p{j}" for j in range(6)) + ",log_density"
    table = np.loadtxt(pred, delimiter=",", skiprows=1)
    X = load_data(data_csv).X
    np.testing.assert_allclose(table[:, 1:7], predict_proba(X, load_model(model_path).params), atol=1e-12)
    # every point goes to a component that survived
    weights = np.array(json.loads(model_path.read_text())["weights"])
    assert set(table[:, 0].astype(int)) <= set(np.flatnonzero(weights > 0.01).tolist())


@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_vb_model_round_trips_through_the_loader(data_csv, tmp_path, capsys, ctype):
    out = tmp_path / "vb.json"
    assert run(capsys, "fit", data_csv, "--k", "5", "--method", "vb", "--covariance-type", ctype,
               "--weight-prior", "dirichlet_distribution", "--weight-concentration", "2.5", "-o", out)[0] == 0
    model = load_model(out)
    assert model.method == "vb" and model.params.covariance_type == ctype
    assert model.priors.weight_prior == "dirichlet_distribution" and model.priors.weight_concentration == 2.5
    assert len(model.lower_bound_trace) == model.n_iter
    assert model.posterior["weight_concentration"].shape == (5,)
    doc = json.loads(out.read_text())
    X = load_data(data_csv).X
    again = model_to_dict(model.params, X=X, initial=model.initial, trace=model.trace, converged=model.converged,
                          settings=model.settings, feature_names=model.feature_names, source=model.data["source"],
                          log_likelihood=model.log_likelihood, method=model.method, priors=model.priors,
                          lower_bound_trace=model.lower_bound_trace, posterior=model.posterior)
    for key in ("method", "priors", "lower_bound_trace", "posterior", "weights", "means", "n_iter"):
        assert again[key] == doc[key], key
    # a tied model's matrix is read back as the mean of the K saved copies: equal to rounding
    np.testing.assert_allclose(again["covariances"], doc["covariances"], rtol=1e-14)


def test_em_models_say_em_and_old_files_without_method_still_load(data_csv, tmp_path, capsys):
    out = tmp_path / "em.json"
    assert run(capsys, "fit", data_csv, "--k", "4", "-o", out)[0] == 0
    doc = json.loads(out.read_text())
    assert doc["method"] == "em" and "priors" not in doc and "lower_bound_trace" not in doc
    del doc["method"]
    model = model_from_dict(doc)
    assert model.method == "em" and model.priors is None and model.lower_bound_trace == ()


@pytest.mark.parametrize(
    "change,words",
    [
        (lambda d: d.update(method="gibbs"), "method must be one of em, vb"),
        (lambda d: d.pop("priors"), "needs its priors"),
        (lambda d: d["priors"].update(weight_concentration=-1), "weight concentration"),
        (lambda d: d["priors"].update(weight_prior="pitman-yor"), "weight prior"),
        (lambda d: d["priors"].update(mean=[0.0, 0.0, 0.0]), "mean prior"),
        (lambda d: d.update(lower_bound_trace=[1.0, "x"]), "lower_bound_trace"),
        (lambda d: d["posterior"].update(mean_precision=[1.0]), "mean_precision"),
    ],
)
def test_loader_refuses_broken_vb_keys(data_csv, tmp_path, capsys, change, words):
    out = tmp_path / "vb.json"
    assert run(capsys, "fit", data_csv, "--k", "3", "--method", "vb", "-o", out)[0] == 0
    doc = json.loads(out.read_text())
    change(doc)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    code, _, err = run(capsys, "predict", broken, data_csv, "-o", tmp_path / "p.csv")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and words in err
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--k", "3", "--weight-prior", "dirichlet_process"], "--weight-prior applies only to --method vb"),
        (["--k", "3", "--weight-concentration", "1"], "--weight-concentration applies only to --method vb"),
        (["--k", "3", "--method", "vb", "--weight-concentration", "0"], "must be a finite number > 0"),
        (["--k", "3", "--method", "vb", "--weight-concentration", "nan"], "must be a finite number > 0"),
        (["--k", "3", "--method", "vb", "--weight-concentration", "lots"], "is not a number"),
        (["--k", "3", "--method", "vb", "--weight-prior", "beta"], "invalid choice"),
        (["--k", "3", "--method", "bayes"], "invalid choice"),
    ],
)
def test_bad_vb_options_exit_2_with_one_error_line_and_no_output(data_csv, tmp_path, capsys, argv, words):
    out = tmp_path / "m.json"
    code, stdout, err = run(capsys, "fit", data_csv, *argv, "-o", out)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err
    assert not out.exists()


def test_vb_with_a_constant_column_is_refused_clearly(tmp_path, capsys):
    path = tmp_path / "flat.csv"
    rng = np.random.default_rng(0)
    path.write_text("a,b\n" + "\n".join(f"{v:.6f},2.0" for v in rng.normal(size=50)) + "\n")
    out = tmp_path / "m.json"
    code, _, err = run(capsys, "fit", path, "--k", "3", "--method", "vb", "--covariance-type", "diag", "-o", out)
    assert code == 2 and err.startswith("error: ") and "constant" in err and not out.exists()


def test_fit_help_lists_the_vb_options(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    for option in ("--method", "--weight-prior", "--weight-concentration", "dirichlet_distribution"):
        assert option in text
