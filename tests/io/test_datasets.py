"""Tests of the generator and of data-file loading (good, odd-but-valid and bad files)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from gmm_desktop.core.errors import DataError
from gmm_desktop.io import datasets, generator
from gmm_desktop.io.datasets import (
    Dataset,
    data_sha256,
    feature_columns,
    load_data,
    parse_points,
    write_csv,
)
from gmm_desktop.io.generator import NOTEBOOK_CENTERS, PRESETS, demo_dataset, generate, suggest_means


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def refused(path, *expected: str, **kwargs) -> str:
    """Load ``path``, expect a DataError, check each of ``expected`` is in the message."""
    with pytest.raises(DataError) as info:
        load_data(path, **kwargs)
    message = str(info.value)
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"
    return message


# --------------------------------------------------------------------------- generator


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_give_their_sizes(preset):
    ds = generate(preset)
    assert ds.X.shape == (PRESETS[preset], 2)
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert ds.feature_names == ["x", "y"]
    assert ds.source == f"generated ({preset}, seed 0)"
    np.testing.assert_array_equal(ds.true_centers, NOTEBOOK_CENTERS)


def test_presets_match_the_contract():
    assert PRESETS == {"small": 105, "medium": 1050, "large": 10500}
    np.testing.assert_array_equal(NOTEBOOK_CENTERS, [[1, -1], [5, 5], [8, 7], [10, 0]])


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = generate(seed=3), generate(seed=3), generate(seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.X, c.X)


def test_points_split_evenly_and_lie_around_their_centres():
    ds = generate("large", cluster_std=0.5)
    counts = np.bincount(ds.labels)
    assert counts.tolist() == [2625] * 4
    for k, center in enumerate(NOTEBOOK_CENTERS):
        pts = ds.X[ds.labels == k]
        np.testing.assert_allclose(pts.mean(axis=0), center, atol=0.05)
        np.testing.assert_allclose(pts.std(axis=0), 0.5, atol=0.03)
    assert not np.all(np.diff(ds.labels) >= 0), "rows must be shuffled"


def test_uneven_split_like_make_blobs():
    ds = generate(n_samples=10, centers=[[0, 0], [5, 5], [9, 9]])
    assert np.bincount(ds.labels).tolist() == [4, 3, 3]
    assert ds.source == "generated (10 points, seed 0)"


def test_generate_any_dimension_and_text_centers():
    ds = generate(centers=np.zeros((2, 5)), n_samples=20)
    assert ds.X.shape == (20, 5) and len(ds.feature_names) == 5
    ds = generate(centers="0,0,0; 9,9,9", n_samples=4)
    assert ds.feature_names == ["x", "y", "z"]
    np.testing.assert_array_equal(ds.true_centers, [[0, 0, 0], [9, 9, 9]])


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"preset": "huge"}, "unknown preset 'huge': choose small (105 points)"),
        ({"centers": [[1, 2, 3], [4, 5]]}, "centers must be a list of points"),
        ({"centers": [1, 2]}, "at least two coordinates"),
        ({"centers": np.zeros((0, 2))}, "at least one center"),
        ({"centers": [[1, np.nan]]}, "finite"),
        ({"centers": "1,2;x,y"}, "center 2 'x,y' is not two numbers"),
        ({"n_samples": 0}, "between 1 and"),
        ({"n_samples": 2.5}, "whole number"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"seed": "a"}, "seed must be a whole number"),
        ({"cluster_std": -1}, "cluster spread"),
        ({"cluster_std": "wide"}, "cluster spread"),
    ],
)
def test_generate_refuses_bad_arguments(kwargs, expected):
    with pytest.raises(DataError, match=None) as info:
        generate(**kwargs)
    assert expected in str(info.value)


def test_suggest_means_are_near_the_centres():
    means = suggest_means(NOTEBOOK_CENTERS, seed=1)
    assert means.shape == (4, 2)
    assert np.all(np.abs(means - NOTEBOOK_CENTERS) <= 0.75)
    assert not np.array_equal(means, NOTEBOOK_CENTERS)
    np.testing.assert_array_equal(means, suggest_means(NOTEBOOK_CENTERS, seed=1))


@pytest.mark.parametrize("preset", PRESETS)
def test_write_then_load_round_trips_bit_for_bit(tmp_path, preset):
    ds = generate(preset, seed=7)
    write_csv(ds, tmp_path / "out.csv")
    back = load_data(tmp_path / "out.csv")
    assert back.X.tobytes() == ds.X.tobytes()
    np.testing.assert_array_equal(back.labels, ds.labels)
    assert back.feature_names == ["x", "y"]
    assert back.source == "out.csv"
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "x,y,label"


def test_round_trip_of_awkward_floats_and_text_labels(tmp_path):
    X = np.array([[0.1, -0.0], [1e-310, 1.7976931348623157e308], [-5e-324, 123456789.123456789]])
    ds = Dataset(
        X=X,
        feature_names=["a", "b"],
        labels=np.array([1, 0, 1]),
        source="m",
        label_names=["cat", "dog"],
    )
    write_csv(ds, tmp_path / "w.csv")
    back = load_data(tmp_path / "w.csv")
    assert back.X.tobytes() == X.tobytes()
    assert back.label_names == ["cat", "dog"]
    np.testing.assert_array_equal(back.labels, [1, 0, 1])


def test_write_csv_without_labels_and_refusals(tmp_path):
    ds = Dataset(X=np.ones((2, 2)), feature_names=["u", "v"], labels=None, source="m")
    write_csv(ds, tmp_path / "n.csv")
    assert (tmp_path / "n.csv").read_text() == "u,v\n1.0,1.0\n1.0,1.0\n"
    for names in (["a,b", "c"], ["1", "c"], ["label", "c"], ["a", "a"]):
        with pytest.raises(DataError):
            write_csv(
                Dataset(X=np.ones((2, 2)), feature_names=names, labels=None, source="m"),
                tmp_path / "bad.csv",
            )
    with pytest.raises(DataError, match="NaN or infinite"):
        write_csv(
            Dataset(X=np.array([[1.0, np.inf]]), feature_names=["a", "b"], labels=None, source="m"),
            tmp_path / "bad.csv",
        )
    with pytest.raises(DataError, match="check that the folder exists"):
        write_csv(ds, tmp_path / "no" / "such" / "dir.csv")
    assert not (tmp_path / "bad.csv").exists()


def test_data_sha256_is_of_little_endian_float64_c_order():
    X = np.arange(6, dtype=np.int32).reshape(3, 2)
    import hashlib

    expected = hashlib.sha256(np.arange(6, dtype="<f8").tobytes()).hexdigest()
    assert data_sha256(X) == expected
    assert data_sha256(np.asfortranarray(X.astype(">f8"))) == expected


def test_demo_dataset_file_and_generator_agree(tmp_path, monkeypatch):
    from_file = demo_dataset()
    assert generator.DEMO_PATH.is_file(), "resources/demo.csv is part of the repository"
    assert from_file.source == "demo.csv"
    monkeypatch.setattr(generator, "DEMO_PATH", tmp_path / "missing.csv")
    generated = demo_dataset()
    assert generated.source == "generated (medium, seed 0)"
    assert from_file.X.tobytes() == generated.X.tobytes()
    np.testing.assert_array_equal(from_file.labels, generated.labels)
    np.testing.assert_array_equal(from_file.true_centers, NOTEBOOK_CENTERS)


# --------------------------------------------------------------------------- parse_points


def test_parse_points_good():
    np.testing.assert_array_equal(parse_points(" 1,2 ;3 , 4; "), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(parse_points("1 2;3 4"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(parse_points("1,2,3", n_features=3), [[1, 2, 3]])
    assert parse_points("-1e3,.5").dtype == np.float64


@pytest.mark.parametrize(
    "text, kwargs, expected",
    [
        ("1,2;a,b", {}, "mean 2 'a,b' is not two numbers: write means as \"x1,y1;x2,y2\""),
        ("1,2;3", {}, "mean 2 '3' has 1 number, but mean 1 has 2"),
        ("1,2,3", {"n_features": 2}, "mean 1 '1,2,3' has 3 numbers, but the data has 2 features"),
        ("1,2", {"n_features": 3}, 'write means as "x1,y1,z1;x2,y2,z2"'),
        (" ; ", {}, "no means given"),
        ("1,nan", {}, "mean 1 '1,nan' has a value that is not a finite number"),
        ("1,,2", {"what": "centers"}, "center 1 '1,,2' is not"),
    ],
)
def test_parse_points_bad(text, kwargs, expected):
    with pytest.raises(DataError) as info:
        parse_points(text, **kwargs)
    assert expected in str(info.value)


# --------------------------------------------------------------------------- odd but valid files


@pytest.mark.parametrize(
    "name, content",
    [
        ("plain.csv", "x,y\n1,2\n3,4\n"),
        ("noheader.csv", "1,2\n3,4"),
        ("bom_crlf.csv", b"\xef\xbb\xbfx,y\r\n1,2\r\n3,4\r\n"),
        ("old_mac.csv", "x,y\r1,2\r3,4\r"),
        ("semi.csv", "x;y\n1;2\n3;4\n"),
        ("tabs.tsv", "x\ty\n1\t2\n3\t4\n"),
        ("spaces.txt", "  x   y\n 1  2\n3     4  \n"),
        ("comments.csv", "# made by hand\n\nx,y\n# a comment\n1,2\n\n   \n  # indented\n3,4\n\n"),
        ("padded.csv", "x , y\n 1 , 2 \n3,4\n"),
        ("quoted.csv", '"x","y"\n"1","2"\n"3","4"\n'),
        ("exp.csv", "x,y\n1e0,2.0E+0\n+3,4.\n"),
    ],
)
def test_odd_but_valid_text_files_load(tmp_path, name, content):
    ds = load_data(write(tmp_path, name, content))
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert ds.labels is None and ds.source == name and ds.n_dropped == 0
    expected = ["col0", "col1"] if name in ("noheader.csv",) else ["x", "y"]
    assert ds.feature_names == expected
    assert ds.all_feature_names == expected


def test_label_column_is_ground_truth_not_a_feature(tmp_path):
    ds = load_data(write(tmp_path, "l.csv", "x,Label,y\n1,3,2\n3,1,4\n5,3,6\n"))
    assert ds.feature_names == ["x", "y"]
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(ds.labels, [3, 1, 3])
    assert ds.labels.dtype == np.int64 and ds.label_names is None


def test_text_labels_become_integers(tmp_path):
    ds = load_data(write(tmp_path, "l.csv", "x,y,label\n1,2,setosa\n3,4,virginica\n5,6,setosa\n"))
    np.testing.assert_array_equal(ds.labels, [0, 1, 0])
    assert ds.label_names == ["setosa", "virginica"]


def test_text_columns_are_skipped_and_columns_can_be_chosen(tmp_path):
    path = write(tmp_path, "iris.csv", "id,name,a,b,c,label\n1,al,1,2,3,0\n2,bo,4,5,6,1\n")
    assert feature_columns(path) == ["id", "a", "b", "c"]
    ds = load_data(path)
    assert ds.feature_names == ["id", "a", "b", "c"]
    assert ds.all_feature_names == ["id", "a", "b", "c"]
    for columns in (["c", "a"], [4, 2], ["4", "2"], "c, a", ["C", "A"]):
        ds = load_data(path, columns=columns)
        assert ds.feature_names == ["c", "a"]
        np.testing.assert_array_equal(ds.X, [[3, 1], [6, 4]])
        np.testing.assert_array_equal(ds.labels, [0, 1])


def test_choosing_the_label_column_makes_it_a_feature(tmp_path):
    path = write(tmp_path, "l.csv", "x,label\n1,2\n3,4\n")
    ds = load_data(path, columns=["x", "label"])
    assert ds.labels is None and ds.feature_names == ["x", "label"]


def test_header_less_file_with_text_column(tmp_path):
    ds = load_data(write(tmp_path, "t.csv", "al,1,2\nbo,3,4\n"))
    assert ds.feature_names == ["col1", "col2"]
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])


def test_trailing_delimiters_give_an_empty_column_that_is_skipped(tmp_path):
    ds = load_data(write(tmp_path, "t.csv", "x,y,\n1,2,\n3,4,\n"))
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])


def test_one_row_is_enough(tmp_path):
    assert load_data(write(tmp_path, "one.csv", "1.5,2.5")).X.shape == (1, 2)


def test_npy_and_npz(tmp_path):
    X = np.arange(12, dtype=np.int32).reshape(4, 3)
    np.save(tmp_path / "a.npy", X)
    ds = load_data(tmp_path / "a.npy")
    assert ds.X.dtype == np.float64 and ds.feature_names == ["col0", "col1", "col2"]
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(
        load_data(tmp_path / "a.npy", columns=[2, "col0"]).X, X[:, [2, 0]]
    )
    np.save(tmp_path / "f.npy", np.asfortranarray(X.astype(">f4")))
    assert load_data(tmp_path / "f.npy").X.flags.c_contiguous
    np.savez(tmp_path / "x.npz", X=X, y=np.arange(4))
    np.testing.assert_array_equal(load_data(tmp_path / "x.npz").X, X)
    np.savez_compressed(tmp_path / "only.npz", data=X)
    np.testing.assert_array_equal(load_data(tmp_path / "only.npz").X, X)
    assert feature_columns(tmp_path / "only.npz") == ["col0", "col1", "col2"]


def test_drop_invalid_drops_rows_and_counts_them(tmp_path):
    path = write(tmp_path, "d.csv", "x,y,label\n1,2,0\nnan,3,1\n4,,1\n5,abc,0\n1e400,1,1\n6,7,1\n")
    ds = load_data(path, drop_invalid=True)
    np.testing.assert_array_equal(ds.X, [[1, 2], [6, 7]])
    np.testing.assert_array_equal(ds.labels, [0, 1])
    assert ds.n_dropped == 4
    np.save(tmp_path / "d.npy", np.array([[1, np.inf], [2, 3]]))
    ds = load_data(tmp_path / "d.npy", drop_invalid=True)
    np.testing.assert_array_equal(ds.X, [[2, 3]])
    assert ds.n_dropped == 1


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    refused(tmp_path / "nope.csv", "nope.csv", "does not exist", "check the name")


def test_folder(tmp_path):
    (tmp_path / "data.csv").mkdir()
    refused(tmp_path / "data.csv", "data.csv", "is a folder", "choose a file")


def test_unknown_extension(tmp_path):
    refused(
        write(tmp_path, "data.xlsx", "1,2"), "data.xlsx", "'.xlsx'", ".csv, .tsv, .txt, .npy, .npz"
    )
    refused(write(tmp_path, "data", "1,2"), "without extension", ".csv")


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("empty.csv", "", ["empty.csv is empty", "rows of numbers"]),
        ("blank.csv", "\n  \n\r\n", ["blank.csv is empty"]),
        ("comments.csv", "# nothing\n# here\n", ["comments.csv has no data rows, only comments"]),
        ("header.csv", "x,y\n", ["header.csv has a header row but no data rows"]),
        ("header2.csv", "# c\nx,y\n\n", ["header2.csv has a header row but no data rows"]),
        (
            "ragged.csv",
            "x,y\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12,13\n",
            ["ragged.csv: line 7 has 3 fields, expected 2 (like line 1)", "same number of values"],
        ),
        (
            "short.tsv",
            "1\t2\n3\n",
            ["short.tsv: line 2 has 1 field, expected 2", "separated by tabs"],
        ),
        (
            "text.csv",
            "x,y\n1,2\n3,abc\n",
            [
                "text.csv: line 3, column 'y': 'abc' is not a number",
                "fix or remove the row, or skip such rows (--drop-invalid",
            ],
        ),
        ("nohdr.csv", "1,2\n3,abc\n", ["nohdr.csv: line 2, column 2: 'abc' is not a number"]),
        (
            "three.csv",
            "x,y,z\n1,2,3\n3,abc,4\n",
            [
                "three.csv: line 3, column 'y'",
                "or skip such rows (--drop-invalid; in the window, File → Skip rows with invalid values), or choose other feature",
            ],
        ),
        (
            "empty_cell.csv",
            "x,y\n1,2\n,4\n",
            ["empty_cell.csv: line 3, column 'x': the cell is empty; fix or remove the row"],
        ),
        (
            "nan.csv",
            "# c\nx,y\n1,2\n\n3,nan\n",
            [
                "nan.csv: line 5, column 'y': 'nan' is not a finite "
                "number; fix or remove the row, or skip such rows (--drop-invalid"
            ],
        ),
        (
            "inf.csv",
            "x,y\n-inf,1\n",
            ["inf.csv: line 2, column 'x': '-inf' is not a finite number"],
        ),
        (
            "overflow.csv",
            "x,y\n1,2\n1e400,3\n",
            ["overflow.csv: line 3, column 'x': '1e400' is too large", "overflows to infinity"],
        ),
        (
            "decimal.csv",
            "x;y\n1,5;2,5\n",
            [
                "decimal.csv has no column of numbers; column 'x' ('1,5' on line 2)",
                "write 1.5, not 1,5",
            ],
        ),
        (
            "alltext.csv",
            "name,town\nal,rome\nbo,oslo\n",
            [
                "alltext.csv has no column of numbers",
                "column 'name' ('al' on line 2), column 'town' ('rome' on line 2) hold no numbers",
            ],
        ),
        (
            "labelonly.csv",
            "name,label\nal,0\nbo,1\n",
            ["column 'label' is the ground-truth label, not a feature"],
        ),
        ("dup.csv", "x,x\n1,2\n", ["dup.csv: the header names two columns 'x' (columns 1 and 2)"]),
        ("twolabels.csv", "x,y,label,LABEL\n1,2,0,0\n", ["twolabels.csv has 2 label columns"]),
        (
            "binary.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            ["binary.csv is not a text data file", "binary"],
        ),
        (
            "latin1.csv",
            "x,y\n1,2\nné,3\n".encode("latin-1"),
            ["latin1.csv is not a text data file", "line 3", "UTF-8"],
        ),
        (
            "utf16.csv",
            "x,y\n1,2\n".encode("utf-16"),
            ["utf16.csv is UTF-16 text: save it as UTF-8"],
        ),
    ],
)
def test_bad_text_files_are_refused_with_file_line_column_and_hint(
    tmp_path, name, content, expected
):
    refused(write(tmp_path, name, content), *expected)


def test_huge_single_line_is_refused_quickly(tmp_path):
    import time

    path = write(tmp_path, "long.csv", b"1," * 25_000_000)  # 50 MB, no line break
    start = time.perf_counter()
    refused(path, "long.csv: line 1 is 47.7 MB long without a line break")
    assert time.perf_counter() - start < 5


def test_too_large_text_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "MAX_TEXT_BYTES", 100)
    refused(write(tmp_path, "big.csv", "1,2\n" * 30), "big.csv is larger than", "numpy.save")


def test_unknown_columns_and_bad_choices(tmp_path):
    path = write(tmp_path, "c.csv", "x,y,z\n1,2,3\n")
    refused(
        path,
        "c.csv has no column 'w': choose among 'x', 'y', 'z'",
        "0-based index 0 to 2",
        columns=["x", "w"],
    )
    refused(path, "has no column 3", columns=["x", 3])
    refused(path, "c.csv: no feature column chosen; choose at least one", columns=[])
    refused(path, "column 'x' is chosen twice", columns=["x", 0])
    path = write(tmp_path, "n.csv", "name,x,y\nal,1,2\n")
    refused(
        path,
        "n.csv: column 'name' holds text, not numbers: it is the label (ground truth), never a "
        "feature; choose columns of numbers ('x', 'y')",
        columns=["name", "x"],
    )


def test_drop_invalid_with_nothing_left(tmp_path):
    path = write(tmp_path, "bad.csv", "x,y\nnan,1\n2,inf\n")
    refused(
        path, "bad.csv: every row has an empty, non-numeric or non-finite value", drop_invalid=True
    )


def test_drop_invalid_does_not_hide_ragged_rows(tmp_path):
    refused(write(tmp_path, "r.csv", "1,2\n3\n"), "line 2 has 1 field", drop_invalid=True)


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.arange(6.0), ["holds a 1-D array of shape (6,)", "must be 2-D", "reshape"]),
        (np.zeros((2, 2, 2)), ["holds a 3-D array of shape (2, 2, 2)"]),
        (np.zeros((3, 0)), ["has shape (3, 0)", "at least one feature column"]),
        (np.zeros((0, 2)), ["has shape (0, 2)", "at least one row"]),
        (
            np.zeros((2, 2), dtype=complex),
            ["holds complex numbers (dtype complex128)", "float array"],
        ),
        (np.array([["a", "b"]]), ["holds strings", "not real numbers"]),
        (np.zeros(2, dtype=[("a", "f8"), ("b", "f8")]), ["holds records"]),
        (
            np.array([[1.0, 2.0], [3.0, np.nan]]),
            ["X[1, 1] is nan, not a finite number", "drop-invalid"],
        ),
        (np.array([[1.0, 2.0], [-np.inf, 4.0]]), ["X[1, 0] is -inf"]),
    ],
)
def test_bad_npy_arrays(tmp_path, array, expected):
    np.save(tmp_path / "a.npy", array)
    refused(tmp_path / "a.npy", "a.npy", *expected)


def test_object_npy_is_never_unpickled(tmp_path, monkeypatch):
    import pickle

    calls = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(1))
    np.save(tmp_path / "o.npy", np.array([[1, "a"], [2, None]], dtype=object), allow_pickle=True)
    refused(tmp_path / "o.npy", "o.npy holds Python objects, which are never loaded")
    assert calls == []


def test_pickle_file_named_npy_is_refused(tmp_path):
    import pickle

    path = write(tmp_path, "p.npy", pickle.dumps([[1, 2], [3, 4]]))
    refused(path, "p.npy is not a readable NumPy .npy file")
    refused(
        write(tmp_path, "g.npy", b"garbage"),
        "g.npy is not a readable NumPy .npy file",
        "save the data with numpy.save",
    )


def test_truncated_and_lying_npy(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((100, 2)))
    data = (tmp_path / "a.npy").read_bytes()
    write(tmp_path, "cut.npy", data[:300])
    refused(tmp_path / "cut.npy", "cut.npy declares shape (100, 2)", "cut short")
    write(
        tmp_path,
        "lie.npy",
        data.replace(b"(100, 2)", b"(999999999, 2)").replace(b"        \n", b"\n", 1),
    )
    refused(tmp_path / "lie.npy", "lie.npy")


def test_bad_npz(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
    refused(tmp_path / "two.npz", "two.npz holds 'a', 'b': name the data array 'X'")
    np.savez(tmp_path / "empty.npz")
    refused(tmp_path / "empty.npz", "empty.npz holds no arrays")
    np.savez(tmp_path / "one_d.npz", X=np.ones(3))
    refused(tmp_path / "one_d.npz", "one_d.npz (array 'X') holds a 1-D array")
    write(tmp_path, "junk.npz", b"PK\x03\x04 not really a zip")
    refused(tmp_path / "junk.npz", "junk.npz is not a readable NumPy .npz archive")
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        header = np.lib.format.header_data_from_array_1_0(np.ones((1, 2)))
        header["shape"] = (10**9, 2)
        with zf.open("X.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            fh.write(b"\x00" * 1000)
    refused(
        tmp_path / "bomb.npz",
        "bomb.npz (array 'X') declares shape (1000000000, 2)",
        "more than the 2 GB limit",
    )


def test_unreadable_file(tmp_path, monkeypatch):
    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(datasets, "open", deny, raising=False)
    refused(
        write(tmp_path, "secret.csv", "1,2\n"),
        "cannot read secret.csv: Permission denied",
        "permissions",
    )


def test_path_argument_errors(tmp_path):
    refused("bad\x00name.csv", "cannot open data file")
    with pytest.raises(DataError, match="is not a file path"):
        load_data(12.5)


def test_one_feature_files_load(tmp_path):
    """1-D data is data: one column, with or without header, and a (n, 1) array."""
    ds = load_data(write(tmp_path, "one.csv", "eruptions\n3.6\n1.8\n3.3\n"))
    assert ds.X.shape == (3, 1) and ds.feature_names == ["eruptions"]
    assert load_data(write(tmp_path, "one.txt", "1\n2\n")).X.tolist() == [[1.0], [2.0]]
    ds = load_data(write(tmp_path, "lab.csv", "x,label\n1,0\n2,1\n"))
    assert ds.X.shape == (2, 1) and ds.labels.tolist() == [0, 1]
    np.save(tmp_path / "one.npy", np.arange(4.0).reshape(4, 1))
    assert load_data(tmp_path / "one.npy").X.shape == (4, 1)
    assert load_data(write(tmp_path, "c.csv", "x,y,z\n1,2,3\n"), columns=["y"]).X.tolist() == [[2.0]]


def test_label_column_by_name(tmp_path):
    """``label=`` makes a text column (iris's species) the ground truth, not a feature."""
    path = write(tmp_path, "iris.csv", "a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n")
    ds = load_data(path, label="species")
    assert ds.feature_names == ["a", "b"] and ds.all_feature_names == ["a", "b"]
    assert ds.labels.tolist() == [0, 1, 0] and ds.label_names == ["setosa", "virginica"]
    ds = load_data(path, label="b")  # a numeric column can be the label too
    assert ds.feature_names == ["a"] and ds.labels.tolist() == [2, 4, 6]
    refused(path, "iris.csv has no label column 'kind'", label="kind")
    refused(path, "chosen both as a feature and as the label", label="a", columns=["a", "b"])
