"""Every EM and model-selection option, declared once: name, type, default, allowed values, help.

The commands build their arguments from this table (:func:`gmm_desktop.cli.parser.add_option`), the
window's settings panel takes its choices, defaults and ranges from it, and the fitter and the
sweep take their defaults and their validation from it, so a default or a range is written in one
place only.

>>> OPTIONS["tol"].default
0.0001
>>> OPTIONS["covariance_type"].choices
('full', 'diag', 'spherical', 'tied')
>>> OPTIONS["max_iter"].check(0)
Traceback (most recent call last):
...
gmm_desktop.core.errors.ParamsError: max_iter must be a whole number >= 1, got 0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmm_desktop.core.errors import ParamsError
from gmm_desktop.core.params import COVARIANCE_TYPES

TOL_MODES = ("total", "per-sample")
INIT_METHODS = ("means", "kmeans++", "kmeans", "random")
CRITERIA = ("bic", "aic")
METHODS = ("em", "vb")
WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")  # = gmm_desktop.core.vb.WEIGHT_PRIORS


def _is_whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Option:
    """One option.

    Attributes
    ----------
    name : str
        The Python name (``reg_covar``); the command-line flag is :attr:`flag` (``--reg-covar``).
    kind : {'int', 'float', 'choice', 'choices'}
        A whole number, a finite real number, one of :attr:`choices`, or a non-empty tuple of them.
    default : object
    help : str
        One line for ``--help`` and tooltips, without the default.
    choices : tuple of str, optional
        The allowed values of a 'choice' or 'choices' option.
    minimum, maximum : int or float, optional
        The allowed range of a number, inclusive (``None``: unbounded).
    label : str
        What the window calls it.
    advice : str
        Added to the message about a bad value, when the range alone does not say what to do.
    """

    name: str
    kind: str
    default: object
    help: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    label: str = ""
    advice: str = ""

    @property
    def flag(self) -> str:
        """The command-line flag: ``--`` and the name with ``-`` for ``_``."""
        return "--" + self.name.replace("_", "-")

    def describe_range(self) -> str:
        """The allowed values in words: ``a whole number >= 1``, ``one of full, diag``."""
        if self.kind in ("choice", "choices"):
            return "one of " + ", ".join(self.choices)
        what = "a whole number" if self.kind == "int" else "a finite number"
        if self.minimum is not None and self.maximum is not None:
            return f"{what} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{what} >= {self.minimum:g}"
        if self.maximum is not None:
            return f"{what} <= {self.maximum:g}"
        return what

    def error(self, value) -> ParamsError:
        """The error for a value outside :meth:`describe_range`."""
        return ParamsError(f"{self.name} must be {self.describe_range()}, got {value!r}")

    def check(self, value):
        """``value`` as this option's type (int, float, str or tuple of str), or a :class:`ParamsError`
        saying what is allowed."""
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise self.error(value)
            return value
        if self.kind == "choices":
            items = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
            if not items or not all(isinstance(v, str) and v in self.choices for v in items):
                raise self.error(value)
            return items
        ok = _is_whole(value) if self.kind == "int" else (_is_real(value) and math.isfinite(value))
        if not ok or (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum):
            raise self.error(value)
        return int(value) if self.kind == "int" else float(value)


_OPTIONS = (
    # EM settings (EMFitter, fit, select, the settings panel)
    Option("covariance_type", "choice", "full", "covariance model: full (each component its own matrix), "
           "diag (axis-aligned), spherical (one variance), tied (one shared matrix)",
           choices=COVARIANCE_TYPES, label="Covariance"),
    Option("tol", "float", 1e-4, "stop when the change in log-likelihood is below this", minimum=0.0,
           label="Tolerance"),
    Option("tol_mode", "choice", "total", "total: change of the summed log-likelihood (the notebook's rule); "
           "per-sample: of its mean (scikit-learn's)", choices=TOL_MODES, label="Measured as"),
    Option("max_iter", "int", 1000, "at most this many EM iterations", minimum=1,
           label="Max iterations"),
    Option("reg_covar", "float", 1e-6, "added to every covariance diagonal after each M-step", minimum=0.0,
           label="reg_covar"),
    Option("accelerate", "choice", "squarem", "squarem: extrapolate EM steps (SQUAREM), same maximum and "
           "stopping rule in fewer EM steps, the log-likelihood still never decreasing; none: plain EM, one "
           "reported iteration per EM step (the window's Step). Default squarem, but plain EM with --tol 0 "
           "(exactly --max-iter EM iterations) and with --method vb", choices=("none", "squarem"),
           label="Acceleration"),
    Option("dtype", "choice", "float64", "float32: the E-step holds the data in single precision (half the "
           "memory, faster on large data; log-likelihood and statistics still summed in float64; log "
           "densities good to ~1e-6, so pair it with --tol-mode per-sample)", choices=("float64", "float32"),
           label="Data precision"),
    # the start (fit)
    Option("init", "choice", "kmeans++", "how to start; means needs initial means", choices=INIT_METHODS,
           label="Initialisation"),
    Option("seed", "int", 0, "seed for every random choice (kmeans++, kmeans, random)", minimum=0,
           label="Seed", advice="give a seed of 0 or more"),
    # the variational fit (fit --method vb, gmm_desktop.core.vb)
    Option("method", "choice", "em", "em: maximum likelihood; vb: a variational Bayesian mixture (scikit-learn's "
           "BayesianGaussianMixture), where K is an upper bound and surplus components lose their weight",
           choices=METHODS, label="Method"),
    Option("weight_prior", "choice", "dirichlet_process", "with --method vb: the prior on the weights "
           "(dirichlet_process: stick-breaking)", choices=WEIGHT_PRIORS, label="Weight prior"),
    # (--weight-concentration is not in the table: its default, 1/K, depends on K; see cli/fit.py)
    # model selection (select, Find K)
    Option("k_min", "int", 1, "fewest components to try", minimum=1, label="K from"),
    Option("k_max", "int", 10, "most components to try (K above the number of distinct points is skipped)",
           minimum=1, label="K to"),
    Option("covariance_types", "choices", ("full",), "covariance models to try, a comma list among "
           + ",".join(COVARIANCE_TYPES), choices=COVARIANCE_TYPES, label="Covariance models"),
    Option("criterion", "choice", "bic", "the criterion that chooses (lower is better)", choices=CRITERIA,
           label="Criterion"),
    Option("n_init", "int", 3, "k-means++ restarts per candidate; the best is kept", minimum=1,
           label="Restarts"),
)

#: The options by name.
OPTIONS: dict[str, Option] = {option.name: option for option in _OPTIONS}

#: The names of the EM settings (the keyword arguments of ``EMFitter`` after ``initial``).
EM_SETTINGS = ("tol", "tol_mode", "max_iter", "reg_covar")

#: The names of the model-selection options (``select_model``'s grid).
SELECTION_OPTIONS = ("k_min", "k_max", "covariance_types", "criterion", "n_init", "seed")


def default(name: str):
    """The default of option ``name``."""
    return OPTIONS[name].default


def defaults(names) -> dict:
    """``{name: default}`` for ``names``."""
    return {name: OPTIONS[name].default for name in names}


def check(name: str, value):
    """Option ``name``'s :meth:`Option.check` of ``value``."""
    return OPTIONS[name].check(value)
