"""keras-cookbook: loss functions and optimizers in Keras 3, as runnable lessons.

The public API, in the order a learner meets it:

>>> import cookbook  # first: it keeps TensorFlow's start-up lines out of the terminal
>>> import keras
>>> import numpy as np
>>> X, y = cookbook.load_dataset("breast_cancer")  # bundled real data
>>> split = cookbook.split_and_standardize(X, y, stratify=True)
>>> split.X_train.shape, split.X_test.shape
((427, 30), (142, 30))

>>> layer, loss = cookbook.output_head("binary")  # Dense(1, "sigmoid") + binary_crossentropy
>>> model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(16, "relu"), layer])
>>> model.compile(optimizer=cookbook.optimizers.Adam(), loss=loss)
>>> cookbook.check_setup(model, split.y_train)  # silent, or a SetupError if head, loss, labels disagree
>>> cookbook.check_fit(model, split.X_train, split.y_train, validation_split=0.2)  # a frozen shuffle, a sorted split...
[]

>>> p = model(split.X_test)  # P(malignant), shape (142, 1)
>>> per_sample = cookbook.losses.binary_crossentropy(split.y_test, p)  # from-scratch keras.losses twins
>>> np.allclose(keras.ops.mean(per_sample), loss(split.y_test, p))
True
>>> table = cookbook.compare_optimizers(cookbook.optimizers.Adam(), keras.optimizers.Adam(), steps=50)
>>> float(table["custom_vs_builtin"].max())  # step-by-step agreement table
0.0
>>> model_b = cookbook.sigmoid_to_softmax(model)  # the two binary heads are one model
>>> np.allclose(model_b(split.X_test)[:, 1], p[:, 0])
True

Support code for single lessons lives in ``cookbook.lessons`` (one module per
topic, e.g. ``cookbook.lessons.landscapes`` for recipes 07-08);
``cookbook.reference`` holds the float64 NumPy update rules the twins are
checked against. Every file in ``cookbook/optimizers/`` imports only keras and
the standard library, so it can be copied alone.
"""

from cookbook._quiet import import_keras_quietly as _import_keras_quietly

_import_keras_quietly()  # before anything else imports keras

from cookbook import losses, optimizers, tables  # noqa: E402
from cookbook.backup import BackupAndRestore  # noqa: E402
from cookbook.binary_heads import roc_auc, sigmoid_to_softmax, softmax_to_sigmoid  # noqa: E402
from cookbook.compare import compare_optimizers  # noqa: E402
from cookbook.datasets import (  # noqa: E402
    DATASETS,
    Split,
    list_datasets,
    load_csv,
    load_dataset,
    split_and_standardize,
)
from cookbook.errors import (  # noqa: E402
    BackupMismatch,
    CookbookError,
    DataError,
    FitError,
    HeadConversionError,
    SetupError,
)
from cookbook.fit_check import Finding, check_fit  # noqa: E402
from cookbook.heads import HEAD_RULES, encode_labels, output_head  # noqa: E402
from cookbook.setup_check import check_setup  # noqa: E402
from cookbook.shuffling import ReshuffledArrays  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "HEAD_RULES",
    "BackupAndRestore",
    "BackupMismatch",
    "CookbookError",
    "DataError",
    "FitError",
    "Finding",
    "HeadConversionError",
    "ReshuffledArrays",
    "SetupError",
    "Split",
    "check_fit",
    "check_setup",
    "compare_optimizers",
    "encode_labels",
    "list_datasets",
    "load_csv",
    "load_dataset",
    "losses",
    "optimizers",
    "output_head",
    "roc_auc",
    "sigmoid_to_softmax",
    "softmax_to_sigmoid",
    "split_and_standardize",
    "tables",
]
