"""Elongated and rotated clusters, and regenerating data from their recorded parameters."""

import numpy as np
import pytest

from gmm_desktop.core.errors import DataError
from gmm_desktop.io import generator


def test_each_cluster_gets_its_covariance():
    d = generator.generate(n_samples=40_000, centers=[[0, 0], [10, 0]], seed=1,
                           shapes=[[3.0, 6.0, 0.0], [2.0, 4.0, 90.0]])
    c0 = np.cov(d.X[d.labels == 0].T)
    c1 = np.cov(d.X[d.labels == 1].T)
    np.testing.assert_allclose(c0, np.diag([9.0, 0.25]), rtol=0.05, atol=0.02)
    np.testing.assert_allclose(c1, np.diag([0.25, 4.0]), rtol=0.05, atol=0.02)  # turned by 90 degrees
    d45 = generator.generate(n_samples=40_000, centers=[[0, 0]], seed=1, shapes=[[3.0, 3.0, 45.0]])
    c = np.cov(d45.X.T)
    axis = np.linalg.eigh(c)[1][:, -1]
    assert abs(abs(axis[0]) - abs(axis[1])) < 0.02 and axis[0] * axis[1] > 0  # long axis on the diagonal


def test_round_clusters_are_exactly_as_before_and_regenerate():
    plain = generator.generate("small", seed=4)
    assert plain.provenance["parameters"]["shapes"] is None
    again = generator.regenerate(plain.provenance)
    np.testing.assert_array_equal(again.X, plain.X)
    scene = generator.generate("medium", seed=7, **generator.SCENES["Two parallel elongated clusters"])
    np.testing.assert_array_equal(generator.regenerate(scene.provenance).X, scene.X)
    np.testing.assert_array_equal(generator.regenerate(scene.provenance).labels, scene.labels)


@pytest.mark.parametrize("shapes, words", [([[1, 1, 0]], "one (std, aspect, angle) per cluster"),
                                           ([[0, 2, 0]] * 4, "std must be > 0"),
                                           ([[1, 0.5, 0]] * 4, "aspect")])
def test_bad_shapes_are_refused(shapes, words):
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        generator.generate("small", shapes=shapes)


def test_painted_data_cannot_be_regenerated():
    with pytest.raises(DataError, match="cannot be regenerated"):
        generator.regenerate({"painted": True, "painted_over": None})
