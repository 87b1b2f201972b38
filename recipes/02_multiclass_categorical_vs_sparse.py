"""Multiclass on Digits: categorical vs sparse categorical cross-entropy.

Ten classes need ``Dense(10, activation="softmax")``. The labels can be stored
one-hot (``keras.utils.to_categorical`` with ``loss="categorical_crossentropy"``)
or as integers 0-9 (``loss="sparse_categorical_crossentropy"``): both losses are
minus the log of the probability of the true class, so from the same seed they
train the same model, and the integers are C times cheaper to store. Accuracy is
then read class by class, not only overall.

Run it: ``python recipes/02_multiclass_categorical_vs_sparse.py`` (``--quick``
for a few-second look, ``--csv my.csv --target label`` for your own classes).
What this lesson measures lives in ``cookbook/lessons/multiclass_categorical_vs_sparse.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. The cookbook is imported before Keras so that
# TensorFlow's start-up log lines stay out of the output.

# %%
from cookbook import ReshuffledArrays, claims, loading, outputs, tables  # first: hides TensorFlow's start-up log lines
from cookbook import losses as scratch_losses
from cookbook.display import show
from cookbook.lessons import multiclass_categorical_vs_sparse as evidence
from cookbook.settings import from_command_line

import keras
import numpy as np

settings = from_command_line(
    __doc__,
    "02_multiclass_categorical_vs_sparse",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=10,
    quick_epochs=2,
    data="digits",
    table=True,
)
BATCH_SIZE = 128
LEARNING_RATE = 0.01
HIDDEN_UNITS = 32

# %% [markdown]
# ## Data
#
# Digits: 8x8 images of handwritten digits, 64 pixel features, ten classes.
# ``load_table`` numbers the classes 0..C-1 in sorted order (with your own
# ``--csv``, text class names such as ``"Adelie"`` get numbers too) and says
# what it did to the table. The split keeps each class's share in both parts
# (``stratify``); Keras's ``Normalization`` (and ``StringLookup`` for text
# columns) learn their statistics from the training rows only, as in lesson 01.

# %%
table = loading.load_table(settings, "multiclass")
for note in table.notes:
    print(note)
parts = loading.split_table(settings, table, stratify=True)
data = parts.encoded(tables.fit_encoder(parts.train, table.kinds))
X_train, X_test = data.X_train, data.X_test
num_classes = len(table.classes)

# %% [markdown]
# The same labels, stored two ways. Integer labels have shape ``(N,)``: one
# number per sample. ``keras.utils.to_categorical`` turns label ``k`` into a
# row of C zeros with a 1 in column ``k``, shape ``(N, C)``. Same
# information, C times the numbers.

# %%
y_train_int, y_test_int = data.y_train, data.y_test
y_train_onehot = keras.utils.to_categorical(y_train_int, num_classes)
y_test_onehot = keras.utils.to_categorical(y_test_int, num_classes)
print(f"{len(X_train)} training rows, {len(X_test)} test rows, {X_train.shape[1]} features, {num_classes} classes")
print(f"labels: {y_train_int.shape} integers or {y_train_onehot.shape} one-hot rows")
show(evidence.label_table(y_train_int, y_train_onehot), "The same training labels, stored two ways")

# %% [markdown]
# ## Model
#
# One output unit per class with ``softmax``: the C outputs are probabilities
# that sum to 1, which is what both cross-entropies expect. The model is the
# same for both label encodings; only ``compile``'s ``loss`` changes.


# %%
def build_model():
    return keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )


keras.utils.set_random_seed(settings.seed)
build_model().summary()

# %% [markdown]
# ## Train
#
# Each run calls ``keras.utils.set_random_seed`` first, so every run starts
# from the same weights, and draws its batches from
# ``cookbook.ReshuffledArrays`` with the same seed, so every run sees the
# same mini-batches: any difference between the curves then comes from the
# losses alone. ``ReshuffledArrays`` serves ``batch_size`` rows at a time in
# a new order every epoch (on the TensorFlow backend a seeded
# ``fit(X, y, shuffle=True)`` would repeat one order every epoch; lesson 07
# measures it), with ``shuffle=False`` so that ``fit`` leaves that order
# alone.
#
# One-hot labels go with ``loss="categorical_crossentropy"``. The metric
# ``"accuracy"`` adapts to the labels: here Keras picks
# ``categorical_accuracy`` (argmax of the label row vs argmax of the output).

# %%
keras.utils.set_random_seed(settings.seed)
one_hot_model = build_model()
one_hot_model.compile(
    optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy", metrics=["accuracy"]
)
one_hot_history = one_hot_model.fit(
    ReshuffledArrays(X_train, y_train_onehot, batch_size=BATCH_SIZE, seed=settings.seed),
    epochs=settings.epochs,
    shuffle=False,
    verbose=0,
)
print("categorical_crossentropy, loss per epoch:", np.round(one_hot_history.history["loss"], 5))

# %% [markdown]
# Integer labels go with ``loss="sparse_categorical_crossentropy"``: the same
# model, the same seed, and ``y_train_int`` instead of the one-hot rows (here
# ``"accuracy"`` becomes ``sparse_categorical_accuracy``). Swap the labels
# between the two losses and ``fit`` stops with a ``ValueError`` about the
# ranks of ``target`` and ``output``; lesson 05 shows the mismatches Keras
# does not catch.

# %%
keras.utils.set_random_seed(settings.seed)
sparse_model = build_model()
sparse_model.compile(
    optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
sparse_history = sparse_model.fit(
    ReshuffledArrays(X_train, y_train_int, batch_size=BATCH_SIZE, seed=settings.seed),
    epochs=settings.epochs,
    shuffle=False,
    verbose=0,
)
print("sparse_categorical_crossentropy, loss per epoch:", np.round(sparse_history.history["loss"], 5))

# %% [markdown]
# The same two runs once more, with each loss written from its formula in
# ``cookbook/losses.py`` (plain functions of ``y_true, y_pred``, passed to
# ``compile`` like any Keras loss). If they follow the same curve, the
# formula ``-log p(true class)`` is all there is to either loss.

# %%
ONE_HOT, SPARSE = "one-hot + categorical_crossentropy", "integers + sparse_categorical_crossentropy"
runs = {ONE_HOT: (one_hot_model, one_hot_history, "one-hot row"), SPARSE: (sparse_model, sparse_history, "integer")}
for name, loss, y_labels, stored in (
    ("one-hot", scratch_losses.categorical_crossentropy, y_train_onehot, "one-hot row"),
    ("integers", scratch_losses.sparse_categorical_crossentropy, y_train_int, "integer"),
):
    keras.utils.set_random_seed(settings.seed)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, metrics=["accuracy"])
    history = model.fit(
        ReshuffledArrays(X_train, y_labels, batch_size=BATCH_SIZE, seed=settings.seed),
        epochs=settings.epochs,
        shuffle=False,
        verbose=0,
    )
    runs[f"{name} + cookbook.losses.{loss.__name__}"] = (model, history, stored)

# %% [markdown]
# ## Compare
#
# ``predict`` gives the C probabilities per test row. One row per run: read
# the largest per-epoch gap between each training-loss curve and the first
# run's (float rounding, if anything), the largest gap of any test
# probability, and the test accuracy next to always naming the commonest
# class. The test loss is the same float64 ``-log p(true class)`` for every
# run, so it compares the models, not the losses.

# %%
probabilities = {name: model.predict(X_test, verbose=0) for name, (model, _, _) in runs.items()}
results = evidence.results_table(
    {name: history.history for name, (_, history, _) in runs.items()},
    probabilities,
    {name: stored for name, (_, _, stored) in runs.items()},
    y_test_int,
)
show(results, f"{num_classes} classes, {settings.epochs} epochs, same seed")
outputs.save_table(results, settings)
caption = (
    f"{settings.data_name}, every run: Dense({HIDDEN_UNITS}, relu) + Dense({num_classes}, softmax), "
    f"Adam lr={LEARNING_RATE}, batch_size={BATCH_SIZE}, seed {settings.seed}, {settings.epochs} epochs"
)
figure = evidence.plot_curves({name: history.history for name, (_, history, _) in runs.items()}, caption)
outputs.save_figure(figure, settings, "loss_curves")

# %% [markdown]
# One accuracy for ten classes hides how each class fares. Per class: how
# many test rows, the share of them the model named right, and the class it
# most often named instead.

# %%
per_class = evidence.per_class_table(y_test_int, probabilities[ONE_HOT].argmax(axis=1), table.classes)
outputs.save_table(show(per_class, f"Test accuracy per class ({ONE_HOT})"), settings, "per_class")

# %% [markdown]
# Why the curves coincide: for one sample with true class ``k`` and predicted
# probabilities ``p``, categorical cross-entropy is
# ``-sum_j onehot_j * log p_j``; every term but ``j = k`` is zero, so it is
# ``-log p_k``, exactly what sparse categorical cross-entropy computes by
# looking up column ``k``. Both Keras losses, sample by sample, next to a
# float64 NumPy ``-log p_k``:

# %%
p_test = probabilities[ONE_HOT]
samples = evidence.per_sample_table(
    y_test_int,
    p_test,
    {
        "categorical_crossentropy": keras.losses.categorical_crossentropy(y_test_onehot, p_test),
        "sparse_categorical_crossentropy": keras.losses.sparse_categorical_crossentropy(y_test_int, p_test),
    },
)
show(samples.head(4), "Both losses are -log p(true class), sample by sample")
outputs.save_table(samples, settings, "per_sample")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``02_multiclass_categorical_vs_sparse_claims.json``.

# %%
claims.remember(
    evidence.claims(results, samples, per_class, y_train_int, y_train_onehot, ONE_HOT, SPARSE, settings.epochs),
    settings,
)
