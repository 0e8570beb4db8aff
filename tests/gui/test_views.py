"""Data of any width in the window: a fit on every feature, pair and PCA views, 1-D histograms."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest

from gmm_desktop.core.geometry import principal_axes
from gmm_desktop.gui.em_worker import DONE

from gui_helpers import click_canvas, step


def four_features(n_per=80, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [6, 1, -4, 8], [-5, 7, 3, -6]], dtype=float)
    scales = np.array([[1.0, 0.5, 2.0, 1.5], [0.7, 1.2, 0.4, 1.0], [1.5, 0.8, 1.0, 0.6]])
    return np.concatenate([c + s * rng.normal(size=(n_per, 4)) for c, s in zip(centres, scales)])


def run_to_convergence(qtbot, window):
    window.findChild(QAction, "actionRun").trigger()
    qtbot.waitUntil(lambda: window.session.state == DONE, timeout=20000)


def wait_fit_drawn(qtbot, window):
    qtbot.waitUntil(lambda: window.canvas._snapshot is window.session.shown and window.session.shown is not None,
                    timeout=5000)


def mahalanobis_of_rings(rings, means, covs, k_sigmas=3):
    """(x - mu)^T S^-1 (x - mu) of every drawn outline point, one array per component and ring."""
    out = []
    for j, (mu, cov) in enumerate(zip(means, covs)):
        inv = np.linalg.inv(cov)
        for s in range(k_sigmas):
            d = rings[j * k_sigmas + s] - mu
            out.append(np.einsum("pi,ij,pj->p", d, inv, d))
    return out


def test_a_four_feature_file_fits_on_four_features(qtbot, make_window, tmp_path):
    X = four_features()
    path = tmp_path / "four.csv"
    path.write_text("a,b,c,d\n" + "".join(",".join(map(repr, row)) + "\n" for row in X.tolist()))
    window = make_window(path)
    assert window.session.dataset.n_features == 4
    for x, y in ((0, 0), (6, 1), (-5, 7)):
        click_canvas(qtbot, window, x, y)
    qtbot.waitUntil(lambda: len(window.means) == 3)
    assert window.means.shape == (3, 4)
    # the hidden coordinates of each mean: those of the points nearest the click
    np.testing.assert_allclose(window.means[:, 2:], [[0, 0], [-4, 8], [3, -6]], atol=1.0)
    run_to_convergence(qtbot, window)
    snap = window.snapshot
    assert snap.converged and snap.means.shape == (3, 4) and snap.covariances.shape == (3, 4, 4)
    order = np.argsort(snap.means[:, 0])
    np.testing.assert_allclose(snap.means[order], [[-5, 7, 3, -6], [0, 0, 0, 0], [6, 1, -4, 8]], atol=0.5)


def test_pair_view_draws_the_exact_marginal_and_keeps_the_colours(qtbot, make_window):
    X = four_features()
    window = make_window(X)
    window.session.set_means(X[[0, 100, 200]])
    step(qtbot, window, 3)
    wait_fit_drawn(qtbot, window)
    colours_before = window.canvas._drawn_resp
    window.set_view(2, 3)
    assert window.view_bar.x_combo.currentIndex() == 2 and window.view_bar.y_combo.currentIndex() == 3
    plot = window.canvas.getPlotItem()
    assert plot.getAxis("bottom").labelText == "col2" and plot.getAxis("left").labelText == "col3"
    snap = window.snapshot
    block = snap.covariances[:, 2:4, 2:4]
    for sigma, q in zip([1, 2, 3] * 3, mahalanobis_of_rings(window.canvas.ellipses.rings, snap.means[:, 2:4], block)):
        np.testing.assert_allclose(q, sigma**2, rtol=1e-9)
    # the responsibilities coloured by are the full-dimensional ones, in every view
    np.testing.assert_allclose(snap.resp, window.session.shown.resp)
    assert window.canvas._drawn_resp is None or window.canvas._drawn_resp is colours_before
    np.testing.assert_allclose(window.canvas.cloud._X, X[:, 2:4])


def test_pca_view_projects_the_components(qtbot, make_window):
    X = four_features()
    window = make_window(X)
    window.session.set_means(X[[0, 100, 200]])
    step(qtbot, window, 2)
    wait_fit_drawn(qtbot, window)
    window.set_view("pca")
    A = principal_axes(X, 2)
    assert window.view_bar.x_combo.currentText() == "principal components"
    assert not window.view_bar.y_combo.isEnabled()
    np.testing.assert_allclose(window.canvas.cloud._X, X @ A.T)
    snap = window.snapshot
    projected = np.einsum("id,kde,je->kij", A, snap.covariances, A)
    for sigma, q in zip([1, 2, 3] * 3, mahalanobis_of_rings(window.canvas.ellipses.rings, snap.means @ A.T, projected)):
        np.testing.assert_allclose(q, sigma**2, rtol=1e-9)
    # a click in the PCA view places a 4-D mean that the view shows where clicked
    window.session.set_means(np.empty((0, 4)))
    click_canvas(qtbot, window, 1.0, 2.0)
    qtbot.waitUntil(lambda: len(window.means) == 1)
    np.testing.assert_allclose(window.means @ A.T, [[1.0, 2.0]], atol=0.05 * np.ptp(X @ A.T))


def test_dragging_a_mean_moves_only_the_shown_coordinates(qtbot, make_window):
    X = four_features()
    window = make_window(X)
    window.set_view(1, 3)
    window.session.set_means(X[[0, 100]])
    before = window.means.copy()
    window._on_mean_moved(0, 2.5, -1.5)  # what the canvas reports at the end of a drag
    after = window.means
    np.testing.assert_allclose(after[0, [1, 3]], [2.5, -1.5])
    np.testing.assert_allclose(after[0, [0, 2]], before[0, [0, 2]])
    np.testing.assert_allclose(after[1], before[1])


def click_histogram(window, x):
    hist = window.histogram
    QTest.mouseClick(hist.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, hist.data_point(x))


def test_one_feature_gets_a_histogram_two_clicks_two_means_and_run_converges(qtbot, make_window, tmp_path):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(2.0, 0.3, 120), rng.normal(4.4, 0.4, 180)])
    path = tmp_path / "eruptions.csv"
    path.write_text("eruptions\n" + "\n".join(map(repr, x.tolist())) + "\n")
    window = make_window(path)
    assert window._canvases.currentWidget() is window.histogram and not window.view_bar.isVisible()
    edges, heights = window.histogram.bars.xData, window.histogram.bars.yData
    assert len(heights) >= 8
    np.testing.assert_allclose(np.sum(heights * np.diff(edges)), 1.0)  # drawn as a density
    for at in (1.5, 5.0):
        before = len(window.means)
        click_histogram(window, at)
        qtbot.waitUntil(lambda: len(window.means) == before + 1, timeout=2000)
    np.testing.assert_allclose(window.means[:, 0], [1.5, 5.0], atol=0.05)
    assert window.means.shape == (2, 1)
    run_to_convergence(qtbot, window)
    snap = window.snapshot
    assert snap.converged and snap.means.shape == (2, 1)
    np.testing.assert_allclose(np.sort(snap.means[:, 0]), [2.0, 4.4], atol=0.15)
    qtbot.waitUntil(lambda: window.histogram._snapshot is window.session.shown, timeout=5000)
    grid, mixture = window.histogram.mixture_curve.getData()
    parts = [c.getData()[1] for c in window.histogram.component_curves[:2]]
    np.testing.assert_allclose(parts[0] + parts[1], mixture)
    assert np.trapezoid(mixture, grid) > 0.97  # a density: almost all its mass lies on the drawn range
    assert len(window.histogram.bands) == 2 * 3  # the 1, 2 and 3 sigma bands of each component
    # save works as in 2-D
    assert window.save_model(tmp_path / "model.json")


def test_examples_open_with_their_features_and_labels(qtbot, make_window, errors, monkeypatch):
    window = make_window()
    names = [a.objectName() for a in window.menuExamples.actions()]
    assert names == ["actionExample_demo", "actionExample_faithful", "actionExample_iris", "actionExample_penguins"]
    window.findChild(QAction, "actionExample_iris").trigger()
    ds = window.session.dataset
    assert ds.n_features == 4 and ds.label_names == ["setosa", "versicolor", "virginica"]
    assert window.open_example("faithful") and window.session.dataset.feature_names == ["eruptions", "waiting"]
    # penguins: two rows have no measurements; the window asks whether to skip them
    asked = []
    monkeypatch.setattr(type(window), "_ask_skip_invalid", lambda self, source, n: asked.append(n) or False)
    window.findChild(QAction, "actionExample_penguins").trigger()
    assert asked == [2] and errors[-1][0] == "Could not open the example" and "line 5" in errors[-1][1]
    assert window.session.dataset.source == "faithful.csv"  # refused: the data before stays
    assert window.open_example("penguins", skip_invalid=True)
    ds = window.session.dataset
    assert ds.X.shape == (342, 4) and ds.label_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert asked == [2]  # the non-interactive route asks nothing


def test_scatter_matrix_updates_after_a_step_and_a_click_sets_the_view(qtbot, make_window):
    X = four_features()
    window = make_window(X)
    window.findChild(QAction, "actionScatterMatrix").trigger()
    grid = window.scatter_matrix.grid
    qtbot.waitUntil(grid.isVisible)
    assert len(grid.cells) == 16
    window.session.set_means(X[[0, 100, 200]])
    step(qtbot, window, 1)
    qtbot.waitUntil(lambda: grid._snapshot is not None and grid._snapshot.iteration == 1, timeout=5000)
    cell = grid.cells[2, 3]  # x = feature 2, y = feature 3
    first = cell.curves[0].getData()[0].copy()
    step(qtbot, window, 1)
    qtbot.waitUntil(lambda: grid._snapshot.iteration == 2, timeout=5000)
    snap = window.snapshot
    xs, ys = cell.curves[0].getData()
    assert not np.allclose(xs, first)  # the ellipses moved with the fit
    ring = np.column_stack([xs, ys])[:48]  # the 1-sigma ring of component 0
    d = ring - snap.means[0, [2, 3]]
    q = np.einsum("pi,ij,pj->p", d, np.linalg.inv(snap.covariances[0][np.ix_([2, 3], [2, 3])]), d)
    np.testing.assert_allclose(q, 1.0, rtol=1e-9)
    # the diagonal: the mixture's marginal density of feature 1
    diag = grid.cells[1, 1]
    np.testing.assert_allclose(diag.mixture.getData()[1], sum(c.getData()[1] for c in diag.curves[:3]))
    # a click on cell (x = 3, y = 0) makes it the main view
    centre = cell.plot.sceneBoundingRect().center()
    target = grid.cells[3, 0].plot.sceneBoundingRect().center()
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     grid.mapFromScene(target))
    assert window.session.document.view.displayed == (3, 0) and centre != target


def test_scatter_matrix_points_take_their_components_colour(qtbot, make_window):
    X = four_features()
    window = make_window(X)
    window.findChild(QAction, "actionScatterMatrix").trigger()
    grid = window.scatter_matrix.grid
    qtbot.waitUntil(grid.isVisible)
    cell = grid.cells[2, 3]

    def brushes():
        return [b if b is not None else cell.points.opts["brush"] for b in cell.points.data["brush"]]

    grey = {b.color().name() for b in brushes()}
    assert len(grey) == 1  # before a fit: one neutral colour
    window.session.set_means(X[[0, 100, 200]])
    step(qtbot, window, 3)
    if window.session.responsibilities_pending:
        qtbot.waitSignal(window.session.controller.responsibilities_ready, timeout=5000).wait()
    qtbot.waitUntil(lambda: grid._snapshot is not None and grid._snapshot.resp is not None, timeout=5000)
    labels = np.argmax(window.snapshot.resp, axis=1)
    colours = [b.color() for b in brushes()]
    from gmm_desktop.gui import palette

    for i in (0, 100, 200, len(X) - 1):
        assert colours[i].rgb() == palette.component_color(int(labels[i])).rgb()
