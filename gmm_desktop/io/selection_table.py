"""The table of a model selection as a CSV file (``select --table``, Find K's export)."""

from __future__ import annotations

import math

from gmm_desktop.io.fileio import atomic_write_text

#: Header of the table (CONTRACTS.md section 1, ``select --table``).
TABLE_HEADER = ("k", "covariance_type", "log_likelihood", "n_parameters", "bic", "aic")


def _format_number(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else "nan"


def selection_table_text(result) -> str:
    """The candidates of ``result`` (a :class:`~gmm_desktop.core.selection.SelectionResult`) as CSV
    text, header :data:`TABLE_HEADER`, one row per candidate; failed candidates show ``nan``."""
    lines = [",".join(TABLE_HEADER)]
    for k, ctype, ll, p, b, a in result.table_rows():
        lines.append(f"{k},{ctype},{_format_number(ll)},{p},{_format_number(b)},{_format_number(a)}")
    return "\n".join(lines) + "\n"


def write_selection_table(result, path) -> None:
    """Write :func:`selection_table_text` of ``result`` to ``path`` atomically (``OSError`` propagates)."""
    atomic_write_text(path, selection_table_text(result))
