"""Data sets: the :class:`Dataset` value, data-file loading, writing CSV, hashing, parsing points.

The synthetic generator and the demo data set are in :mod:`gmm_desktop.io.generator`.

Every mistake in a user's file or argument raises :class:`~gmm_desktop.core.errors.DataError`,
whose message names the file, the line and the column where that applies, and says what to do.
No other exception escapes :func:`load_data` for a user's file.

Data files (see CONTRACTS.md section 2):

* ``.csv``, ``.tsv``, ``.txt``: UTF-8 text (a BOM and CRLF line ends are fine); the delimiter is
  sniffed among tab, semicolon, comma and whitespace; an optional header row; lines starting with
  ``#`` are comments; blank lines are skipped. A column named ``label`` (any case) holds the
  ground truth, not a feature. Columns holding no number at all (names, species...) are skipped
  unless chosen explicitly.
* ``.npy``: a 2-D numeric array. ``.npz``: the array ``X``, or the only array. Nothing is ever
  unpickled.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmm_desktop.core.errors import DataError
from gmm_desktop.io.fileio import atomic_write_text

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
ARRAY_EXTENSIONS = (".npy", ".npz")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS + ARRAY_EXTENSIONS

#: Largest text data file read (about 6 million rows of two numbers).
MAX_TEXT_BYTES = 256 * 2**20
#: Longest line of a text data file: longer lines are not rows of numbers.
MAX_LINE_BYTES = 2**20
#: Largest array read from a .npy or .npz file.
MAX_ARRAY_BYTES = 2 * 2**30
_DELIMITERS = ("\t", ";", ",")  # in order of preference when equally frequent
_DELIMITER_NAMES = {"\t": "tabs", ";": "semicolons", ",": "commas", None: "spaces"}
_BLOCK_ROWS = 65536  # text rows split at a time
#: How a bad row's message ends; the window puts its own words in (``gui.examples_menu.data_error_text``).
DROP_HINT = "fix or remove the row, or skip such rows (--drop-invalid; in the window, File → Skip rows with invalid values)"
_DROP_HINT = DROP_HINT


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set ready to fit.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        float64, finite, C-contiguous.
    feature_names : list of str, length n_features
        Header names; ``"col0", "col1", ...`` without header; ``"x", "y"`` when generated.
    labels : ndarray of shape (n_samples,) of int64, or None
        Ground truth from a ``label`` column (or the generator), else None. Integer labels keep
        their values; text labels become 0, 1, ... in sorted order (see ``label_names``).
    source : str
        The file's name, or e.g. ``"generated (medium, seed 0)"``.
    true_centers : ndarray of shape (n_components, n_features), or None
        The centres the data was generated around.
    all_feature_names : list of str, or None
        Every column of the source that can be a feature (numeric, not the label column), in file
        order: offer these when the user picks columns, and pass the choice to
        ``load_data(path, columns=...)``.
    label_names : list of str, or None
        ``label_names[i]`` is the text of label ``i`` when the label column held text.
    n_dropped : int
        Rows left out by ``drop_invalid=True``.
    label_name : str or None
        The column the labels came from: the one named ``label``, or else the file's first column
        of text (``species``); never a feature. None without labels from a file.
    provenance : dict or None
        How the data were made, when the app made them: the generator's keyword arguments
        (``generator.generate(**provenance["parameters"])`` makes them again), written to CSV as a
        ``# gmm-desktop:`` comment line and read back from it.
    """

    X: np.ndarray
    feature_names: list[str]
    labels: np.ndarray | None
    source: str
    true_centers: np.ndarray | None = None
    all_feature_names: list[str] | None = None
    label_names: list[str] | None = None
    n_dropped: int = 0
    label_name: str | None = None
    provenance: dict | None = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])


def describe_columns(dataset: Dataset) -> str:
    """Which columns are the features and which the label, for a summary line or the status bar:
    ``"features 'sepal length', 'sepal width'; label 'species'"`` (``"no label"`` without one)."""
    features = ", ".join(repr(n) for n in dataset.feature_names)
    label = f"label {dataset.label_name!r}" if dataset.label_name else "no label column"
    return f"feature{_s(len(dataset.feature_names))} {features}; {label}"


def parse_points(text: str, n_features: int | None = None, what: str = "means") -> np.ndarray:
    """Parse points written as ``"x1,y1;x2,y2;..."``.

    Points are separated by ``;``, coordinates by ``,`` (or spaces); whitespace around them is
    fine and empty pieces are ignored.

    Parameters
    ----------
    text : str
    n_features : int, optional
        The number of coordinates each point must have; by default that of the first point.
    what : str
        What the points are, plural, for messages: ``"means"``, ``"centers"``.

    Returns
    -------
    points : ndarray of shape (n_points, n_features)
    """
    one = what[:-1] if what.endswith("s") else what
    if not isinstance(text, str):
        raise DataError(f'{what} must be text such as "{_points_hint(n_features or 2)}"')
    pieces = [p.strip() for p in text.split(";")]
    pieces = [p for p in pieces if p]
    if not pieces:
        raise DataError(f'no {what} given: write {what} as "{_points_hint(n_features or 2)}"')
    rows: list[list[float]] = []
    for k, piece in enumerate(pieces, 1):
        cells = piece.split(",") if "," in piece else piece.split()
        dim = n_features or (len(rows[0]) if rows else max(2, len(cells)))
        hint = f'write {what} as "{_points_hint(dim)}"'
        try:
            values = [float(c) for c in cells]
        except ValueError:
            raise DataError(
                f"{one} {k} '{piece}' is not {_number_word(dim)} numbers: {hint}"
            ) from None
        if len(values) != dim:
            if n_features:
                raise DataError(
                    f"{one} {k} '{piece}' has {len(values)} number{_s(len(values))}, but the data "
                    f"has {dim} features: {hint}"
                )
            raise DataError(
                f"{one} {k} '{piece}' has {len(values)} number{_s(len(values))}, but {one} 1 has "
                f"{dim}: give every {one} the same number of coordinates; {hint}"
            )
        if not np.all(np.isfinite(values)):
            raise DataError(f"{one} {k} '{piece}' has a value that is not a finite number: {hint}")
        rows.append(values)
    return np.array(rows, dtype=np.float64)


def _points_hint(dim: int) -> str:
    if dim <= 3:
        return ";".join(",".join(f"{c}{k}" for c in "xyz"[:dim]) for k in (1, 2))
    return f"a1,b1,...({dim} numbers);a2,b2,..."


def _number_word(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# --------------------------------------------------------------------------- writing, hashing


def write_csv(dataset: Dataset, path) -> None:
    """Write ``dataset`` as CSV, atomically, so that :func:`load_data` reads back the same floats.

    The header is ``feature_names`` (plus ``label`` when the data set has labels); values are
    written with ``repr`` (the shortest text that reads back to the same float64).
    """
    X = np.asarray(dataset.X, dtype=np.float64)
    names = [str(n) for n in dataset.feature_names]
    if X.ndim != 2 or X.shape[1] != len(names) or X.shape[1] < 1 or X.shape[0] < 1:
        raise DataError(
            f"cannot write data of shape {X.shape} with {len(names)} feature names: a data file "
            f"needs at least one row and one feature column"
        )
    if not np.all(np.isfinite(X)):
        raise DataError("cannot write data with NaN or infinite values: remove those rows first")
    for n in names:
        if not n.strip() or n.strip() != n or re.search(r'[,\t;"\r\n#]', n) or _is_number(n):
            raise DataError(
                f"feature name {n!r} cannot be written to a CSV header: use names that are not "
                f"numbers, have no commas, tabs, semicolons, quotes or '#' and no leading spaces"
            )
        if n.lower() == "label":
            raise DataError(
                f"feature name {n!r} is reserved for the ground-truth column: rename it"
            )
    if len(set(names)) != len(names):
        raise DataError(f"feature names {names} repeat a name: give every column its own name")
    columns = [list(map(repr, col)) for col in X.T.tolist()]
    header = names
    if dataset.labels is not None:
        labels = np.asarray(dataset.labels).tolist()
        if len(labels) != X.shape[0]:
            raise DataError(f"{len(labels)} labels for {X.shape[0]} rows: give one label per row")
        if dataset.label_names is not None:
            columns.append([str(dataset.label_names[int(v)]) for v in labels])
        else:
            columns.append([str(int(v)) for v in labels])
        header = names + ["label"]
    text = (
        "\n".join(itertools.chain([",".join(header)], map(",".join, zip(*columns, strict=True))))
        + "\n"
    )
    try:
        atomic_write_text(path, text)
    except OSError as e:
        raise DataError(
            f"cannot write '{path}': {e.strerror or e}; check that the folder exists and is "
            f"writable"
        ) from None


def data_sha256(X) -> str:
    """SHA-256 (hex) of ``X`` as float64, C order, little-endian bytes (the model file's hash)."""
    return hashlib.sha256(np.ascontiguousarray(X, dtype="<f8").tobytes()).hexdigest()


# --------------------------------------------------------------------------- loading


def load_data(path, columns=None, drop_invalid: bool = False, label=None) -> Dataset:
    """Read a data file (``.csv``, ``.tsv``, ``.txt``, ``.npy``, ``.npz``).

    Parameters
    ----------
    path : str or path-like
    columns : sequence of str or int, or str, optional
        The feature columns, by header name or 0-based index among all the file's columns (ints
        or digit strings); a string is split at commas. Default: every column that holds numbers,
        except the label column.
    drop_invalid : bool
        Leave out rows whose feature cells are empty, not numbers, NaN or infinite, instead of
        refusing the file (``Dataset.n_dropped`` counts them).
    label : str or int, optional
        The ground-truth column (by header name or 0-based index) of a text file, instead of the
        column named ``label``: iris's ``species``, say. It is then not a feature.

    Returns
    -------
    Dataset
        ``X`` of shape (n_samples, n_features), float64, finite, C-contiguous.

    Raises
    ------
    DataError
        For any problem with the file, naming the file, line and column, and what to do.
    """
    path, name, ext = _check_path(path)
    try:
        return _load(path, name, ext, columns, drop_invalid, label)
    except MemoryError:
        raise DataError(f"{name} is too large to load into memory: use fewer rows") from None


def _load(path: Path, name: str, ext: str, columns, drop_invalid: bool, label=None) -> Dataset:
    if ext in ARRAY_EXTENSIONS:
        if label is not None:
            raise DataError(f"{name}: an array file has no label column: give the label in a CSV file")
        arr, where = _read_array(path, name, ext)
        names = [f"col{j}" for j in range(arr.shape[1])]
        selected = _select_columns(columns, names, list(range(len(names))), name)
        with np.errstate(over="ignore", invalid="ignore"):
            X = np.array(arr[:, selected], dtype=np.float64)
        bad = ~np.isfinite(X)

        def explain(i: int, j: int) -> str:
            return (
                f"{name}: {where}[{i}, {selected[j]}] is {X[i, j]}, not a finite number; "
                f"{_DROP_HINT}"
            )

        X, keep, n_dropped = _drop_or_refuse(X, bad, drop_invalid, explain, name, names, selected)
        return Dataset(
            X=X,
            feature_names=[names[j] for j in selected],
            labels=None,
            source=name,
            all_feature_names=names,
            n_dropped=n_dropped,
        )

    table = _read_text_table(path, name)
    default = table.numeric
    if label is not None:
        table.label_col = _select_columns([label], table.names, [], name, what="label column")[0]
        table.label_is_text = False  # the user's choice, whatever it holds
        default = [j for j in default if j != table.label_col]
    if columns is None and len(default) < 1:
        raise DataError(_too_few_numeric_message(table))
    selected = _select_columns(columns, table.names, default, name)
    if table.label_is_text and table.label_col in selected:
        raise DataError(
            f"{name}: {table.describe(table.label_col)} holds text, not numbers: it is the label "
            f"(ground truth), never a feature; choose columns of numbers "
            f"({', '.join(repr(table.names[j]) for j in table.numeric)})"
        )
    if label is not None and table.label_col in selected:
        raise DataError(f"{name}: column {table.names[table.label_col]!r} is chosen both as a feature and as "
                        f"the label: choose it once")
    label_col = table.label_col if table.label_col not in selected else None
    X, text_bad = _convert_columns(table, selected)
    bad = text_bad | ~np.isfinite(X)

    def explain(i: int, j: int) -> str:
        cell = table.cell(i, selected[j])
        where = f"{name}: line {table.lines[i]}, {table.describe(selected[j])}"
        if not cell.strip():
            return f"{where}: the cell is empty; {_DROP_HINT}"
        shown = _show(cell.strip())
        if selected[j] not in table.numeric and selected[j] != table.label_col:
            return (
                f"{where}: {shown} is not a number, and this column holds no numbers at all: "
                f"choose columns of numbers ({', '.join(map(repr, table.names))})"
            )
        if text_bad[i, j]:
            msg = f"{where}: {shown} is not a number; {_DROP_HINT}"
            if table.delimiter != "," and re.fullmatch(r"\s*[+-]?\d+,\d+\s*", cell):
                msg += " (decimal commas are not read: write 1.5, not 1,5)"
            elif len(table.numeric) > 2:
                msg += ", or choose other feature columns"
            return msg
        if "nan" in cell.lower() or "inf" in cell.lower():
            return f"{where}: {shown} is not a finite number; {_DROP_HINT}"
        return (
            f"{where}: {shown} is too large for a 64-bit float (it overflows to infinity); "
            f"{_DROP_HINT}"
        )

    X, keep, n_dropped = _drop_or_refuse(X, bad, drop_invalid, explain, name, table.names, selected)
    labels = label_names = None
    if label_col is not None:
        labels, label_names = _parse_labels(table.column(label_col))
        labels = labels[keep]
    return Dataset(
        X=X,
        feature_names=[table.names[j] for j in selected],
        labels=labels,
        source=name,
        all_feature_names=[table.names[j] for j in table.numeric if j != table.label_col],
        label_names=label_names,
        n_dropped=n_dropped,
        label_name=None if label_col is None else table.names[label_col],
    )


def feature_columns(path) -> list[str]:
    """Names of the columns of a data file that can be features, in file order.

    These are the columns holding numbers, except the label column (``"col0", "col1", ...`` for
    a file without header and for arrays); pass any of them to ``load_data(path, columns=...)``.
    """
    path, name, ext = _check_path(path)
    if ext in ARRAY_EXTENSIONS:
        return [f"col{j}" for j in range(_read_array(path, name, ext)[0].shape[1])]
    table = _read_text_table(path, name)
    return [table.names[j] for j in table.numeric]


def all_columns(path) -> tuple[list[str], str | None]:
    """Every column of a data file (the candidates for the label) and the default label column's name."""
    path, name, ext = _check_path(path)
    if ext in ARRAY_EXTENSIONS:
        return [f"col{j}" for j in range(_read_array(path, name, ext)[0].shape[1])], None
    table = _read_text_table(path, name)
    return list(table.names), None if table.label_col is None else table.names[table.label_col]


def _check_path(path) -> tuple[Path, str, str]:
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise DataError(f"{path!r} is not a file path: give the path of a data file") from None
    name = path.name or str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(
            f"data file '{path}' does not exist: check the name and the folder"
        ) from None
    except (OSError, ValueError) as e:
        raise DataError(
            f"cannot open data file '{path}': {getattr(e, 'strerror', None) or e}"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"'{path}' is a folder, not a data file: choose a file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"'{path}' is not a regular file: choose a data file saved on disk")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"{name}: cannot read {f'files ending {ext!r}' if ext else 'a file without extension'}"
            f"; data files must end in {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return path, name, ext


def _read_bytes(path: Path, name: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as e:
        raise DataError(
            f"cannot read {name}: {e.strerror or e}; check the file's permissions"
        ) from None
    if len(raw) > limit:
        raise DataError(
            f"{name} is larger than {limit // 2**20} MB, the most a {path.suffix} file may be: "
            f"use fewer rows, or save the array with numpy.save as a .npy file"
        )
    return raw


def _show(cell: str, width: int = 40) -> str:
    return repr(cell if len(cell) <= width else cell[:width] + "...")


def _is_number(cell: str) -> bool:
    return _to_float(cell) is not None


def _to_float(cell: str) -> float | None:
    """``float(cell)``, also for a quoted number such as ``"1.5"``; None when not a number."""
    try:
        return float(cell)
    except ValueError:
        pass
    try:
        return float(_unquote(cell))
    except ValueError:
        return None


def _unquote(cell: str) -> str:
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] and cell[0] in "\"'":
        return cell[1:-1].strip()
    return cell


def _line_of(raw: bytes, offset: int) -> int:
    """1-based line number of byte ``offset``."""
    return raw.count(b"\n", 0, offset) + 1


def _split(line: str, delimiter: str | None) -> list[str]:
    return line.split(delimiter) if delimiter else line.split()


class _TextTable:
    """The data rows of a text data file, each of ``len(names)`` cells, split block by block.

    ``lines[i]`` is the 1-based line number of data row ``i``; ``numeric`` lists the columns
    holding at least one number, except the label column: the column named ``label``, or else
    the first column of text (no number in any cell, not all empty), such as iris's ``species``.
    """

    def __init__(self, name, names, has_header, delimiter, lines, data, label_col):
        self.name, self.names, self.has_header = name, names, has_header
        self.delimiter, self.lines, self.data, self.label_col = delimiter, lines, data, label_col
        n_cols, numeric = len(names), set()
        undecided = [j for j in range(n_cols) if j != label_col]
        for _, cells in self.blocks():
            numeric.update(j for j in undecided if any(map(_is_number, cells[j::n_cols])))
            undecided = [j for j in undecided if j not in numeric]
            if not undecided:
                break
        self.numeric = sorted(numeric)
        self.label_is_text = False
        if label_col is None and numeric:  # no column named "label": the first column of text is
            # the label (not when no column holds numbers: that is a file of decimal commas, say)
            text = [j for j in range(n_cols) if j not in numeric]
            for _, cells in self.blocks():
                filled = [j for j in text if any(c.strip() for c in cells[j::n_cols])]
                if filled:
                    self.label_col, self.label_is_text = filled[0], True
                    break

    def blocks(self):
        """Yield ``(first_row, cells)``: the cells of a block of rows, row by row.

        Splitting block by block keeps memory near the size of the file, not ten times it.
        """
        d = self.delimiter
        for start in range(0, len(self.data), _BLOCK_ROWS):
            block = self.data[start : start + _BLOCK_ROWS]
            yield start, (d.join(block).split(d) if d else " ".join(block).split())

    def cell(self, i: int, j: int) -> str:
        return _split(self.data[i], self.delimiter)[j]

    def column(self, j: int) -> list[str]:
        n_cols = len(self.names)
        return [c for _, cells in self.blocks() for c in cells[j::n_cols]]

    def describe(self, j: int) -> str:
        return f"column {self.names[j]!r}" if self.has_header else f"column {j + 1}"


def _read_text_table(path: Path, name: str) -> _TextTable:
    raw = _read_bytes(path, name, MAX_TEXT_BYTES)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{name} is UTF-16 text: save it as UTF-8 (or plain CSV) and open it again")
    if b"\x00" in raw:
        raise DataError(
            f"{name} is not a text data file (it contains binary bytes): open a CSV, TSV or TXT "
            f"file of numbers saved as UTF-8 text, or a .npy/.npz array"
        )
    b = np.frombuffer(raw, dtype=np.uint8)
    edges = np.concatenate(([-1], np.flatnonzero((b == 10) | (b == 13)), [b.size]))
    longest = int(np.argmax(np.diff(edges))) if b.size else 0
    if b.size and edges[longest + 1] - edges[longest] - 1 > MAX_LINE_BYTES:
        start = int(edges[longest]) + 1
        raise DataError(
            f"{name}: line {_line_of(raw, start)} is "
            f"{(edges[longest + 1] - start) / 2**20:.1f} MB long without a line break; a data file "
            f"holds one short row of numbers per line: check that this is the data file you meant"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{name} is not a text data file: line {_line_of(raw, e.start)} holds bytes "
            f"that are not UTF-8 text (0x{raw[e.start]:02x}); open a CSV, TSV or TXT file of "
            f"numbers saved as UTF-8, or a .npy/.npz array"
        ) from None
    del raw, b, edges
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    del text
    rows = [i for i, s in enumerate(lines) if (t := s.lstrip()) and t[0] != "#"]
    if not rows:
        if any(s.strip() for s in lines):
            raise DataError(
                f"{name} has no data rows, only comments: add rows of numbers such as 1.5,2.0"
            )
        raise DataError(f"{name} is empty: a data file needs rows of numbers such as 1.5,2.0")

    sample = [lines[i] for i in rows[:50]]
    delimiter = max(_DELIMITERS, key=lambda d: (sum(d in s for s in sample), -_DELIMITERS.index(d)))
    if not any(delimiter in s for s in sample):
        delimiter = None
    first = [c.strip() for c in _split(sample[0], delimiter)]
    n_cols = len(first)
    text_cells = [not _is_number(c) for c in first]
    if not any(text_cells):
        has_header = False
    elif len(sample) == 1 or all(text_cells):
        has_header = all(text_cells)
    else:
        second = [c.strip() for c in _split(sample[1], delimiter)]
        has_header = any(
            t and j < len(second) and _is_number(second[j]) for j, t in enumerate(text_cells)
        )
    first_line = rows[0] + 1
    if has_header:
        names = [_unquote(c) or f"col{j}" for j, c in enumerate(first)]
        rows = rows[1:]
        if not rows:
            raise DataError(
                f"{name} has a header row but no data rows: add rows of numbers below it"
            )
    else:
        names = [f"col{j}" for j in range(n_cols)]
    seen: dict[str, int] = {}
    for j, n in enumerate(names):
        if seen.setdefault(n, j) != j:
            raise DataError(
                f"{name}: the header names two columns {n!r} (columns {seen[n] + 1} and "
                f"{j + 1}): give every column its own name"
            )
    label_cols = [j for j, n in enumerate(names) if has_header and n.lower() == "label"]
    if len(label_cols) > 1:
        raise DataError(
            f"{name} has {len(label_cols)} label columns: keep one column named 'label'"
        )

    data = [lines[i] for i in rows]
    del lines
    if delimiter:
        counts = (
            np.fromiter(map(str.count, data, itertools.repeat(delimiter)), np.int64, len(data)) + 1
        )
    else:
        counts = np.fromiter((len(s.split()) for s in data), np.int64, len(data))
    ragged = np.flatnonzero(counts != n_cols)
    if ragged.size:
        i = int(ragged[0])
        raise DataError(
            f"{name}: line {rows[i] + 1} has {counts[i]} field{_s(int(counts[i]))}, expected "
            f"{n_cols} (like line {first_line}); every row needs the same number of values, "
            f"separated by {_DELIMITER_NAMES[delimiter]}"
        )
    return _TextTable(
        name,
        names,
        has_header,
        delimiter,
        np.asarray(rows, dtype=np.int64) + 1,
        data,
        label_cols[0] if label_cols else None,
    )


def _too_few_numeric_message(table: _TextTable) -> str:
    numeric, label = table.numeric, table.label_col
    text = sorted(set(range(len(table.names))) - set(numeric) - {label})
    msg = f"{table.name} has no column of numbers"
    if text:
        shown = [
            f"{table.describe(j)} ({_show(table.cell(0, j).strip())} on line {table.lines[0]})"
            for j in text[:3]
        ]
        more = ", ..." if len(text) > 3 else ""
        msg += f"; {', '.join(shown)}{more} hold{'s' if len(text) == 1 else ''} no numbers"
    if label is not None:
        msg += f"; {table.describe(label)} is the ground-truth label, not a feature"
    msg += ": a data file needs at least one feature column of numbers"
    if any(re.fullmatch(r"\s*[+-]?\d+,\d+\s*", table.cell(0, j)) for j in text):
        msg += " (decimal commas are not read: write 1.5, not 1,5)"
    return msg


def _convert_columns(table: _TextTable, selected: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Floats of the ``selected`` columns (NaN where not a number) and the mask of non-numbers.

    Returns
    -------
    X : ndarray of shape (n_rows, len(selected))
    text_bad : ndarray of bool, of shape (n_rows, len(selected))
    """
    n_rows, n_cols = len(table.data), len(table.names)
    X = np.empty((n_rows, len(selected)))
    text_bad = np.zeros(X.shape, dtype=bool)
    for start, cells in table.blocks():
        for k, j in enumerate(selected):
            column = cells[j::n_cols]
            rows = slice(start, start + len(column))
            try:  # fast path; the slow one finds the cells that are not numbers
                X[rows, k] = np.fromiter(map(float, column), np.float64, len(column))
            except ValueError:
                values = [_to_float(c) for c in column]
                text_bad[rows, k] = [v is None for v in values]
                X[rows, k] = [np.nan if v is None else v for v in values]
    return X, text_bad


def _int_labels(cells: list[str]) -> np.ndarray | None:
    try:
        return np.fromiter(map(int, cells), np.int64, len(cells))
    except (ValueError, OverflowError):
        return None


def _parse_labels(cells: list[str]) -> tuple[np.ndarray, list[str] | None]:
    """Integer labels as they are; text labels as 0, 1, ... in sorted order, with their names."""
    labels = _int_labels(cells)
    if labels is None:
        cells = [_unquote(c) for c in cells]
        labels = _int_labels(cells)
    if labels is not None:
        return labels, None
    names, labels = np.unique(np.array(cells, dtype=str), return_inverse=True)
    return labels.astype(np.int64).reshape(-1), [str(n) for n in names]


def _select_columns(columns, names: list[str], default: list[int], file_name: str,
                    what: str = "column") -> list[int]:
    """Indices (into ``names``) of the chosen feature columns.

    ``columns`` holds header names (exact, else case-insensitive when unambiguous) or 0-based
    indices, as ints or digit strings; a string is split at commas.
    """
    if columns is None:
        selected = list(default)
    else:
        if isinstance(columns, str):
            columns = columns.split(",")
        exact = {n: j for j, n in enumerate(names)}
        folded: dict[str, int | None] = {}
        for j, n in enumerate(names):
            folded[n.lower()] = None if n.lower() in folded else j  # None: ambiguous
        selected, chosen = [], set()
        for c in columns:
            j = None
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                j = int(c) if 0 <= c < len(names) else None
            elif isinstance(c, str):
                key = c.strip()
                j = exact.get(key, folded.get(key.lower()))
                if j is None and key.isascii() and key.isdigit() and int(key) < len(names):
                    j = int(key)
            if j is None:
                shown = ", ".join(map(repr, names[:20])) + (", ..." if len(names) > 20 else "")
                raise DataError(
                    f"{file_name} has no {what} {c!r}: choose among {shown} (by name, or by "
                    f"0-based index 0 to {len(names) - 1})"
                )
            if j in chosen:
                raise DataError(f"{file_name}: column {names[j]!r} is chosen twice: choose it once")
            selected.append(j)
            chosen.add(j)
    if len(selected) < 1 and what == "column":
        raise DataError(f"{file_name}: no feature column chosen; choose at least one")
    return selected


def _drop_or_refuse(X, bad, drop_invalid, explain, name, names, selected):
    """Refuse the first bad cell, or drop the rows holding bad cells when ``drop_invalid``."""
    bad_rows = bad.any(axis=1)
    if not bad_rows.any():
        return np.ascontiguousarray(X), slice(None), 0
    if not drop_invalid:
        i = int(np.argmax(bad_rows))
        raise DataError(explain(i, int(np.argmax(bad[i]))))
    keep = ~bad_rows
    if not keep.any():
        cols = ", ".join(repr(names[j]) for j in selected)
        raise DataError(
            f"{name}: every row has an empty, non-numeric or non-finite value in the feature "
            f"columns ({cols}); nothing is left to load: fix the file or choose other columns"
        )
    return np.ascontiguousarray(X[keep]), keep, int(bad_rows.sum())


def _read_array(path: Path, name: str, ext: str) -> tuple[np.ndarray, str]:
    """The 2-D numeric array of a .npy or .npz file and what to call it in messages."""
    try:
        if ext == ".npy":
            size = path.stat().st_size
            with open(path, "rb") as fh:
                return _read_npy(fh, name, size), "X"
        with zipfile.ZipFile(path) as zf:
            arrays = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
            if "X" in arrays:
                key = "X"
            elif len(arrays) == 1:
                key = arrays[0]
            else:
                shown = ", ".join(repr(a) for a in arrays[:20]) or "no arrays"
                raise DataError(
                    f"{name} holds {shown}: name the data array 'X', e.g. numpy.savez(path, X=data)"
                )
            info = zf.getinfo(key + ".npy")
            with zf.open(info) as fh:
                return _read_npy(fh, f"{name} (array {key!r})", info.file_size), key
    except (DataError, MemoryError):
        raise
    except Exception as e:  # numpy and zipfile raise many kinds for a damaged file
        kind = "NumPy .npz archive" if ext == ".npz" else "NumPy .npy file"
        raise DataError(
            f"{name} is not a readable {kind} ({type(e).__name__}: {str(e)[:200]}): save the data "
            f"with numpy.save (.npy) or numpy.savez (.npz), or as CSV text"
        ) from None


def _read_npy(fh, what: str, size: int) -> np.ndarray:
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(
        version
    )
    if read_header is None:
        raise DataError(f"{what} uses .npy format version {version}: save it again with numpy.save")
    shape, _, dtype = read_header(fh)
    if dtype.hasobject:
        raise DataError(
            f"{what} holds Python objects, which are never loaded because that could run code: "
            f"save a numeric array, e.g. numpy.save(path, X.astype(float))"
        )
    if dtype.kind not in "biuf":
        kind = {"c": "complex numbers", "U": "strings", "S": "bytes", "V": "records"}.get(
            dtype.kind, f"{dtype} values"
        )
        raise DataError(
            f"{what} holds {kind} (dtype {dtype}), not real numbers: save a float array"
        )
    if len(shape) != 2:
        raise DataError(
            f"{what} holds a {len(shape)}-D array of shape {shape}; the data must be 2-D, of shape "
            f"(n_samples, n_features): reshape it, e.g. X.reshape(-1, 2), before saving"
        )
    if shape[0] < 1 or shape[1] < 1:
        raise DataError(
            f"{what} has shape {shape}: the data needs at least one row and at least one "
            f"feature column"
        )
    nbytes = shape[0] * shape[1] * dtype.itemsize
    if nbytes > min(size, MAX_ARRAY_BYTES):
        raise DataError(
            f"{what} declares shape {shape} ({nbytes:,} bytes), "
            + (
                f"more than the {MAX_ARRAY_BYTES // 2**30} GB limit: use fewer rows"
                if nbytes > MAX_ARRAY_BYTES
                else f"but holds only {size:,} bytes: the file is cut short; save it again"
            )
        )
    fh.seek(0)
    return fmt.read_array(fh, allow_pickle=False)
