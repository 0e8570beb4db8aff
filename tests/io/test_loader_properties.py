"""Property tests: whatever bytes a user's file holds, load_data gives a Dataset or a DataError."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gmm_desktop.io.datasets import Dataset, load_data, parse_points, write_csv
from gmm_desktop.core.errors import DataError

SETTINGS = settings(
    max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
EXTENSIONS = st.sampled_from([".csv", ".tsv", ".txt", ".npy", ".npz"])

# Cells that make CSV-like text interesting: numbers, specials, text, quotes, empties.
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(
        ["", " ", "nan", "-inf", "1e400", "label", "x", "y", '"1"', "1,5", "#", "١٢", "1_0"]
    ),
    st.text(max_size=5),
)
ROWS = st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=0, max_size=8)
SEPARATORS = st.sampled_from([",", ";", "\t", " ", "  "])
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


def check_loaded(path: Path, **kwargs) -> None:
    try:
        ds = load_data(path, **kwargs)
    except DataError as e:
        assert str(e)  # a message for the user, never empty
        return
    assert isinstance(ds, Dataset)
    assert isinstance(ds.X, np.ndarray) and ds.X.dtype == np.float64 and ds.X.ndim == 2
    assert ds.X.shape[0] >= 1 and ds.X.shape[1] >= 1
    assert ds.X.flags.c_contiguous and np.all(np.isfinite(ds.X))
    assert len(ds.feature_names) == ds.X.shape[1]
    if ds.labels is not None:
        assert ds.labels.shape == (ds.X.shape[0],) and ds.labels.dtype == np.int64


def with_file(suffix: str, content: bytes, **kwargs) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(content)
        check_loaded(path, **kwargs)


@SETTINGS
@given(content=st.binary(max_size=300), suffix=EXTENSIONS)
def test_random_bytes_give_a_dataset_or_a_data_error(content, suffix):
    with_file(suffix, content)


@SETTINGS
@given(
    rows=ROWS,
    sep=SEPARATORS,
    newline=NEWLINES,
    bom=st.booleans(),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
    drop=st.booleans(),
)
def test_csv_like_text_gives_a_dataset_or_a_data_error(rows, sep, newline, bom, suffix, drop):
    text = newline.join(sep.join(row) for row in rows)
    with_file(suffix, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"), drop_invalid=drop)


NUMBERS = st.from_regex(r"[+-]?\d{1,3}(\.\d{0,3})?([eE][+-]?\d{1,3})?", fullmatch=True)
MOSTLY_NUMBERS = st.one_of(NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, CELLS)
TABLES = st.integers(1, 4).flatmap(
    lambda width: st.lists(
        st.lists(MOSTLY_NUMBERS, min_size=width, max_size=width), min_size=1, max_size=6
    )
)


@SETTINGS
@given(
    header=st.one_of(
        st.none(),
        st.lists(
            st.sampled_from(["x", "y", "label", "Label", "z", "", "1"]), min_size=1, max_size=4
        ),
    ),
    rows=TABLES,
    sep=SEPARATORS,
    columns=st.one_of(
        st.none(),
        st.lists(
            st.one_of(st.integers(-1, 4), st.sampled_from(["x", "y", "0", "label", "col1", "w"])),
            max_size=3,
        ),
    ),
    drop=st.booleans(),
)
def test_tables_of_mostly_numbers_with_column_choices(header, rows, sep, columns, drop):
    lines = ([sep.join(header)] if header else []) + ["# comment"] + [sep.join(row) for row in rows]
    with_file(".csv", "\n".join(lines).encode(), columns=columns, drop_invalid=drop)


@SETTINGS
@given(
    array=st.one_of(
        hnp.arrays(
            dtype=st.sampled_from(["<f8", ">f4", "f2", "i1", "u8", "?", "c16", "U2", "M8[s]"]),
            shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
        ),
        st.sampled_from([np.zeros(2, dtype=[("a", "f8"), ("b", "f8")]), np.zeros((2, 2), ">f8")]),
    ),
    compressed=st.booleans(),
)
def test_random_arrays_give_a_dataset_or_a_data_error(array, compressed):
    buffer = io.BytesIO()
    np.save(buffer, array)
    with_file(".npy", buffer.getvalue())
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, X=array)
    with_file(".npz", buffer.getvalue())
    # a cut-short file is refused, never half-loaded
    with_file(".npz", buffer.getvalue()[: len(buffer.getvalue()) // 2])


@settings(SETTINGS, max_examples=50)  # each example fsyncs a file
@given(
    X=st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=2),
        min_size=1,
        max_size=20,
    ).map(np.array),
    labels=st.booleans(),
)
def test_write_then_load_is_exact(X, labels):
    ds = Dataset(
        X=X, feature_names=["x", "y"], labels=np.arange(len(X)) % 3 if labels else None, source="t"
    )
    with tempfile.TemporaryDirectory() as folder:
        write_csv(ds, Path(folder) / "t.csv")
        back = load_data(Path(folder) / "t.csv")
    assert back.X.tobytes() == np.ascontiguousarray(X, dtype=np.float64).tobytes()
    if labels:
        np.testing.assert_array_equal(back.labels, ds.labels)


@SETTINGS
@given(text=st.text(max_size=40), n_features=st.one_of(st.none(), st.integers(1, 4)))
def test_parse_points_gives_points_or_a_data_error(text, n_features):
    try:
        points = parse_points(text, n_features=n_features)
    except DataError:
        return
    assert points.ndim == 2 and points.shape[0] >= 1 and np.all(np.isfinite(points))
    if n_features:
        assert points.shape[1] == n_features
