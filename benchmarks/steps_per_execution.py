"""Steps per second of ``model.fit`` at batch sizes 1, 32 and N, with and without ``steps_per_execution``.

With ``batch_size=1`` (pure SGD) every update is tiny, so the time goes to
Keras's per-step overhead: by default ``fit`` returns to Python after each
step (callbacks, logs, the next call into the graph).
``compile(steps_per_execution=K)`` runs K steps per call into the compiled
graph; ``jit_compile`` chooses XLA. This script trains the same logistic
regression (a 4,000-sample, 8-feature binary problem by default) from the
same starting weights under each setting, side by side in one run, and
prints steps per second, the speed-up over Keras's default, and the largest
weight difference from the default run (the settings must not change the
result).

Run it: ``python benchmarks/steps_per_execution.py`` (about a minute;
``--quick`` for a smaller problem). Timings depend on the machine and its
load; the load average is printed with the results.
"""

import argparse
import math
import os
import time

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.display

import keras
import numpy as np
import pandas as pd

LEARNING_RATE = 0.01
MINIBATCH_SIZE = 32
MIN_TIMED_STEPS = 200  # repeat epochs until at least this many updates are timed,
MAX_TIMED_EPOCHS = 20  # but no more epochs than this (batch GD makes one update per epoch)
# (label, steps_per_execution, jit_compile); "auto" is Keras's default and means XLA on
# for this model with the TensorFlow backend.
SETTINGS = [
    ("default (spe=1, jit auto)", 1, "auto"),
    ("spe=1, jit off", 1, False),
    ("spe=K, jit off", None, False),
    ("spe=K, jit auto", None, "auto"),
]


def make_data(n_samples, n_features, seed):
    """A linearly separable-ish binary problem: labels from a noisy random hyperplane."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype("float32")
    logits = X @ rng.standard_normal(n_features) + 0.5 * rng.standard_normal(n_samples)
    return X, (logits > 0).astype("float32")


def build_model(n_features, steps_per_execution, jit_compile, seed):
    """Logistic regression with plain SGD, compiled with the setting under test."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(seed)),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss="binary_crossentropy",
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model


def time_setting(X, y, batch_size, steps_per_execution, jit_compile, seed):
    """Steps per second of ``fit`` after an untimed warm-up epoch, and the final weights."""
    model = build_model(X.shape[1], steps_per_execution, jit_compile, seed)
    start = model.get_weights()
    fit = dict(batch_size=batch_size, shuffle=False, verbose=0)  # same order for every setting
    model.fit(X, y, epochs=1, **fit)  # tracing and XLA compilation happen here, untimed
    model.set_weights(start)
    model.optimizer.iterations.assign(0)
    steps_per_epoch = math.ceil(len(X) / batch_size)
    epochs = min(MAX_TIMED_EPOCHS, math.ceil(MIN_TIMED_STEPS / steps_per_epoch))
    began = time.perf_counter()
    model.fit(X, y, epochs=epochs, **fit)
    seconds = time.perf_counter() - began
    steps = int(model.optimizer.iterations)
    return steps / seconds, steps, np.concatenate([w.ravel() for w in model.get_weights()])


def benchmark(n_samples, n_features, spe, seed):
    """One row per (batch size, setting): steps/s, speed-up over the default, weight difference."""
    X, y = make_data(n_samples, n_features, seed)
    rows = []
    for batch_size in (1, MINIBATCH_SIZE, n_samples):
        results = {}
        for label, steps_per_execution, jit_compile in SETTINGS:
            results[label] = time_setting(X, y, batch_size, steps_per_execution or spe, jit_compile, seed)
        default_speed, _, default_weights = results[SETTINGS[0][0]]
        for label, (speed, steps, weights) in results.items():
            rows.append(
                {
                    "batch_size": batch_size,
                    "setting": label.replace("K", str(spe)),
                    "timed steps": steps,
                    "steps/s": speed,
                    "samples/s": speed * batch_size,
                    "x default": speed / default_speed,
                    "max |w - w_default|": float(np.abs(weights - default_weights).max()),
                }
            )
    return pd.DataFrame(rows)


def main(argv=None):
    """Run the benchmark and print (and save) its table."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000, help="rows of the binary problem (default: 4000)")
    parser.add_argument("--features", type=int, default=8, help="features (default: 8)")
    parser.add_argument("--spe", type=int, default=100, help="steps_per_execution to test (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--quick", action="store_true", help="1,000 samples instead of 4,000")
    parser.add_argument("--out", default=None, help="folder to also write the table as CSV and Markdown")
    args = parser.parse_args(argv)
    n_samples = 1000 if args.quick else args.samples
    load = os.getloadavg()[0]
    table = benchmark(n_samples, args.features, args.spe, args.seed)
    cookbook.display.print_table(
        table,
        f"steps_per_execution benchmark: {n_samples} x {args.features} binary problem, "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start",
    )
    sgd = table[table["batch_size"] == 1].set_index("setting")
    best = sgd["x default"].idxmax()
    print(
        f"\nbatch_size=1: {best!r} runs {sgd.loc[best, 'x default']:.2f}x the default's steps/s; "
        f"largest weight difference from the default over all settings: "
        f"{table['max |w - w_default|'].max():.2g}"
    )
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        table.to_csv(os.path.join(args.out, "steps_per_execution.csv"), index=False)
        with open(os.path.join(args.out, "steps_per_execution.md"), "w", encoding="utf-8") as md:
            md.write(cookbook.display.to_markdown(table) + "\n")
    return table


if __name__ == "__main__":
    main()
