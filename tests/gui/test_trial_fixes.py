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
