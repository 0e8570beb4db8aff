"""The Qt-free document: data, means, settings, locks, history with a cursor, view, undo states.

Driven with real EM (the core's fitter), never with Qt: the last test checks that PySide6 was not
loaded by any of this.
"""

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gmm_desktop.core.em import EMFitter
from gmm_desktop.core.init import params_from_means
from gmm_desktop.document import (CURSOR, DATA, HISTORY, LOCKS, MEANS, PCA, SETTINGS, VIEW, ComponentLock,
                                  Document, Locks)

ROOT = str(Path(__file__).resolve().parents[2])


@dataclasses.dataclass
class Data:
    """Any object with X, feature_names and labels is a data set to the document."""

    X: np.ndarray
    feature_names: list
    labels: np.ndarray | None = None


def blobs(n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.zeros((3, n_features))
    centers[:, 0] = [0.0, 6.0, 3.0]
    centers[:, 1 % n_features] += [0.0, 0.0, 5.0]
    labels = np.repeat(np.arange(3), 60)
    X = centers[labels] + rng.normal(size=(180, n_features))
    return Data(X, [f"f{i}" for i in range(n_features)], labels)


class Recorder:
    def __init__(self, doc, kinds=None):
        self.changes = []
        self.unsubscribe = doc.subscribe(self.changes.append, kinds)

    def kinds(self):
        kinds = [c.kind for c in self.changes]
        self.changes.clear()
        return kinds


@pytest.fixture
def doc():
    d = Document()
    d.set_dataset(blobs())
    d.set_means([[0.5, 0.5], [5.5, 0.0], [3.0, 4.0]])
    return d


def run_em(doc, n):
    """Append iteration 0 and n iterations of real EM to the document; returns the snapshots."""
    fitter = EMFitter(doc.X, doc.start_params(), tol=0, **{k: v for k, v in doc.em_settings().items() if k != "tol"})
    snaps = [fitter.snapshot]
    doc.append_iteration(fitter.snapshot)
    for _ in range(n):
        snaps.append(fitter.step(return_resp=True))
        doc.append_iteration(snaps[-1])
    return snaps


def test_a_new_document_holds_the_data_the_means_and_the_default_settings():
    doc = Document()
    seen = Recorder(doc)
    data = blobs(n_features=3)
    doc.set_dataset(data)
    assert doc.X is data.X and doc.feature_names == ["f0", "f1", "f2"] and doc.labels is data.labels
    assert doc.means.shape == (0, 3) and doc.start is None and len(doc.locks) == 0 and len(doc.history) == 0
    assert doc.settings == {"covariance_type": "full", "tol": 1e-4, "tol_mode": "total", "max_iter": 1000,
                            "reg_covar": 1e-6, "method": "em", "weight_prior": "dirichlet_process",
                            "weight_concentration": None}
    assert doc.em_settings() == {"tol": 1e-4, "tol_mode": "total", "max_iter": 1000, "reg_covar": 1e-6}
    assert seen.kinds() == [DATA, MEANS, VIEW]  # the view is of 3 features now, still showing (0, 1)
    assert doc.view.displayed == (0, 1) and doc.view.n_features == 3
    doc.set_means([[0, 0, 0], [6, 0, 0]])
    assert seen.kinds() == [MEANS] and doc.means.shape == (2, 3)
    with pytest.raises(ValueError):
        doc.means[0, 0] = 1.0  # what views receive cannot be changed behind the document's back


def test_the_history_keeps_every_iteration_and_the_cursor_follows_the_newest(doc):
    seen = Recorder(doc)
    snaps = run_em(doc, 6)
    history = doc.history
    assert len(history) == 7 and history.n_iterations == 7 and history.at_end
    assert doc.current.iteration == 6 and doc.current.params is snaps[6].params
    assert doc.current.log_likelihood == snaps[6].log_likelihood and doc.current.phase == "E"
    assert history.trace() == [s.log_likelihood for s in snaps[1:]]
    assert history.initial_log_likelihood == snaps[0].log_likelihood
    assert seen.kinds() == [HISTORY, CURSOR] * 7
    # responsibilities are never kept: an entry is O(K D^2), not O(N)
    assert all(e.snapshot.resp is None and e.snapshot.labels is None for e in history)
    assert snaps[6].resp is not None  # (the snapshot EM gave had them)
    # EM never decreased the log-likelihood along the way
    assert np.all(np.diff([e.log_likelihood for e in history]) >= -1e-9)


def test_moving_the_cursor_back_and_forward_reports_that_iteration(doc):
    snaps = run_em(doc, 6)
    seen = Recorder(doc)
    assert doc.step_back(3)
    assert doc.current.iteration == 3 and not doc.history.at_end
    np.testing.assert_array_equal(doc.current.params.means, snaps[3].means)
    assert doc.current.log_likelihood == snaps[3].log_likelihood
    assert len(doc.history) == 7  # looking back drops nothing
    change = seen.changes[-1]
    assert change.kind == CURSOR and change.details == {"index": 3, "iteration": 3}
    assert doc.step_forward() and doc.current.iteration == 4
    doc.show_iteration(0)
    assert doc.current.iteration == 0 and doc.current.params.means.tolist() == snaps[0].means.tolist()
    assert not doc.step_back()  # already at the first: nothing moves, nothing is reported
    seen.kinds()
    assert doc.step_forward(100) and doc.history.at_end and doc.current.iteration == 6
    assert seen.kinds() == [CURSOR]
    doc.move_cursor(-2)
    assert doc.current.iteration == 5
    with pytest.raises(IndexError, match="no iteration 9: it holds iterations 0 to 6"):
        doc.show_iteration(9)
    with pytest.raises(IndexError):
        doc.move_cursor(7)
    assert doc.current.iteration == 5  # a refused move leaves the cursor


def test_iterations_arriving_while_looking_back_go_to_the_end_and_the_cursor_stays(doc):
    fitter = EMFitter(doc.X, doc.start_params(), tol=0)
    doc.append_iteration(fitter.snapshot)
    doc.append_iteration(fitter.step())
    doc.append_iteration(fitter.step())
    doc.show_iteration(1)
    doc.append_iteration(fitter.step())  # EM was still running when the user looked back
    assert len(doc.history) == 4 and doc.current.iteration == 1
    with pytest.raises(ValueError, match="does not follow"):
        doc.append_iteration(fitter.snapshot)  # the same iteration again is refused


def test_truncate_drops_what_is_after_the_cursor_and_restore_puts_it_back(doc):
    snaps = run_em(doc, 8)
    doc.show_iteration(3)
    seen = Recorder(doc)
    dropped = doc.truncate()
    assert len(dropped) == 5 and [e.iteration for e in dropped.entries] == [4, 5, 6, 7, 8]
    assert len(doc.history) == 4 and doc.history.at_end and doc.current.iteration == 3
    assert doc.history.trace() == [s.log_likelihood for s in snaps[1:4]]
    assert seen.changes[-1].kind == HISTORY and seen.changes[-1].action == "truncate"
    assert seen.changes[-1].details == {"n_dropped": 5}
    doc.restore_dropped(dropped)
    assert len(doc.history) == 9 and doc.current.iteration == 3  # back, the cursor where it was
    assert doc.history[8].params is snaps[8].params
    assert seen.changes[-1].action == "restore"
    # nothing to drop at the end
    doc.step_forward(10)
    assert len(doc.truncate()) == 0


def test_restoring_dropped_iterations_over_new_ones_is_refused(doc):
    run_em(doc, 4)
    doc.show_iteration(1)
    dropped = doc.truncate()
    fitter = EMFitter(doc.X, doc.current.params, tol=0)
    doc.append_iteration(dataclasses.replace(fitter.step(), iteration=2))  # went on from iteration 1
    with pytest.raises(ValueError, match="the history now has 3"):
        doc.restore_dropped(dropped)
    assert len(doc.history) == 3


def test_capture_and_restore_bring_back_the_whole_state(doc):
    snaps = run_em(doc, 5)
    doc.lock_component(1, mean=True)
    doc.show_iteration(2)
    before = doc.capture()
    # an edit from a past iteration: drop the later ones, new means, new settings, a new view
    doc.truncate()
    doc.set_means([[1.0, 1.0]])
    doc.set_settings({**doc.settings, "covariance_type": "diag"})
    doc.clear_history()
    doc.set_view(1, 0)
    assert len(doc.locks) == 0  # the lock of component 1 went with the component
    seen = Recorder(doc)
    doc.restore(before)
    assert sorted(seen.kinds()) == sorted([MEANS, SETTINGS, LOCKS, HISTORY, CURSOR, VIEW])
    assert len(doc.history) == 6 and doc.current.iteration == 2
    assert doc.history[5].params is snaps[5].params
    assert doc.means.shape == (3, 2) and doc.settings["covariance_type"] == "full"
    assert doc.locks[1] == ComponentLock(mean=True) and doc.view.displayed == (0, 1)
    doc.restore(before)  # the same again: nothing differs, nothing is reported
    assert seen.kinds() == []


def test_replace_history_takes_a_fit_from_elsewhere(doc):
    snaps = run_em(doc, 3)
    other = Document()
    other.set_dataset(blobs())
    seen = Recorder(other)
    other.replace_history(snaps, cursor=1)
    assert other.history.n_iterations == 4 and other.current.iteration == 1
    assert seen.kinds() == [HISTORY, CURSOR]
    with pytest.raises(ValueError, match="out of order"):
        other.replace_history([snaps[2], snaps[1]])
    assert len(other.history) == 4  # a refused replacement changes nothing


def test_a_fit_taken_over_with_only_its_ends_keeps_its_whole_trace(doc):
    """An opened model holds its start and its fitted state, and the trace in between (recorded)."""
    snaps = run_em(doc, 6)
    trace = [s.log_likelihood for s in snaps[1:]]
    other = Document()
    other.set_dataset(blobs())
    other.replace_history([snaps[0], snaps[6]], recorded=trace)
    assert other.history.trace() == trace and other.current.iteration == 6
    assert other.history.trace(0) == []  # the start shown: no iteration yet
    state = other.capture()
    other.clear_history()
    assert other.history.trace() == [] and other.history.recorded == ()
    other.restore(state)  # undo brings the recorded trace back with the entries
    assert other.history.trace() == trace
    # going on from the start: new iterations replace the recorded ones, up to the newest held
    other.move_cursor(0)
    other.truncate()
    other.append_iteration(snaps[1])
    other.append_iteration(snaps[2])
    assert other.history.trace() == trace[:2]
    # going on from the fitted state: the recorded trace, then the new iterations
    other.restore(state)
    fitter = EMFitter(other.X, snaps[6].params, tol=0, iteration=6, trace=trace)
    other.append_iteration(fitter.step())
    assert other.history.trace()[:6] == trace and len(other.history.trace()) == 7


def test_half_steps_are_entries_of_their_own(doc):
    """An iteration can be held as its M half then its E half (the fitter's half-steps)."""
    fitter = EMFitter(doc.X, doc.start_params(), tol=0)
    zero, one = fitter.snapshot, fitter.step()
    m_half = type("HalfStep", (), {})()  # what a fitter's M-step snapshot carries
    for name in ("iteration", "params", "log_likelihood", "converged"):
        setattr(m_half, name, getattr(one, name))
    m_half.phase, m_half.resp, m_half.labels = "M", None, None
    doc.append_iteration(zero)
    doc.append_iteration(m_half)
    doc.append_iteration(one)
    assert [(e.iteration, e.phase) for e in doc.history] == [(0, "E"), (1, "M"), (1, "E")]
    assert doc.history.n_iterations == 2
    assert doc.history.index_of(1) == 2 and doc.history.index_of(1, "M") == 1
    assert doc.history.trace() == [one.log_likelihood]  # the trace counts full iterations
    doc.show_iteration(1, "M")
    assert doc.current.phase == "M"


def test_settings_changes_are_reported_only_when_they_differ(doc):
    seen = Recorder(doc, kinds=SETTINGS)
    doc.set_settings(doc.settings)
    assert seen.kinds() == []
    doc.set_settings({**doc.settings, "tol": 1e-6})
    assert seen.kinds() == [SETTINGS] and doc.em_settings()["tol"] == 1e-6
    assert "covariance_type" not in doc.em_settings()
    with pytest.raises(ValueError, match="unknown setting"):
        doc.set_settings({"tolerance": 1})


def test_start_params_follow_the_means_or_the_explicit_start(doc):
    from_means = doc.start_params()
    np.testing.assert_allclose(from_means.means, doc.means)
    expected = params_from_means(doc.X, doc.means, "full", 1e-6)
    np.testing.assert_allclose(from_means.covariances, expected.covariances)
    explicit = run_em(doc, 2)[2].params
    doc.set_means(explicit.means, start=explicit)
    assert doc.start_params() is explicit
    doc.set_settings({**doc.settings, "covariance_type": "diag"})
    assert doc.start_params().covariance_type == "diag"


def test_locks_are_per_component_flags_and_follow_the_components(doc):
    seen = Recorder(doc, kinds=LOCKS)
    assert doc.locks[0] == ComponentLock() and not doc.locks[0] and 0 not in doc.locks
    doc.lock_component(2, covariance=True, weight=True)
    assert doc.locks[2] == ComponentLock(mean=False, covariance=True, weight=True)
    assert list(doc.locks) == [2] and seen.kinds() == [LOCKS]
    doc.lock_component(2)  # all False frees it
    assert len(doc.locks) == 0
    with pytest.raises(ValueError, match="no component 3"):
        doc.lock_component(3, mean=True)
    locks = Locks({0: ComponentLock(mean=True), 2: ComponentLock(weight=True)})
    assert locks.without_component(1) == Locks({0: ComponentLock(mean=True), 1: ComponentLock(weight=True)})
    doc.set_locks(locks)
    doc.set_means(doc.means[:2])
    assert list(doc.locks) == [0]  # component 2 is gone, and its lock with it


def test_the_fitter_keeps_what_the_document_locks(doc):
    from gmm_desktop.core.fitter import EMFitter as Fitter

    doc.lock_component(0, mean=True)
    start = doc.start_params()
    fitter = Fitter(doc.X, start, tol=0, locks=doc.locks)
    lls = [fitter.snapshot.log_likelihood] + [fitter.step().log_likelihood for _ in range(5)]
    np.testing.assert_array_equal(fitter.params.means[0], start.means[0])  # the locked mean stayed
    assert not np.allclose(fitter.params.means[1], start.means[1])  # the free ones moved
    assert np.all(np.diff(lls) >= -1e-9)


def test_the_view_shows_the_first_two_features_and_views_subscribe_to_it():
    doc = Document()
    doc.set_dataset(blobs(n_features=4))
    view = doc.view
    assert view.displayed == (0, 1) and view.mode == "pair" and view.n_features == 4
    heard = []
    view.subscribe(heard.append)
    doc.set_view(2, 3)
    assert view.displayed == (2, 3) and [c.kind for c in heard] == [VIEW]
    assert view.axis_labels(doc.feature_names) == ["f2", "f3"]
    # a pair view draws the exact marginal: the 2x2 block of each covariance
    cov = np.arange(16.0).reshape(1, 4, 4)
    cov = cov + cov.transpose(0, 2, 1)
    np.testing.assert_array_equal(view.project_covariances(cov)[0], cov[0][np.ix_([2, 3], [2, 3])])
    np.testing.assert_array_equal(view.project_points(doc.X), doc.X[:, [2, 3]])
    for bad in [(0, 0), (0, 4), (-1, 1)]:
        with pytest.raises(ValueError):
            doc.set_view(*bad)
    assert view.displayed == (2, 3)
    doc.set_view(PCA)
    assert view.mode == PCA and view.matrix().shape == (2, 4)
    np.testing.assert_allclose(view.matrix() @ view.matrix().T, np.eye(2), atol=1e-12)
    # the first principal axis is the direction of the largest spread (here along f0 and f1)
    projected = view.project_points(doc.X)
    assert projected[:, 0].var() >= max(np.var(doc.X @ np.eye(4)[i]) for i in range(4)) - 1e-9
    doc.set_dataset(blobs(n_features=1))
    assert view.displayed == (0,) and view.mode == "1d"
    with pytest.raises(ValueError, match="at least two features"):
        doc.set_view(PCA)


def test_a_failing_subscriber_does_not_silence_the_others(doc):
    heard = []

    def broken(change):
        raise RuntimeError("a view's bug")

    doc.subscribe(broken)
    doc.subscribe(heard.append)
    with pytest.raises(RuntimeError, match="a view's bug"):
        doc.set_means([[0.0, 0.0]])
    assert [c.kind for c in heard] == [MEANS]
    assert doc.means.shape == (1, 2)


def test_unsubscribe_stops_the_calls(doc):
    seen = Recorder(doc)
    seen.unsubscribe()
    doc.set_means([[0.0, 0.0]])
    assert seen.changes == []
    with pytest.raises(ValueError, match="unknown change kind"):
        doc.subscribe(print, kinds="colour")


def test_an_empty_document_reports_nothing_to_show():
    doc = Document()
    assert doc.current is None and doc.history.cursor is None and doc.history.at_end
    assert doc.history.trace() == [] and math.isnan(doc.history.initial_log_likelihood)
    assert not doc.step_back() and not doc.step_forward() and len(doc.truncate()) == 0


def test_the_document_never_imports_qt_in_a_fresh_interpreter():
    code = ("import sys; import gmm_desktop.document as d; doc = d.Document(); "
            "assert 'PySide6' not in sys.modules and 'pyqtgraph' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ROOT})


def test_no_qt_was_loaded(pytestconfig):
    """Last in this file: nothing above loaded Qt into this interpreter either.

    pytest-qt imports PySide6 as pytest starts, so under it this file runs again without it.
    """
    if pytestconfig.pluginmanager.has_plugin("pytest-qt"):
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:pytest-qt", "-p", "no:cacheprovider",
                              "-p", "no:xdist", __file__], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": ROOT})
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert " passed" in out.stdout and "failed" not in out.stdout
    else:
        assert "PySide6" not in sys.modules
