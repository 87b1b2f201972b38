"""Regression with mean squared error on the Diabetes data.

A one-unit linear output trained with ``loss="mean_squared_error"`` predicts
a number; validation rows and ``keras.callbacks.EarlyStopping`` decide when
to stop, and the untouched test set says how good the result is, next to the
simplest honest baseline (always predict the training mean). MSE is read next
to MAE: squaring punishes a few large errors more than many small ones, and
the two can rank the same models differently.

Run it: ``python recipes/01_regression_mse.py`` (``--quick`` for a 2-second
look, ``--csv my.csv --target price`` for your own table). What this lesson
measures lives in ``cookbook/lessons/regression_mse.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. The cookbook is imported before Keras so that
# TensorFlow's start-up log lines stay out of the output.

# %%
from cookbook import ReshuffledArrays, claims, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import regression_mse as evidence
from cookbook.settings import from_command_line

import keras
import numpy as np

settings = from_command_line(
    __doc__,
    "01_regression_mse",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=150,
    quick_epochs=20,
    data="diabetes",
    table=True,
)
BATCH_SIZE = 32
LEARNING_RATE = 0.002
HIDDEN_UNITS = 32
VALIDATION_SPLIT = 0.2  # the last 20% of the (shuffled) training rows
PATIENCE = 10  # epochs without a better validation loss before EarlyStopping stops

# %% [markdown]
# ## Data
#
# Three parts, each with one job: **train** (the weights learn from it),
# **validation** (decides when to stop; the last 20% of the training rows,
# the rows ``fit(validation_split=0.2)`` would hold back) and **test**
# (touched once, at the end).
# Choosing the stopping epoch on the test set would make its score
# optimistic. ``load_table`` drops rows with a missing value (``--missing
# fill`` fills them from the training rows) and says so.

# %%
table = loading.load_table(settings, "regression")
for note in table.notes:
    print(note)
parts = loading.split_table(settings, table)
show(parts.train.head(), "The first training rows, as read")

# %% [markdown]
# Keras's preprocessing layers turn the columns into numbers, learning what
# they need from the **training rows only** (``adapt``): ``Normalization``
# each numeric column's mean and variance, ``StringLookup`` each categorical
# column's values (one 0/1 input per value, plus one for a value never seen
# in training). The target is standardized too, so one learning rate suits
# any CSV; errors are reported back in the target's own units.

# %%
numeric = [column for column, kind in table.kinds.items() if kind == "numeric"]
categorical = [column for column, kind in table.kinds.items() if kind == "categorical"]
normalize = keras.layers.Normalization()
if numeric:
    normalize.adapt(parts.train[numeric].to_numpy("float32"))
lookups = {column: keras.layers.StringLookup(output_mode="one_hot") for column in categorical}
for column, lookup in lookups.items():
    lookup.adapt(parts.train[column].astype(str).to_numpy())


def encode(frame):
    inputs = [normalize(frame[numeric].to_numpy("float32"))] if numeric else []
    inputs += [lookup(frame[column].astype(str).to_numpy()) for column, lookup in lookups.items()]
    return keras.ops.convert_to_numpy(keras.ops.concatenate(inputs, axis=-1))


X_train, X_test = encode(parts.train), encode(parts.test)
target = evidence.TargetScaler(parts.y_train)
y_train = target.scale(parts.y_train)
cut = int(len(X_train) * (1 - VALIDATION_SPLIT))  # where fit(validation_split=...) would cut
X_fit, y_fit, X_val, y_val = X_train[:cut], y_train[:cut], X_train[cut:], y_train[cut:]
print(f"{len(X_train)} training rows ({len(X_val)} of them validation), {len(X_test)} test rows")
print(f"{len(numeric)} numeric, {len(categorical)} categorical column(s) -> {X_train.shape[1]} inputs")

# %% [markdown]
# ## Model
#
# Regression: one output unit with **no activation** (a linear output can be
# any real number) and ``loss="mean_squared_error"``. MAE is tracked as a
# metric, so both numbers come from the same predictions.


# %%
def build_model():
    model = keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


keras.utils.set_random_seed(settings.seed)
model = build_model()
model.summary()

# %% [markdown]
# ## Train
#
# First the naive way: every epoch. ``validation_data`` is scored after
# each epoch and reported as ``val_loss``.
#
# The batches come from ``cookbook.ReshuffledArrays``: ``batch_size`` rows
# at a time, in a new order every epoch and the same orders in every run
# (on the TensorFlow backend a seeded ``fit(X, y, shuffle=True)`` would
# repeat one order every epoch; lesson 07 measures it), with
# ``shuffle=False`` so that ``fit`` leaves that order alone. ``fit`` cannot
# cut validation rows off a dataset object, so they go in as
# ``validation_data`` instead of ``validation_split``.

# %%
full = model.fit(
    ReshuffledArrays(X_fit, y_fit, batch_size=BATCH_SIZE, seed=settings.seed),
    validation_data=(X_val, y_val),
    epochs=settings.epochs,
    shuffle=False,
    verbose=0,
)
full_model = model
print(f"{len(full.history['loss'])} epochs: validation MSE {full.history['val_loss'][-1]:.3f} (standardized)")

# %% [markdown]
# Then the same model, from the same starting weights, with
# ``EarlyStopping``: it stops once ``val_loss`` has not improved for
# ``PATIENCE`` epochs and, with ``restore_best_weights=True``, puts back the
# best epoch's weights (without it you keep the last, worse ones).

# %%
keras.utils.set_random_seed(settings.seed)
model = build_model()
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
stopped = model.fit(
    ReshuffledArrays(X_fit, y_fit, batch_size=BATCH_SIZE, seed=settings.seed),
    validation_data=(X_val, y_val),
    epochs=settings.epochs,
    shuffle=False,
    callbacks=[early_stopping],
    verbose=0,
)
best_epoch = int(np.argmin(stopped.history["val_loss"])) + 1
print(f"ran {len(stopped.history['loss'])} epochs; restored epoch {best_epoch}'s weights")

# %% [markdown]
# ## Compare
#
# The test set, once, for both models and for the baseline "predict the
# training mean for everyone": a model that cannot beat it has learned
# nothing. In the figure, look for the epoch where the validation curve stops
# falling while the training curve keeps going down: past it the network fits
# the noise of its training rows.

# %%
FULL, STOPPED = "MLP, all epochs", "MLP, EarlyStopping"
predictions = {
    name: {part: target.unscale(fitted.predict(X, verbose=0)) for part, X in (("train", X_train), ("test", X_test))}
    for name, fitted in ((FULL, full_model), (STOPPED, model))
}
errors = evidence.errors_table(
    predictions,
    truth={"train": parts.y_train, "test": parts.y_test},
    epochs_run={FULL: len(full.history["loss"]), STOPPED: len(stopped.history["loss"])},
    train_mean=target.mean,
)
show(errors, f"Errors in units of {table.target_name!r}")
outputs.save_table(errors, settings)
outputs.save_table(
    evidence.history_table({"all epochs": full.history, "EarlyStopping": stopped.history}), settings, "history"
)
figure = evidence.plot_loss_curves(full.history, stopped.history, PATIENCE, settings.data_name)
outputs.save_figure(figure, settings, "loss_curve")

# %% [markdown]
# Why MSE and not MAE? One residual ``e`` adds ``e**2`` to MSE and ``|e|``
# to MAE: an error twice as large costs four times as much. Two sets of
# residuals with the same MAE show it. Look back at the test rows above too:
# the model with the lower MSE need not have the lower MAE (whether it did
# in this run is one of the points to remember below).

# %%
outputs.save_table(
    show(evidence.error_contributions(), "One residual's share of each loss"), settings, "error_contributions"
)
outputs.save_table(show(evidence.same_mae_different_mse(), "Same MAE, different MSE"), settings, "same_mae")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``01_regression_mse_claims.json``.

# %%
claims.remember(evidence.claims(errors, FULL, STOPPED, settings.epochs), settings)
