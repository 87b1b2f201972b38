"""Your own table, as it comes: class names, text columns and missing values.

A CSV that people bring has text class names in the target (``"Adelie"``),
text feature columns (``"island"``), whole-number codes and a few empty
cells. This module turns such a table into what a Keras model needs, saying
what it did, and refuses what it cannot use with the column and the fix.
``cookbook.tables.read_csv("penguins.csv")`` reads a file into a frame
like this one:

>>> import cookbook
>>> import pandas as pd
>>> frame = pd.DataFrame(
...     {
...         "species": ["Adelie", "Gentoo", "Chinstrap"] * 3,
...         "island": ["Torgersen", "Biscoe", "Dream", "Dream", "Biscoe", "Dream", "Biscoe", "Biscoe", "Dream"],
...         "bill_mm": [39.1, 46.1, 46.5, 37.8, None, 50.0, 38.2, 48.7, 49.5],
...     }
... )
>>> table = cookbook.tables.prepare(frame, "species", task="multiclass")
>>> for note in table.notes:
...     print(note)
dropped 1 of 9 row(s) with a missing value in 'bill_mm' (1) (--missing fill keeps them, ...)
target 'species': 3 classes numbered 0 = 'Adelie', 1 = 'Chinstrap', 2 = 'Gentoo' (sorted order)
one-hot encoded categorical column(s) 'island' (3 values) with keras.layers.StringLookup; ...
>>> split = cookbook.tables.split(table, seed=0, stratify=True)
>>> encode = cookbook.tables.fit_encoder(split.train, table.kinds)
>>> X_train, X_test = encode(split.train), encode(split.test)
>>> X_train.shape, X_test.shape  # bill_mm, then island one-hot (out-of-vocabulary slot first)
((5, 5), (3, 5))

The bundled datasets go through the same path (``prepare`` with the kinds
their metadata states), so a lesson's code does not fork on where its data
came from. The encoding itself is Keras's preprocessing layers, adapted on
the training rows only: ``Normalization`` for numeric columns and
``StringLookup(output_mode="one_hot")`` for categorical ones (recipe 01
writes the same layers out in its own cells).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from cookbook.datasets import read_csv_file as read_csv
from cookbook.datasets import split_indices
from cookbook.errors import DataError

import numpy as np
import pandas as pd

__all__ = ["MISSING_RULES", "EncodedSplit", "Table", "TableSplit", "fit_encoder", "prepare", "read_csv", "split"]

MISSING_RULES = ("drop", "fill")
MAX_CATEGORIES = 50  # a text column with more distinct values is free text, not categories
INTEGER_CATEGORIES = 10  # whole-number columns with at most this many values are categories (user tables)
STRAY_SHARE = 0.9  # a text column whose values are at least this share numbers is a numeric column with strays
MIN_ROWS = 4  # fewer complete rows than this cannot be split into training and test parts


@dataclasses.dataclass
class Table:
    """A table ready to split and encode.

    Attributes:
        features: the feature columns of the kept rows, as read (text stays text).
        target: the target of the kept rows: class numbers 0..C-1 (int) for
            classification, floats for regression.
        classes: the class names in number order (class ``i`` is
            ``classes[i]``); empty for regression.
        kinds: ``{column: "numeric" or "categorical"}`` for every feature.
        notes: one line per thing done to the table (classes numbered, rows
            dropped, columns one-hot encoded), for the lesson to print.
        missing: ``{column: number of missing cells}`` left to fill (with
            the ``"fill"`` rule); empty after the ``"drop"`` rule.
    """

    features: pd.DataFrame
    target: np.ndarray
    classes: tuple
    kinds: dict[str, str]
    notes: list[str]
    missing: dict[str, int]
    source: str
    target_name: str

    def class_table(self) -> pd.DataFrame:
        """The class numbering as a DataFrame: number, name, rows."""
        counts = np.bincount(self.target, minlength=len(self.classes)) if self.classes else np.zeros(0, int)
        return pd.DataFrame({"class": range(len(self.classes)), "name": list(self.classes), "rows": list(counts)})


@dataclasses.dataclass
class TableSplit:
    """Training and test rows of a ``Table`` (features as DataFrames, targets as arrays)."""

    train: pd.DataFrame
    test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    note: str = ""

    def encoded(self, encode: Callable[[pd.DataFrame], np.ndarray]) -> EncodedSplit:
        """The split with its features encoded by ``encode`` (from ``fit_encoder``): float32 arrays."""
        return EncodedSplit(encode(self.train), encode(self.test), self.y_train, self.y_test)


@dataclasses.dataclass
class EncodedSplit:
    """Encoded training and test features (float32 arrays) with their targets."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def prepare(
    frame: pd.DataFrame,
    target: str,
    task: str,
    *,
    source: str = "the table",
    missing: str = "drop",
    kinds: Mapping[str, str] | None = None,
    positive: object = None,
    drop: Sequence[str] = (),
) -> Table:
    """Check a table, number its classes, choose each column's encoding, handle missing values.

    Args:
        frame: the table as read, one row per sample.
        target: the column to predict.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        source: how messages name the table (a file name).
        missing: ``"drop"`` (default) drops rows with a missing feature;
            ``"fill"`` keeps them and leaves the cells for ``split`` to fill
            with training medians (numeric) or most frequent values
            (categorical). Rows with a missing target are always dropped.
        kinds: ``{column: "numeric" or "categorical"}`` to state kinds
            instead of inferring them (the bundled datasets do).
        positive: binary only: the class name (or value) that becomes
            class 1. Defaults to the last of the two in sorted order.
        drop: columns to leave out (an identifier, say).

    Raises:
        DataError: the message names the column (and rows where it
            matters) and the fix.
    """
    if task not in ("binary", "multiclass", "regression"):
        raise DataError(f"task must be 'binary', 'multiclass' or 'regression', got {task!r}")
    if missing not in MISSING_RULES:
        raise DataError(f"missing must be one of {MISSING_RULES}, got {missing!r}")
    if target not in frame.columns:
        raise DataError(
            f"{source}: no column named {target!r}; pass --target one of: " + ", ".join(map(str, frame.columns))
        )
    unknown = [c for c in drop if c not in frame.columns]
    if unknown:
        raise DataError(
            f"{source}: --drop names no column {', '.join(map(repr, unknown))}; columns: "
            + ", ".join(map(str, frame.columns))
        )
    if target in drop:
        raise DataError(f"{source}: --drop {target!r} is the target; drop feature columns only")
    frame = frame.drop(columns=list(drop))
    if frame.shape[1] < 2:
        raise DataError(f"{source}: {target!r} is the only column; add at least one feature column")
    notes = [f"dropped column(s) {', '.join(map(repr, drop))} as asked (--drop)"] if drop else []

    frame = frame.replace([np.inf, -np.inf], np.nan)
    no_target = frame[target].isna()
    if no_target.all():
        raise DataError(f"{source}: every row's target {target!r} is missing; fill the column in")
    if no_target.any():
        notes.append(
            f"dropped {int(no_target.sum())} row(s) with no {target!r} (a row without its answer "
            "cannot be learned from or scored)"
        )
        frame = frame[~no_target]

    features = frame.drop(columns=[target])
    kinds = dict(kinds) if kinds else _infer_kinds(features, source)
    missing_cells = features.isna().sum()
    missing_cells = missing_cells[missing_cells > 0]
    if len(missing_cells):
        where = ", ".join(f"{c!r} ({n})" for c, n in missing_cells.items())
        if missing == "drop":
            incomplete = features.isna().any(axis=1)
            notes.append(
                f"dropped {int(incomplete.sum())} of {len(features)} row(s) with a missing value in "
                f"{where} (--missing fill keeps them, filled from the training rows)"
            )
            frame, features = frame[~incomplete], features[~incomplete]
        else:
            notes.append(
                f"kept {int(features.isna().any(axis=1).sum())} row(s) with a missing value in {where}: "
                "filled with the training rows' median (numeric) or most frequent value (categorical)"
            )
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"{source}: only {len(frame)} complete row(s) remain after dropping missing values; "
            f"at least {MIN_ROWS} are needed to train and test: fill the gaps in the file, or pass "
            "--missing fill"
        )

    values, classes, target_notes = _encode_target(frame[target], target, task, source, positive)
    notes += target_notes
    text_columns = [c for c, kind in kinds.items() if kind == "categorical"]
    if text_columns:
        notes.append(
            "one-hot encoded categorical column(s) "
            + ", ".join(f"{c!r} ({features[c].nunique()} values)" for c in text_columns)
            + " with keras.layers.StringLookup; numeric columns normalized with keras.layers.Normalization"
        )
    return Table(
        features.reset_index(drop=True),
        values,
        classes,
        kinds,
        notes,
        {c: int(n) for c, n in missing_cells.items()} if missing == "fill" else {},
        source,
        target,
    )


def _infer_kinds(features, source):
    """numeric or categorical for each column, refusing identifiers, free text and stray entries."""
    kinds = {}
    for column in features.columns:
        values = features[column].dropna()
        if pd.api.types.is_bool_dtype(values):
            kinds[column] = "categorical"
        elif pd.api.types.is_numeric_dtype(values):
            whole = len(values) and np.all(values == np.round(values))
            kinds[column] = "categorical" if whole and 2 < values.nunique() <= INTEGER_CATEGORIES else "numeric"
        else:
            kinds[column] = _text_kind(column, values, len(features), source)
    return kinds


def _text_kind(column, values, rows, source):
    text = values.astype(str).str.strip()
    as_numbers = pd.to_numeric(text, errors="coerce")
    parsed = as_numbers.notna()
    if parsed.mean() >= STRAY_SHARE:
        strays = text[~parsed]
        shown = ", ".join(f"row {i + 2}: {v!r}" for i, v in list(strays.items())[:5])
        raise DataError(
            f"{source}: column {column!r} is numbers except {len(strays)} entr"
            f"{'y' if len(strays) == 1 else 'ies'} ({shown}; row numbers count the header as row 1): "
            "a data error, not a category; correct or empty those cells (an empty cell is a "
            "missing value)"
        )
    distinct = text.nunique()
    if distinct == len(text) and len(text) > MAX_CATEGORIES // 5:
        raise DataError(
            f"{source}: column {column!r} has a different value in every row (e.g. {text.iloc[0]!r}): "
            f"an identifier, which carries nothing to learn; leave it out with --drop {column}"
        )
    if distinct > MAX_CATEGORIES:
        raise DataError(
            f"{source}: column {column!r} has {distinct} distinct text values (e.g. {text.iloc[0]!r}), "
            f"too many to one-hot encode (at most {MAX_CATEGORIES}): free text; leave it out with "
            f"--drop {column}, or group its values into fewer categories"
        )
    return "categorical"


def _encode_target(column, target, task, source, positive):
    if task == "regression":
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.isna().any():
            bad = column[numbers.isna()]
            raise DataError(
                f"{source}: target {target!r} has text values (e.g. {bad.iloc[0]!r}) but this lesson "
                "predicts a number; pick a numeric target, or use a classification lesson (02, 04)"
            )
        return numbers.to_numpy(np.float64), (), []
    values = column
    if pd.api.types.is_numeric_dtype(values) and not np.all(values == np.round(values)):
        raise DataError(
            f"{source}: target {target!r} has fractional values (e.g. {values.iloc[0]!r}); this lesson "
            "needs classes (text or whole numbers); for a number to predict, see 01_regression_mse"
        )
    if not pd.api.types.is_numeric_dtype(values):
        values = values.astype(str).str.strip()
    classes = sorted(
        (v.item() if hasattr(v, "item") else v for v in values.unique()), key=lambda v: (isinstance(v, str), v)
    )
    if len(classes) < 2:
        raise DataError(
            f"{source}: target {target!r} has a single class ({classes[0]!r}); classification needs at least two"
        )
    counts = values.value_counts()
    if task == "binary":
        if len(classes) != 2:
            raise DataError(
                f"{source}: target {target!r} has {len(classes)} classes ("
                + ", ".join(map(repr, classes[:6]))
                + "); this lesson needs exactly two classes (use "
                "02_multiclass_categorical_vs_sparse for more)"
            )
        if positive is not None:
            match = [c for c in classes if str(c) == str(positive)]
            if not match:
                raise DataError(
                    f"{source}: --positive {positive!r} is not a class of {target!r}; choose one of "
                    + ", ".join(map(repr, classes))
                )
            classes = [c for c in classes if c != match[0]] + match
    elif counts.min() < 2:
        raise DataError(
            f"{source}: target {target!r} has {len(classes)} distinct values and "
            f"{int((counts < 2).sum())} occur only once: a number to predict, not classes (see "
            "01_regression_mse), or give every class at least 2 rows"
        )
    number = {c: i for i, c in enumerate(classes)}
    labels = values.map(number).to_numpy(np.int64)
    names = tuple(c.item() if hasattr(c, "item") else c for c in classes)
    mapping = ", ".join(f"{i} = {name!r}" for i, name in enumerate(names))
    how = (
        ("(--positive chose class 1)" if positive is not None else "(sorted order; --positive NAME chooses class 1)")
        if task == "binary"
        else "(sorted order)"
    )
    return labels, names, [f"target {target!r}: {len(names)} classes numbered {mapping} {how}"]


def split(table: Table, *, test_fraction: float = 0.25, seed: int = 0, stratify: bool = False) -> TableSplit:
    """Split a table's rows into training and test parts, then fill missing cells from the training rows.

    The same rows as ``cookbook.split_and_standardize`` picks for the same
    seed, so bundled data gives the lessons the split they had before.
    """
    train_idx, test_idx = split_indices(
        len(table.features), table.target, test_fraction=test_fraction, seed=seed, stratify=stratify
    )
    train = table.features.iloc[train_idx].reset_index(drop=True)
    test = table.features.iloc[test_idx].reset_index(drop=True)
    note = ""
    if table.missing:
        fills = {}
        for column in table.missing:
            if table.kinds[column] == "numeric":
                fills[column] = train[column].median()
            else:
                mode = train[column].mode()
                fills[column] = mode.iloc[0] if len(mode) else ""
        train, test = train.fillna(fills), test.fillna(fills)
        note = "filled missing cells: " + ", ".join(f"{c!r} with {v!r}" for c, v in fills.items())
    return TableSplit(train, test, table.target[train_idx], table.target[test_idx], note)


def fit_encoder(train: pd.DataFrame, kinds: Mapping[str, str]) -> Callable[[pd.DataFrame], np.ndarray]:
    """Keras preprocessing layers adapted on the training rows; returns ``encode(frame) -> float32 array``.

    Numeric columns go through one ``keras.layers.Normalization`` (mean 0,
    variance 1 over the training rows); each categorical column through a
    ``keras.layers.StringLookup(output_mode="one_hot")`` whose vocabulary is
    the training rows' values (a value unseen in training maps to the
    out-of-vocabulary slot). This is recipe 01's Data cell as a function.
    """
    import keras

    numeric = [c for c, kind in kinds.items() if kind == "numeric"]
    categorical = [c for c, kind in kinds.items() if kind == "categorical"]
    normalize = keras.layers.Normalization()
    if numeric:
        normalize.adapt(train[numeric].to_numpy("float32"))
    lookups = {c: keras.layers.StringLookup(output_mode="one_hot") for c in categorical}
    for column, lookup in lookups.items():
        lookup.adapt(train[column].astype(str).to_numpy())

    def encode(frame):
        parts = [normalize(frame[numeric].to_numpy("float32"))] if numeric else []
        parts += [lookup(frame[column].astype(str).to_numpy()) for column, lookup in lookups.items()]
        return keras.ops.convert_to_numpy(keras.ops.concatenate(parts, axis=-1)).astype("float32")

    return encode
