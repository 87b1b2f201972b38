"""Bundled datasets, ``load_csv``'s refusals, and the train/test split."""

import cookbook
from cookbook import DataError

import numpy as np
import pandas as pd
import pytest


@pytest.mark.parametrize(
    "name, rows, features, classes",
    [("breast_cancer", 569, 30, 2), ("digits", 1797, 64, 10), ("diabetes", 442, 10, None)],
)
def test_bundled_dataset_has_documented_shape(name, rows, features, classes):
    """Each bundled set loads with its documented size, numeric and NaN-free."""
    X, y = cookbook.load_dataset(name)
    assert X.shape == (rows, features)
    assert y.shape == (rows,)
    assert np.isfinite(X.to_numpy(float)).all() and np.isfinite(y.to_numpy(float)).all()
    assert y.name == cookbook.DATASETS[name].target
    if classes:
        assert sorted(y.unique()) == list(range(classes))


def test_list_datasets_names_every_bundled_set():
    """list_datasets() names exactly the sets load_dataset() accepts."""
    assert cookbook.list_datasets() == ["breast_cancer", "diabetes", "digits"]


def test_unknown_dataset_names_the_choices():
    """A typo gets a DataError listing the real names."""
    with pytest.raises(DataError, match="breast_cancer, diabetes, digits"):
        cookbook.load_dataset("mnist")


def test_load_csv_reads_a_good_file(tmp_path):
    """A clean numeric CSV comes back as features and target."""
    path = tmp_path / "good.csv"
    path.write_text("a,b,label\n1,2.5,0\n3,4,1\n")
    X, y = cookbook.load_csv(path, "label")
    assert list(X.columns) == ["a", "b"]
    assert X.to_numpy().tolist() == [[1, 2.5], [3, 4]]
    assert y.tolist() == [0, 1]


BAD_FILES = {
    # case: (file content or None for "do not create", target, words the message must contain)
    "missing path": (None, "y", ["no such file"]),
    "empty file": ("", "y", ["empty", "header row"]),
    "header only": ("x,y\n", "y", ["no data rows", "add at least one row"]),
    "missing target": ("x,z\n1,2\n", "y", ["no column named 'y'", "x, z"]),
    "nan value": ("x,y\n1,2\n,3\n", "y", ["NaN", "'x'", "row 2", "fill them in or drop"]),
    "inf value": ("x,y\n1,inf\n2,3\n", "y", ["infinite", "'y'", "row 1"]),
    "text feature": ("x,colour,y\n1,red,0\n2,blue,1\n", "y", ["non-numeric", "'colour'", "get_dummies"]),
    "text target": ("x,y\n1,cat\n2,dog\n", "y", ["target column 'y' is not numeric", "integers"]),
    "unreadable": ('x,y\n1,"2\n', "y", ["cannot be read as CSV"]),
    "only target": ("y\n1\n2\n", "y", ["only column", "feature"]),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_load_csv_refuses_bad_file_with_a_fix(tmp_path, case):
    """Each bad CSV raises DataError naming the problem and what to do."""
    content, target, words = BAD_FILES[case]
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content.encode())
    with pytest.raises(DataError) as info:
        cookbook.load_csv(path, target)
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


def test_load_csv_refuses_a_folder(tmp_path):
    """A folder path is named as such."""
    with pytest.raises(DataError, match="is a folder"):
        cookbook.load_csv(tmp_path, "y")


def test_load_csv_refuses_binary_garbage(tmp_path):
    """Bytes that are not UTF-8 text get a 'cannot be read' message."""
    path = tmp_path / "data.csv"
    path.write_bytes(b"x,y\n\xff\xfe\x00\x81,1\n")
    with pytest.raises(DataError, match="cannot be read"):
        cookbook.load_csv(path, "y")


def test_split_is_reproducible_and_disjoint():
    """The same seed gives the same split; train and test share no row."""
    X, y = cookbook.load_dataset("diabetes")
    a = cookbook.split_and_standardize(X, y, seed=3)
    b = cookbook.split_and_standardize(X, y, seed=3)
    c = cookbook.split_and_standardize(X, y, seed=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert len(a.X_train) + len(a.X_test) == len(X)
    assert len(a.X_test) == round(0.25 * len(X))
    raw_train = {tuple(r) for r in (a.X_train * a.std + a.mean).round(4)}
    raw_test = {tuple(r) for r in (a.X_test * a.std + a.mean).round(4)}
    assert not raw_train & raw_test


def test_split_standardizes_with_training_statistics_only():
    """Training features have mean 0 and std 1; the statistics ignore the test rows."""
    X, y = cookbook.load_dataset("breast_cancer")
    split = cookbook.split_and_standardize(X, y, seed=0)
    np.testing.assert_allclose(split.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(split.X_train.std(axis=0), 1, atol=1e-4)
    train_rows = split.X_train.astype(np.float64) * split.std + split.mean
    np.testing.assert_allclose(split.mean, train_rows.mean(axis=0), rtol=1e-5)
    assert split.X_train.dtype == np.float32


def test_stratified_split_puts_every_class_in_both_parts():
    """Two rows per class: one goes to training and one to testing (rounding alone would give 0)."""
    X = np.arange(8.0).reshape(4, 2)
    split = cookbook.split_and_standardize(X, np.array([0, 1, 0, 1]), stratify=True)
    assert sorted(split.y_test.tolist()) == [0, 1] and sorted(split.y_train.tolist()) == [0, 1]


def test_stratified_split_refuses_a_class_with_one_row():
    """A class seen once cannot be in both parts: DataError that hints at regression."""
    with pytest.raises(cookbook.DataError, match="single row.*at least 2 rows.*regression"):
        cookbook.split_and_standardize(np.zeros((5, 2)), np.array([0, 0, 1, 1, 2]), stratify=True)


def test_stratified_split_keeps_class_shares():
    """With stratify=True each class keeps its share in the test part."""
    X, y = cookbook.load_dataset("digits")
    split = cookbook.split_and_standardize(X, y, stratify=True)
    share = pd.Series(split.y_test).value_counts(normalize=True).sort_index()
    expected = y.value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(share.to_numpy(), expected.to_numpy(), atol=0.01)


def test_split_keeps_constant_features_finite():
    """A constant column is centred, not divided by zero."""
    X = pd.DataFrame({"const": [5.0] * 8, "x": np.arange(8.0)})
    split = cookbook.split_and_standardize(X, np.arange(8), test_fraction=0.5)
    assert np.isfinite(split.X_train).all()
    assert (split.X_train[:, 0] == 0).all()


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5])
def test_split_refuses_impossible_fraction(fraction):
    """test_fraction outside (0, 1) is refused."""
    with pytest.raises(DataError, match="test_fraction"):
        cookbook.split_and_standardize(np.zeros((10, 2)), np.zeros(10), test_fraction=fraction)
