"""Wrong setups: what Keras does when the output layer, the loss and the labels do not fit together.

Lessons 01-04 built the right pairings; this one trains the classic mistakes
(one sigmoid unit with categorical cross-entropy, a softmax on one unit, a
softmax scored by binary cross-entropy, one-hot labels with the sparse loss,
labels out of range, a NaN label...) for a few epochs each on Digits, and
records what Keras does with each (trains silently, warns, or raises an
unrelated-looking error) next to what ``cookbook.check_setup`` says before
training. Correct setups, the multi-label one of lesson 04 among them, are the
controls.

Run it: ``python recipes/05_wrong_setups.py`` (``--quick`` for a few-second
look, ``--csv my.csv --target label`` for your own classes, at least three).
What this lesson measures lives in ``cookbook/lessons/wrong_setups.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. The cookbook is imported before Keras so that
# TensorFlow's start-up log lines stay out of the output.

# %%
from cookbook import SetupError, check_setup, claims, loading, outputs  # first: hides TensorFlow's log lines
from cookbook.display import show, show_markdown
from cookbook.lessons import wrong_setups as evidence
from cookbook.lessons.wrong_setups import Case
from cookbook.settings import from_command_line, stop

import keras
import numpy as np
import pandas as pd

settings = from_command_line(
    __doc__,
    "05_wrong_setups",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=20,
    quick_epochs=3,
    data="digits",
    table=False,
)
TRAIN_ROWS = 256 if settings.quick else 512  # a small sample shows what each setup does
HIDDEN_UNITS = 16
LEARNING_RATE = 0.05

# %% [markdown]
# ## Data
#
# Digits gives every kind of label the cases need, from one column of class
# numbers ``y``: the classes as integers 0..C-1 (lesson 02's sparse labels)
# or one-hot rows; a yes/no question, "is the class in the lower half?", as
# 0/1 (lesson 03) or as two one-hot columns; the same 0/1 labels with one
# missing value, as a bad CSV merge leaves them; and three yes/no questions at
# once (even? a multiple of 3? in the top third?) as a multi-hot matrix
# (lesson 04).

# %%
X, y = loading.load_data(settings)
classes, names = loading.class_labels(y)
if len(names) < 3:
    stop(f"target {y.name!r} has {len(names)} classes; this lesson needs at least 3 (it shows multiclass mistakes)")
split = loading.split(settings, X, classes, stratify=True)
X_train, X_test = split.X_train[:TRAIN_ROWS], split.X_test  # the split is already shuffled
C = len(names)


def label_sets(y):
    """Every way the cases store the labels of rows whose class numbers are ``y``."""
    yes_no = (y < C // 2).astype("float32")
    return {
        "integer labels": y.astype("int32"),
        "one-hot labels": keras.utils.to_categorical(y, C),
        "0/1 labels": yes_no,
        "0/1 one-hot labels": keras.utils.to_categorical(yes_no, 2),
        "0/1 labels with a NaN": np.where(np.arange(len(y)) == 0, np.nan, yes_no),  # as a bad CSV merge leaves it
        "multi-hot labels": evidence.multi_hot(y, C),
    }


train_labels, test_labels = label_sets(split.y_train[:TRAIN_ROWS]), label_sets(split.y_test)
print(f"{len(X_train)} training rows, {len(X_test)} test rows, {C} classes; Keras backend: {keras.backend.backend()}")
show(pd.DataFrame({name: [str(v) for v in labels[:3]] for name, labels in train_labels.items()}), "First 3 rows")

# %% [markdown]
# ## Model
#
# One case is one output layer (``Dense(units, activation)``), one loss and one
# way of storing the labels; the rest (a hidden layer of 16 relu units, Adam)
# is the same for all. The first eight are two-class mistakes, including the
# four near misses lesson 03 leaves for here (a softmax on one unit; a 2-unit
# softmax with binary cross-entropy on integer and on one-hot labels; one
# sigmoid unit given one-hot labels). Then six C-class mistakes, then four
# correct setups as controls. Each case has a short ``key`` the tables use.

# %%
CASES = [
    Case("sigmoid1_cce", "0/1 labels", 1, "sigmoid", "categorical_crossentropy"),
    Case("softmax1_bce", "0/1 labels", 1, "softmax", "binary_crossentropy"),
    Case("linear1_bce", "0/1 labels", 1, None, "binary_crossentropy"),
    Case("sigmoid1_sparse", "0/1 labels", 1, "sigmoid", "sparse_categorical_crossentropy"),
    Case("softmax2_bce_integer", "0/1 labels", 2, "softmax", "binary_crossentropy"),
    Case("softmax2_bce_onehot", "0/1 one-hot labels", 2, "softmax", "binary_crossentropy"),
    Case("sigmoid1_bce_onehot", "0/1 one-hot labels", 1, "sigmoid", "binary_crossentropy"),
    Case("nan_label", "0/1 labels with a NaN", 1, "sigmoid", "binary_crossentropy"),
    Case("onehot_sparse", "one-hot labels", C, "softmax", "sparse_categorical_crossentropy"),
    Case("integer_cce", "integer labels", C, "softmax", "categorical_crossentropy"),
    Case("too_few_units", "integer labels", C - 1, "softmax", "sparse_categorical_crossentropy"),
    Case("classes_into_sigmoid1", "integer labels", 1, "sigmoid", "binary_crossentropy"),
    Case("linear_sparse", "integer labels", C, None, "sparse_categorical_crossentropy"),
    Case(
        "softmax_from_logits",
        "integer labels",
        C,
        "softmax",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ),
    # The controls: the correct pairings of lessons 02, 03 and 04.
    Case("control_binary", "0/1 labels", 1, "sigmoid", "binary_crossentropy", correct=True),
    Case("control_binary_softmax", "0/1 labels", 2, "softmax", "sparse_categorical_crossentropy", correct=True),
    Case("control_multiclass", "integer labels", C, "softmax", "sparse_categorical_crossentropy", correct=True),
    Case(
        "control_multilabel",
        "multi-hot labels",
        len(evidence.MULTILABEL_QUESTIONS),
        "sigmoid",
        "binary_crossentropy",
        correct=True,
    ),
]

# %% [markdown]
# ## Train
#
# Each case is built and compiled as a learner would write it. Then two
# questions. First ``cookbook.check_setup(model, y_train)``: it reads the last
# layer's units and activation, the compiled loss and the labels, and raises
# ``cookbook.SetupError`` naming the mismatch and the fix, before any
# training. Then plain ``model.fit``: it may train, warn, or raise, and every
# warning and error is recorded. Each fit is one full batch per epoch with
# ``shuffle=False``, the seed reset so all cases start from the same weights
# (so the repeated batch order of seeded fits, lesson 07, does not arise).
# With a few steps per model, fixed costs dominate: ``run_eagerly=True`` skips
# tracing a graph for each of the 18 models, and ``predict_on_batch`` scores the
# whole test set in one call (the same numbers, several times faster here).

# %%
outcomes, models = [], {}
for case in CASES:
    keras.utils.set_random_seed(settings.seed)
    head = keras.layers.Dense(case.units, activation=case.activation)  # the output layer: what the cases vary
    model = keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
            head,
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=case.loss, run_eagerly=True)
    y_train = train_labels[case.labels]
    try:
        refusal = check_setup(model, y_train)  # None: the setup passes
    except SetupError as error:
        refusal = str(error)
    with evidence.recorded_warnings() as caught:
        try:
            history = model.fit(
                X_train, y_train, batch_size=len(X_train), epochs=settings.epochs, shuffle=False, verbose=0
            )
            run = evidence.Run(history.history["loss"], model.predict_on_batch(X_test))
        except Exception as error:  # noqa: BLE001 - what Keras raises is the lesson
            run = evidence.Run(error=error)
    outcomes.append(evidence.outcome(case, run, caught, refusal, test_labels))
    models[case.key] = model

# %% [markdown]
# ## Compare
#
# Read the table row by row: "trains silently" next to check_setup's
# "refuses" is a mistake Keras would have let you ship. A **silent mistake**
# here is a wrong setup for which ``fit`` returned with no error and no
# warning, whatever its loss did; so the NaN-label case counts: its loss is
# NaN and Keras says nothing. The test accuracy is scored on the task the labels
# stand for, next to always answering the commonest class.

# %%
table = evidence.results_table(outcomes)
show(table[evidence.SHOWN_COLUMNS], f"{len(CASES)} setups, {settings.epochs} epochs each")
outputs.save_table(table, settings)
outputs.save_figure(evidence.plot_outcomes(outcomes, settings.epochs), settings, "outcomes")

# %% [markdown]
# The first test predictions of three two-class models show two of the
# mistakes at a glance: the softmax on one unit answers 1.0 for every row, and
# the linear output leaves [0, 1], so its numbers are no probabilities.

# %%
for key in ("control_binary", "softmax1_bce", "linear1_bce"):
    print(f"{key:>15}:", models[key].predict(X_test[:6], verbose=0).ravel().round(3))

# %% [markdown]
# What each said: Keras's errors name tensor ranks, shapes or a kernel, not
# the fix; check_setup names the fix. Rows worth a second look:
#
# * ``Dense(1, 'sigmoid')`` + ``categorical_crossentropy``: Keras rescales the
#   one column so the row sums to 1, so the true class always gets probability
#   1 and the loss is 0 every epoch, whatever the model predicts. It warns (a
#   ``SyntaxWarning``), then trains on.
# * ``Dense(1, 'softmax')``: every prediction is 1.0. On TensorFlow Keras
#   computes the loss from the logit under the softmax, so the loss curve is
#   the sigmoid control's; JAX scores the 1.0 itself and the loss stays flat.
# * A linear output with binary cross-entropy, and a 2-unit softmax with
#   binary cross-entropy on one-hot labels, train silently to an accuracy
#   near the control's (compare the bars): a good accuracy does not show that
#   the setup is right. Their loss is not the one you meant (outputs clipped
#   into [0, 1]; a softmax's logits read as sigmoids', measured below).
# * C classes into one sigmoid unit: a label of 9 drives "binary
#   cross-entropy" below zero, which no real cross-entropy can be.
# * softmax + ``from_logits=True``: on TensorFlow Keras warns and reuses the
#   cached logits, so it trains exactly like the control; check_setup refuses
#   it anyway, because other backends apply the softmax twice.
# * Which mistakes raise at all depends on the backend: JAX, for one, one-hot
#   encodes an out-of-range label as a row of zeros and says nothing.

# %%
show_markdown(evidence.messages_markdown(outcomes), "What Keras said, and what check_setup says before training")

# %% [markdown]
# Keras can stop on a NaN loss, but only if asked: the
# ``keras.callbacks.TerminateOnNaN`` callback ends ``fit`` at the first NaN
# batch. Here the NaN-label model is fitted again with it.

# %%
history = models["nan_label"].fit(
    X_train,
    train_labels["0/1 labels with a NaN"],
    batch_size=len(X_train),
    epochs=settings.epochs,
    callbacks=[keras.callbacks.TerminateOnNaN()],
    verbose=0,
)
print("with TerminateOnNaN, fit stopped after", len(history.history["loss"]), "of", settings.epochs, "epochs")

# %% [markdown]
# ### A loss that is silently wrong
#
# ``Dense(2, "softmax")`` + ``binary_crossentropy`` on one-hot labels looks
# right: binary cross-entropy averaged over the two columns *is* the
# categorical cross-entropy of two classes. But with the TensorFlow backend a
# Keras softmax output remembers its logits, and Keras's binary cross-entropy
# scores those logits as if each were a sigmoid's. Below, the trained model's
# test loss as ``evaluate`` reports it, next to the same Keras loss function
# called on the predicted probabilities as a plain array (no logits to find),
# a NumPy float64 formula (equal up to how float32 clips probabilities near 0
# and 1) and the categorical cross-entropy.

# %%
model, y_test = models["softmax2_bce_onehot"], test_labels["0/1 one-hot labels"]
probabilities = keras.ops.convert_to_numpy(model.predict(X_test, verbose=0))
reported = model.evaluate(X_test, y_test, verbose=0)
of_probabilities = float(keras.ops.mean(keras.losses.binary_crossentropy(y_test, probabilities)))
categorical = float(keras.ops.mean(keras.losses.categorical_crossentropy(y_test, probabilities)))
reported_table = pd.DataFrame(
    {
        "Keras evaluate": [reported],
        "keras.losses.binary_crossentropy on the probabilities": [of_probabilities],
        "NumPy binary cross-entropy": [evidence.binary_crossentropy(y_test, probabilities)],
        "categorical_crossentropy": [categorical],
    }
)
outputs.save_table(
    show(reported_table, "Test loss of Dense(2, 'softmax') + binary_crossentropy"), settings, "reported_loss"
)

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``05_wrong_setups_claims.json``.

# %%
claims.remember(evidence.claims(outcomes, reported, of_probabilities, keras.backend.backend()), settings)
