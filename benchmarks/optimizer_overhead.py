"""Epoch time of the cookbook optimizers versus Keras's built-ins in ``model.fit``.

For each optimizer, with ``jit_compile`` off and on, two identical models
(one per optimizer) are warmed up (the first epoch traces and compiles),
then timed one epoch at a time, interleaved, so that a slow spell of a
shared machine hits both alike. A third model with a second built-in is an
A/A control: its ratio to the first built-in shows the machine's noise. The
fastest epoch of each and their ratio are printed (with the ratio of the
medians); the target is ``custom / built-in <= 1.03``.

Run it: ``python benchmarks/optimizer_overhead.py`` (``--repeats 15`` for
steadier medians on a busy machine). Not run by the tests.
"""

import argparse
import statistics
import time

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.display
import cookbook.optimizers

import keras
import numpy as np
import pandas as pd

SAMPLES, FEATURES, CLASSES = 4096, 64, 10
HIDDEN = (256, 256)  # ~85k weights: enough that the update step is a visible share of an epoch
BATCH_SIZE = 64  # 64 optimizer steps per epoch
REPEATS = 9
TARGET_RATIO = 1.03
SETTINGS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True},
    "Adagrad": {"learning_rate": 0.05},
    "RMSprop": {"learning_rate": 0.001, "momentum": 0.5, "centered": True},
    "Adam": {"learning_rate": 0.001, "amsgrad": True},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "amsgrad": True},
    "Nadam": {"learning_rate": 0.001},
    "Lion": {"learning_rate": 0.0003},
}


def build(optimizer, jit_compile):
    """A compiled MLP classifier with a fixed seed."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((FEATURES,))]
        + [keras.layers.Dense(units, activation="relu") for units in HIDDEN]
        + [keras.layers.Dense(CLASSES)]
    )
    model.compile(
        optimizer=optimizer, jit_compile=jit_compile, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def epoch_seconds(model, X, y):
    """Wall time of one ``fit`` epoch."""
    start = time.perf_counter()
    model.fit(X, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - start


def graph_ops(optimizer):
    """Number of TensorFlow ops in one traced ``optimizer.apply`` on this benchmark's weights.

    Unlike a time, this count is exact on a busy machine: equal counts mean the
    two optimizers hand TensorFlow the same amount of work.
    """
    import tensorflow as tf

    model = build(optimizer, jit_compile=False)
    variables = model.trainable_variables
    optimizer.build(variables)
    grads = [tf.TensorSpec(v.shape, v.dtype) for v in variables]
    traced = tf.function(lambda *g: optimizer.apply(list(g), variables)).get_concrete_function(*grads)
    return len(traced.graph.get_operations())


def measure(name, jit_compile, X, y, repeats):
    """Fastest epoch times of the cookbook optimizer, its twin, and a second twin (control)."""
    models = {
        "custom": build(getattr(cookbook.optimizers, name)(**SETTINGS[name]), jit_compile),
        "builtin": build(getattr(keras.optimizers, name)(**SETTINGS[name]), jit_compile),
        # A/A control: the same built-in twice shows how far the machine's noise alone
        # moves a ratio; a custom/built-in ratio inside that spread is no overhead.
        "control": build(getattr(keras.optimizers, name)(**SETTINGS[name]), jit_compile),
    }
    for model in models.values():
        epoch_seconds(model, X, y)  # warm-up: tracing (and XLA compilation) happen here
    times = {role: [] for role in models}
    roles = list(models)
    for repeat in range(repeats):
        for role in roles[repeat % 3 :] + roles[: repeat % 3]:  # rotate who goes first
            times[role].append(epoch_seconds(models[role], X, y))
    # The fastest epoch is the one least disturbed by other work on the machine (as timeit
    # argues); the ratio of medians is printed too, to show how noisy the machine was.
    best = {role: min(seconds) for role, seconds in times.items()}
    median = {role: statistics.median(seconds) for role, seconds in times.items()}
    return {
        "optimizer": name,
        "jit_compile": jit_compile,
        "custom_best_s": best["custom"],
        "builtin_best_s": best["builtin"],
        "ratio_best": best["custom"] / best["builtin"],
        "ratio_median": median["custom"] / median["builtin"],
        "control_ratio_best": best["control"] / best["builtin"],
        "within_3%": best["custom"] / best["builtin"] <= TARGET_RATIO,
    }


def main(argv=None):
    """Measure every optimizer with jit off and on; print the table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"timed epochs per optimizer (default: {REPEATS})")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, size=SAMPLES)
    ops = pd.DataFrame(
        [
            {
                "optimizer": name,
                "custom_graph_ops": graph_ops(getattr(cookbook.optimizers, name)(**config)),
                "builtin_graph_ops": graph_ops(getattr(keras.optimizers, name)(**config)),
            }
            for name, config in SETTINGS.items()
        ]
    )
    cookbook.display.print_table(ops, "Ops in one traced optimizer.apply (exact, noise-free)")
    rows = [measure(name, jit, X, y, args.repeats) for jit in (False, True) for name in SETTINGS]
    table = pd.DataFrame(rows)
    cookbook.display.print_table(
        table,
        f"Fastest of {args.repeats} interleaved epochs ({SAMPLES // BATCH_SIZE} steps each): "
        f"custom / built-in, and built-in / built-in as a control",
    )
    geometric_mean = float(np.exp(np.log(table["ratio_best"]).mean()))
    print(f"\ngeometric mean of the best-epoch ratios: {geometric_mean:.4f} (target <= {TARGET_RATIO})")
    return table


if __name__ == "__main__":
    main()
