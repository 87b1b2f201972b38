"""keras.distribution on JAX: plain model.fit over two devices, then over two processes joined into one job.

Keras 3 has its own API for training on several devices and hosts,
``keras.distribution``; on the JAX backend ``model.fit`` runs under it
unchanged. This lesson fits one small classifier on one device, under
``DataParallel`` on two virtual CPUs, and in two processes joined with
``keras.distribution.initialize``, and compares the weights: what changes in
your code, what ``batch_size`` means per process, and what Keras refuses.
Lesson 17 does the same with ``tf.distribute`` on TensorFlow.

Run it: ``python recipes/18_keras_distribution_on_jax.py`` (``--quick`` for
one epoch; both take seconds: three short JAX processes). What this lesson
measures lives in ``cookbook/lessons/keras_distribution_on_jax.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target`` for your own two classes;
# see ``--help``); in a notebook, edit them here. ``GLOBAL_BATCH`` is the
# rows of one optimizer step over all devices and processes.

# %%
from cookbook import claims, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import keras_distribution_on_jax as evidence
from cookbook.settings import from_command_line, stop

import keras

settings = from_command_line(
    __doc__,
    "18_keras_distribution_on_jax",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=5,
    quick_epochs=1,
    data="breast_cancer",
)
GLOBAL_BATCH = 32
HIDDEN_UNITS = 8
LEARNING_RATE = 0.01
DEVICES = 2  # virtual CPU devices of one JAX process (XLA_FLAGS)
PROCESSES = 2  # JAX processes joined into one job on 127.0.0.1
TOLERANCE = 1e-5  # float rounding: summing two half-batch gradients rounds differently from one sum
CHILD_TIMEOUT = 180.0  # s before a JAX child is killed (generous: the machine may be busy)

# %% [markdown]
# ## Data
#
# Breast-cancer diagnosis (two classes), standardized. Every process
# reads the same array and takes its own share of the rows, so the row
# count is cut to whole global batches for every batch size below (a
# multiple of ``PROCESSES x GLOBAL_BATCH``): every step then splits
# evenly over the devices, and JAX compiles one train step per fit.

# %%
X, y = loading.load_data(settings)
labels, classes = loading.class_labels(y)
if len(classes) != 2:
    stop(f"{settings.data_source}: {len(classes)} classes; this lesson's model predicts two (a sigmoid unit)")
split = loading.split(settings, X, labels, stratify=True)
rows = len(split.X_train) // (PROCESSES * GLOBAL_BATCH) * PROCESSES * GLOBAL_BATCH
X_train, y_train = split.X_train[:rows], split.y_train[:rows]
print(f"{rows} of {len(split.X_train)} training rows, {X_train.shape[1]} features, {rows // GLOBAL_BATCH} steps/epoch")

# %% [markdown]
# ## Model
#
# A small sigmoid classifier, built once from the seed. Every run below
# loads it from one ``.keras`` file, so all start from the same weights.

# %%
keras.utils.set_random_seed(settings.seed)
model = keras.Sequential(
    [
        keras.Input((X_train.shape[1],)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
start = model.get_weights()
model.summary()

# %% [markdown]
# ## One device, then every device
#
# The reference: load, compile, ``fit``. ``shuffle=False``, so every run
# sees the same rows in the same order: a comparison of weights needs that,
# and when processes each feed their share of the rows (below), the file
# order is what makes their batches together the one device's batch. (With
# ``shuffle=True`` a seeded ``fit`` on TensorFlow would also repeat one row
# order every epoch, as lesson 07 shows.)


# %%
def fit_on_one_device(model_file, X, y, *, batch_size, epochs, learning_rate):
    model = keras.models.load_model(model_file)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights(), int(model.optimizer.iterations)  # the weights, and the steps fit took


# %% [markdown]
# The same fit over every device. Three lines are new: a
# ``DataParallel`` distribution over ``keras.distribution.list_devices()``,
# which puts a full copy of every weight on each device and splits every
# batch along its first axis; ``set_distribution``, which applies it to
# every model built (or loaded) afterwards; and the rows this process
# feeds ``fit``. There is no ``strategy.scope()`` to get wrong: JAX
# compiles the train step for the device mesh and inserts the all-reduce
# that sums the devices' gradients. In one process ``process_count()`` is
# 1 and ``own`` is every row. ``auto_shard_dataset = False`` says "the
# rows are already split"; the cell after Train shows what happens when
# it is left at ``True``.


# %%
def fit_data_parallel(model_file, X, y, *, batch_size, epochs, learning_rate, auto_shard=False):
    import jax  # the function runs on the JAX backend

    distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    distribution.auto_shard_dataset = auto_shard
    keras.distribution.set_distribution(distribution)
    own = slice(jax.process_index(), None, jax.process_count())  # every process_count-th row, from its id
    model = keras.models.load_model(model_file)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    model.fit(X[own], y[own], batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights(), int(model.optimizer.iterations)


# %% [markdown]
# ## Train on JAX
#
# This process runs Keras on the backend it started with (the tour's:
# TensorFlow), and a process's backend is fixed when Keras is first
# imported; JAX's device count is fixed when JAX starts. So the two
# functions run in JAX child processes (``cookbook/lessons/jax_worker.py``):
# ``save_job`` writes the model, the rows and the functions' source to a
# folder, and each child runs that source with ``KERAS_BACKEND=jax`` (so
# the functions use only their arguments and ``keras``, and import ``jax``
# themselves). On a JAX machine you call them directly. One child has two virtual CPU devices
# (``XLA_FLAGS=--xla_force_host_platform_device_count=2``) and fits on one
# device (the reference) and on both.
#
# Two more processes of one device each are joined into one job. Each
# first runs ``keras_distribution.join_processes(process_id, 2,
# "127.0.0.1:PORT")``, two lines (CPUs need gloo, a collectives library,
# named; GPUs and TPUs do not):
#
# ```python
# jax.config.update("jax_cpu_collectives_implementation", "gloo")
# keras.distribution.initialize(job_addresses=coordinator_address, num_processes=num_processes, process_id=process_id)
# ```
#
# After that ``list_devices()`` names the devices of both processes, and
# ``fit_data_parallel`` gives each its own rows: every second one. Does
# ``fit``'s ``batch_size`` then count this process's rows or the job's?
# Under ``tf.distribute`` (lesson 17) it is the global batch. The job fits
# both ways: ``batch_size=16`` in each process (32 rows a step if it
# counts per process) and ``batch_size=32`` in each, the habit carried
# over; then once with ``auto_shard_dataset=True``. The children start
# together and run in parallel.

# %%
common = {"epochs": settings.epochs, "learning_rate": LEARNING_RATE}
per_process = GLOBAL_BATCH // PROCESSES
runs = {
    "devices": [
        evidence.run(f"1 device, batch_size={GLOBAL_BATCH}", fit_on_one_device, batch_size=GLOBAL_BATCH, **common),
        evidence.run(f"{DEVICES} devices, batch_size={GLOBAL_BATCH}", fit_data_parallel, batch_size=GLOBAL_BATCH,
                     **common),
    ],
    "processes": [
        evidence.run(f"{PROCESSES} processes, batch_size={per_process} each", fit_data_parallel,
                     batch_size=per_process, **common),
        evidence.run(f"{PROCESSES} processes, batch_size={GLOBAL_BATCH} each", fit_data_parallel,
                     batch_size=GLOBAL_BATCH, **common),
        evidence.run("auto_shard_dataset=True", fit_data_parallel, batch_size=per_process, **common,
                     auto_shard=True, expects_error=True),
    ],
}  # fmt: skip
job = evidence.save_job(None, model, X_train, y_train, [fit_on_one_device, fit_data_parallel], runs)
children = {"devices": {"devices": DEVICES}, "processes": {"num_processes": PROCESSES}}
results = evidence.run_on_jax(job, children, timeout=CHILD_TIMEOUT)

# %% [markdown]
# What Keras said to the NumPy rows left at ``auto_shard_dataset=True`` in
# the two-process job: Keras shards only a ``tf.data.Dataset`` itself.

# %%
table = evidence.results_table(results, start, rows, reference=fit_on_one_device.__name__)
print(table.loc[table["outcome"] == evidence.REFUSED, "message"].iloc[0])

# %% [markdown]
# ## Compare
#
# Every trained run against the one-device fit with the same global batch,
# and the processes of one job against each other; ``steps`` is the
# optimizer's step count after ``fit``. Look for: two devices within float
# rounding of one device; the joined processes bit-identical to each other
# (both apply the same all-reduced gradients); and the red bars,
# ``batch_size=32`` in each process: how many steps did it take?

# %%
show(table[evidence.SHOWN], f"Weights after {settings.epochs} epoch(s), Adam lr {LEARNING_RATE:g}")
outputs.save_table(table, settings)
title = f"{DEVICES} devices and {PROCESSES} processes against one device ({rows} rows, {settings.epochs} epoch(s))"
outputs.save_figure(evidence.plot_differences(table, TOLERANCE, title), settings, "differences")

# %% [markdown]
# ## On real hosts
#
# The code stays the same; three things change. The coordinator address is
# process 0's ``host:port``, reachable from every host. Each host starts
# its process with its own ``process_id`` (0 to N-1) and the same
# ``num_processes``. And each host feeds ``fit`` its own share of the rows
# (usually its own files), with ``batch_size`` = global batch / processes.
# On GPUs or TPUs the gloo line is not needed and ``list_devices()``
# returns every accelerator of every host. For a model too big for one
# device, ``keras.distribution.ModelParallel`` with a ``LayoutMap`` splits
# the weights themselves (not shown here). The commands, one per host:

# %%
print("\n".join(evidence.host_commands("processes", PROCESSES)))

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``18_keras_distribution_on_jax_claims.json``.

# %%
claims.remember(
    evidence.claims(table, tolerance=TOLERANCE, global_batch=GLOBAL_BATCH, num_processes=PROCESSES), settings
)
