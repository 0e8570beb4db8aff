"""Exceptions for user-facing mistakes.

Every error the core raises for bad input derives from :class:`GMMError`, so the command line
and the window can show ``str(error)`` as it is: each message says what is wrong and what to do.
"""


class GMMError(ValueError):
    """Base class: a problem with the user's input, options or files (never a bug)."""


class DataError(GMMError):
    """A data file or data array cannot be used."""


class ParamsError(GMMError):
    """Mixture parameters are malformed (shapes, non-finite numbers, weights, covariances)."""


class ModelFileError(GMMError):
    """A model file cannot be read or written."""


class FitError(GMMError):
    """EM cannot continue: the message says what to change."""
