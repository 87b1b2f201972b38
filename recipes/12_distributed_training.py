"""Distributed training: MirroredStrategy on two logical CPUs, then two workers on localhost.

The same small classifier trains on one device, mirrored over two replicas, and
as a two-process MultiWorkerMirroredStrategy cluster; the weights agree up to
float rounding when the global batch (batch_size = per-replica batch x replicas)
splits evenly, and the cookbook optimizers match their Keras twins under the
strategy. It builds on the cookbook optimizers (recipe 11) and on recipe 01's
shape; it also shows the scope mistake users meet and how the worker script
runs on real hosts. Run it: ``python recipes/12_distributed_training.py --quick``.
"""

# %% [markdown]
# ## Setup
#
# Two logical CPU devices stand in for two GPUs. TensorFlow accepts that split
# only before its runtime starts, so this recipe asks for it first thing in
# `main`; when it is too late (another recipe already ran in this process, as
# in `python -m cookbook tour`), the mirrored part re-runs this very file in a
# fresh Python process and reads its tables back. The multi-worker part always
# runs as separate processes: one per worker, exactly as on real hosts.

# %%
import contextlib
import json
import pathlib
import sys
import tempfile

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.distribute
import cookbook.recipe
import keras

REPLICAS = 2  # logical CPUs (or the GPUs you have) MirroredStrategy mirrors over
GLOBAL_BATCH = 32  # what fit(batch_size=...) means under a strategy ...
PER_REPLICA_BATCH = GLOBAL_BATCH // REPLICAS  # ... each replica computes gradients on this many rows
HIDDEN_UNITS = 8
LEARNING_RATE = 0.01
EPOCHS = 3
QUICK_EPOCHS = 1
OPTIMIZERS = cookbook.distribute.OPTIMIZER_NAMES  # SGD, Momentum, Adagrad, RMSprop, Adam
QUICK_OPTIMIZERS = ("Adam",)  # ~2.5 s of CPU per optimizer; every twin: run without --quick
TWIN_TOLERANCE = 1e-6  # cookbook twin vs Keras built-in, both under the strategy
DEVICE_TOLERANCE = 1e-5  # mirrored (or multi-worker) vs one device: float rounding only
WORKERS = 2
WORKER_OPTIMIZER = "Adam"
COLLECTIVE_TIMEOUT = 30.0  # s a worker waits in one all-reduce before it gives up
PROCESS_TIMEOUT = 300.0  # s before the launcher kills a child (generous: a busy laptop imports TF slowly)


# %% [markdown]
# ## Data
#
# Breast-cancer diagnosis (binary), standardized. The 427 training rows are an
# odd number on purpose: the batch arithmetic below shows what that does.

# %%
def prepare_data(seed):
    """Standardized breast-cancer training rows ``X`` and a float32 label column ``y``."""
    X, y = cookbook.load_dataset("breast_cancer")
    split = cookbook.split_and_standardize(X, y, seed=seed, stratify=True)
    return split.X_train, np.asarray(split.y_train, np.float32).reshape(-1, 1)


def batch_table(num_rows, replicas):
    """What ``batch_size=32`` and ``batch_size=len(X)`` mean for ``num_rows`` rows over ``replicas``."""
    rows = []
    for label, batch_size in (("32", GLOBAL_BATCH), ("len(X)", num_rows)):
        plan = cookbook.distribute.batch_arithmetic(num_rows, batch_size, replicas)
        rows.append({"batch_size": label, "rows": num_rows, "global batch": plan["global_batch"],
                     "per replica": plan["per_replica"], "steps/epoch": plan["steps"],
                     "last step split": plan["last_split"], "every step even": plan["even"]})
    return pd.DataFrame(rows)


# %% [markdown]
# ## Model
#
# Seeded initializers, so every build starts from the same weights: one device,
# two replicas and two workers all begin at the same point. Under a strategy the
# model AND its optimizer must be created inside `strategy.scope()` -- the
# variables are created there, one mirrored copy per replica.

# %%
def build_model(num_features, seed):
    """A small MLP with a sigmoid output, uncompiled; the same weights for the same seed."""
    return keras.Sequential([
        keras.Input((num_features,)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu",
                           kernel_initializer=keras.initializers.GlorotUniform(seed)),
        keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(seed + 1)),
    ])


def fit_weights(X, y, seed, optimizer, *, source="cookbook", batch_size=GLOBAL_BATCH, epochs=1, strategy=None):
    """Build, compile and fit (inside ``strategy.scope()`` if given); return the final weights.

    ``optimizer`` names a cookbook optimizer; ``source="keras"`` takes the
    Keras built-in of that name instead (see ``cookbook.distribute.make_optimizer``).
    """
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = build_model(X.shape[1], seed)
        model.compile(optimizer=cookbook.distribute.make_optimizer(optimizer, LEARNING_RATE, source=source),
                      loss="binary_crossentropy")
    if strategy:
        cookbook.distribute.check_scope(strategy, model)
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights()


class TrainingRuns:
    """Every training run the tables ask for, each done once (several tables share runs)."""

    def __init__(self, X, y, seed, epochs, strategy=None):
        self.X, self.y, self.seed, self.epochs, self.strategy = X, y, seed, epochs, strategy
        self._weights = {}

    def weights(self, rows, optimizer, *, source="cookbook", batch_size=GLOBAL_BATCH, mirrored=False):
        """Final weights after training on the first ``rows`` rows (mirrored or on one device)."""
        key = (rows, optimizer, source, batch_size, mirrored)
        if key not in self._weights:
            self._weights[key] = fit_weights(self.X[:rows], self.y[:rows], self.seed, optimizer, source=source,
                                             batch_size=batch_size, epochs=self.epochs,
                                             strategy=self.strategy if mirrored else None)
        return self._weights[key]


def max_difference(weights_a, weights_b):
    """Largest absolute difference between two lists of weight arrays."""
    return max(float(np.max(np.abs(a - b))) for a, b in zip(weights_a, weights_b))


# %% [markdown]
# ## Train
#
# **Part 1, MirroredStrategy.** Each cookbook optimizer trains three times on
# an even number of rows: mirrored, its Keras twin mirrored, and itself on one
# device -- all fifteen models in one compiled step, the loop `fit` runs inside
# (`cookbook.distribute.train_in_lockstep`).
#
# Under a strategy `batch_size` is the GLOBAL batch: every step takes 32 rows and
# each replica gets 16. Keras computes each replica's *mean* loss and scales it
# by 1/replicas (`keras/src/losses/loss.py`, `scale_loss_for_distribution`); the
# summed gradient is the single-device gradient only when the rows split evenly.
# 427 rows leave a last step of 11 = 6 + 5: those rows are weighted 1/12 and
# 1/10 instead of 1/11, and the weights drift. `batch_size=len(X)` is full-batch
# gradient descent split in two; with 427 rows Keras 3 fails before the first
# step (the replicas' first batches, 214 and 213 rows, cannot be averaged).
# Fix: a row count and batch size divisible by the replica count.

# %%
def even_rows(num_rows, replicas):
    """The largest row count <= ``num_rows`` that every replica can share equally."""
    return num_rows - num_rows % replicas


def compare_twins(runs, names):
    """Per optimizer: twin vs built-in under the strategy, and strategy vs one device.

    All the models train in one compiled step (``train_in_lockstep``: a
    mirrored ``fit`` spends seconds tracing per model); the batch-size table
    below uses ``fit`` itself.
    """
    rows = even_rows(len(runs.X), runs.strategy.num_replicas_in_sync)
    X, y = runs.X[:rows], runs.y[:rows]
    start = build_model(X.shape[1], runs.seed).get_weights()

    def train(sources, strategy):
        with strategy.scope() if strategy else contextlib.nullcontext():
            pairs = {(name, source): (build_model(X.shape[1], runs.seed),
                                      cookbook.distribute.make_optimizer(name, LEARNING_RATE, source=source))
                     for name in names for source in sources}
        cookbook.distribute.train_in_lockstep(list(pairs.values()), X, y, batch_size=GLOBAL_BATCH,
                                              epochs=runs.epochs, strategy=strategy)
        return {key: model.get_weights() for key, (model, _) in pairs.items()}

    mirrored = train(("cookbook", "keras"), runs.strategy)
    single = train(("cookbook",), None)
    return pd.DataFrame([{
        "optimizer": name, "rows": rows, "replicas": runs.strategy.num_replicas_in_sync,
        "twin vs built-in (mirrored)": max_difference(mirrored[name, "cookbook"], mirrored[name, "keras"]),
        "mirrored vs one device": max_difference(mirrored[name, "cookbook"], single[name, "cookbook"]),
        "weights moved": max_difference(mirrored[name, "cookbook"], start)} for name in names])


def compare_batch_sizes(runs):
    """Mirrored vs one device for batch_size 32 and len(X), with an even and an odd row count."""
    replicas = runs.strategy.num_replicas_in_sync
    even = even_rows(len(runs.X), replicas)
    table = []
    for num_rows in (even, even + 1):
        for _, setting in batch_table(num_rows, replicas).iterrows():
            batch_size = GLOBAL_BATCH if setting["batch_size"] == "32" else num_rows
            row = setting.to_dict()
            try:
                mirrored = runs.weights(num_rows, WORKER_OPTIMIZER, batch_size=batch_size, mirrored=True)
                row["mirrored vs one device"] = max_difference(
                    mirrored, runs.weights(num_rows, WORKER_OPTIMIZER, batch_size=batch_size))
                row["outcome"] = "trains"
            except Exception as exc:  # noqa: BLE001  (the lesson is which error Keras raises)
                row["mirrored vs one device"] = np.nan
                row["outcome"] = f"fails: {type(exc).__name__}"
            table.append(row)
    return pd.DataFrame(table)


def scope_mistakes(runs):
    """The optimizer created outside the scope, caught before fit and inside fit."""
    optimizer = cookbook.distribute.make_optimizer(WORKER_OPTIMIZER, LEARNING_RATE)  # WRONG: outside the scope
    with runs.strategy.scope():
        model = build_model(runs.X.shape[1], runs.seed)
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
    table = []
    for where, attempt in (
            ("cookbook.distribute.check_scope(strategy, model) before fit",
             lambda: cookbook.distribute.check_scope(runs.strategy, model)),
            ("model.fit inside cookbook.distribute.explain_scope_errors()",
             lambda: model.fit(runs.X, runs.y, batch_size=GLOBAL_BATCH, epochs=1, verbose=0))):
        try:
            with cookbook.distribute.explain_scope_errors():
                attempt()
            table.append({"caught by": where, "error": "none", "message": "(no error: nothing to explain)"})
        except cookbook.distribute.StrategyScopeError as exc:
            table.append({"caught by": where, "error": type(exc).__name__, "message": str(exc)})
    return pd.DataFrame(table)


def run_mirrored_part(runs, quick):
    """Part 1 in this process: the three tables, keyed by name."""
    return {"twins": compare_twins(runs, QUICK_OPTIMIZERS if quick else OPTIMIZERS),
            "batch_size": compare_batch_sizes(runs),
            "scope_errors": scope_mistakes(runs)}


def run_mirrored_part_fresh(args, folder):
    """Part 1 in a fresh Python (this file, ``--mirrored-only``), its tables read back from ``folder``."""
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--mirrored-only", "--out", str(folder),
               "--seed", str(args.seed), "--epochs", str(args.epochs)] + (["--quick"] if args.quick else [])
    cookbook.distribute.run_subprocess(command, timeout=PROCESS_TIMEOUT)
    return {name: pd.read_csv(pathlib.Path(folder) / f"{args.recipe}_{name}.csv", keep_default_na=False,
                              na_values=[""])
            for name in ("twins", "batch_size", "scope_errors")}


# %% [markdown]
# **Part 2, MultiWorkerMirroredStrategy.** Two worker processes on 127.0.0.1
# (ports picked free at run time) each run `python -m cookbook._worker JOB`:
# the job folder holds this model (same starting weights), the data and the
# settings; worker 0 (the chief) writes the result, every worker writes its
# weights. The worker uses a custom loop (`strategy.run`), because `model.fit`
# under MultiWorkerMirroredStrategy fails in Keras 3 (keras-team/keras#20585);
# its loss is "sum over my rows / rows in the global batch", which is exact even
# for the uneven last step. On real hosts run the same command on each host with
# its own `TF_CONFIG` (printed below; replace 127.0.0.1 and the ports by the hosts'
# names and an open port). The launcher enforces a deadline and kills every
# worker if one fails: a worker whose peer died may otherwise wait for it.
#
# Known Keras limitation, stated, not worked around: an optimizer with
# `gradient_accumulation_steps` fails inside `fit` under a distribution
# strategy, even the built-ins (keras-team/keras#20582).

# %%
def launch_multi_worker(X, y, seed, epochs, folder):
    """Write the job, start the workers (they train while part 1 runs); return ``(workers, job)``."""
    model = build_model(X.shape[1], seed)
    job = cookbook.distribute.save_job(folder, model, X, y, optimizer=WORKER_OPTIMIZER,
                                       learning_rate=LEARNING_RATE, batch_size=GLOBAL_BATCH, epochs=epochs,
                                       collective_timeout=COLLECTIVE_TIMEOUT)
    workers = cookbook.distribute.launch_workers(cookbook.distribute.worker_command(job), WORKERS,
                                                 timeout=PROCESS_TIMEOUT)
    return workers, job


def multi_worker_table(results, job, runs):
    """Each worker's final weights against the chief's and against one-device ``fit`` on the same rows."""
    weights = cookbook.distribute.load_worker_weights(job, len(results))
    summary = json.loads((job / cookbook.distribute.RESULT_FILE).read_text(encoding="utf-8"))
    single = runs.weights(len(runs.X), WORKER_OPTIMIZER)
    return pd.DataFrame([{
        "worker": r.index, "role": "chief" if r.index == 0 else "worker",
        "replicas in sync": int(summary["replicas"]), "global batch": GLOBAL_BATCH,
        "rows": len(runs.X), "rows per worker per step": GLOBAL_BATCH / int(summary["replicas"]),
        "final loss": float(summary["epoch_losses"][-1]),
        "vs chief": max_difference(weights[r.index], weights[0]),
        "vs one device": max_difference(weights[r.index], single),
        "seconds": round(r.seconds, 1)} for r in results])


def cluster_commands(job):
    """How to start the same two workers by hand, one ``TF_CONFIG`` each."""
    addresses = [f"{cookbook.distribute.LOCALHOST}:{port}" for port in cookbook.distribute.free_ports(WORKERS)]
    command = " ".join(cookbook.distribute.worker_command(job)[1:])
    return [f"TF_CONFIG='{cookbook.distribute.tf_config(addresses, i)}' python {command}" for i in range(WORKERS)]


# %% [markdown]
# ## Compare
#
# Every difference on one log scale, against the two tolerances; a difference of
# exactly zero (bit-for-bit identical weights) is labelled instead of drawn.

# %%
def plot_differences(twins, batch_sizes, workers):
    """Horizontal bars: the largest weight difference for every comparison."""
    floor = 1e-12
    labels, values = [], []
    for _, row in twins.iterrows():
        labels += [f"{row['optimizer']}: twin vs built-in", f"{row['optimizer']}: mirrored vs one device"]
        values += [row["twin vs built-in (mirrored)"], row["mirrored vs one device"]]
    failed = {}  # position -> outcome, for runs that did not train (no difference to draw)
    for _, row in batch_sizes.iterrows():
        if pd.isna(row["mirrored vs one device"]):
            failed[len(labels)] = row["outcome"]
        labels.append(f"batch_size={row['batch_size']}, {row['rows']} rows: mirrored vs one device")
        values.append(row["mirrored vs one device"])
    for _, row in workers.iterrows():
        labels.append(f"worker {row['worker']}: vs one device")
        values.append(row["vs one device"])
    fig = Figure(figsize=(8, 0.35 * len(labels) + 1.5))
    ax = fig.subplots()
    ax.barh(labels, np.maximum(np.nan_to_num(values, nan=floor), floor), color="tab:blue")
    for position, value in enumerate(values):
        if value == 0:
            ax.text(floor * 3, position, "0: bit-for-bit identical", va="center")
        elif position in failed:
            ax.text(floor * 3, position, failed[position], va="center", color="tab:red")
    ax.axvline(TWIN_TOLERANCE, color="tab:green", linestyle="--", label=f"twin tolerance {TWIN_TOLERANCE:g}")
    ax.axvline(DEVICE_TOLERANCE, color="tab:orange", linestyle="--", label=f"device tolerance {DEVICE_TOLERANCE:g}")
    ax.set(xscale="log", xlim=(floor, 1), xlabel="max |weight difference| after training",
           title="Same model, same optimizer: one device, 2 replicas, 2 workers")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    return fig


# %%
def main(argv=None):
    """Part 1 (mirrored) and part 2 (two workers) side by side; tables, figure, twin table returned."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS)
    parser.add_argument("--mirrored-only", action="store_true",
                        help="run part 1 only and write its tables (the recipe runs itself this way when "
                             "TensorFlow was already started in its process)")
    args = cookbook.recipe.parse_args(parser, argv)
    in_process = cookbook.distribute.use_logical_cpus(REPLICAS)  # before anything starts TensorFlow's runtime
    keras.utils.set_random_seed(args.seed)
    X, y = prepare_data(args.seed)
    strategy = cookbook.distribute.mirrored_strategy(REPLICAS) if in_process else None
    runs = TrainingRuns(X, y, args.seed, args.epochs, strategy)

    if args.mirrored_only:
        if not in_process:
            cookbook.recipe.fail(args, "--mirrored-only needs a fresh Python process (TensorFlow already started)")
        tables = run_mirrored_part(runs, args.quick)
        for name, table in tables.items():
            cookbook.recipe.save_table(table, args, name)
        return tables["twins"]

    with tempfile.TemporaryDirectory(prefix="cookbook-12-") as scratch:
        scratch = pathlib.Path(scratch)
        try:
            workers, job = launch_multi_worker(X, y, args.seed, args.epochs, scratch / "job")
            with workers:  # leaving this block kills and reaps any worker still running
                tables = (run_mirrored_part(runs, args.quick) if in_process
                          else run_mirrored_part_fresh(args, scratch / "part1"))
                results = workers.wait()
            tables["multi_worker"] = multi_worker_table(results, job, runs)
        except cookbook.distribute.WorkerFailed as exc:
            cookbook.recipe.fail(args, str(exc).replace("\n", " | "))
    commands = cluster_commands(pathlib.Path("JOB"))

    cookbook.recipe.print_table(tables["twins"], f"{args.recipe}: cookbook optimizers under MirroredStrategy "
                                                 f"({REPLICAS} replicas, global batch {GLOBAL_BATCH} = "
                                                 f"{PER_REPLICA_BATCH} x {REPLICAS})")
    cookbook.recipe.print_table(tables["batch_size"], "What batch_size means under a strategy (Adam twin)")
    cookbook.recipe.print_table(tables["scope_errors"][["caught by", "error"]],
                                "Optimizer created outside strategy.scope()")
    print(f"\nMessage: {tables['scope_errors']['message'].iloc[0]}")
    cookbook.recipe.print_table(tables["multi_worker"], f"MultiWorkerMirroredStrategy: {WORKERS} processes on "
                                                        f"{cookbook.distribute.LOCALHOST}, {WORKER_OPTIMIZER} twin")
    print("\nThe same workers started by hand (one line per host; JOB = a copy of the job folder):")
    for line in commands:
        print(f"  {line}")
    for name, table in tables.items():
        cookbook.recipe.save_table(table, args, None if name == "twins" else name)
    figure = plot_differences(tables["twins"], tables["batch_size"], tables["multi_worker"])
    cookbook.recipe.save_figure(figure, args, "differences")
    return tables["twins"]


if __name__ == "__main__":
    main()
