"""Our BayesianGaussianMixture gives scikit-learn's results from the same random_state, and its
model files say "method": "vb", carry the priors and load back."""

import contextlib
import io
import json
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM

from gmm_desktop.cli.main import main as cli_main
from gmm_desktop.core.errors import ModelFileError
from gmm_desktop.core.evaluate import MixtureEvaluator
from gmm_desktop.core.params import GMMParams
from gmm_desktop.io import datasets, generator, model_io
from gmm_desktop.sklearn import BayesianGaussianMixture, load_model, save_model

TYPES = ["full", "tied", "diag", "spherical"]
PRIORS = ["dirichlet_process", "dirichlet_distribution"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "mean_precision_",
          "degrees_of_freedom_", "mean_prior_", "covariance_prior_")


def blobs(n=1200, d=2, seed=0):
    rng = np.random.RandomState(seed)
    centers = np.array([[0, 0, 0], [6, 1, -2], [2, 7, 3], [9, 8, 1]], dtype=float)[:, :d]
    return np.vstack([c + rng.randn(n // 4, d) @ (np.eye(d) + 0.3 * rng.randn(d, d)) for c in centers])


def weight_concentration(est):
    wc = est.weight_concentration_
    return np.vstack(wc) if isinstance(wc, tuple) else np.asarray(wc)


def assert_same_fit(ours, theirs, rtol=1e-6, atol=1e-6):
    for name in FITTED:
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=atol, err_msg=name)
    assert type(ours.weight_concentration_) is type(theirs.weight_concentration_)
    assert_allclose(weight_concentration(ours), weight_concentration(theirs), rtol=rtol, atol=atol)
    for name in ("weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-12), name
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9, atol=1e-6)
    assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("weight_prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_fit_and_predictions_as_sklearn(covariance_type, weight_prior):
    X = blobs(d=3)
    kw = dict(n_components=8, covariance_type=covariance_type, weight_concentration_prior_type=weight_prior,
              random_state=3, max_iter=500, tol=1e-6)
    ours, theirs = BayesianGaussianMixture(**kw), SklearnBGM(**kw)
    assert_array_equal(ours.fit_predict(X), theirs.fit_predict(X))
    assert ours.converged_  # a real fit to convergence, not an early stop
    assert_same_fit(ours, theirs)
    Xn = blobs(n=400, d=3, seed=9)
    assert_allclose(ours.predict_proba(Xn), theirs.predict_proba(Xn), rtol=1e-6, atol=1e-9)
    assert_allclose(ours.score_samples(Xn), theirs.score_samples(Xn), rtol=1e-9)
    assert_array_equal(ours.predict(Xn), theirs.predict(Xn))
    assert ours.score(Xn) == pytest.approx(theirs.score(Xn), rel=1e-9)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_and_n_init_as_sklearn(init_params):
    X = blobs()
    kw = dict(n_components=6, init_params=init_params, n_init=3, random_state=5, max_iter=300)
    ours, theirs = BayesianGaussianMixture(**kw).fit(X), SklearnBGM(**kw).fit(X)
    assert_same_fit(ours, theirs)


def test_explicit_priors_as_sklearn():
    X = blobs(d=2)
    kw = dict(n_components=5, covariance_type="full", weight_concentration_prior=0.3, mean_precision_prior=0.5,
              mean_prior=[1.0, 2.0], degrees_of_freedom_prior=4.0, covariance_prior=[[2.0, 0.3], [0.3, 1.0]],
              random_state=0, max_iter=300)
    ours, theirs = BayesianGaussianMixture(**kw).fit(X), SklearnBGM(**kw).fit(X)
    assert_same_fit(ours, theirs)


def test_warm_start_and_the_convergence_warning_as_sklearn():
    X = blobs()
    kw = dict(n_components=6, covariance_type="diag", warm_start=True, max_iter=3, random_state=0)
    ours, theirs = BayesianGaussianMixture(**kw), SklearnBGM(**kw)
    for _ in range(4):  # each fit goes on from the last one's posterior
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            ours.fit(X)
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            theirs.fit(X)
        assert_same_fit(ours, theirs)


def test_verbose_output_as_sklearn():
    X = blobs()
    kw = dict(n_components=4, verbose=2, verbose_interval=3, random_state=0, max_iter=500)
    outs = []
    for cls in (BayesianGaussianMixture, SklearnBGM):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            cls(**kw).fit(X)
        outs.append(re.sub(r"time lapse [0-9.]+s", "time lapse *", buf.getvalue()))
    assert "Initialization converged" in outs[0]
    assert outs[0] == outs[1]


def test_bad_parameters_are_sklearn_errors():
    X = blobs()
    with pytest.raises(ValueError, match="weight_concentration_prior_type"):
        BayesianGaussianMixture(weight_concentration_prior_type="nope").fit(X)
    with pytest.raises(ValueError, match="positive"):
        BayesianGaussianMixture(covariance_type="diag", covariance_prior=[-1.0, 1.0]).fit(X)


def test_surplus_components_lose_their_weight():
    """12 components on 4 separated clusters: 4 keep weight above 1%, on the clusters."""
    X = blobs(n=2000)
    est = BayesianGaussianMixture(n_components=12, weight_concentration_prior=1e-3, random_state=0,
                                  max_iter=1000).fit(X)
    kept = est.weights_ > 0.01
    assert kept.sum() == 4
    centers = np.array([[0, 0], [6, 1], [2, 7], [9, 8]], dtype=float)
    dist = np.linalg.norm(est.means_[kept][:, None] - centers[None], axis=2)
    assert sorted(np.argmin(dist, axis=1)) == [0, 1, 2, 3]
    assert dist.min(axis=1).max() < 0.3


# ---------------------------------------------------------------------- model files
@pytest.mark.parametrize("weight_prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_save_then_load_a_variational_estimator(tmp_path, covariance_type, weight_prior):
    X = blobs()
    est = BayesianGaussianMixture(n_components=6, covariance_type=covariance_type,
                                  weight_concentration_prior_type=weight_prior, random_state=0,
                                  max_iter=1000).fit(X)
    path = tmp_path / "vb.json"
    save_model(est, path)
    doc = json.loads(path.read_text())
    assert doc["method"] == "vb"
    assert doc["priors"]["weight_prior"] == weight_prior
    assert doc["priors"]["weight_concentration"] == pytest.approx(1 / 6)
    assert_allclose(doc["priors"]["mean"], X.mean(axis=0))
    assert_allclose(doc["lower_bound_trace"], np.ravel(est.lower_bounds_))
    assert_allclose(doc["weights"], est.weights_)
    saved = model_io.load_model(path)
    assert saved.method == "vb" and saved.priors.covariance_type == covariance_type
    back = load_model(path)
    assert isinstance(back, BayesianGaussianMixture)
    assert back.get_params().keys() == est.get_params().keys()
    for name in ("n_components", "covariance_type", "weight_concentration_prior_type", "tol", "max_iter"):
        assert back.get_params()[name] == est.get_params()[name]
    assert_same_fit(back, est, rtol=1e-12, atol=1e-12)
    Xn = blobs(n=200, seed=4)
    assert_allclose(back.predict_proba(Xn), est.predict_proba(Xn), rtol=1e-9, atol=1e-12)
    assert_allclose(back.score_samples(Xn), est.score_samples(Xn), rtol=1e-12)
    # what the file's readers see: the posterior expectations, used as any mixture
    assert_allclose(saved.params.weights, est.weights_, rtol=1e-12)
    plain = GMMParams(back.weights_, back.means_, back.covariances_, covariance_type)
    assert saved.log_likelihood == pytest.approx(MixtureEvaluator(plain).score_samples(X).sum(), rel=1e-12)


def test_save_sklearns_own_variational_estimator_with_its_data(tmp_path):
    X = blobs()
    est = SklearnBGM(n_components=5, random_state=1, max_iter=1000).fit(X)
    with pytest.raises(ModelFileError, match="pass the training data"):
        save_model(est, tmp_path / "no.json")
    save_model(est, tmp_path / "sk.json", X)
    back = load_model(tmp_path / "sk.json")
    assert isinstance(back, BayesianGaussianMixture)
    assert_same_fit(back, est, rtol=1e-12, atol=1e-12)
    assert model_io.load_model(tmp_path / "sk.json").data["n_samples"] == len(X)


def test_a_vb_model_from_the_fit_command_loads(tmp_path, capsys):
    data = generator.generate("medium", seed=0)
    csv = tmp_path / "data.csv"
    datasets.write_csv(data, csv)
    out = tmp_path / "vb.json"
    assert cli_main(["fit", str(csv), "--k", "8", "--method", "vb", "--weight-prior", "dirichlet_distribution",
                     "--covariance-type", "diag", "-o", str(out)]) == 0
    capsys.readouterr()
    saved = model_io.load_model(out)
    est = load_model(out)
    assert isinstance(est, BayesianGaussianMixture)
    assert est.weight_concentration_prior_type == "dirichlet_distribution"
    assert est.n_components == 8 and est.covariance_type == "diag"
    assert_allclose(est.weights_, saved.params.weights, rtol=1e-9)
    assert_allclose(est.covariance_prior_, saved.priors.covariance)
    assert est.lower_bound_ == pytest.approx(saved.lower_bound_trace[-1])
    assert est.n_iter_ == len(saved.lower_bound_trace)
    assert_array_equal(est.predict(data.X), np.argmax(est.predict_proba(data.X), axis=1))


def test_a_vb_file_without_its_posterior_is_a_clear_error(tmp_path):
    est = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=1000).fit(blobs())
    path = tmp_path / "vb.json"
    save_model(est, path)
    doc = json.loads(path.read_text())
    del doc["posterior"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="no 'posterior'"):
        load_model(path)
