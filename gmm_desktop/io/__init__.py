"""Files: data files (load, write, hash), model files, atomic writes, the synthetic generator.

Depends on :mod:`gmm_desktop.core` only; never imports Qt.
"""
