"""The settings panel shows the choices, defaults and ranges of the options table."""

from PySide6.QtCore import QSettings

from gmm_desktop.core.options import OPTIONS


def test_panel_choices_defaults_and_ranges_are_the_tables(window):
    panel = window.panel
    covariance = [panel.covariance_combo.itemText(i) for i in range(panel.covariance_combo.count())]
    assert tuple(covariance) == OPTIONS["covariance_type"].choices
    modes = [panel.tol_mode_combo.itemData(i) for i in range(panel.tol_mode_combo.count())]
    assert tuple(modes) == OPTIONS["tol_mode"].choices
    assert panel.max_iter_spin.minimum() == OPTIONS["max_iter"].minimum
    assert panel.max_iter_spin.toolTip() == OPTIONS["max_iter"].help
    assert panel.em_settings() == {**{name: OPTIONS[name].default
                                      for name in ("covariance_type", "tol", "tol_mode", "max_iter", "reg_covar",
                                                   "method", "weight_prior")}, "weight_concentration": None}
    methods = [panel.method_combo.itemData(i) for i in range(panel.method_combo.count())]
    assert tuple(methods) == OPTIONS["method"].choices


def test_saved_settings_outside_the_tables_ranges_are_ignored(window, tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    for key, value in {"covariance_type": "banana", "tol": -1.0, "tol_mode": "per-sample", "max_iter": 0,
                       "reg_covar": 0.5}.items():
        store.setValue(f"em/{key}", value)
    window.panel.restore(store)
    shown = window.panel.em_settings()
    assert shown["covariance_type"] == OPTIONS["covariance_type"].default
    assert shown["tol"] == OPTIONS["tol"].default
    assert shown["max_iter"] == OPTIONS["max_iter"].default
    assert shown["tol_mode"] == "per-sample" and shown["reg_covar"] == 0.5
