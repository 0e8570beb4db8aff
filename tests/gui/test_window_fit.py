"""What a new user met driving the real window (the trial under Xvfb): selecting a component in 1-D,
Old Faithful's axes, the side panel's width, and the docks at 1280 x 800."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest

from gmm_desktop.gui.em_worker import DONE


def run_to_the_end(qtbot, window):
    with qtbot.waitSignal(window.session.state_changed, timeout=20000, check_params_cb=lambda s: s == DONE):
        window.findChild(QAction, "actionRun").trigger()


def click_histogram(window, x, y=0.0):
    hist = window.histogram
    QTest.mouseClick(hist.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     hist.data_point(x, y))


# ---------------------------------------------------------------------------------- 1-D selection
def test_in_1d_a_click_on_a_fitted_mean_or_its_peak_selects_it_and_elsewhere_places_a_mean(qtbot, make_window,
                                                                                            tmp_path):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(2.0, 0.3, 120), rng.normal(4.4, 0.4, 180)])
    path = tmp_path / "eruptions.csv"
    path.write_text("eruptions\n" + "\n".join(map(repr, x.tolist())) + "\n")
    window = make_window(path)
    for at in (1.5, 5.0):
        with qtbot.waitSignal(window.session.means_changed, timeout=2000):
            click_histogram(window, at)
    run_to_the_end(qtbot, window)
    snap = window.snapshot
    assert snap.iteration > 0 and window.histogram._snapshot is not None
    assert window.inspector.selected is None
    k_right = int(np.argmax(snap.means[:, 0]))
    k_left = 1 - k_right
    # the ● of the right component, on the axis: it is selected, no mean is added
    click_histogram(window, float(snap.means[k_right, 0]))
    assert window.inspector.selected == k_right and len(window.means) == 2
    assert window.inspector.title() == f"Component {k_right + 1}"
    assert window.histogram.component_curves[k_right].opts["pen"].widthF() > \
        window.histogram.component_curves[k_left].opts["pen"].widthF()  # drawn wide
    # the peak of the left component's weighted density
    var = snap.covariances[k_left, 0, 0]
    peak = snap.weights[k_left] / np.sqrt(2 * np.pi * var)
    click_histogram(window, float(snap.means[k_left, 0]), float(peak))
    assert window.inspector.selected == k_left and len(window.means) == 2
    # between the two humps, off both means and peaks: a new mean there
    with qtbot.waitSignal(window.session.means_changed, timeout=2000):
        click_histogram(window, 3.2, 0.05)
    assert len(window.means) == 3 and abs(window.means[-1, 0] - 3.2) < 0.05
