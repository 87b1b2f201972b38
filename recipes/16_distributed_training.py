"""Distributed training: MirroredStrategy on two logical CPUs, then two workers on localhost.

The same small classifier trains on one device, mirrored over two replicas
(``with strategy.scope(): model = ...; model.compile(...)`` then ``fit``), and
as a two-process MultiWorkerMirroredStrategy cluster; the weights agree up to
float rounding when the global batch (batch_size = per-replica batch x
replicas) splits evenly, and the cookbook optimizers match their Keras twins
under the strategy, trained by a per-replica step written out with
``strategy.run``. It builds on the cookbook optimizers (recipe 14) and on
recipe 01's shape; it also shows the scope mistake users meet and how the
worker script runs on real hosts. Then Keras 3's own distribution API,
``keras.distribution`` on the JAX backend, where ``model.fit`` works across
devices and processes: ``DataParallel`` on two virtual CPUs, and two
processes joined with ``keras.distribution.initialize``.

Run it: ``python recipes/16_distributed_training.py`` (``--quick`` for a
shorter look, about 30 s: it starts six child processes).
"""

# %% [markdown]
# ## Setup
#
# Two logical CPU devices stand in for two GPUs. TensorFlow accepts that
# split only before its runtime starts, so ``main`` asks for it first thing
# (in a notebook: run it in a fresh kernel). When it is too late because
# another recipe already ran in this process (``python -m cookbook tour``,
# the tests), ``main`` runs this very file in a fresh Python process and
# reads its table back. The multi-worker part always runs as separate
# processes: one per worker, exactly as on real hosts. So does the
# ``keras.distribution`` part: it needs the JAX backend, and a process's
# Keras backend is fixed when Keras is first imported (here: TensorFlow).

# %%
import atexit
import functools
import json
import os
import pathlib
import shutil
import sys
import tempfile

import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.optimizers
import cookbook.recipe
from cookbook import errors, processes
from cookbook.lessons import agreement, cluster, distributed, keras_distribution

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# MirroredStrategy and the TF_CONFIG cluster are tf.distribute: under another
# Keras backend the script stops here with one line saying why (the tour skips
# it). Its keras.distribution part runs on JAX in child processes either way.
NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow("its MirroredStrategy and multi-worker parts are tf.distribute")
import tensorflow as tf  # noqa: E402  (after the check above)

REPLICAS = 2  # logical CPUs MirroredStrategy mirrors over
GLOBAL_BATCH = 32  # what fit(batch_size=...) means under a strategy ...
PER_REPLICA_BATCH = GLOBAL_BATCH // REPLICAS  # ... each replica computes gradients on this many rows
HIDDEN_UNITS = 8
LEARNING_RATE = 0.01
EPOCHS = 2
QUICK_EPOCHS = 1
OPTIMIZERS = distributed.OPTIMIZER_NAMES  # SGD, Momentum, Adagrad, RMSprop, Adam
QUICK_OPTIMIZERS = ("Adam",)  # every twin: run without --quick
TWIN_TOLERANCE = 1e-6  # cookbook twin vs Keras built-in, both under the strategy
DEVICE_TOLERANCE = 1e-5  # mirrored (or multi-worker) vs one device: float rounding only
WORKERS = 2
COLLECTIVE_TIMEOUT = 30.0  # s a worker waits in one all-reduce before it gives up
PROCESS_TIMEOUT = 300.0  # s before the launcher kills a child (generous: a busy laptop imports TF slowly)
FRESH_PROCESS = "COOKBOOK_12_FRESH_PROCESS"  # set in the child this recipe starts when TF already ran
JAX_DEVICES = 2  # virtual CPU devices of the keras.distribution child (XLA_FLAGS)
JAX_PROCESSES = 2  # processes of the keras.distribution job on 127.0.0.1


# %% [markdown]
# Helpers that tabulate, draw and handle processes. They are not the lesson:
# the Keras code is in ``main`` below, one cell per step.


# %%
def batch_table(row_counts, batch_sizes, replicas):
    """What each ``fit(batch_size=...)`` means for each row count, shared over ``replicas``."""
    rows = []
    for num_rows in row_counts:
        for label, batch_size in batch_sizes(num_rows):
            plan = distributed.batch_arithmetic(num_rows, batch_size, replicas)
            rows.append(
                {
                    "batch_size": label,
                    "rows": num_rows,
                    "global batch": plan["global_batch"],
                    "per replica": plan["per_replica"],
                    "steps/epoch": plan["steps"],
                    "last step split": plan["last_split"],
                    "every step even": plan["even"],
                }
            )
    return pd.DataFrame(rows)


def start_workers(job):
    """Start ``WORKERS`` copies of the worker program on 127.0.0.1; killed at exit if still running."""
    workers = cluster.launch_workers(cluster.worker_command(job), WORKERS, timeout=PROCESS_TIMEOUT)
    atexit.register(workers.close)  # an error before workers.wait() must not leave them running
    return workers


def worker_table(results, job, one_device_weights, rows):
    """Each worker's final weights against the chief's and against one-device ``fit`` on the same rows."""
    weights = cluster.load_worker_weights(job, len(results))
    summary = json.loads((job / cluster.RESULT_FILE).read_text(encoding="utf-8"))
    return pd.DataFrame(
        [
            {
                "worker": r.index,
                "role": "chief" if r.index == 0 else "worker",
                "replicas in sync": int(summary["replicas"]),
                "global batch": GLOBAL_BATCH,
                "rows": rows,
                "rows per worker per step": GLOBAL_BATCH / int(summary["replicas"]),
                "final loss": float(summary["epoch_losses"][-1]),
                "vs chief": agreement.max_difference(weights[r.index], weights[0]),
                "vs one device": agreement.max_difference(weights[r.index], one_device_weights),
                "seconds": round(r.seconds, 1),
            }
            for r in results
        ]
    )


def cluster_commands(job):
    """How to start the same workers by hand, one ``TF_CONFIG`` each."""
    addresses = [f"{cluster.LOCALHOST}:{port}" for port in cluster.free_ports(WORKERS)]
    command = " ".join(cluster.worker_command(job)[1:])
    return [f"TF_CONFIG='{cluster.tf_config(addresses, i)}' python {command}" for i in range(WORKERS)]


def start_jax_children(scratch):
    """The ``keras.distribution`` children: 2 virtual CPUs, 1 CPU, 2 joined processes; killed at exit if running."""
    children = {
        "two_devices": keras_distribution.launch_devices(
            scratch / "two_devices", "two_devices", JAX_DEVICES, timeout=PROCESS_TIMEOUT
        ),
        "one_device": keras_distribution.launch_devices(
            scratch / "one_device", "one_device", 1, timeout=PROCESS_TIMEOUT
        ),
        "processes": keras_distribution.launch_processes(
            scratch / "processes", "processes", JAX_PROCESSES, timeout=PROCESS_TIMEOUT
        ),
    }
    for child in children.values():
        atexit.register(child.close)  # an error before child.wait() must not leave it running
    return children


def jax_device_table(scratch, names, start, rows, epochs):
    """Per optimizer: twin vs built-in on 2 devices, 2 devices vs 1 device, and how far the weights moved."""
    two_devices, info = keras_distribution.load_results(scratch / "two_devices", "two_devices")[0]
    one_device, _ = keras_distribution.load_results(scratch / "one_device", "one_device")[0]
    return pd.DataFrame(
        [
            {
                "optimizer": name,
                "devices": f"{len(info['devices'])} virtual CPUs, 1 process",
                "rows": rows,
                "global batch": GLOBAL_BATCH,
                "epochs": epochs,
                "twin vs built-in": agreement.max_difference(two_devices[name, "cookbook"], two_devices[name, "keras"]),
                "distributed vs one device": agreement.max_difference(
                    two_devices[name, "cookbook"], one_device[name, "cookbook"]
                ),
                "weights moved": agreement.max_difference(two_devices[name, "cookbook"], start),
            }
            for name in names
        ]
    )


def jax_process_table(scratch, results, rows, run):
    """Each process's final weights for ``run`` against process 0's and against the one-device child's."""
    joined = keras_distribution.load_results(scratch / "processes", "processes", len(results))
    one_device, _ = keras_distribution.load_results(scratch / "one_device", "one_device")[0]
    first = joined[0][0][run]
    table = []
    for result, (weights, info) in zip(results, joined):
        count = info["process_count"]
        table.append(
            {
                "process": info["process_index"],
                "optimizer": f"{run[0]} ({run[1]})",
                "devices in the job": len(info["devices"]),
                "global batch": GLOBAL_BATCH,
                "fit batch_size": GLOBAL_BATCH // count,
                "own rows": len(range(info["process_index"], rows, count)),
                "final loss": float(info["losses"]["/".join(run)][-1]),
                "vs process 0": agreement.max_difference(weights[run], first),
                "vs one device": agreement.max_difference(weights[run], one_device[run]),
                "seconds": round(result.seconds, 1),
                "NumPy rows, auto_shard_dataset=True": "refused" if info["auto_shard_refusal"] else "accepted",
                "auto-shard message": info["auto_shard_refusal"] or "",
            }
        )
    return pd.DataFrame(table)


def jax_commands():
    """How to start the same ``keras.distribution`` job by hand, one line per host."""
    lines = []
    for process_id in range(JAX_PROCESSES):
        command = keras_distribution.worker_command(
            "JOB", "processes", process_id=process_id, num_processes=JAX_PROCESSES, coordinator_address="HOST0:1234"
        )
        lines.append("KERAS_BACKEND=jax python " + " ".join(command[1:]))
    return lines


def in_a_fresh_process_when_needed(lesson):
    """``lesson(argv)`` when two logical CPUs can still be made here, else the same file in a fresh Python."""

    @functools.wraps(lesson)
    def main(argv=None):
        args = cookbook.recipe.parse_args(build_parser(), argv)
        if distributed.use_logical_cpus(REPLICAS):
            return lesson(argv)
        return run_in_fresh_process(args)

    return main


def run_in_fresh_process(args):
    """Run this file in a new Python (TensorFlow already started here), print its output, read its table."""
    if os.environ.get(FRESH_PROCESS):
        cookbook.recipe.fail(
            args,
            f"TensorFlow started before {REPLICAS} logical CPUs could be made, even in a "
            f"fresh process; run the recipe as a script",
        )
    command = [
        sys.executable,
        str(pathlib.Path(__file__).resolve()),
        "--out",
        str(args.out),
        "--seed",
        str(args.seed),
        "--epochs",
        str(args.epochs),
    ] + (["--quick"] if args.quick else [])
    try:
        child = processes.run(command, timeout=PROCESS_TIMEOUT, env={FRESH_PROCESS: "1"})
    except errors.WorkerFailed as exc:
        cookbook.recipe.fail(args, str(exc).replace("\n", " | "))
    print(child.stdout, end="")
    return pd.read_csv(pathlib.Path(args.out) / f"{args.recipe}.csv")


def plot_differences(twins, batch_sizes, workers, jax_devices, jax_processes, settings):
    """Horizontal bars: the largest weight difference for every comparison, on one log axis."""
    floor = 1e-12
    bars = []  # (label, value, kind, note for a run that did not train)
    for _, row in twins.iterrows():
        bars.append(
            (
                f"{row['optimizer']}: cookbook twin vs keras built-in, both mirrored",
                row["twin vs built-in (mirrored)"],
                "twin",
                None,
            )
        )
        bars.append(
            (
                f"{row['optimizer']}: mirrored vs one device (strategy.run loop)",
                row["mirrored vs one device"],
                "device",
                None,
            )
        )
    for _, row in batch_sizes.iterrows():
        bars.append(
            (
                f"Adam fit, batch_size={row['batch_size']}, {row['rows']} rows "
                f"(last step {row['last step split']}): mirrored vs one device",
                row["mirrored vs one device"],
                "device",
                None if row["outcome"] == "trains" else row["outcome"],
            )
        )
    for _, row in workers.iterrows():
        bars.append(
            (
                f"worker {row['worker']} of {len(workers)}, {row['rows']} rows: vs one device",
                row["vs one device"],
                "worker",
                None,
            )
        )
    for _, row in jax_devices.iterrows():
        bars.append(
            (
                f"{row['optimizer']}: JAX DataParallel fit, twin vs built-in, both on 2 devices",
                row["twin vs built-in"],
                "jax twin",
                None,
            )
        )
        bars.append(
            (
                f"{row['optimizer']}: JAX DataParallel fit, 2 devices vs one device",
                row["distributed vs one device"],
                "jax device",
                None,
            )
        )
    for _, row in jax_processes.iterrows():
        bars.append(
            (
                f"JAX process {row['process']} of {len(jax_processes)}, its own {row['own rows']} of "
                f"{row['own rows'] * len(jax_processes)} rows: vs one device on all",
                row["vs one device"],
                "jax process",
                None,
            )
        )
    colors = {
        "twin": "tab:green",
        "device": "tab:blue",
        "worker": "tab:purple",
        "jax twin": "yellowgreen",
        "jax device": "tab:cyan",
        "jax process": "tab:pink",
    }
    names = {
        "twin": "TensorFlow: cookbook twin vs keras built-in",
        "device": "TensorFlow: 2 replicas vs one device",
        "worker": "TensorFlow: 2 worker processes vs one device",
        "jax twin": "JAX keras.distribution: twin vs built-in",
        "jax device": "JAX keras.distribution: 2 devices vs one device",
        "jax process": "JAX keras.distribution: 2 processes vs one device",
    }
    fig = Figure(figsize=(11, 0.34 * len(bars) + 2.2), layout="constrained")
    ax = fig.subplots()
    for position, (_label, value, kind, note) in enumerate(bars):
        drawn = floor if note or not value > floor else value
        ax.barh(position, drawn, color=colors[kind], label=names.pop(kind, None))
        if note:
            ax.text(floor * 3, position, f"{note} (nothing to compare)", va="center", color="tab:red", fontsize=8)
        elif value == 0:
            ax.text(floor * 3, position, "0: bit-for-bit identical", va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [label for label, *_ in bars], fontsize=8)
    ax.axvline(TWIN_TOLERANCE, color="tab:green", linestyle="--", label=f"twin tolerance {TWIN_TOLERANCE:g}")
    ax.axvline(DEVICE_TOLERANCE, color="tab:orange", linestyle="--", label=f"device tolerance {DEVICE_TOLERANCE:g}")
    ax.set(
        xscale="log",
        xlim=(floor, 1),
        xlabel="max |weight difference| after training (weight units, log scale)",
        ylabel="comparison (same starting weights)",
        title=f"Same model, same start: one device, {REPLICAS} replicas, {WORKERS} workers, on TensorFlow and JAX"
        f"\n({settings})",
    )
    ax.invert_yaxis()
    ax.legend(loc="upper right", fontsize=8)
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS)


# %%
def main(argv=None):
    """Mirrored fit, the strategy.run step, two workers; tables, figure, the twin table returned."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    if not distributed.use_logical_cpus(REPLICAS):  # must come before anything starts TF's runtime
        cookbook.recipe.fail(
            args,
            f"TensorFlow is already running with one CPU device, too late for "
            f"{REPLICAS} logical CPUs: run this lesson in a fresh Python (or kernel)",
        )
    keras.utils.set_random_seed(args.seed)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="cookbook-12-"))  # the workers' job folder, removed at exit
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)

    # %% [markdown]
    # ## Data
    #
    # Breast-cancer diagnosis (binary), standardized: 427 training rows, an
    # odd number on purpose. Under a strategy ``batch_size`` is the GLOBAL
    # batch: each step takes 32 rows and each of the 2 replicas gets 16. The
    # table spells out what that means for 426 and 427 rows: with 427 the
    # last step has 11 rows, split 6 + 5, and ``batch_size=len(X)`` cannot
    # be split evenly at all.

    # %%
    X_all, y_all = cookbook.load_dataset("breast_cancer")
    split = cookbook.split_and_standardize(X_all, y_all, seed=args.seed, stratify=True)
    X, y = split.X_train, np.asarray(split.y_train, "float32").reshape(-1, 1)
    even = len(X) - len(X) % REPLICAS  # the largest row count every replica can share equally
    print(f"{len(X)} training rows, {X.shape[1]} features; {even} rows split evenly over {REPLICAS} replicas")
    cookbook.recipe.show(
        batch_table((even, even + 1), lambda n: (("32", GLOBAL_BATCH), ("len(X)", n)), REPLICAS),
        f"fit(batch_size=...) over {REPLICAS} replicas",
    )

    # %% [markdown]
    # ## Model
    #
    # The initializers are seeded, so every build starts from the same
    # weights: one device, two replicas, two workers and the ten models of
    # the optimizer comparison all begin at the same point.
    # ``MirroredStrategy`` keeps one copy of every variable per device and
    # sums the gradients across them at each step (an all-reduce); with GPUs,
    # ``tf.distribute.MirroredStrategy()`` takes them all.

    # %%
    def build_model():
        return keras.Sequential(
            [
                keras.Input((X.shape[1],)),
                keras.layers.Dense(
                    HIDDEN_UNITS, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(args.seed)
                ),
                keras.layers.Dense(
                    1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(args.seed + 1)
                ),
            ]
        )

    devices = [device.name for device in tf.config.list_logical_devices("CPU")][:REPLICAS]
    strategy = tf.distribute.MirroredStrategy(devices)
    start = build_model().get_weights()
    print(f"MirroredStrategy over {devices}: {strategy.num_replicas_in_sync} replicas in sync")

    # %% [markdown]
    # ## Train
    #
    # The child processes of parts 3 and 4 start first: a Python process
    # with TensorFlow or JAX takes seconds to start, so they train while
    # this process does parts 1 and 2. Each job folder holds the model above
    # (its starting weights, in a ``.keras`` file any backend loads), the
    # data and the settings. Part 3's two TensorFlow workers
    # (``cookbook/lessons/worker.py``) train the Adam twin; part 4's JAX
    # children (``cookbook/lessons/jax_worker.py``) fit each optimizer below,
    # twin and built-in, on 2 virtual CPU devices, the twins on 1 device,
    # and the Adam twin in 2 processes joined into one job, on the first 416
    # rows: 13 whole batches of 32. JAX compiles the train step for one batch
    # shape; a last batch of another size (426 rows end with 10) compiles it a
    # second time, which nearly doubles the cost of these small fits. Both
    # programs are explained in their part.

    # %%
    job = cluster.save_job(
        scratch / "job",
        build_model(),
        X,
        y,
        optimizer="Adam",
        learning_rate=LEARNING_RATE,
        batch_size=GLOBAL_BATCH,
        epochs=args.epochs,
        collective_timeout=COLLECTIVE_TIMEOUT,
    )
    workers = start_workers(job)
    print(f"{WORKERS} workers started, process ids {workers.pids}")

    names = QUICK_OPTIMIZERS if args.quick else OPTIMIZERS
    whole_batches = len(X) // GLOBAL_BATCH * GLOBAL_BATCH  # rows in whole global batches: one compiled step
    jax_runs = {
        "two_devices": [(name, source) for name in names for source in ("cookbook", "keras")],
        "one_device": [(name, "cookbook") for name in names],
        "processes": [("Adam", "cookbook")],  # as part 3's workers
    }
    for run_name, runs in jax_runs.items():
        keras_distribution.save_job(
            scratch / run_name,
            build_model(),
            X[:whole_batches],
            y[:whole_batches],
            runs=runs,
            learning_rate=LEARNING_RATE,
            global_batch=GLOBAL_BATCH,
            epochs=args.epochs,
        )
    jax_children = start_jax_children(scratch)
    print(f"JAX children started: {', '.join(f'{k} {c.pids}' for k, c in jax_children.items())}")

    # %% [markdown]
    # **Part 1, ``fit`` under MirroredStrategy.** The model AND its optimizer
    # are created inside ``strategy.scope()``: that is where their variables
    # get one mirrored copy per replica. ``fit`` is called as usual (outside
    # the scope is fine). Then the same model on one device, for comparison.

    # %%
    with strategy.scope():
        model = build_model()
        model.compile(optimizer=cookbook.optimizers.Adam(learning_rate=LEARNING_RATE), loss="binary_crossentropy")
    model.fit(X[:even], y[:even], batch_size=GLOBAL_BATCH, epochs=args.epochs, shuffle=False, verbose=0)
    mirrored_weights = model.get_weights()

    model = build_model()
    model.compile(optimizer=cookbook.optimizers.Adam(learning_rate=LEARNING_RATE), loss="binary_crossentropy")
    model.fit(X[:even], y[:even], batch_size=GLOBAL_BATCH, epochs=args.epochs, shuffle=False, verbose=0)
    one_device_weights = model.get_weights()
    print(
        f"{even} rows, batch_size={GLOBAL_BATCH}: mirrored vs one device "
        f"{agreement.max_difference(mirrored_weights, one_device_weights):.3g}"
    )

    # %% [markdown]
    # Now the batch sizes of the table above. Keras computes each replica's
    # *mean* loss and scales it by 1/replicas
    # (``keras/src/losses/loss.py``, ``scale_loss_for_distribution``), so
    # the summed gradient is the one-device gradient only when the rows
    # split evenly. 427 rows leave a last step of 11 = 6 + 5: those rows are
    # weighted 1/12 and 1/10 instead of 1/11, and the weights drift.
    # ``batch_size=len(X)`` is full-batch gradient descent split in two; with
    # 427 rows Keras 3 fails before the first step (the replicas' batches,
    # 214 and 213 rows, cannot be stacked). Fix: a row count and a batch
    # size divisible by the number of replicas.

    # %%
    fits = {(even, GLOBAL_BATCH): (mirrored_weights, one_device_weights, "trains")}
    for rows, batch_size in ((even, even), (even + 1, GLOBAL_BATCH), (even + 1, even + 1)):
        with strategy.scope():
            model = build_model()
            model.compile(optimizer=cookbook.optimizers.Adam(learning_rate=LEARNING_RATE), loss="binary_crossentropy")
        try:
            model.fit(X[:rows], y[:rows], batch_size=batch_size, epochs=args.epochs, shuffle=False, verbose=0)
        except tf.errors.InvalidArgumentError as error:
            fits[rows, batch_size] = (None, None, f"fails: {type(error).__name__}")
            continue
        mirrored = model.get_weights()
        model = build_model()
        model.compile(optimizer=cookbook.optimizers.Adam(learning_rate=LEARNING_RATE), loss="binary_crossentropy")
        model.fit(X[:rows], y[:rows], batch_size=batch_size, epochs=args.epochs, shuffle=False, verbose=0)
        fits[rows, batch_size] = (mirrored, model.get_weights(), "trains")
    batch_sizes = batch_table((even, even + 1), lambda n: (("32", GLOBAL_BATCH), ("len(X)", n)), REPLICAS)
    batch_sizes["mirrored vs one device"] = [
        np.nan if fits[key][0] is None else agreement.max_difference(fits[key][0], fits[key][1])
        for key in zip(batch_sizes["rows"], batch_sizes["global batch"])
    ]
    batch_sizes["outcome"] = [fits[key][2] for key in zip(batch_sizes["rows"], batch_sizes["global batch"])]

    # %% [markdown]
    # The mistake users meet first: the optimizer created *outside* the
    # scope (a model built outside fails the same way). TensorFlow's error,
    # raised deep inside ``fit``, says "Mixing different
    # tf.distribute.Strategy objects"; ``distributed.check_scope``
    # finds it before training and ``explain_scope_errors`` turns the error
    # into one that says what to move where.

    # %%
    optimizer = cookbook.optimizers.Adam(learning_rate=LEARNING_RATE)  # WRONG: outside the scope
    with strategy.scope():
        model = build_model()
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
    scope_errors = []
    for caught_by, attempt in (
        ("distributed.check_scope(strategy, model) before fit", lambda: distributed.check_scope(strategy, model)),
        (
            "model.fit inside distributed.explain_scope_errors()",
            lambda: model.fit(X, y, batch_size=GLOBAL_BATCH, epochs=1, verbose=0),
        ),
    ):
        try:
            with distributed.explain_scope_errors():
                attempt()
            scope_errors.append({"caught by": caught_by, "error": "none", "message": "(no error)"})
        except errors.StrategyScopeError as error:
            scope_errors.append({"caught by": caught_by, "error": type(error).__name__, "message": str(error)})
    scope_errors = pd.DataFrame(scope_errors)
    print(scope_errors["message"].iloc[0])

    # %% [markdown]
    # **Part 2, the per-replica step written out.** What ``fit`` does at each
    # step, by hand: ``strategy.experimental_distribute_dataset`` gives each
    # replica its slice of every global batch, ``strategy.run`` runs
    # ``replica_step`` once per replica, and ``apply_gradients`` inside a
    # replica sums the replicas' gradients (all-reduce) before updating the
    # mirrored weights. Each replica's loss is *sum over its rows / rows in
    # the global batch*, so the sum is exactly the gradient of the global
    # batch's mean loss however the rows split. Every cookbook optimizer and
    # its Keras built-in train side by side in one compiled step (one trace
    # for all the models instead of one per ``fit``), then each cookbook
    # optimizer alone on one device, with the same loop.

    # %%
    def train(pairs, strategy, epochs):
        with strategy.scope():
            for model, optimizer in pairs:
                optimizer.build(model.trainable_variables)  # its state is created here, mirrored

        @tf.function(reduce_retracing=True)
        def train_step(x, y):
            def replica_step(x, y):
                rows = tf.cast(tf.shape(x)[0], "float32")
                global_rows = tf.distribute.get_replica_context().all_reduce("SUM", rows)
                for model, optimizer in pairs:
                    with tf.GradientTape() as tape:
                        per_row = keras.losses.binary_crossentropy(y, model(x, training=True))
                        loss = tf.reduce_sum(per_row) / global_rows
                    gradients = tape.gradient(loss, model.trainable_variables)
                    optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # all-reduces them

            strategy.run(replica_step, args=(x, y))

        batches = tf.data.Dataset.from_tensor_slices((X[:even], y[:even])).batch(GLOBAL_BATCH)
        for _ in range(epochs):
            for x_batch, y_batch in strategy.experimental_distribute_dataset(batches):
                train_step(x_batch, y_batch)

    with strategy.scope():
        mirrored = {
            (name, source): (build_model(), distributed.make_optimizer(name, LEARNING_RATE, source=source))
            for name in names
            for source in ("cookbook", "keras")
        }
    train(list(mirrored.values()), strategy, args.epochs)
    one_device = {name: (build_model(), distributed.make_optimizer(name, LEARNING_RATE)) for name in names}
    train(list(one_device.values()), tf.distribute.get_strategy(), args.epochs)  # the default: one device

    # %% [markdown]
    # **Part 3, MultiWorkerMirroredStrategy.** The two workers started above
    # each run the command ``cluster.worker_command(job)`` builds
    # (``python -m`` on ``cookbook/lessons/worker.py`` with the job folder), each
    # with its own ``TF_CONFIG``: the cluster's addresses on 127.0.0.1 (ports
    # picked free) and its index; worker 0 is the chief. The worker's key
    # lines (``cookbook/lessons/worker.py`` and ``train_in_lockstep``, simplified):
    #
    #     options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=30)
    #     strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    #     with strategy.scope():
    #         model = keras.models.load_model(job / "model.keras", compile=False)
    #         optimizer = cookbook.optimizers.Adam(learning_rate=0.01)
    #         optimizer.build(model.trainable_variables)
    #     for start in range(0, len(X), 32):                      # every global batch, in order
    #         rows = slice(start, start + 32)
    #         x_part = strategy.experimental_distribute_values_from_function(
    #             lambda ctx: np.array_split(X[rows], ctx.num_replicas_in_sync)[ctx.replica_id_in_sync_group])
    #         # ... y_part likewise; replica_step as in part 2, global_rows = len(X[rows])
    #         train_step(x_part, y_part, global_rows)             # tf.function around strategy.run(replica_step)
    #
    # ``train_in_lockstep`` is the ``strategy.run`` step of part 2: each
    # worker takes its half of every global batch, divides its summed loss
    # by the rows of the whole global batch, and ``apply_gradients``
    # all-reduces the gradients across the processes. The worker uses this
    # loop, not ``model.fit``, because ``fit`` under
    # MultiWorkerMirroredStrategy fails in Keras 3 (keras-team/keras#20585).
    # On real hosts run the same command on each host with its own
    # ``TF_CONFIG`` (printed below; replace 127.0.0.1 and the ports by the
    # hosts' names and an open port). The launcher enforces a deadline and
    # kills every worker if one fails: a worker whose peer died may
    # otherwise wait for it. Known Keras limitation, stated, not worked
    # around: an optimizer with ``gradient_accumulation_steps`` fails inside
    # ``fit`` under a distribution strategy, even the built-ins
    # (keras-team/keras#20582).

    # %%
    try:
        results = workers.wait()
    except errors.WorkerFailed as exc:
        cookbook.recipe.fail(args, str(exc).replace("\n", " | "))
    one_device_all_rows = fits[len(X), GLOBAL_BATCH][1]  # fit on one device, all 427 rows, batch_size=32
    multi_worker = worker_table(results, job, one_device_all_rows, len(X))
    print("The same workers started by hand (one line per host; JOB = a copy of the job folder):")
    for line in cluster_commands(pathlib.Path("JOB")):
        print(f"  {line}")

    # %% [markdown]
    # **Part 4, Keras 3's own API: ``keras.distribution`` on JAX.** Keras 3
    # has its own distribution API, and on the JAX backend ``model.fit``
    # runs under it unchanged, across devices and across processes. This
    # process runs TensorFlow, so the JAX code runs in the children started
    # in the Train cell: one with 2 virtual CPU devices
    # (``XLA_FLAGS=--xla_force_host_platform_device_count=2``), one with 1,
    # and 2 processes of one device each, joined into one job. All run the
    # same function of ``cookbook/lessons/jax_worker.py``; its lines, quoted
    # verbatim (the bookkeeping left out; a test keeps the quote true):
    #
    #     distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    #     distribution.auto_shard_dataset = False  # X_own below is already this process's share of the rows
    #     keras.distribution.set_distribution(distribution)
    #     mine = slice(jax.process_index(), None, jax.process_count())  # every process_count-th row, from this one's id
    #     X_own, y_own = X[mine], y[mine]
    #     batch_size = settings["global_batch"] // jax.process_count()  # fit's batch_size counts this process's rows
    #     for name, source in settings["runs"]:
    #         model = keras.models.load_model(job / keras_distribution.MODEL_FILE, compile=False)  # the same start
    #         optimizer = distributed.make_optimizer(name, settings["learning_rate"], source=source)
    #         model.compile(optimizer=optimizer, loss=settings["loss"])
    #         history = model.fit(X_own, y_own, batch_size=batch_size, epochs=settings["epochs"], shuffle=False, verbose=0)
    #
    # A literal quote and not a printout of the source: it reads the same in
    # this file, the notebook and the course page, before anything runs.
    # ``DataParallel`` puts a full copy of every weight on each device and
    # splits every batch along its first axis; there is no
    # ``strategy.scope()``: ``set_distribution`` applies to every model and
    # ``fit`` that follows. JAX compiles the train step for the device mesh
    # and inserts the all-reduce that sums the devices' gradients. In one
    # process ``jax.process_count()`` is 1 and this is plain
    # ``fit(X, y, batch_size=32)``, 16 rows per device, the same code on 1
    # device or 2: only ``XLA_FLAGS`` differs.
    #
    # In 2 processes each first runs
    # ``keras_distribution.join_processes(process_id, 2, "127.0.0.1:PORT")``,
    # two lines (CPUs need gloo, a collectives library, named; GPUs do not):
    #
    #     jax.config.update("jax_cpu_collectives_implementation", "gloo")
    #     keras.distribution.initialize(job_addresses=coordinator_address, num_processes=num_processes, process_id=process_id)
    #
    # After that ``list_devices()`` names the devices of both processes and
    # each process passes ``fit`` only its own rows (every second one). The
    # batch size is then per process: ``fit(batch_size=16)`` in each of 2
    # processes makes global batches of 32 rows, the same rows per step as
    # one device with ``batch_size=32`` (416 rows = 13 x 32, and each
    # process's 208 = 13 x 16), so the weights can be compared with the
    # one-device child. ``auto_shard_dataset = False`` says "the data is
    # already split": left at ``True``, Keras would shard the data itself,
    # which it only does for a ``tf.data.Dataset``, and it refuses NumPy
    # arrays with the message printed below (each process tried once).

    # %%
    try:
        jax_results = {name: children.wait() for name, children in jax_children.items()}
    except errors.WorkerFailed as exc:
        cookbook.recipe.fail(args, keras_distribution.quiet(str(exc)).replace("\n", " | "))
    for name, results in jax_results.items():
        for result in results:
            print(f"{name}: {keras_distribution.quiet(result.stdout).strip()}")
    jax_devices = jax_device_table(scratch, names, start, whole_batches, args.epochs)
    jax_processes = jax_process_table(scratch, jax_results["processes"], whole_batches, jax_runs["processes"][0])
    print(
        f"fit with NumPy arrays and auto_shard_dataset=True in {JAX_PROCESSES} processes: "
        f"{jax_processes['auto-shard message'].iloc[0] or '(accepted)'}"
    )

    # %% [markdown]
    # ## Compare
    #
    # Every difference against its tolerance. What to look for: the twins
    # and the built-ins are bit-for-bit identical under the strategy (the
    # same operations on the same summed gradients); mirrored training
    # differs from one device by float rounding only (summing two half-batch
    # gradients rounds differently from one full-batch sum), except where
    # the last step splits unevenly; and the two workers hold identical
    # weights (the all-reduce gives both the same sum). The same holds on
    # JAX with ``keras.distribution``, this time with plain ``fit``: twin and
    # built-in agree on 2 devices, 2 devices differ from 1 by float
    # rounding, and the 2 processes end with the same weights (both apply
    # the same all-reduced gradients to the same starting weights).

    # %%
    twins = cookbook.recipe.show(
        pd.DataFrame(
            [
                {
                    "optimizer": name,
                    "rows": even,
                    "replicas": strategy.num_replicas_in_sync,
                    "epochs": args.epochs,
                    "twin vs built-in (mirrored)": agreement.max_difference(
                        mirrored[name, "cookbook"][0].get_weights(), mirrored[name, "keras"][0].get_weights()
                    ),
                    "mirrored vs one device": agreement.max_difference(
                        mirrored[name, "cookbook"][0].get_weights(), one_device[name][0].get_weights()
                    ),
                    "weights moved": agreement.max_difference(mirrored[name, "cookbook"][0].get_weights(), start),
                }
                for name in names
            ]
        ),
        f"{args.recipe}: cookbook optimizers under MirroredStrategy ({REPLICAS} replicas, global batch "
        f"{GLOBAL_BATCH} = {PER_REPLICA_BATCH} x {REPLICAS})",
    )
    cookbook.recipe.show(batch_sizes, "What batch_size means under a strategy (Adam twin, fit)")
    cookbook.recipe.show(scope_errors[["caught by", "error"]], "Optimizer created outside strategy.scope()")
    cookbook.recipe.show(
        multi_worker, f"MultiWorkerMirroredStrategy: {WORKERS} processes on {cluster.LOCALHOST}, Adam twin"
    )
    cookbook.recipe.show(
        jax_devices, f"keras.distribution.DataParallel on JAX: fit on {JAX_DEVICES} virtual CPU devices vs 1 device"
    )
    cookbook.recipe.show(
        jax_processes.drop(columns="auto-shard message"),
        f"keras.distribution on JAX: {JAX_PROCESSES} processes on {cluster.LOCALHOST} joined with "
        f"keras.distribution.initialize, each fit on its own rows",
    )
    cookbook.recipe.save_table(twins, args)
    for name, table in (
        ("batch_size", batch_sizes),
        ("scope_errors", scope_errors),
        ("multi_worker", multi_worker),
        ("keras_distribution", jax_devices),
        ("jax_processes", jax_processes),
    ):
        cookbook.recipe.save_table(table, args, name)
    settings = f"lr={LEARNING_RATE}, global batch {GLOBAL_BATCH}, {args.epochs} epoch(s), seed {args.seed}"
    figure = plot_differences(twins, batch_sizes, multi_worker, jax_devices, jax_processes, settings)
    cookbook.recipe.save_figure(figure, args, "differences")

    # %% [markdown]
    # ## Which engine, and what changes on real hosts
    #
    # Pick the engine by backend; both are measured against one device
    # above. With TensorFlow, ``tf.distribute``: ``MirroredStrategy`` with
    # ``fit`` on the GPUs of one machine (part 1), and for several machines
    # ``MultiWorkerMirroredStrategy`` with a loop like part 3's until
    # keras-team/keras#20585 is fixed. With JAX, ``keras.distribution``:
    # ``DataParallel`` and plain ``fit`` on one machine or many (part 4),
    # no scope to get wrong. For a model too big for one device,
    # ``keras.distribution.ModelParallel`` with a ``LayoutMap`` splits the
    # weights themselves across devices (not shown here).
    #
    # On real hosts the code stays the same; three things change. The
    # coordinator address is process 0's ``host:port``, reachable by every
    # host (here 127.0.0.1 and a port that was free). Each host starts its
    # process with its own ``process_id`` (0 to N-1) and the same
    # ``num_processes``. And each host feeds ``fit`` its own share of the
    # rows (here every second row of one array; on real hosts usually its
    # own files), with ``batch_size`` = global batch / number of processes.
    # On GPUs or TPUs the ``jax_cpu_collectives_implementation`` line is not
    # needed: JAX uses NCCL or the TPU interconnect, and ``list_devices()``
    # returns every accelerator of every host. The commands, one per host:

    # %%
    print("The same keras.distribution job started by hand (JOB = a copy of the job folder on each host):")
    for line in jax_commands():
        print(f"  {line}")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by_batch = batch_sizes.set_index(["rows", "batch_size"])
    odd = by_batch.loc[(even + 1, "32")]
    cookbook.recipe.remember(
        [
            f"with strategy.scope(): model + compile, then fit(batch_size={GLOBAL_BATCH}) on {REPLICAS} replicas "
            f"({PER_REPLICA_BATCH} rows each) ended {by_batch.loc[(even, '32'), 'mirrored vs one device']:.2g} from "
            f"one device on {even} rows (tolerance {DEVICE_TOLERANCE:g}).",
            f"With {even + 1} rows the last step splits {odd['last step split']} and fit drifted "
            f"{odd['mirrored vs one device']:.2g} from one device; batch_size=len(X) on {even + 1} rows: "
            f"{by_batch.loc[(even + 1, 'len(X)'), 'outcome']}.",
            f"With the strategy.run step, twin vs built-in was at most {twins['twin vs built-in (mirrored)'].max():.2g} "
            f"and mirrored vs one device {twins['mirrored vs one device'].max():.2g} over {len(twins)} optimizer(s); "
            f"{WORKERS} TensorFlow worker processes ended {multi_worker['vs chief'].max():.2g} apart and "
            f"{multi_worker['vs one device'].max():.2g} from one-device fit on all {len(X)} rows.",
            f"On JAX, keras.distribution.DataParallel with plain fit on {JAX_DEVICES} devices: twin vs built-in at most "
            f"{jax_devices['twin vs built-in'].max():.2g}, vs one device {jax_devices['distributed vs one device'].max():.2g} "
            f"over {len(jax_devices)} optimizer(s); {JAX_PROCESSES} processes joined by keras.distribution.initialize, "
            f"each fit(batch_size={GLOBAL_BATCH // JAX_PROCESSES}) on its own rows, ended "
            f"{jax_processes['vs process 0'].max():.2g} apart and {jax_processes['vs one device'].max():.2g} from one "
            f"device with batch_size={GLOBAL_BATCH}.",
        ]
    )
    return twins


# The tour and the tests call main() in a process where TensorFlow already runs on one CPU device: there the
# lesson runs in a fresh Python process instead, and main() returns the table that process wrote.
main = in_a_fresh_process_when_needed(main)

if __name__ == "__main__":
    main()
