"""A lesson's data from its settings: the bundled set or the user's ``--csv``, split for training.

The library's readers (``cookbook.tables``, ``cookbook.datasets``) raise a
``CookbookError`` that names the problem and the fix; here, in a lesson, such
an error ends the run with that one line on stderr and exit status 2
(``cookbook.settings.stop``), never a traceback.
"""

from __future__ import annotations

from cookbook import tables
from cookbook.datasets import Split, load_csv, load_dataset, split_and_standardize
from cookbook.errors import CookbookError
from cookbook.settings import Settings, stop

import numpy as np
import pandas as pd

__all__ = ["class_labels", "load_data", "load_table", "split", "split_table"]


def load_table(settings: Settings, task: str, *, positive: object = None) -> tables.Table:
    """The lesson's data as a ``cookbook.tables.Table``: the user's ``--csv`` as it comes, or the bundled set.

    Both go through ``cookbook.tables.prepare``: class names numbered in
    sorted order (``positive`` picks class 1 of a binary target), text
    columns marked categorical, rows with missing values dropped or kept for
    filling (``settings.missing``), ``settings.drop`` columns left out. The
    bundled sets state their columns numeric.

    Args:
        settings: the lesson's settings (``data``, or ``csv`` and ``target``).
        task: ``"regression"``, ``"binary"`` or ``"multiclass"``.
        positive: the class value that becomes class 1 of a binary target.
    """
    try:
        if settings.csv is not None:
            frame = tables.read_csv(settings.csv)
            return tables.prepare(
                frame,
                str(settings.target),
                task,
                source=str(settings.csv),
                missing=settings.missing,
                positive=positive,
                drop=settings.drop,
            )
        X, y = load_dataset(str(settings.data))
        return tables.prepare(
            X.assign(**{str(y.name): y}),
            str(y.name),
            task,
            source=settings.data_source,
            kinds={column: "numeric" for column in X.columns},
            positive=positive,
            drop=settings.drop,
        )
    except CookbookError as exc:
        stop(str(exc))


def split_table(settings: Settings, table: tables.Table, *, stratify: bool = False) -> tables.TableSplit:
    """``cookbook.tables.split`` with the lesson's seed; one line and exit 2 if the rows cannot be split."""
    try:
        return tables.split(table, seed=settings.seed, stratify=stratify)
    except CookbookError as exc:
        stop(f"{table.source}: {exc}")


def load_data(settings: Settings) -> tuple[pd.DataFrame, pd.Series]:
    """The lesson's ``(X, y)`` of numeric columns: the user's ``--csv`` if given, else the bundled set."""
    try:
        if settings.csv is not None:
            return load_csv(settings.csv, str(settings.target))
        return load_dataset(str(settings.data))
    except CookbookError as exc:
        stop(str(exc))


def split(settings: Settings, X: pd.DataFrame, y: pd.Series, *, stratify: bool = False) -> Split:
    """``cookbook.split_and_standardize(X, y)`` with the lesson's seed; one line and exit 2 if it cannot."""
    try:
        return split_and_standardize(X, y, seed=settings.seed, stratify=stratify)
    except CookbookError as exc:
        stop(f"{settings.data_source}: {exc}")


def class_labels(y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Class labels numbered 0..C-1, and the C class values; one line and exit 2 if ``y`` is not classes.

    Any whole-number labels with at least two distinct values work (5 and 9,
    say); the sorted distinct values become classes 0, 1, ... A target with
    fractional values, a single class, or a class with a single row (a
    number to predict, most likely) ends the lesson with one line.
    """
    values = np.asarray(y)
    if np.issubdtype(values.dtype, np.floating) and not np.all(values == np.round(values)):
        stop(
            f"target {y.name!r} has fractional values; this lesson needs class labels "
            f"(for a number to predict, see 01_regression_mse)"
        )
    labels, classes = pd.factorize(y, sort=True)
    if len(classes) < 2:
        stop(f"target {y.name!r} has a single class; classification needs at least two")
    counts = np.bincount(labels, minlength=len(classes))
    if counts.min() < 2:
        stop(
            f"target {y.name!r} has {len(classes)} distinct values and {int((counts < 2).sum())} of them "
            f"occur only once: it looks like a number to predict, not classes (see 01_regression_mse), "
            f"or give every class at least 2 rows"
        )
    return labels, np.asarray(classes)
