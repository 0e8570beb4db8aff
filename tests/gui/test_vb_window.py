"""The window's Bayesian (VB) method: K is an upper bound, surplus components fade and are pruned."""

import numpy as np
from PySide6.QtGui import QAction, QColor

from gmm_desktop.gui import palette
from gmm_desktop.gui.em_worker import DONE
from gmm_desktop.io import generator


def _whiteness(color: QColor) -> float:
    """0 for black, 1 for white: how far a colour has faded."""
    return min(color.red(), color.green(), color.blue()) / 255.0


def _vb_window(qtbot, make_window, k=12):
    data = generator.generate("medium", seed=0)
    window = make_window(data)
    panel = window.panel
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("vb"))
    assert window.session.settings["method"] == "vb"
    assert panel.concentration_slider.isVisible()
    panel.k_spin.setValue(k)
    with qtbot.waitSignal(window.session.controller.restarted, timeout=10000):
        panel.kmeanspp_button.click()
    return window, data


def _run_to_convergence(qtbot, window):
    window.findChild(QAction, "actionRun").trigger()
    qtbot.waitUntil(lambda: window.session.state == DONE, timeout=60000)
    qtbot.waitUntil(lambda: window.canvas._snapshot is not None
                    and window.canvas._snapshot.iteration == window.session.history.last.iteration, timeout=5000)


def test_vb_run_with_12_components_on_4_clusters_keeps_4_and_draws_the_rest_faint(qtbot, make_window):
    window, data = _vb_window(qtbot, make_window)
    _run_to_convergence(qtbot, window)
    snap = window.session.snapshot
    assert snap.method == "vb" and snap.converged and snap.means.shape == (12, 2)
    survivors = [j for j in range(12) if j not in snap.pruned]
    assert len(survivors) == 4 and np.all(snap.weights[list(snap.pruned)] < 0.01)
    centres = np.array([data.X[data.labels == lab].mean(axis=0) for lab in np.unique(data.labels)])
    nearest = [np.min(np.linalg.norm(centres - snap.means[j], axis=1)) for j in survivors]
    assert max(nearest) < 0.5, nearest  # one survivor on each true centre
    assert sorted(np.argmin(np.linalg.norm(centres[:, None] - snap.means[survivors][None], axis=2), axis=1)) \
        == sorted(range(4))
    # the pruned components' ellipses are faint and dotted, the survivors' in full colour
    ellipses = window.canvas.ellipses
    for j in range(12):
        pen = ellipses.pen(j)
        if j in snap.pruned:
            assert _whiteness(pen.color()) > 0.7 and pen.style().name == "DotLine", j
        else:
            assert _whiteness(pen.color()) < 0.6 and pen.style().name == "SolidLine", j
            full = palette.component_color(j).darker(135)
            assert pen.color().name() == full.name() or snap.weights[j] < snap.weights.max()
    # ... and so are their legend entries: marked pruned, in a faint grey
    labels = [label for _, label in window.canvas._legend.items][:12]
    for j, label in enumerate(labels):
        if j in snap.pruned:
            assert "pruned" in label.text and _whiteness(QColor(label.opts["color"])) > 0.6
        else:
            assert "pruned" not in label.text and _whiteness(QColor(label.opts["color"])) < 0.5
    # the plot shows the lower bound, which never decreased
    assert "Lower bound" in window.loglik_plot.getPlotItem().titleLabel.text
    trace = np.array(window.session.trace)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    assert len(window.loglik_plot.decreases.data) == 0


def test_vb_history_show_iteration_step_back_and_continue_from_a_past_iteration(qtbot, make_window):
    window, _ = _vb_window(qtbot, make_window, k=8)
    session = window.session
    for _ in range(6):
        with qtbot.waitSignal(session.controller.iterated, timeout=10000):
            window.findChild(QAction, "actionStep").trigger()
    seen = {e.iteration: e.snapshot for e in session.history if e.phase == "E"}
    trace = list(session.trace)
    with qtbot.waitSignal(session.controller.responsibilities_ready, timeout=10000):
        window.show_iteration(3)
    assert session.shown.method == "vb" and session.shown.iteration == 3
    assert session.shown.resp is not None and session.shown.resp.shape == (1050, 8)
    assert session.step_back() and session.shown.iteration == 2
    # going on from iteration 2 is the same variational fit: the new iteration 3 is the old one
    with qtbot.waitSignal(session.controller.iterated, timeout=10000):
        window.findChild(QAction, "actionStep").trigger()
    assert session.snapshot.iteration == 3 and window.history_length == 4
    np.testing.assert_allclose(session.snapshot.means, seen[3].means, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(session.trace, trace[:3], rtol=1e-12)
    # half-steps: an M-step moves the ellipses (new posterior), the E-step after it the colours
    with qtbot.waitSignal(session.controller.iterated, timeout=10000):
        session.m_step()
    assert session.last_phase == "M" and session.snapshot.iteration == 4
    with qtbot.waitSignal(session.controller.iterated, timeout=10000):
        session.e_step()
    assert session.last_phase == "E"
    np.testing.assert_allclose(session.snapshot.means, seen[4].means, rtol=1e-9, atol=1e-9)


def test_concentration_slider_changes_the_setting_and_restarts(qtbot, make_window):
    window, _ = _vb_window(qtbot, make_window)
    panel, session = window.panel, window.session
    assert session.settings["weight_concentration"] is None  # 1/K
    assert panel._concentration_label.text() == "0.083" and "1/K" in panel._concentration_label.toolTip()
    with qtbot.waitSignal(session.controller.iterated, timeout=10000):
        window.findChild(QAction, "actionStep").trigger()
    assert session.snapshot.iteration == 1
    with qtbot.waitSignal(session.controller.restarted, timeout=10000):
        panel.concentration_slider.setValue(panel.concentration_slider.maximum())  # 1e3
    assert session.settings["weight_concentration"] == 1e3
    assert panel._concentration_label.text() == "1e+03"
    # the status bar follows on the next frame (views redraw at most once a frame)
    qtbot.waitUntil(lambda: "lower bound" in window._status["log_likelihood"].text(), timeout=3000)
    assert session.history.last.iteration == 0  # restarted, with the new prior
    with qtbot.waitSignal(session.controller.restarted, timeout=10000):
        panel.concentration_slider.setValue(0)
    assert session.settings["weight_concentration"] == 1e-3
    # EM hides the slider and fits with EM again
    with qtbot.waitSignal(session.controller.restarted, timeout=10000):
        panel.method_combo.setCurrentIndex(panel.method_combo.findData("em"))
    assert not panel.concentration_slider.isVisible()
    with qtbot.waitSignal(session.controller.iterated, timeout=10000):
        window.findChild(QAction, "actionStep").trigger()
    assert getattr(session.snapshot, "method", "em") == "em"
    assert window.loglik_plot.getPlotItem().titleLabel.text == "Log-likelihood"


def test_a_vb_fit_saved_from_the_window_is_a_vb_model_file(qtbot, make_window, tmp_path):
    """Saving a Bayesian fit from the window writes what ``fit --method vb`` writes: the method, the
    priors, the lower-bound trace and the posterior (it once wrote an EM-style file)."""
    from gmm_desktop.io import model_io

    window, data = _vb_window(qtbot, make_window, k=6)
    session = window.session
    for _ in range(4):
        with qtbot.waitSignal(session.controller.iterated, timeout=10000):
            window.findChild(QAction, "actionStep").trigger()
    qtbot.waitUntil(lambda: session.snapshot is not None and session.snapshot.iteration == 4, timeout=10000)
    path = tmp_path / "vb.json"
    assert window.save_model(path)
    model = model_io.load_model(path)
    assert model.method == "vb" and model.n_iter == 4
    assert np.allclose(model.lower_bound_trace, session.trace_to_cursor())
    assert model.priors.weight_prior == "dirichlet_process"
    assert np.allclose(model.params.means, session.snapshot.means)
    assert model.posterior is not None


def test_the_weight_prior_is_chosen_in_the_window_and_saved(qtbot, make_window, tmp_path):
    """The window offers both weight priors (shown only with Bayesian VB); the fit and the model
    file use the one chosen, as fit --weight-prior does."""
    from gmm_desktop.io import model_io

    data = generator.generate("medium", seed=0)
    window = make_window(data)
    panel = window.panel
    assert not panel.weight_prior_combo.isVisible()  # EM: no prior to choose
    window, data = _vb_window(qtbot, make_window, k=5)
    panel = window.panel
    assert panel.weight_prior_combo.isVisible()
    panel.weight_prior_combo.setCurrentIndex(panel.weight_prior_combo.findData("dirichlet_distribution"))
    assert window.session.settings["weight_prior"] == "dirichlet_distribution"
    for _ in range(3):
        with qtbot.waitSignal(window.session.controller.iterated, timeout=10000):
            window.findChild(QAction, "actionStep").trigger()
    path = tmp_path / "dd.json"
    assert window.save_model(path)
    assert model_io.load_model(path).priors.weight_prior == "dirichlet_distribution"


def test_locks_say_they_are_for_em_only_under_vb(qtbot, make_window):
    window, _ = _vb_window(qtbot, make_window, k=4)
    window.inspector.select(0)
    assert not window.inspector.locks["mean"].isEnabled()
    assert "EM only" in window.inspector.locks["mean"].toolTip()
    window.lock_component(0, mean=True)  # through the API: kept, and the user is told
    assert window.session.document.locks[0].mean
    assert "applies to EM only" in window.statusBar().currentMessage()
    panel = window.panel
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("em"))  # EM restarts, with the lock
    qtbot.waitUntil(lambda: window.inspector.locks["mean"].isEnabled() and window.inspector.locks["mean"].isChecked(),
                    timeout=5000)
