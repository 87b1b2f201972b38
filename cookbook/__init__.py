"""keras-cookbook: loss functions and optimizers in Keras 3, as runnable lessons.

The public API, in the order a learner meets it::

    X, y = cookbook.load_dataset("breast_cancer")     # bundled real data
    split = cookbook.split_and_standardize(X, y, stratify=True)
"""

from cookbook._quiet import import_tensorflow_quietly as _import_tensorflow_quietly

_import_tensorflow_quietly()  # before anything imports keras

from cookbook.datasets import (  # noqa: E402
    DATASETS,
    Split,
    list_datasets,
    load_csv,
    load_dataset,
    split_and_standardize,
)
from cookbook.errors import CookbookError, DataError  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "CookbookError",
    "DataError",
    "Split",
    "list_datasets",
    "load_csv",
    "load_dataset",
    "split_and_standardize",
]
