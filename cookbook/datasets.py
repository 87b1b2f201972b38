"""Small real datasets that ship with the cookbook, and loading your own CSV.

Three UCI datasets are bundled as CSV files in ``cookbook/data/`` (see the
README there for provenance and licences), so every recipe runs offline:

=============  ==========  ====  ========  =======  ========================
name           task        rows  features  classes  target column
=============  ==========  ====  ========  =======  ========================
breast_cancer  binary       569        30        2  ``malignant`` (1 = yes)
digits         multiclass  1797        64       10  ``digit`` (0-9)
diabetes       regression   442        10        -  ``progression``
=============  ==========  ====  ========  =======  ========================

``load_csv`` reads your own file with the same checks, and
``split_and_standardize`` makes a reproducible train/test split whose
feature scaling is learned from the training part only.
"""

from __future__ import annotations

import dataclasses
import os
from importlib import resources

from cookbook.errors import DataError

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "DATASETS",
    "DataError",
    "Split",
    "list_datasets",
    "load_csv",
    "load_dataset",
    "read_csv_file",
    "split_and_standardize",
    "split_indices",
]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a bundled dataset is: its task, target column and size."""

    name: str
    task: str  # "binary", "multiclass" or "regression"
    target: str
    rows: int
    features: int
    classes: int | None
    title: str


DATASETS = {
    info.name: info
    for info in (
        DatasetInfo("breast_cancer", "binary", "malignant", 569, 30, 2, "Breast Cancer Wisconsin (Diagnostic)"),
        DatasetInfo("digits", "multiclass", "digit", 1797, 64, 10, "Optical Recognition of Handwritten Digits (8x8)"),
        DatasetInfo("diabetes", "regression", "progression", 442, 10, None, "Diabetes (Efron et al., 2004)"),
    )
}


def list_datasets() -> list[str]:
    """Names of the bundled datasets, for ``load_dataset``."""
    return sorted(DATASETS)


def load_dataset(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Load a bundled dataset as ``(X, y)``.

    Args:
        name: one of ``list_datasets()``: ``"breast_cancer"``, ``"digits"``
            or ``"diabetes"``.

    Returns:
        ``X``, a ``pandas.DataFrame`` of numeric features, and ``y``, a
        ``pandas.Series`` holding the target (integer class labels for
        ``breast_cancer`` and ``digits``, a number for ``diabetes``).
    """
    if name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {', '.join(list_datasets())}, "
            "or load your own file with cookbook.load_csv(path, target)"
        )
    info = DATASETS[name]
    with resources.as_file(resources.files("cookbook") / "data" / f"{name}.csv") as path:
        return load_csv(path, info.target)


def read_csv_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV file with a header row as a DataFrame, refusing a missing, empty or unreadable file.

    Raises:
        DataError: the message names the problem and the fix.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file; check the path passed as --csv (or to load_csv)")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder; pass the path of a .csv file inside it")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: the file is empty; it needs a header row and at least one data row")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path}: cannot be read as CSV ({reason}); save it as comma-separated UTF-8 text with one header row"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None
    if len(frame) == 0:
        raise DataError(f"{path}: has a header but no data rows; add at least one row of values")
    return frame


def load_csv(path: str | os.PathLike[str], target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Load a CSV file of numeric columns as ``(X, y)``, refusing bad data.

    The file needs a header row. ``target`` names the column to predict;
    every other column becomes a feature.

    Args:
        path: path to the ``.csv`` file.
        target: name of the target column.

    Returns:
        ``(X, y)``: a ``pandas.DataFrame`` of features and a
        ``pandas.Series`` of targets.

    Raises:
        DataError: the path is missing or a folder; the file is empty,
            unreadable or has a header but no rows; ``target`` is not a
            column; a value is missing, NaN or infinite; a column is not
            numeric. The message says which, where, and how to fix it.
    """
    frame = read_csv_file(path)
    path = os.fspath(path)
    if target not in frame.columns:
        raise DataError(
            f"{path}: no column named {target!r}; pass --target / target= one of: " + ", ".join(map(str, frame.columns))
        )
    if frame.shape[1] < 2:
        raise DataError(f"{path}: {target!r} is the only column; add at least one feature column")
    _check_numeric(frame, path, target)
    _check_finite(frame, path)
    return frame.drop(columns=[target]), frame[target]


def _check_numeric(frame, path, target):
    bad = [
        c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
    ]
    if not bad:
        return
    if target in bad:
        raise DataError(
            f"{path}: target column {target!r} is not numeric (e.g. '{frame[target].iloc[0]}'); "
            "encode classes as integers 0..K-1, e.g. df[target].astype('category').cat.codes (lessons 02 and 03 "
            "take class names as they are)"
        )
    example = frame[bad[0]].iloc[0]
    raise DataError(
        f"{path}: non-numeric feature column(s) {', '.join(map(repr, bad))} (e.g. '{example}'); "
        "convert them to numbers (one-hot with pandas.get_dummies) or drop them (lessons 01, 02 and 03 one-hot "
        "encode text columns themselves)"
    )


def _check_finite(frame, path):
    values = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row, col = np.argwhere(bad)[0]
    kind = "missing/NaN" if np.isnan(values[row, col]) else "infinite"
    raise DataError(
        f"{path}: {int(bad.sum())} missing, NaN or infinite value(s), the first {kind} in column "
        f"{frame.columns[col]!r} at data row {row + 1}; fill them in or drop those rows"
    )


@dataclasses.dataclass(frozen=True)
class Split:
    """A train/test split with standardized float32 features."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray  # per-feature mean of the training part
    std: np.ndarray  # per-feature standard deviation of the training part
    feature_names: tuple[str, ...]


def split_and_standardize(
    X: pd.DataFrame | npt.ArrayLike,
    y: pd.Series | npt.ArrayLike,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    stratify: bool = False,
) -> Split:
    """Split into train and test parts, then standardize the features.

    The mean and standard deviation come from the training part only, so
    nothing about the test part leaks into training. Constant features are
    centred but not scaled (their standard deviation is taken as 1).

    Args:
        X: features, a DataFrame or 2-D array.
        y: targets, a Series or array with one entry (or row) per sample.
        test_fraction: share of the rows held out for testing, in (0, 1).
            Defaults to ``0.25``.
        seed: seed of the shuffle, so the same seed gives the same split.
            Defaults to ``0``.
        stratify: keep each class's share equal in both parts (for
            classification targets); every class gets at least one row in
            each part, so each needs 2 rows or more. Defaults to ``False``.

    Returns:
        A ``Split`` whose arrays are float32 features and targets as given
        (integer labels stay integers).
    """
    features = np.asarray(X, dtype=np.float64)
    targets = np.asarray(y)
    if features.ndim != 2:
        raise DataError(f"X must be 2-D (samples, features), got shape {features.shape}")
    n = len(features)
    if len(targets) != n:
        raise DataError(f"X has {n} rows but y has {len(targets)}; pass one target per row")
    train_idx, test_idx = split_indices(n, targets, test_fraction=test_fraction, seed=seed, stratify=stratify)

    mean = features[train_idx].mean(axis=0)
    std = features[train_idx].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scale = lambda rows: ((features[rows] - mean) / std).astype(np.float32)  # noqa: E731
    names = tuple(map(str, X.columns)) if hasattr(X, "columns") else tuple(f"x{i}" for i in range(features.shape[1]))
    return Split(scale(train_idx), scale(test_idx), targets[train_idx], targets[test_idx], mean, std, names)


def split_indices(
    n: int, targets: npt.ArrayLike, *, test_fraction: float = 0.25, seed: int = 0, stratify: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The row numbers of the training part (shuffled) and of the test part (in file order).

    One function for ``split_and_standardize`` and ``cookbook.tables.split``,
    so the same seed picks the same rows in both.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n - n_test < 1:
        raise DataError(
            f"{n} rows cannot be split with test_fraction={test_fraction}; use more rows or a fraction nearer 0.5"
        )
    rng = np.random.default_rng(seed)
    if stratify:
        test_idx = _stratified_test_indices(np.asarray(targets), test_fraction, rng)
    else:
        test_idx = rng.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test_idx] = True
    return rng.permutation(np.flatnonzero(~is_test)), np.flatnonzero(is_test)


def _stratified_test_indices(targets, test_fraction, rng):
    """Each class's share of test rows, rounded, but at least one test and one training row."""
    labels = targets.reshape(len(targets), -1)[:, 0] if targets.ndim > 1 else targets
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        rare = classes[counts < 2]
        raise DataError(
            f"{len(rare)} class(es) have a single row (e.g. {rare[0]}), so the stratified "
            f"split cannot put each class in both parts; give every class at least 2 rows "
            f"(if the target is a number to predict, this is regression, not classification)"
        )
    picked = []
    for label, count in zip(classes, counts):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = min(max(int(round(count * test_fraction)), 1), count - 1)
        picked.append(members[:n_test])
    return np.concatenate(picked)
