"""Data larger than memory as a dask array of row chunks, read where the tasks run.

:func:`open_data` accepts

* a ``.npy`` file, read memory-mapped (only the header is read on the client);
* a Zarr array (a ``.zarr`` directory holding an array, or a group with an array ``X`` or only one
  2-D array);
* Parquet: one file or a directory of files (row counts come from the files' metadata);
* CSV text: one file or a quoted glob such as ``"parts/*.csv"`` (comma, tab, semicolon or
  whitespace separated, an optional header row, ``#`` comments; a column named ``label`` is not a
  feature).

The array returned holds only how to read each chunk (a path and a row range): building it reads
no data on the client, and nothing of the data's size ever travels to it.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np

from gmm_desktop.core.errors import DataError

#: Rows per chunk when none is given: 1M rows of 2 features are 16 MB.
DEFAULT_CHUNK_ROWS = 1_000_000
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class ChunkedData:
    """A data set as a dask array of row chunks.

    Attributes
    ----------
    array : dask.array.Array of shape (n_samples, n_features), float64
    feature_names : list of str
    source : str
        What the data were read from (a file name, a folder, a glob).
    kind : str
        ``npy``, ``zarr``, ``parquet`` or ``csv``.
    """

    array: da.Array
    feature_names: list
    source: str
    kind: str

    @property
    def n_samples(self) -> int:
        return int(self.array.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.array.shape[1])

    @property
    def nbytes(self) -> int:
        return self.n_samples * self.n_features * 8


def open_data(path, chunk_rows: int = DEFAULT_CHUNK_ROWS, columns=None) -> ChunkedData:
    """The data at ``path`` as a :class:`ChunkedData` of ``chunk_rows`` rows per chunk.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file, a Zarr array, a Parquet file or folder, a CSV file or a glob of CSV files.
    chunk_rows : int
        Rows per chunk (CSV files are split by bytes into pieces of about that many rows).
    columns : sequence of str or int, optional
        The feature columns by name or 0-based index; default every numeric column but ``label``.

    Raises
    ------
    DataError
        When nothing can be read there, naming the path and what to do.
    """
    if not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise DataError(f"chunk rows must be a whole number >= 1, got {chunk_rows!r}")
    text = os.fspath(path)
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",")]
    if any(c in text for c in _GLOB_CHARS) and not os.path.exists(text):
        files = sorted(f for f in glob.glob(text) if os.path.isfile(f))
        if not files:
            raise DataError(f"no files match {text!r}: check the pattern (quote it so the shell does not expand it)")
        return _open_csv(files, text, chunk_rows, columns)
    if not os.path.exists(text):
        raise DataError(f"data file '{text}' does not exist: check the name and the folder")
    low = text.rstrip("/").lower()
    if os.path.isdir(text):
        if low.endswith(".zarr") or _is_zarr(text):
            return _open_zarr(text, chunk_rows, columns)
        parquet = _parquet_files(text)
        if parquet:
            return _open_parquet(parquet, text, chunk_rows, columns)
        csvs = sorted(glob.glob(os.path.join(text, "*.csv")))
        if csvs:
            return _open_csv(csvs, text, chunk_rows, columns)
        raise DataError(
            f"'{text}' is a folder without a Zarr array, Parquet or CSV files: give a .npy file, a "
            ".zarr folder, a Parquet file or folder, or a glob of CSV files"
        )
    if low.endswith(".npy"):
        return _open_npy(text, chunk_rows, columns)
    if low.endswith((".parquet", ".pq")):
        return _open_parquet([text], text, chunk_rows, columns)
    if low.endswith((".csv", ".tsv", ".txt")):
        return _open_csv([text], text, chunk_rows, columns)
    raise DataError(
        f"the dask engine cannot read '{os.path.basename(text)}': give a .npy file, a Zarr array, Parquet, "
        "or CSV files (a .npz file: save its array with numpy.save as .npy, or use --engine memory)"
    )


def feature_columns(path) -> list:
    """The default feature columns of the data at ``path``: only headers and metadata are read."""
    text = os.fspath(path)
    if any(c in text for c in _GLOB_CHARS) and not os.path.exists(text):
        files = sorted(f for f in glob.glob(text) if os.path.isfile(f))
        if files:
            return _open_csv(files, text, 1, None, names_only=True)
    elif os.path.isfile(text) and text.lower().endswith((".csv", ".tsv", ".txt")):
        return _open_csv([text], text, 1, None, names_only=True)
    elif os.path.isdir(text) and not (text.rstrip("/").lower().endswith(".zarr") or _is_zarr(text)) \
            and not _parquet_files(text):
        csvs = sorted(glob.glob(os.path.join(text, "*.csv")))
        if csvs:
            return _open_csv(csvs, text, 1, None, names_only=True)
    return open_data(text).feature_names


# --------------------------------------------------------------------------- columns
def _select(columns, names: list, default: list, where: str) -> list:
    """Indices into ``names`` of the chosen feature columns (as ``core`` does for one file)."""
    if columns is None:
        selected = list(default)
    else:
        folded = {n.lower(): j for j, n in enumerate(names)}
        selected = []
        for c in columns:
            j = None
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                j = int(c) if 0 <= c < len(names) else None
            else:
                key = str(c).strip()
                j = names.index(key) if key in names else folded.get(key.lower())
                if j is None and key.isdigit() and int(key) < len(names):
                    j = int(key)
            if j is None:
                shown = ", ".join(map(repr, names[:20])) + (", ..." if len(names) > 20 else "")
                raise DataError(f"{where} has no column {c!r}: choose among {shown} (by name or 0-based index)")
            if j in selected:
                raise DataError(f"{where}: column {names[j]!r} is chosen twice: choose it once")
            selected.append(j)
    if not selected:
        raise DataError(f"{where} has no numeric column to fit: choose feature columns with --columns")
    return selected


def _numeric_default(names, numeric) -> list:
    return [j for j, n in enumerate(names) if numeric[j] and n.lower() != "label"]


# --------------------------------------------------------------------------- .npy
class _NpyRows:
    """A ``.npy`` file as an array-like whose slices are read memory-mapped (pickles as its path)."""

    def __init__(self, path, shape, dtype, cols):
        self.path, self.cols = path, list(cols)
        self.shape = (int(shape[0]), len(self.cols))
        self.dtype = np.dtype(np.float64)
        self.ndim = 2
        self._src_dtype = dtype

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        cols = key[1] if isinstance(key, tuple) and len(key) > 1 else slice(None)
        mm = np.load(self.path, mmap_mode="r")
        if mm.ndim == 1:
            mm = mm[:, None]
        part = np.asarray(mm[rows], dtype=np.float64)[:, self.cols]
        return np.ascontiguousarray(part[:, cols])


def _open_npy(path, chunk_rows, columns) -> ChunkedData:
    name = os.path.basename(path)
    try:
        mm = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # numpy raises many kinds for a damaged file
        raise DataError(f"{name} is not a readable NumPy .npy file ({type(exc).__name__}: {str(exc)[:200]}): "
                        "save the data with numpy.save") from None
    if mm.dtype.kind not in "biuf":
        raise DataError(f"{name} holds {mm.dtype} values, not real numbers: save a float array")
    if mm.ndim not in (1, 2) or mm.shape[0] < 1:
        raise DataError(f"{name} holds an array of shape {mm.shape}; the data must be 2-D, of shape "
                        "(n_samples, n_features), with at least one row")
    d = 1 if mm.ndim == 1 else mm.shape[1]
    names = [f"col{j}" for j in range(d)]
    cols = _select(columns, names, list(range(d)), name)
    rows = _NpyRows(os.path.abspath(path), mm.shape, mm.dtype, cols)
    token = dask.base.tokenize(os.path.abspath(path), os.path.getmtime(path), os.path.getsize(path), cols, chunk_rows)
    arr = da.from_array(rows, chunks=(chunk_rows, len(cols)), name=f"npy-{token}", lock=False,
                        asarray=False, inline_array=False, meta=np.empty((0, len(cols))))
    return ChunkedData(arr, [names[j] for j in cols], name, "npy")


# --------------------------------------------------------------------------- Zarr
def _is_zarr(path) -> bool:
    return any(os.path.exists(os.path.join(path, m)) for m in ("zarr.json", ".zarray", ".zgroup"))


def _open_zarr(path, chunk_rows, columns) -> ChunkedData:
    import zarr

    name = os.path.basename(path.rstrip("/"))
    try:
        node = zarr.open(path, mode="r")
    except Exception as exc:
        raise DataError(f"{name} is not a readable Zarr store ({type(exc).__name__}: {str(exc)[:200]})") from None
    component = None
    if not hasattr(node, "shape"):  # a group
        arrays = {k: v for k, v in node.arrays() if len(v.shape) == 2}
        if "X" in arrays:
            component = "X"
        elif len(arrays) == 1:
            component = next(iter(arrays))
        else:
            shown = ", ".join(map(repr, arrays)) or "no 2-D arrays"
            raise DataError(f"the Zarr group {name} holds {shown}: name the data array 'X'")
        node = arrays[component]
    if len(node.shape) != 2 or node.shape[0] < 1 or node.dtype.kind not in "biuf":
        raise DataError(f"the Zarr array in {name} has shape {node.shape} and dtype {node.dtype}: it must be "
                        "a 2-D numeric array of shape (n_samples, n_features)")
    d = node.shape[1]
    attrs = dict(node.attrs)
    names = [str(n) for n in attrs.get("feature_names", [])]
    if len(names) != d:
        names = [f"col{j}" for j in range(d)]
    cols = _select(columns, names, list(range(d)), name)
    arr = da.from_zarr(path, component=component, chunks=(chunk_rows, d))
    arr = arr[:, cols].astype(np.float64)
    return ChunkedData(arr, [names[j] for j in cols], name, "zarr")


# --------------------------------------------------------------------------- Parquet
def _parquet_files(folder) -> list:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found += [os.path.join(root, f) for f in sorted(files)
                  if f.lower().endswith((".parquet", ".pq")) and not f.startswith((".", "_"))]
    return found


class _ParquetRows:
    """Parquet files as an array-like: a slice of rows reads only the row groups it overlaps."""

    def __init__(self, files, groups, columns):
        # groups: (file index, row group, first row, n rows), in order
        self.files, self.groups, self.columns = files, groups, list(columns)
        n = groups[-1][2] + groups[-1][3] if groups else 0
        self.shape = (n, len(self.columns))
        self.dtype = np.dtype(np.float64)
        self.ndim = 2

    def __getitem__(self, key):
        import pyarrow.parquet as pq

        rows = key[0] if isinstance(key, tuple) else key
        cols = key[1] if isinstance(key, tuple) and len(key) > 1 else slice(None)
        lo, hi, _ = rows.indices(self.shape[0])
        parts = []
        by_file: dict[int, list] = {}
        for f, g, first, count in self.groups:
            if first < hi and first + count > lo:
                by_file.setdefault(f, []).append((g, first, count))
        for f, gs in by_file.items():
            table = pq.ParquetFile(self.files[f]).read_row_groups([g for g, _, _ in gs], columns=self.columns)
            block = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                                     for c in self.columns]) if table.num_rows else np.empty((0, len(self.columns)))
            start = gs[0][1]
            parts.append(block[max(lo - start, 0): hi - start])
        out = np.concatenate(parts) if parts else np.empty((0, len(self.columns)))
        return np.ascontiguousarray(out[:, cols])


def _open_parquet(files, where, chunk_rows, columns) -> ChunkedData:
    import pyarrow.parquet as pq
    import pyarrow.types as pt

    name = os.path.basename(where.rstrip("/"))
    groups = []
    schema = None
    row = 0
    for i, f in enumerate(files):
        try:
            meta = pq.ParquetFile(f)
        except Exception as exc:
            raise DataError(f"{os.path.basename(f)} is not a readable Parquet file "
                            f"({type(exc).__name__}: {str(exc)[:200]})") from None
        s = meta.schema_arrow
        if schema is None:
            schema = s
        elif s.names != schema.names:
            raise DataError(f"{os.path.basename(f)} has columns {s.names} but {os.path.basename(files[0])} has "
                            f"{schema.names}: every Parquet file of the data set needs the same columns")
        for g in range(meta.metadata.num_row_groups):
            count = meta.metadata.row_group(g).num_rows
            if count:
                groups.append((i, g, row, count))
                row += count
    if row == 0:
        raise DataError(f"{name} holds no rows: give Parquet files with data")
    names = list(schema.names)
    numeric = [pt.is_integer(schema.field(n).type) or pt.is_floating(schema.field(n).type) for n in names]
    cols = _select(columns, names, _numeric_default(names, numeric), name)
    for j in cols:
        if not numeric[j]:
            raise DataError(f"{name}: column {names[j]!r} holds {schema.field(names[j]).type}, not numbers: "
                            "choose columns of numbers")
    rows = _ParquetRows([os.path.abspath(f) for f in files], groups, [names[j] for j in cols])
    token = dask.base.tokenize([(f, os.path.getmtime(f)) for f in files], cols, chunk_rows)
    arr = da.from_array(rows, chunks=(chunk_rows, len(cols)), name=f"parquet-{token}", lock=False,
                        asarray=False, inline_array=False, meta=np.empty((0, len(cols))))
    return ChunkedData(arr, [names[j] for j in cols], name, "parquet")


# --------------------------------------------------------------------------- CSV
def _first_lines(path, count=50) -> list:
    lines = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.rstrip("\r\n"))
                if len(lines) >= count:
                    break
    return lines


def _sniff(line: str):
    for sep in (",", "\t", ";"):
        if sep in line:
            return sep
    return r"\s+"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _open_csv(files, where, chunk_rows, columns, names_only=False):
    import re

    import dask.dataframe as dd

    name = where if len(files) > 1 else os.path.basename(where)
    lines = _first_lines(files[0])
    if not lines:
        raise DataError(f"{os.path.basename(files[0])} holds no data rows")
    sep = _sniff(lines[0])
    split = (lambda s: re.split(r"\s+", s.strip())) if sep == r"\s+" else (lambda s: [c.strip() for c in s.split(sep)])
    first = [c.strip('"') for c in split(lines[0])]
    has_header = not all(_is_number(c) for c in first)
    body = [split(line) for line in lines[1 if has_header else 0:]]
    names = first if has_header else [f"col{j}" for j in range(len(first))]
    numeric = [bool(body) and all(j < len(r) and _is_number(r[j]) for r in body) for j in range(len(names))]
    cols = _select(columns, names, _numeric_default(names, numeric), name)
    chosen = [names[j] for j in cols]
    if names_only:
        return chosen
    row_bytes = max(1, sum(len(line) + 1 for line in lines) // len(lines))
    blocksize = max(1 << 16, int(chunk_rows * row_bytes))
    kwargs = dict(sep=sep, comment="#", blocksize=blocksize, skipinitialspace=True)
    if has_header:
        kwargs.update(header=0, usecols=chosen, dtype={c: np.float64 for c in chosen})
    else:
        kwargs.update(header=None, names=names, usecols=chosen, dtype={c: np.float64 for c in chosen})
    if sep == r"\s+":
        kwargs.pop("skipinitialspace")
    try:
        frame = dd.read_csv(files, **kwargs)
    except Exception as exc:
        raise DataError(f"cannot read {name} as CSV ({type(exc).__name__}: {str(exc)[:200]})") from None
    arr = _csv_array(frame[chosen])
    return ChunkedData(arr, chosen, name, "csv")


def _csv_array(frame) -> da.Array:
    """The frame's partitions as array chunks; their rows are counted by the cluster (call with a
    client active, so that the count runs on the workers)."""
    try:
        return frame.to_dask_array(lengths=True).astype(np.float64)
    except ValueError as exc:
        raise DataError(f"a CSV file holds a cell that is not a number ({str(exc).splitlines()[0][:200]}): "
                        "fix the file or choose other columns with --columns") from None
