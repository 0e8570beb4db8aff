"""Paint data: strokes of a chosen class, the eraser, blank data, undo, saving the data."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest

from gmm_desktop.io import datasets

from gui_helpers import NOTEBOOK_START, canvas_point, place_means, step


def drag(window, path, button=Qt.MouseButton.LeftButton):
    """A real mouse drag over the canvas along ``path`` (data coordinates)."""
    viewport = window.canvas.viewport()
    points = [canvas_point(window, x, y) for x, y in path]
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, points[0])
    for p in points[1:]:
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, points[-1])


def test_a_painted_stroke_then_undo_restores_the_data_and_the_fit(qtbot, window):
    place_means(qtbot, window, NOTEBOOK_START)
    step(qtbot, window, 3)
    X0, labels0 = window.session.dataset.X.copy(), window.session.dataset.labels.copy()
    means3, placed = window.snapshot.means.copy(), window.means
    assert window.history_length == 4
    edits = window.undo_stack.count()
    paint = window.findChild(QAction, "actionPaintData")
    assert paint.isCheckable()
    paint.trigger()
    window.paint_tool.set_class(2)
    window.paint_tool.density_spin.setValue(10)
    drag(window, [(2.0, 8.0), (3.0, 8.0), (4.0, 8.0), (5.0, 8.0)])

    dataset = window.session.dataset
    added = dataset.n_samples - 105
    assert added >= 20 and added % 10 == 0  # several dabs of 10 points
    np.testing.assert_array_equal(dataset.X[:105], X0)  # the old points stay as they were
    assert (dataset.labels[105:] == 2).all()
    new = dataset.X[105:]
    radius = window.paint_tool._data_radius()
    assert new[:, 0].min() > 2.0 - radius[0] - 1e-9 and new[:, 0].max() < 5.0 + radius[0] + 1e-9
    assert np.all(np.abs(new[:, 1] - 8.0) <= radius[1] + 1e-9)
    assert window.undo_stack.count() == edits + 1 and window.undo_stack.undoText().startswith("paint")  # one edit
    np.testing.assert_array_equal(window.means, placed)  # the means stay placed...
    qtbot.waitUntil(lambda: window.session.shown is not None and window.session.shown.n_samples == dataset.n_samples,
                    timeout=5000)
    assert window.history_length == 1  # ...and the fit restarts on the new data
    assert window._status["points"].text().startswith(f"{dataset.n_samples:,} points")

    window.undo_stack.undo()
    back = window.session.dataset
    assert back.n_samples == 105
    np.testing.assert_array_equal(back.X, X0)
    np.testing.assert_array_equal(back.labels, labels0)
    assert window.history_length == 4  # nothing of the EM run was lost
    np.testing.assert_array_equal(window.snapshot.means, means3)
    window.undo_stack.redo()
    assert window.session.dataset.n_samples == 105 + added


def test_a_click_paints_instead_of_placing_a_mean_and_the_eraser_removes(qtbot, window):
    window.findChild(QAction, "actionPaintData").trigger()
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     canvas_point(window, 5.0, 5.0))
    assert len(window.means) == 0
    assert window.session.dataset.n_samples == 105 + window.paint_tool.density
    # the eraser (right drag) over the cluster around (1, -1)
    X = window.session.dataset.X
    near = np.hypot(X[:, 0] - 1.0, X[:, 1] + 1.0) < 0.3
    assert near.any()
    before = window.session.dataset.n_samples
    drag(window, [(1.0, -1.0), (1.05, -1.0)], button=Qt.MouseButton.RightButton)
    after = window.session.dataset
    assert after.n_samples < before - near.sum() + 1
    assert not (np.hypot(after.X[:, 0] - 1.0, after.X[:, 1] + 1.0) < 0.3).any()
    window.undo_stack.undo()
    assert window.session.dataset.n_samples == before
    # Paint data off: clicks place means again
    window.findChild(QAction, "actionPaintData").trigger()
    place_means(qtbot, window, [(5.0, 5.0)])
    assert len(window.means) == 1


def test_new_blank_data_copes_with_no_points_and_saves_painted_csv(qtbot, window, tmp_path, errors):
    window.findChild(QAction, "actionNewBlankData").trigger()
    assert window.session.dataset.n_samples == 0
    assert window.findChild(QAction, "actionPaintData").isChecked()
    assert "No data" in window._status["state"].text()
    assert window._status["points"].text().startswith("0 points")
    # nothing to fit, nothing to save, no crash
    assert window.snapshot is None
    assert not window.save_data(tmp_path / "empty.csv") and "no points" in errors[-1][1]
    assert not (tmp_path / "empty.csv").exists()
    window.paint_stroke([(-5, 0), (-4, 0)], label=0)
    window.paint_stroke([(5, 0), (6, 0)], label=1)
    n = window.session.dataset.n_samples
    assert n > 0 and set(window.session.dataset.labels) == {0, 1}
    # means placed with a click once painting is off, and EM runs on the painted points
    window.findChild(QAction, "actionPaintData").trigger()
    place_means(qtbot, window, [(-5.0, 0.5), (5.0, 0.5)])
    assert window.session.shown.n_samples == n
    path = tmp_path / "painted.csv"
    assert window.save_data(path)
    back = datasets.load_data(path)
    np.testing.assert_array_equal(back.X, window.session.dataset.X)
    np.testing.assert_array_equal(back.labels, window.session.dataset.labels)
    # undo every stroke: back to the empty canvas, still no crash
    while window.undo_stack.canUndo():
        window.undo_stack.undo()
    assert window.session.dataset.n_samples == 0 and window.snapshot is None


def test_generate_offers_two_parallel_elongated_clusters_and_records_how(qtbot, window, tmp_path, errors):
    from gmm_desktop.gui.dialogs import GenerateDialog
    from gmm_desktop.gui.paint_tool import provenance_path
    from gmm_desktop.io import generator

    dialog = GenerateDialog(window)
    dialog.choose_scene("Two parallel elongated clusters")
    values = dialog.values()
    assert values["shapes"] == [[3.0, 6.0, 0.0], [3.0, 6.0, 0.0]]
    dialog.shapes_edit.setText("3,6,0")  # one shape for two centres
    dialog._on_accepted()
    assert dialog.result() == 0 and "one shape" in dialog._error.text()
    assert window.generate_data(**values)
    X, labels = window.session.dataset.X, window.session.dataset.labels
    for k in (0, 1):
        cov = np.cov(X[labels == k].T)
        assert cov[0, 0] > 10 * cov[1, 1]  # long along x, thin across
    assert len(window.means) == 2
    path = tmp_path / "parallel.csv"
    assert window.save_data(path)
    again = generator.regenerate(provenance_path(path))
    np.testing.assert_array_equal(again.X, datasets.load_data(path).X)
    dialog.deleteLater()
