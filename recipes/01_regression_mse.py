"""Regression with mean squared error on the Diabetes data.

A one-unit linear output trained with ``loss="mean_squared_error"`` predicts a
number; we compare it with the simplest honest baseline (always predict the
training mean) and read MSE next to MAE, which shows why MSE punishes a few
large errors more than many small ones. This is the first recipe; the rest of
the curriculum builds on its shape (data -> model -> fit -> table -> figure).

Run it: ``python recipes/01_regression_mse.py`` (``--quick`` for a 2-second
look, ``--csv my.csv --target price`` for your own table).
"""

# %% [markdown]
# ## Setup

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
import keras

EPOCHS = 60
QUICK_EPOCHS = 10
BATCH_SIZE = 32
LEARNING_RATE = 0.003
HIDDEN_UNITS = 8
ERRORS_TO_TABULATE = (0.5, 1.0, 2.0, 5.0, 10.0)  # in units of the target


# %% [markdown]
# ## Data
#
# Features are standardized with training statistics only. The target is
# scaled the same way so one learning rate suits any CSV; errors are
# reported back in the target's own units.

# %%
def prepare_data(args):
    """Bundled Diabetes data (or ``--csv``), split and standardized."""
    X, y = cookbook.recipe.load_data(args)
    split = cookbook.recipe.split(args, X, y)
    target = TargetScaler(split.y_train)
    return split, target, str(y.name)


class TargetScaler:
    """Standardize a regression target with its training mean and std."""

    def __init__(self, y_train):
        y_train = np.asarray(y_train, np.float64)
        self.mean, self.std = y_train.mean(), y_train.std() or 1.0

    def scale(self, y):
        return ((np.asarray(y, np.float64) - self.mean) / self.std).astype("float32")

    def unscale(self, y):
        return np.asarray(y, np.float64).ravel() * self.std + self.mean


# %% [markdown]
# ## Model
#
# Regression: one output unit, no activation (a linear output can be any
# real number), ``loss="mean_squared_error"``. MAE is tracked as a metric
# so both numbers are measured on the same predictions.

# %%
def build_model(num_features, seed):
    """A small MLP with a linear one-unit output for regression."""
    model = keras.Sequential([
        keras.Input((num_features,)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu",
                           kernel_initializer=keras.initializers.GlorotUniform(seed)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed + 1)),
    ])
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss="mean_squared_error", metrics=["mean_absolute_error"])
    return model


# %% [markdown]
# ## Train

# %%
def train(model, split, target, epochs):
    """Fit on the training part; the test part is tracked as validation."""
    return model.fit(split.X_train, target.scale(split.y_train), epochs=epochs,
                     batch_size=BATCH_SIZE, verbose=0,
                     validation_data=(split.X_test, target.scale(split.y_test)))


# %% [markdown]
# ## Compare
#
# Against predicting the training mean for everyone: a model that cannot
# beat this has learned nothing.

# %%
def error_contributions(errors=ERRORS_TO_TABULATE):
    """How one residual e adds to each loss: e**2 to MSE, |e| to MAE."""
    errors = np.asarray(errors, dtype=float)
    return pd.DataFrame({
        "error": errors,
        "MSE term e^2": errors**2,
        "MAE term |e|": np.abs(errors),
        "MSE / MAE": errors**2 / np.abs(errors),
    })


def same_mae_different_mse():
    """Two sets of ten residuals with equal MAE: one large miss costs MSE far more."""
    spread = np.full(10, 1.9)                 # ten moderate misses
    one_big = np.array([1.0] * 9 + [10.0])    # nine small misses and one large one
    return pd.DataFrame({
        "residuals": ["ten errors of 1.9", "nine errors of 1, one of 10"],
        "MAE": [np.mean(np.abs(spread)), np.mean(np.abs(one_big))],
        "MSE": [np.mean(spread**2), np.mean(one_big**2)],
    })


def mse_mae(y_true, y_pred):
    """Mean squared and mean absolute error, in float64 NumPy."""
    residual = np.asarray(y_true, np.float64).ravel() - np.asarray(y_pred, np.float64).ravel()
    return float(np.mean(residual**2)), float(np.mean(np.abs(residual)))


def compare_with_mean(model, split, target):
    """Train/test MSE, RMSE and MAE of the model and of the mean baseline."""
    rows = []
    for part, X_part, y_part in (("train", split.X_train, split.y_train),
                                 ("test", split.X_test, split.y_test)):
        predicted = target.unscale(model.predict(X_part, verbose=0))
        baseline = np.full(len(y_part), target.mean)
        for name, guess in (("MLP + MSE loss", predicted), ("predict the mean", baseline)):
            mse, mae = mse_mae(y_part, guess)
            rows.append({"model": name, "part": part, "MSE": mse, "RMSE": np.sqrt(mse), "MAE": mae})
    return pd.DataFrame(rows)


def plot_loss_curve(history, data_name="Diabetes"):
    """Train and test MSE per epoch, on the standardized scale."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    epochs = np.arange(1, len(history.history["loss"]) + 1)
    # Keras's "loss" is the mean over the epoch's batches while the weights still move;
    # "val_loss" is measured after the epoch. Early on that alone puts test below train.
    ax.plot(epochs, history.history["loss"], label="train MSE (mean during the epoch)")
    ax.plot(epochs, history.history["val_loss"], label="test MSE (after the epoch)")
    ax.axhline(1.0, color="grey", linestyle="--", label="predict the mean (train MSE = 1)")
    ax.set(xlabel="epoch", ylabel="MSE (standardized target)", yscale="log",
           title=f"Regression on {data_name}: loss curve")
    ax.legend()
    return fig


# %%
def main(argv=None):
    """Train, compare with the mean baseline, write the tables and the loss curve."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS,
                                         quick_epochs=QUICK_EPOCHS, dataset="diabetes")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)

    split, target, target_name = prepare_data(args)
    model = build_model(split.X_train.shape[1], args.seed)
    history = train(model, split, target, args.epochs)
    table = compare_with_mean(model, split, target)
    contributions = error_contributions()

    cookbook.recipe.print_table(table, f"{args.recipe}: errors in units of {target_name!r}")
    cookbook.recipe.print_table(contributions, "One residual's share of each loss: MSE squares it")
    cookbook.recipe.print_table(same_mae_different_mse(), "Same MAE, different MSE")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(contributions, args, "error_contributions")
    cookbook.recipe.save_table(same_mae_different_mse(), args, "same_mae")
    cookbook.recipe.save_figure(plot_loss_curve(history, cookbook.recipe.data_name(args)), args, "loss_curve")
    return table


if __name__ == "__main__":
    main()
