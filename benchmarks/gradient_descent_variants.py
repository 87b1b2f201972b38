"""Time and memory of batch, stochastic and mini-batch gradient descent in ``model.fit`` (lesson 07).

The same linear regression (``Dense(1)``, ``keras.optimizers.SGD``, 5
features) on the same rows, side by side in one run, at ``batch_size``
N (batch GD), 1 (stochastic) and 32 (mini-batch): the median seconds per
update (after an untimed warm-up call that traces and compiles the step),
the seconds per epoch (updates per epoch x seconds per update; a whole
stochastic epoch on 200,000 rows would take minutes), and the ratios to
batch GD. Stochastic and mini-batch GD run with
``compile(steps_per_execution=100)``, which removes the Python round trip
per update (``benchmarks/steps_per_execution.py``), not the work the graph
does per update. ``--memory`` adds the peak memory ``fit`` adds at each
batch size, each measured in a fresh process on the same rows (Linux).

Run it: ``python benchmarks/gradient_descent_variants.py`` (about a minute;
``--quick`` for 20,000 rows; ``--memory`` adds about 10 s per batch size).
Timings depend on the machine and its load; the load average is printed.
"""

import argparse
import os
import sys
import time

import cookbook  # noqa: F401  (first: imports TensorFlow with its start-up log lines hidden)
from cookbook import display, processes
from cookbook.lessons.gradient_descent_variants import make_linear_data, updates_per_epoch

import keras
import numpy as np
import pandas as pd

FEATURES = 5
MINIBATCH_SIZE = 32
LEARNING_RATE = 0.01
TIMED_UPDATES = 300  # updates timed at batch sizes 1 and 32
TIMED_FULL_BATCH = 10  # full-batch updates timed (one per epoch)
STEPS_PER_EXECUTION = 100
MEMORY_STEPS = 3  # updates per memory probe


class UpdateTimer(keras.callbacks.Callback):
    """Seconds of each call into the compiled step, and the updates it made (from ``optimizer.iterations``)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.updates = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.before = int(self.model.optimizer.iterations)
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        after = int(self.model.optimizer.iterations)  # waits for the step to finish
        self.seconds.append(time.perf_counter() - self.started)
        self.updates.append(after - self.before)

    @property
    def seconds_per_update(self):
        """Median over the timed calls of seconds / updates (the median resists a busy machine)."""
        return float(np.median(np.asarray(self.seconds) / np.asarray(self.updates)))


def build_model(steps_per_execution):
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss="mean_squared_error",
        steps_per_execution=steps_per_execution,
    )
    return model


def time_batch_size(X, y, batch_size, seed):
    """Median seconds per update of ``fit`` at ``batch_size``, after an untimed warm-up call."""
    keras.utils.set_random_seed(seed)
    full = batch_size == len(X)
    spe = 1 if full else STEPS_PER_EXECUTION
    model = build_model(spe)
    model.fit(X, y, batch_size=batch_size, epochs=1, steps_per_epoch=spe, shuffle=False, verbose=0)  # warm-up
    timer = UpdateTimer()
    steps = TIMED_FULL_BATCH if full else TIMED_UPDATES
    per_epoch = updates_per_epoch(len(X), batch_size)
    model.fit(
        X,
        y,
        batch_size=batch_size,
        epochs=max(1, steps // per_epoch),
        steps_per_epoch=min(steps, per_epoch),
        callbacks=[timer],
        verbose=0,
    )
    return spe, timer.seconds_per_update


def _status_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB -> MB
    raise RuntimeError(f"/proc/self/status has no {field}; --memory needs Linux")


def memory_probe(batch_size, rows, seed):
    """In a fresh process: print the resident MB before ``fit`` and the peak during a few updates."""
    X, y = make_linear_data(rows, FEATURES, seed=seed)  # the same rows for every batch size
    model = build_model(1)
    try:  # reset the peak (VmHWM) to the current RSS, Linux 4.0+
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass
    before = _status_mb("VmRSS")
    steps = min(MEMORY_STEPS, updates_per_epoch(rows, batch_size))
    model.fit(X, y, batch_size=batch_size, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    print(f"{before:.3f} {_status_mb('VmHWM'):.3f}")


def peak_fit_memory(batch_size, rows, seed):
    """MB that ``fit`` adds to a fresh process's resident memory at ``batch_size``, and the process's peak."""
    command = [sys.executable, os.path.abspath(__file__), "--probe", str(batch_size), "--rows", str(rows)]
    result = processes.run(command + ["--seed", str(seed)], timeout=300)
    before, peak = map(float, result.stdout.split()[-2:])
    return peak - before, peak


def benchmark(rows, seed, memory):
    """One row per variant: seconds per update and per epoch, ratios to batch GD, and (optionally) memory."""
    X, y = make_linear_data(rows, FEATURES, seed=seed)
    table = []
    for variant, batch_size in (("batch GD", rows), ("stochastic GD", 1), ("mini-batch GD", MINIBATCH_SIZE)):
        spe, per_update = time_batch_size(X, y, batch_size, seed)
        row = {
            "variant": variant,
            "batch_size": batch_size,
            "steps_per_execution": spe,
            "s/update": per_update,
            "updates/epoch": updates_per_epoch(rows, batch_size),
            "s/epoch": per_update * updates_per_epoch(rows, batch_size),
            "us/row": 1e6 * per_update / batch_size,
        }
        if memory:
            row["MB added by fit"], row["peak MB"] = peak_fit_memory(batch_size, rows, seed)
        table.append(row)
    table = pd.DataFrame(table)
    full = table.iloc[0]
    table["s/update vs batch GD"] = table["s/update"] / full["s/update"]
    table["s/epoch vs batch GD"] = table["s/epoch"] / full["s/epoch"]
    if memory:
        table["MB added vs batch GD"] = table["MB added by fit"] / full["MB added by fit"]
    return table


def main(argv=None):
    """Run the benchmark and print its table and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the data (default: 200,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    parser.add_argument("--memory", action="store_true", help="also the peak memory of fit, a fresh process each")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default=None, help="folder to also write the table as CSV and Markdown")
    parser.add_argument("--probe", type=int, default=None, help=argparse.SUPPRESS)  # one memory probe (internal)
    args = parser.parse_args(argv)
    rows = 20_000 if args.quick else args.rows
    if args.probe is not None:
        return memory_probe(args.probe, rows, args.seed)
    load = os.getloadavg()[0]
    table = benchmark(rows, args.seed, args.memory)
    display.print_table(
        table, f"gradient descent variants: {rows:,} rows x {FEATURES}, {os.cpu_count()} CPUs, load {load:.2f} at start"
    )
    t = table.set_index("variant")
    print(
        f"\nPer update: a batch_size=1 update took {t.loc['stochastic GD', 's/update vs batch GD']:.2g}x and a "
        f"batch_size=32 update {t.loc['mini-batch GD', 's/update vs batch GD']:.2g}x the time of a full-batch update."
        f"\nPer epoch: stochastic GD took {t.loc['stochastic GD', 's/epoch vs batch GD']:,.0f}x and mini-batch GD "
        f"{t.loc['mini-batch GD', 's/epoch vs batch GD']:,.0f}x the time of batch GD; a batch_size=1 update cost "
        f"{t.loc['stochastic GD', 'us/row'] / t.loc['batch GD', 'us/row']:,.0f}x one row's share of a full-batch update."
    )
    if args.memory:
        print(
            "Memory fit adds, relative to batch GD: "
            + ", ".join(f"{v} {r:.2f}x" for v, r in t["MB added vs batch GD"].items())
        )
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        table.to_csv(os.path.join(args.out, "gradient_descent_variants.csv"), index=False)
        with open(os.path.join(args.out, "gradient_descent_variants.md"), "w", encoding="utf-8") as md:
            md.write(display.to_markdown(table) + "\n")
    return table


if __name__ == "__main__":
    main()
