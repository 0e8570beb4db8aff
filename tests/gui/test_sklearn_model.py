"""A model saved from the scikit-learn estimator opens in the window, which continues EM from it."""

import numpy as np

from gmm_desktop.io import datasets, generator


def test_window_opens_an_estimators_model(make_window, tmp_path):
    from gmm_desktop.sklearn import GaussianMixture, save_model

    data = generator.generate("small", seed=0)
    path = tmp_path / "small.csv"
    datasets.write_csv(data, path)
    est = GaussianMixture(n_components=4, random_state=0).fit(data.X)
    save_model(est, tmp_path / "model.json")

    window = make_window(path)
    assert window.open_model(tmp_path / "model.json")
    assert window.snapshot is not None and window.snapshot.iteration == 0
    np.testing.assert_allclose(window.snapshot.means, est.means_)
    np.testing.assert_allclose(window.snapshot.weights, est.weights_)
    np.testing.assert_allclose(window.snapshot.covariances, est.covariances_)
    assert abs(window.snapshot.log_likelihood - est.score(data.X) * len(data.X)) < 1e-6
