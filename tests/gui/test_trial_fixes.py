"""What a new user met driving the window (a trial under Xvfb): each test replays one of the steps."""

from PySide6.QtGui import QAction


def _choose(monkeypatch, window, columns, label):
    offered = []
    monkeypatch.setattr(type(window), "_choose_columns", lambda _self, names, labels, source:
                        offered.append((names, labels, source)) or (columns, label))
    return offered


def test_choose_columns_works_on_an_example(qtbot, window, monkeypatch, errors):
    """The README's 1-D walkthrough: File → Examples → Old Faithful, then Choose columns… → waiting."""
    window.findChild(QAction, "actionExample_faithful").trigger()
    offered = _choose(monkeypatch, window, ["waiting"], None)
    window.actionChooseColumns.trigger()
    assert errors == [] and offered[0][0] == ["eruptions", "waiting"] and offered[0][2] == "faithful.csv"
    data = window.session.dataset
    assert data.feature_names == ["waiting"] and data.n_samples == 272
    assert window._canvases.currentWidget() is window.histogram  # 1-D data: the histogram
    # penguins: its two rows without measurements stay out, the species stays the label
    assert window.open_example("penguins", skip_invalid=True)
    offered = _choose(monkeypatch, window, ["bill_length_mm", "flipper_length_mm"], "species")
    window.actionChooseColumns.trigger()
    assert errors == [] and "species" in offered[0][1]
    data = window.session.dataset
    assert data.feature_names == ["bill_length_mm", "flipper_length_mm"] and data.n_samples == 342
    assert data.label_name == "species"
    # generated data have their columns: the message names the routes that have a file
    window.generate_data("small")
    window.actionChooseColumns.trigger()
    assert errors[-1][0] == "No data file" and "File → Examples" in errors[-1][1]


def _run_to_done(qtbot, window):
    from gmm_desktop.gui.em_worker import DONE

    with qtbot.waitSignal(window.session.state_changed, check_params_cb=lambda s: s == DONE, timeout=60000):
        window.findChild(QAction, "actionRun").trigger()


def _next_frame(qtbot, window, action=None):
    """Trigger ``action`` (if any) and wait for the frame that shows its result (none is due when
    the frame after the last change has been drawn already)."""
    if action is not None:
        window.findChild(QAction, action).trigger()
    if window.session._frame_timer.isActive():
        qtbot.waitSignal(window.session.fit_changed, timeout=5000).wait()


def test_looking_back_at_a_converged_fit_says_so(qtbot, window):
    from gui_helpers import NOTEBOOK_START, place_means

    place_means(qtbot, window, NOTEBOOK_START)
    _run_to_done(qtbot, window)
    n = window.snapshot.iteration
    assert window.snapshot.converged and n < window.panel.em_settings()["max_iter"]
    for _ in range(3):
        window.findChild(QAction, "actionStepBack").trigger()
    _next_frame(qtbot, window)
    assert window.snapshot.iteration == n - 3
    state = window._status["state"].text()
    assert state == f"Viewing iteration {n - 3} of {n} · the fit converged at {n}"
    _next_frame(qtbot, window, "actionStepForward")
    assert window._status["state"].text().startswith(f"Viewing iteration {n - 2} of {n}")
    window.findChild(QAction, "actionStepForward").trigger()
    _next_frame(qtbot, window, "actionStepForward")
    assert window._status["state"].text() == "✔ Converged"  # the newest again


def test_an_m_step_or_a_step_from_a_past_iteration_says_what_it_dropped(qtbot, window):
    from gui_helpers import NOTEBOOK_START, place_means, trigger

    place_means(qtbot, window, NOTEBOOK_START)
    _run_to_done(qtbot, window)
    n = window.snapshot.iteration
    window.show_iteration(n - 3)
    trigger(qtbot, window, "actionMStep")
    _next_frame(qtbot, window)
    message = window.statusBar().currentMessage()
    assert message == f"Dropped iterations {n - 2}–{n} to go on from iteration {n - 3} — Ctrl+Z brings them back"
    assert window.history_length == n - 1  # iterations 0 .. n-3 and the M half of n-2
    ll = window._status["log_likelihood"].text()
    assert "nan" not in ll.lower() and ll == "log-likelihood – (after M: not computed yet)"
    window.undo_stack.undo()  # Ctrl+Z: the dropped iterations come back
    assert window.history_length == n + 1 and window.session.history.last.iteration == n
    # a whole Step from a past iteration says it too
    window.show_iteration(n - 1)
    trigger(qtbot, window, "actionStep")
    _next_frame(qtbot, window)
    assert window.statusBar().currentMessage() == (f"Dropped iteration {n} to go on from iteration {n - 1} — "
                                                   "Ctrl+Z brings it back")
    assert "nan" not in window._status["log_likelihood"].text().lower()


def test_new_data_clear_the_start_values_typed_for_the_old_data(qtbot, window):
    assert window.open_example("iris")
    window.panel.kmeanspp_button.click()
    window.inspector.select(0)
    edits = window.inspector.edits
    assert len(edits["mean"].text().split(",")) == 4  # iris's 4-D start mean
    assert window.open_example("faithful")
    assert all(edit.text() == "" for edit in edits.values()) and window.inspector.selected is None
    assert edits["mean"].placeholderText() == "eruptions, waiting"
    window.panel.kmeanspp_button.click()
    window.inspector.select(1)
    assert len(edits["mean"].text().split(",")) == 2  # this data's own start values
    window.new_blank_data()
    assert all(edit.text() == "" for edit in edits.values())
    assert not window.inspector.apply_edits()  # nothing selected: nothing applied to the blank canvas


def test_a_bad_csv_in_the_window_names_the_windows_menu_item_not_the_flag(qtbot, window, errors, tmp_path, capsys):
    from gmm_desktop.cli.main import main as cli_main

    path = tmp_path / "holes.csv"
    path.write_text("a,b\n1,2\n3,\n5,6\n7,8\n")
    assert not window.load_data(path)
    title, text = errors[-1]
    assert title == "Could not open the data" and "holes.csv" in text
    assert "--drop-invalid" not in text and "File → Skip rows with invalid values" in text
    window.actionSkipInvalid.trigger()  # what the message says to do
    assert window.load_data(path) and window.session.dataset.n_samples == 3
    # the command line keeps its flag
    assert cli_main(["fit", str(path), "--k", "1", "-o", str(tmp_path / "m.json")]) == 2
    assert "--drop-invalid" in capsys.readouterr().err


def test_the_readme_demo_fit_takes_88_iterations_in_the_window_and_on_the_command_line(qtbot, make_window, tmp_path,
                                                                                       capsys):
    """README, *Converged*: from the means (3, 0), (3, 6), (7, 5), (11, 2) on the demo data."""
    from gmm_desktop.cli.main import main as cli_main
    from gmm_desktop.io.examples import example

    window = make_window()  # the demo data
    window.session.set_means([[3.0, 0.0], [3.0, 6.0], [7.0, 5.0], [11.0, 2.0]])
    _run_to_done(qtbot, window)
    _next_frame(qtbot, window)
    assert window.snapshot.converged and window.snapshot.iteration == 88
    assert window._status["ari"].text() == "ARI vs truth 0.973"
    assert cli_main(["fit", str(example("demo").path), "--means", "3,0;3,6;7,5;11,2", "--accelerate", "none",
                     "-o", str(tmp_path / "demo.json")]) == 0
    assert "converged after 88 iterations" in capsys.readouterr().out
