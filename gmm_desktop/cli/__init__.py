"""The headless commands, one module per command over :mod:`gmm_desktop.cli.parser`.

:func:`gmm_desktop.cli.main.main` is the dispatcher; only :mod:`gmm_desktop.app` imports it, and nothing
in the package imports ``gmm_desktop.cli``. Never imports Qt.
"""
