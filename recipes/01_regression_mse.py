"""Regression with mean squared error on the Diabetes data.

A one-unit linear output trained with ``loss="mean_squared_error"`` predicts a
number; a validation split and ``keras.callbacks.EarlyStopping`` decide when to
stop, and the untouched test set says how good the result is, next to the
simplest honest baseline (always predict the training mean). MSE is read next
to MAE, which shows why squaring punishes a few large errors more than many
small ones. This is the first recipe; the rest of the curriculum builds on its
shape (data -> model -> fit -> table -> figure).

Run it: ``python recipes/01_regression_mse.py`` (``--quick`` for a 2-second
look, ``--csv my.csv --target price`` for your own table).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant here. ``import cookbook``
# comes before ``import keras`` so that TensorFlow's start-up log lines stay
# out of the terminal.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

EPOCHS = 150
QUICK_EPOCHS = 20
BATCH_SIZE = 32
LEARNING_RATE = 0.002
HIDDEN_UNITS = 32
VALIDATION_SPLIT = 0.2  # the last 20% of the (shuffled) training rows
PATIENCE = 10  # epochs without a better validation loss before EarlyStopping stops
ERRORS_TO_TABULATE = (0.5, 1.0, 2.0, 5.0, 10.0)  # in units of the target


# %% [markdown]
# Helpers that measure and draw. They are not the lesson: the Keras code is
# in ``main`` below, one cell per step.


# %%
class TargetScaler:
    """Standardize a regression target with its training mean and std."""

    def __init__(self, y_train):
        y_train = np.asarray(y_train, np.float64)
        self.mean, self.std = y_train.mean(), y_train.std() or 1.0

    def scale(self, y):
        return ((np.asarray(y, np.float64) - self.mean) / self.std).astype("float32")

    def unscale(self, y):
        return np.asarray(y, np.float64).ravel() * self.std + self.mean


def mse_mae(y_true, y_pred):
    """Mean squared and mean absolute error, in float64 NumPy."""
    residual = np.asarray(y_true, np.float64).ravel() - np.asarray(y_pred, np.float64).ravel()
    return float(np.mean(residual**2)), float(np.mean(np.abs(residual)))


def error_contributions(errors=ERRORS_TO_TABULATE):
    """How one residual e adds to each loss: e**2 to MSE, |e| to MAE."""
    errors = np.asarray(errors, dtype=float)
    return pd.DataFrame(
        {
            "error": errors,
            "MSE term e^2": errors**2,
            "MAE term |e|": np.abs(errors),
            "MSE / MAE": errors**2 / np.abs(errors),
        }
    )


def same_mae_different_mse():
    """Two sets of ten residuals with equal MAE: one large miss costs MSE far more."""
    spread = np.full(10, 1.9)  # ten moderate misses
    one_big = np.array([1.0] * 9 + [10.0])  # nine small misses and one large one
    return pd.DataFrame(
        {
            "residuals": ["ten errors of 1.9", "nine errors of 1, one of 10"],
            "MAE": [np.mean(np.abs(spread)), np.mean(np.abs(one_big))],
            "MSE": [np.mean(spread**2), np.mean(one_big**2)],
        }
    )


def plot_loss_curves(full, stopped, data_name="Diabetes"):
    """Train and validation MSE per epoch for the full run, with the early-stopping point marked."""
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    epochs = np.arange(1, len(full.history["loss"]) + 1)
    # Keras's "loss" is the mean over the epoch's batches while the weights still move;
    # "val_loss" is measured after the epoch.
    ax.plot(epochs, full.history["loss"], label="train MSE (mean during the epoch)")
    ax.plot(epochs, full.history["val_loss"], label="validation MSE (after the epoch)")
    best = int(np.argmin(stopped.history["val_loss"])) + 1
    ax.axvline(best, color="black", linestyle=":", label=f"EarlyStopping keeps epoch {best} (patience {PATIENCE})")
    ax.axhline(1.0, color="grey", linestyle="--", label="predict the mean (train MSE = 1)")
    ax.set(
        xlabel="epoch",
        ylabel="MSE (standardized target, log scale)",
        yscale="log",
        title=f"Regression on {data_name}: training past the best epoch",
    )
    ax.legend(fontsize="small")
    return fig


def build_parser():
    return cookbook.recipe.make_parser(
        __doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="diabetes", table=True
    )


# %%
def main(argv=None):
    """Train with and without early stopping, compare on the test set, write tables and the curve."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)

    # %% [markdown]
    # ## Data
    #
    # Three parts, each with one job: **train** (the weights learn from it),
    # **validation** (decides when to stop; carved from the training rows by
    # ``fit(validation_split=...)``) and **test** (touched once, at the end, to
    # report the result). Using the test set to choose the stopping epoch
    # would make its score optimistic.
    #
    # The table is read as it comes: ``load_table`` drops rows with a missing
    # value (``--missing fill`` fills them from the training rows instead)
    # and says so, and marks text columns as categorical. The target is
    # standardized, so one learning rate suits any CSV (errors are reported
    # back in the target's own units).

    # %%
    table = cookbook.recipe.load_table(args, "regression")
    for note in table.notes:
        print(note)
    parts = cookbook.recipe.split_table(args, table)
    cookbook.recipe.show(parts.train.head(), "The first training rows, as read")

    # %% [markdown]
    # Keras's preprocessing layers turn those columns into numbers, and they
    # learn what they need from the **training rows only** (``adapt``), so
    # nothing about the test rows leaks in: ``Normalization`` learns each
    # numeric column's mean and variance, ``StringLookup`` each categorical
    # column's values, and ``output_mode="one_hot"`` gives one 0/1 input per
    # value (plus one for a value never seen in training).

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
    target = TargetScaler(parts.y_train)
    y_train = target.scale(parts.y_train)
    print(
        f"{len(y_train)} training rows (of which {VALIDATION_SPLIT:.0%} validation), {len(X_test)} test rows; "
        f"{len(numeric)} numeric and {len(categorical)} categorical column(s) become {X_train.shape[1]} inputs; "
        f"target {table.target_name!r}"
    )

    # %% [markdown]
    # ## Model
    #
    # Regression: one output unit with no activation (a linear output can be
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
            optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mean_squared_error", metrics=["mean_absolute_error"]
        )
        return model

    keras.utils.set_random_seed(args.seed)
    model = build_model()
    model.summary()

    # %% [markdown]
    # ## Train
    #
    # First the naive way: ``fit`` for every epoch. ``validation_split`` holds
    # back the last 20% of the training rows (the split already shuffled
    # them) and reports ``val_loss`` after each epoch.

    # %%
    full = model.fit(
        X_train, y_train, epochs=args.epochs, batch_size=BATCH_SIZE, validation_split=VALIDATION_SPLIT, verbose=0
    )
    full_model = model
    print(
        f"{len(full.history['loss'])} epochs: train MSE {full.history['loss'][-1]:.3f}, "
        f"validation MSE {full.history['val_loss'][-1]:.3f} (standardized target)"
    )

    # %% [markdown]
    # Then the same model, from the same starting weights, with
    # ``EarlyStopping``: it stops once ``val_loss`` has not improved for
    # ``PATIENCE`` epochs and, with ``restore_best_weights=True``, puts back
    # the weights of the best epoch (without it you would keep the last,
    # worse ones).

    # %%
    keras.utils.set_random_seed(args.seed)
    model = build_model()
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    stopped = model.fit(
        X_train,
        y_train,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        validation_split=VALIDATION_SPLIT,
        callbacks=[early_stopping],
        verbose=0,
    )
    ran = len(stopped.history["loss"])
    print(
        f"{'stopped after' if ran < args.epochs else 'ran all'} {ran} epochs; restored the weights of epoch "
        f"{int(np.argmin(stopped.history['val_loss'])) + 1} (validation MSE {min(stopped.history['val_loss']):.3f})"
    )

    # %% [markdown]
    # ## Compare
    #
    # The test set, once, for both models and for the baseline "predict the
    # training mean for everyone": a model that cannot beat it has learned
    # nothing. In the figure, look for an epoch where the validation curve
    # stops falling while the training curve keeps going down. Past such a
    # point the network fits the noise of its training rows rather than the
    # pattern, which is what early stopping guards against; the table says
    # whether the run that kept going paid for it on the test set this time.

    # %%
    val = np.asarray(full.history["val_loss"])
    best_epoch = int(np.argmin(val)) + 1
    rows = []
    for name, fitted, epochs_run in (
        ("MLP, all epochs", full_model, len(val)),
        ("MLP, EarlyStopping", model, len(stopped.history["loss"])),
    ):
        for part, X_part, y_part in (("train", X_train, parts.y_train), ("test", X_test, parts.y_test)):
            mse, mae = mse_mae(y_part, target.unscale(fitted.predict(X_part, verbose=0)))
            rows.append(
                {"model": name, "epochs run": epochs_run, "part": part, "MSE": mse, "RMSE": np.sqrt(mse), "MAE": mae}
            )
    for part, y_part in (("train", parts.y_train), ("test", parts.y_test)):
        mse, mae = mse_mae(y_part, np.full(len(y_part), target.mean))
        rows.append(
            {"model": "predict the mean", "epochs run": 0, "part": part, "MSE": mse, "RMSE": np.sqrt(mse), "MAE": mae}
        )
    table = cookbook.recipe.show(pd.DataFrame(rows), f"{args.recipe}: errors in units of {table.target_name!r}")
    cookbook.recipe.save_table(table, args)
    history = pd.concat(
        [
            pd.DataFrame(
                {
                    "run": name,
                    "epoch": np.arange(1, len(h.history["loss"]) + 1),
                    "train MSE": h.history["loss"],
                    "validation MSE": h.history["val_loss"],
                }
            )
            for name, h in (("all epochs", full), ("EarlyStopping", stopped))
        ]
    )
    cookbook.recipe.save_table(history, args, "history")
    cookbook.recipe.save_figure(plot_loss_curves(full, stopped, cookbook.recipe.data_name(args)), args, "loss_curve")

    # %% [markdown]
    # Why MSE and not MAE? One residual ``e`` adds ``e**2`` to MSE and
    # ``|e|`` to MAE: an error twice as large costs four times as much. Two
    # sets of residuals with the same MAE show it.

    # %%
    contributions = cookbook.recipe.show(error_contributions(), "One residual's share of each loss: MSE squares it")
    same_mae = cookbook.recipe.show(same_mae_different_mse(), "Same MAE, different MSE")
    cookbook.recipe.save_table(contributions, args, "error_contributions")
    cookbook.recipe.save_table(same_mae, args, "same_mae")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by = table.set_index(["model", "part"])["MSE"]
    cookbook.recipe.remember(
        [
            f"Dense(1) with no activation + loss='mean_squared_error' is regression: test MSE "
            f"{by['MLP, EarlyStopping', 'test']:.4g} against {by['predict the mean', 'test']:.4g} for "
            f"predicting the mean.",
            f"Validation MSE was lowest at epoch {best_epoch} ({val.min():.3g}) and {val[-1]:.3g} after "
            f"epoch {len(val)}. Test MSE after all {len(val)} epochs: {by['MLP, all epochs', 'test']:.4g}, "
            f"{'worse' if by['MLP, all epochs', 'test'] > by['MLP, EarlyStopping', 'test'] else 'not worse'} "
            f"than the early-stopped model's {by['MLP, EarlyStopping', 'test']:.4g}.",
            (
                f"EarlyStopping(restore_best_weights=True) stopped after {len(stopped.history['loss'])} of "
                f"{args.epochs} epochs"
                if len(stopped.history["loss"]) < args.epochs
                else f"EarlyStopping never ran out of patience in {args.epochs} epochs"
            )
            + " and restored the best epoch's weights; the test set was used once, at the end.",
            f"MSE squares errors: residuals with the same MAE ({same_mae['MAE'].iloc[0]:.2g}) have MSE "
            f"{same_mae['MSE'].iloc[0]:.3g} when spread out and {same_mae['MSE'].iloc[1]:.3g} with one miss of 10.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
