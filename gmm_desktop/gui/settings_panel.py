"""The side panel: K and k-means++, the covariance model, the stopping rule, and display options."""

from __future__ import annotations

import math

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider,
    QSpinBox, QVBoxLayout, QWidget,
)

from gmm_desktop.core.options import EM_SETTINGS, OPTIONS
from gmm_desktop.gui.em_worker import RUNNING

DEFAULT_DELAY_MS = 60
#: The EM settings the panel shows, with their defaults (from :mod:`gmm_desktop.core.options`).
DEFAULT_SETTINGS = {name: OPTIONS[name].default for name in ("covariance_type", *EM_SETTINGS)}
DEFAULT_SETTINGS["method"] = OPTIONS["method"].default
DEFAULT_SETTINGS["weight_prior"] = OPTIONS["weight_prior"].default
DEFAULT_SETTINGS["weight_concentration"] = None  # the variational prior's concentration; None: 1/K
_METHOD_TEXT = {"em": "EM", "vb": "Bayesian (VB)"}
_WEIGHT_PRIOR_TEXT = {"dirichlet_process": "Dirichlet process (stick-breaking)",
                      "dirichlet_distribution": "Dirichlet distribution"}
#: The concentration slider: log scale, CONCENTRATION_STEPS positions per decade from 10**CONCENTRATION_LOG[0].
CONCENTRATION_LOG = (-3, 3)
CONCENTRATION_STEPS = 10
#: How the panel words each choice of ``tol_mode`` (the choices themselves are the table's).
_TOL_MODE_TEXT = {"total": "change of the total", "per-sample": "change of the mean per point"}
_SPIN_MAX = 2**31 - 1  # a QSpinBox holds an int32
_COVARIANCE_HELP = {
    "full": "each component has its own covariance matrix",
    "diag": "each component has its own axis-aligned covariance",
    "spherical": "each component has its own single variance",
    "tied": "all components share one covariance matrix",
}


class _NumberEdit(QLineEdit):
    """A line edit for a number >= ``minimum`` in plain or scientific notation."""

    def __init__(self, value: float, minimum: float = 0.0, parent=None):
        super().__init__(parent)
        validator = QDoubleValidator(float(minimum), 1e12, 15, self)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.setValidator(validator)
        self.set_value(value)

    def value(self) -> float:
        try:
            return float(self.text())
        except ValueError:
            return math.nan

    def set_value(self, value: float) -> None:
        self.setText(f"{value:g}")


class SettingsPanel(QWidget):
    """Settings of the fit and of the display.

    Parameters
    ----------
    session : Session
        The panel shows K from its placed means and locks the EM settings while EM runs.
    """

    settings_changed = Signal(dict)  # covariance_type, tol, tol_mode, max_iter, reg_covar
    delay_changed = Signal(int)  # milliseconds between iterations while running
    hard_labels_toggled = Signal(bool)  # colour points by their most responsible component
    truth_toggled = Signal(bool)  # show the true clusters
    blend_toggled = Signal(bool)  # blend component colours by responsibility (default: fade the top one)
    kmeanspp_requested = Signal(int)  # K

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self._session = session
        self.setObjectName("settingsPanel")
        self._k_label = QLabel()
        self._k_label.setObjectName("kLabel")
        self.k_spin = QSpinBox(minimum=1, maximum=20, value=4)
        self.k_spin.setToolTip("Number of means k-means++ places")
        self.kmeanspp_button = QPushButton("k-means++")
        self.kmeanspp_button.setObjectName("kmeansppButton")
        self.kmeanspp_button.setToolTip("Place K initial means by k-means++ seeding (undo with Ctrl+Z)")
        self.covariance_combo = QComboBox()
        self.covariance_combo.setToolTip(OPTIONS["covariance_type"].help)
        for name in OPTIONS["covariance_type"].choices:
            self.covariance_combo.addItem(name)
            self.covariance_combo.setItemData(self.covariance_combo.count() - 1, _COVARIANCE_HELP[name],
                                              Qt.ItemDataRole.ToolTipRole)
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("methodCombo")
        for method in OPTIONS["method"].choices:
            self.method_combo.addItem(_METHOD_TEXT.get(method, method), method)
        self.method_combo.setToolTip("EM: maximum likelihood with exactly K components.\n"
                                     "Bayesian (VB): K is an upper bound; surplus components lose their "
                                     "weight and fade (below 1%: pruned)")
        lo, hi = CONCENTRATION_LOG
        self.concentration_slider = QSlider(Qt.Orientation.Horizontal, minimum=0,
                                            maximum=(hi - lo) * CONCENTRATION_STEPS)
        self.concentration_slider.setObjectName("concentrationSlider")
        self.concentration_slider.setToolTip(
            "Concentration of the prior on the weights (log scale): small keeps few components,\n"
            "large spreads the weight over more of them")
        self._concentration_label = QLabel()
        self._concentration = None  # None: 1/K
        self.weight_prior_combo = QComboBox()
        self.weight_prior_combo.setObjectName("weightPriorCombo")
        for prior in OPTIONS["weight_prior"].choices:
            self.weight_prior_combo.addItem(_WEIGHT_PRIOR_TEXT.get(prior, prior), prior)
        self.weight_prior_combo.setToolTip(
            "The prior on the weights (Bayesian only). Dirichlet process: components are ordered and\n"
            "the later ones are switched off first. Dirichlet distribution: all components alike")
        self.tol_edit = _NumberEdit(DEFAULT_SETTINGS["tol"], OPTIONS["tol"].minimum)
        self.tol_edit.setToolTip(OPTIONS["tol"].help)
        self.tol_mode_combo = QComboBox()
        for mode in OPTIONS["tol_mode"].choices:
            self.tol_mode_combo.addItem(_TOL_MODE_TEXT.get(mode, mode), mode)
        self.tol_mode_combo.setToolTip("Stop when this change of the log-likelihood is below the tolerance:\n"
                                       "total (the notebook's rule) or per point (scikit-learn's rule)")
        max_iter = OPTIONS["max_iter"]
        self.max_iter_spin = QSpinBox(minimum=int(max_iter.minimum), maximum=int(max_iter.maximum or _SPIN_MAX),
                                      value=DEFAULT_SETTINGS["max_iter"])
        self.max_iter_spin.setKeyboardTracking(False)
        self.max_iter_spin.setToolTip(max_iter.help)
        self.reg_covar_edit = _NumberEdit(DEFAULT_SETTINGS["reg_covar"], OPTIONS["reg_covar"].minimum)
        self.reg_covar_edit.setToolTip(OPTIONS["reg_covar"].help[:1].upper() + OPTIONS["reg_covar"].help[1:])
        self.delay_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=500, value=DEFAULT_DELAY_MS)
        self.delay_slider.setObjectName("delaySlider")
        self.delay_slider.setToolTip("Pause between iterations while running: slide left for faster")
        self._delay_label = QLabel()
        self.hard_labels_check = QCheckBox("Hard labels (most responsible component)")
        self.blend_check = QCheckBox("Blend colours by responsibility")
        self.blend_check.setObjectName("blendColoursCheck")
        self.blend_check.setToolTip(
            "Mix the component colours by each point's responsibilities.\n"
            "Off: each point has its most responsible component's colour, paler the less sure it is\n"
            "(mixed colours such as olive or teal can read as extra components)")
        self.truth_check = QCheckBox("True clusters (dashed)")
        self.truth_check.setToolTip("Mean and covariance of each true cluster, for data with labels")
        self._em_boxes = self._build()
        self._on_delay_changed(self.delay_slider.value())

        self.kmeanspp_button.clicked.connect(self._on_kmeanspp_clicked)
        self.covariance_combo.currentIndexChanged.connect(self._on_em_setting_edited)
        self.method_combo.currentIndexChanged.connect(self._on_em_setting_edited)
        self.concentration_slider.valueChanged.connect(self._on_concentration_moved)
        self.weight_prior_combo.currentIndexChanged.connect(self._on_em_setting_edited)
        self.k_spin.valueChanged.connect(lambda _k: self._show_concentration())  # "1/K" follows K
        self._show_concentration()
        self.tol_mode_combo.currentIndexChanged.connect(self._on_em_setting_edited)
        self.max_iter_spin.valueChanged.connect(self._on_em_setting_edited)
        for edit in (self.tol_edit, self.reg_covar_edit):
            edit.editingFinished.connect(self._on_em_setting_edited)
        self.delay_slider.valueChanged.connect(self._on_delay_changed)
        self.hard_labels_check.toggled.connect(self.hard_labels_toggled)
        self.truth_check.toggled.connect(self.truth_toggled)
        self.blend_check.toggled.connect(self.blend_toggled)
        self.hard_labels_check.toggled.connect(lambda hard: self.blend_check.setEnabled(not hard))
        session.means_changed.connect(self._on_means_changed)
        session.data_changed.connect(self._on_data_changed)
        session.state_changed.connect(self._on_state_changed)

    def _build(self) -> list[QGroupBox]:
        model = QGroupBox("Model")
        form = QFormLayout(model)
        form.addRow("Components K:", self._k_label)
        row = QHBoxLayout()
        row.addWidget(self.k_spin)
        row.addWidget(self.kmeanspp_button, 1)
        form.addRow("Seed K means:", row)
        form.addRow("Covariance:", self.covariance_combo)
        form.addRow("Method:", self.method_combo)
        form.addRow("Weight prior:", self.weight_prior_combo)
        self._prior_row = (form.labelForField(self.weight_prior_combo), self.weight_prior_combo)
        row = QHBoxLayout()
        row.addWidget(self.concentration_slider, 1)
        row.addWidget(self._concentration_label)
        form.addRow("Concentration:", row)
        self._concentration_row = (form.labelForField(row), self.concentration_slider, self._concentration_label)

        stopping = QGroupBox("Stopping rule")
        form = QFormLayout(stopping)
        form.addRow("Tolerance:", self.tol_edit)
        form.addRow("Measured as:", self.tol_mode_combo)
        form.addRow("Max iterations:", self.max_iter_spin)
        form.addRow("reg_covar:", self.reg_covar_edit)

        display = QGroupBox("Display")
        box = QVBoxLayout(display)
        speed = QHBoxLayout()
        speed.addWidget(QLabel("Delay:"))
        speed.addWidget(self.delay_slider, 1)
        speed.addWidget(self._delay_label)
        box.addLayout(speed)
        box.addWidget(self.hard_labels_check)
        box.addWidget(self.blend_check)
        box.addWidget(self.truth_check)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for group in (model, stopping, display):
            layout.addWidget(group)
        layout.addStretch(1)
        return [model, stopping]

    # -- values
    def em_settings(self) -> dict:
        """The EM settings as the widgets show them (invalid numbers fall back to the defaults)."""
        tol, reg = self.tol_edit.value(), self.reg_covar_edit.value()
        return {
            "covariance_type": self.covariance_combo.currentText(),
            "tol": tol if math.isfinite(tol) else DEFAULT_SETTINGS["tol"],
            "tol_mode": self.tol_mode_combo.currentData(),
            "max_iter": self.max_iter_spin.value(),
            "reg_covar": reg if math.isfinite(reg) else DEFAULT_SETTINGS["reg_covar"],
            "method": self.method_combo.currentData(),
            "weight_prior": self.weight_prior_combo.currentData(),
            "weight_concentration": self._concentration,
        }

    def set_em_settings(self, settings: dict) -> None:
        """Show ``settings`` (missing keys keep their values) without emitting ``settings_changed``."""
        values = {**self.em_settings(), **settings}
        widgets = (self.covariance_combo, self.tol_mode_combo, self.max_iter_spin, self.tol_edit, self.reg_covar_edit,
                   self.method_combo, self.concentration_slider, self.weight_prior_combo)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.covariance_combo.setCurrentText(str(values["covariance_type"]))
            index = self.tol_mode_combo.findData(values["tol_mode"])
            self.tol_mode_combo.setCurrentIndex(max(index, 0))
            self.max_iter_spin.setValue(int(values["max_iter"]))
            self.tol_edit.set_value(float(values["tol"]))
            self.reg_covar_edit.set_value(float(values["reg_covar"]))
            self.method_combo.setCurrentIndex(max(self.method_combo.findData(values["method"]), 0))
            self.weight_prior_combo.setCurrentIndex(max(self.weight_prior_combo.findData(values["weight_prior"]), 0))
            c = values["weight_concentration"]
            self._concentration = None if c is None else float(c)
            self._show_concentration()
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def set_concentration(self, value: float | None) -> None:
        """Set the prior's concentration (None: 1/K) as the slider would, emitting ``settings_changed``."""
        self._concentration = None if value is None else float(value)
        self._show_concentration()
        self._on_em_setting_edited()

    def _on_concentration_moved(self, position: int) -> None:
        self._concentration = 10.0 ** (CONCENTRATION_LOG[0] + position / CONCENTRATION_STEPS)
        self._show_concentration()
        self._on_em_setting_edited()

    def _show_concentration(self) -> None:
        """Slider position and label of the concentration; the row only with Bayesian (VB)."""
        value = self._concentration
        k = max(1, self.k_spin.value())
        shown = 1.0 / k if value is None else value
        position = round((math.log10(shown) - CONCENTRATION_LOG[0]) * CONCENTRATION_STEPS)
        self.concentration_slider.blockSignals(True)
        self.concentration_slider.setValue(min(max(position, 0), self.concentration_slider.maximum()))
        self.concentration_slider.blockSignals(False)
        self._concentration_label.setText(f"{shown:.2g}")
        self._concentration_label.setToolTip("1/K, the default" if value is None else "set with the slider")
        vb = self.method_combo.currentData() == "vb"
        for widget in (*self._concentration_row, *self._prior_row):
            if widget is not None:
                widget.setVisible(vb)

    def delay_ms(self) -> int:
        return self.delay_slider.value()

    def save(self, store: QSettings) -> None:
        for key, value in self.em_settings().items():
            if value is not None:
                store.setValue(f"em/{key}", value)
        store.setValue("display/delay_ms", self.delay_ms())
        store.setValue("display/hard_labels", self.hard_labels_check.isChecked())
        store.setValue("display/truth", self.truth_check.isChecked())
        store.setValue("display/blend", self.blend_check.isChecked())
        store.setValue("model/k", self.k_spin.value())

    def restore(self, store: QSettings) -> None:
        """Show the values saved by :meth:`save` (ignoring unusable ones), then announce them."""
        saved = {}
        for key, kind in (("covariance_type", str), ("tol", float), ("tol_mode", str), ("max_iter", int),
                          ("reg_covar", float), ("method", str), ("weight_prior", str)):
            try:
                value = kind(store.value(f"em/{key}", DEFAULT_SETTINGS[key]))
            except (TypeError, ValueError):
                continue
            try:
                saved[key] = OPTIONS[key].check(value)
            except ValueError:  # ParamsError: a value the table does not allow
                continue
        self.set_em_settings(saved)
        self.delay_slider.setValue(_int(store.value("display/delay_ms"), DEFAULT_DELAY_MS))
        self.hard_labels_check.setChecked(_bool(store.value("display/hard_labels"), False))
        self.truth_check.setChecked(_bool(store.value("display/truth"), False))
        self.blend_check.setChecked(_bool(store.value("display/blend"), False))
        self.k_spin.setValue(_int(store.value("model/k"), 4))

    # -- events
    def _on_em_setting_edited(self, *_args) -> None:
        self._show_concentration()
        self.settings_changed.emit(self.em_settings())

    def _on_kmeanspp_clicked(self) -> None:
        self.kmeanspp_requested.emit(self.k_spin.value())

    def _on_delay_changed(self, delay_ms: int) -> None:
        self._delay_label.setText(f"{delay_ms} ms")
        self.delay_changed.emit(delay_ms)

    def _on_means_changed(self, means) -> None:
        k = len(means)
        origin = "from a model" if self._session.start is not None else "means placed"
        self._k_label.setText(f"{k}  ({origin})" if k else "0  (click the data to place means)")
        if k:
            self.k_spin.setValue(k)

    def _on_data_changed(self, dataset) -> None:
        self.truth_check.setEnabled(dataset.labels is not None)

    def _on_state_changed(self, state: str) -> None:
        for box in self._em_boxes:
            box.setEnabled(state != RUNNING)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(value, default: bool) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).lower() == "true"
