"""Distributed training with tf.distribute: MirroredStrategy on two logical CPUs, then two workers on localhost.

The same small classifier trains on one device and mirrored over two
replicas (``with strategy.scope(): model = ...; model.compile(...)``, then
``fit``): the weights agree up to float rounding when every global batch
splits evenly over the replicas, and drift when it does not. We meet the
scope mistake users meet first, write the per-replica step out with
``strategy.run`` (the cookbook's optimizers from lesson 15 train under it as
Keras's own do), and run two ``MultiWorkerMirroredStrategy`` worker processes
on 127.0.0.1, as on two hosts. Lesson 18 does the same with Keras 3's own
``keras.distribution`` on JAX.

Run it: ``python recipes/17_distributed_training.py`` (``--quick`` for a
shorter look; it starts two worker processes either way). What this lesson
measures lives in ``cookbook/lessons/distributed_training.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target`` for your own two classes;
# see ``--help``); in a notebook, edit them here, in a fresh kernel. The
# lesson configures TensorFlow's devices, which a process can do only before
# TensorFlow's runtime starts: ``NEEDS_FRESH_PROCESS`` tells ``cookbook
# tour`` to run it in a Python of its own, and ``NEEDS_TENSORFLOW`` stops it
# with one line under another Keras backend (``tf.distribute`` is
# TensorFlow's).

# %%
from cookbook import claims, errors, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import distributed_training as evidence
from cookbook.settings import from_command_line, needs_fresh_process, needs_tensorflow, stop

import keras

settings = from_command_line(
    __doc__,
    "17_distributed_training",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=2,
    quick_epochs=1,
    data="breast_cancer",
)
NEEDS_FRESH_PROCESS = needs_fresh_process(
    "it splits the CPU into two logical devices, which TensorFlow allows only before its runtime starts"
)
NEEDS_TENSORFLOW = needs_tensorflow("its MirroredStrategy and multi-worker parts are tf.distribute")
import tensorflow as tf  # noqa: E402  (after the check above)

REPLICAS = 2  # logical CPUs MirroredStrategy mirrors over (two GPUs on a real machine)
GLOBAL_BATCH = 32  # what fit(batch_size=...) means under a strategy: each replica computes on 32 / 2 rows
HIDDEN_UNITS = 8
LEARNING_RATE = 0.01
TWIN_OPTIMIZERS = ("Adam",) if settings.quick else evidence.OPTIMIZER_NAMES  # SGD, Momentum, Adagrad, RMSprop, Adam

# %% [markdown]
# ## Two devices from one CPU
#
# ``MirroredStrategy`` keeps one copy of every variable per device and, at
# each step, sums the devices' gradients (an all-reduce). On a machine with
# GPUs, ``tf.distribute.MirroredStrategy()`` takes them all; here the one CPU
# is split into two logical devices, which must happen before anything starts
# TensorFlow's runtime. Two logical CPUs share one processor: they show that
# the numbers come out right, not a speed-up.

# %%
cpu = tf.config.list_physical_devices("CPU")[0]
try:
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)
except RuntimeError:  # "Virtual devices cannot be modified after being initialized"
    stop(f"TensorFlow already runs on one CPU, too late for {REPLICAS} logical devices: use a fresh Python or kernel")
devices = [device.name for device in tf.config.list_logical_devices("CPU")][:REPLICAS]
strategy = tf.distribute.MirroredStrategy(devices)
one_device = tf.distribute.get_strategy()  # the default strategy: no distribution, one device
print(f"MirroredStrategy over {devices}: {strategy.num_replicas_in_sync} replicas in sync")

# %% [markdown]
# ## Data
#
# Breast-cancer diagnosis (two classes), standardized with the training
# rows' statistics: 427 training rows, an odd number, on purpose. Under a
# strategy ``batch_size`` is the GLOBAL batch. The table spells out what
# ``fit`` then does with 426 rows and with 427: with 427 the last step has 11
# rows, split 6 + 5, and ``batch_size=427`` cannot be split evenly at all.

# %%
X_all, y_all = loading.load_data(settings)
labels, classes = loading.class_labels(y_all)
if len(classes) != 2:
    stop(f"{settings.data_source}: {len(classes)} classes; this lesson trains a binary classifier (two classes)")
split = loading.split(settings, X_all, labels, stratify=True)
X, y = split.X_train.astype("float32"), split.y_train.astype("float32").reshape(-1, 1)
odd = len(X) - 1 + len(X) % 2  # the largest odd row count: its last step cannot split evenly
even = odd - 1
show(evidence.batch_table([(even, GLOBAL_BATCH), (odd, GLOBAL_BATCH), (odd, odd)], REPLICAS), "fit(batch_size=...)")

# %% [markdown]
# ## Model
#
# One hidden ReLU layer and a sigmoid output. The initializers are seeded,
# so every build starts from the same weights: one device, two replicas,
# two workers and every optimizer below begin at the same point.


# %%
def build_model():
    return keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(
                HIDDEN_UNITS, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(settings.seed)
            ),
            keras.layers.Dense(
                1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(settings.seed + 1)
            ),
        ]
    )


keras.utils.set_random_seed(settings.seed)
build_model().summary()
start = build_model().get_weights()

# %% [markdown]
# ## Two workers start first
#
# A Python process with TensorFlow takes seconds to start, so the
# ``MultiWorkerMirroredStrategy`` workers start now and train while this
# process does the rest. Each runs ``python -m cookbook.lessons.worker JOB``
# with its own ``TF_CONFIG`` (every worker's address on 127.0.0.1, ports
# picked free, and its own index; worker 0 is the chief). ``JOB`` is a
# folder with the model above (a ``.keras`` file: architecture and starting
# weights), the odd rows and the settings. The worker's key lines:
#
# ```python
# strategy = tf.distribute.MultiWorkerMirroredStrategy()  # joins the cluster TF_CONFIG names
# with strategy.scope():
#     model = keras.models.load_model(job / "model.keras", compile=False)
#     optimizer = keras.optimizers.Adam(learning_rate=0.01)
# train_in_lockstep([(model, optimizer)], X, y, batch_size=32, strategy=strategy)
# ```

# %%
workers, job = evidence.start_workers(
    build_model(), X[:odd], y[:odd], learning_rate=LEARNING_RATE, batch_size=GLOBAL_BATCH, epochs=settings.epochs
)

# %% [markdown]
# ## ``fit`` under MirroredStrategy
#
# The model AND its optimizer are created inside ``strategy.scope()``: that
# is where their variables get one mirrored copy per replica. ``fit`` is
# called as usual. The same function on ``one_device`` (the default
# strategy, whose scope does nothing) gives the run to compare with. What is
# compared is how each step's gradient is computed, not the row order, so
# every ``fit`` keeps the rows in file order (``shuffle=False``) and the two
# runs differ in the strategy alone (with ``shuffle=True`` a seeded ``fit``
# on TensorFlow repeats one row order every epoch; lesson 07 measures it,
# and ``cookbook.ReshuffledArrays`` is the fix).


# %%
def fit_weights(where, rows, batch_size):
    with where.scope():
        model = build_model()
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy")
    model.fit(X[:rows], y[:rows], batch_size=batch_size, epochs=settings.epochs, shuffle=False, verbose=0)
    return model.get_weights()


fits = {}
for rows in (even, odd):
    fits["mirrored", rows] = fit_weights(strategy, rows, GLOBAL_BATCH)
    fits["one device", rows] = fit_weights(one_device, rows, GLOBAL_BATCH)

# %% [markdown]
# Why 427 rows drift: Keras computes each replica's *mean* loss over its
# own rows and scales it by 1/replicas (``scale_loss_for_distribution`` in
# ``keras/src/losses/loss.py``), so the summed gradient is the one-device
# gradient only when the rows split evenly. The last step's 6 + 5 rows weigh
# 1/12 and 1/10 each instead of 1/11. ``batch_size=len(X)``, full-batch
# gradient descent split in two, fails with 427 rows before the first step:
# 214 and 213 rows cannot be stacked into one tensor.

# %%
full_batch_error = evidence.fit_error(lambda: fit_weights(strategy, odd, odd))
print(f"batch_size={odd} on {odd} rows, mirrored: {full_batch_error or 'trains'}")

# %% [markdown]
# ## The scope mistake
#
# The optimizer created *outside* the scope (a model built outside fails
# the same way). TensorFlow's error, raised deep inside ``fit``, says "Mixing
# different tf.distribute.Strategy objects" and names neither.
# ``evidence.check_scope`` asks the strategy about every variable before
# training (``strategy.extended.variable_created_in_scope``), and
# ``explain_scope_errors`` turns TensorFlow's error into one that says what
# to move where.

# %%
optimizer = keras.optimizers.Adam(LEARNING_RATE)  # WRONG: created outside the scope
with strategy.scope():
    model = build_model()
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
scope_errors = {
    "check_scope": evidence.scope_error(lambda: evidence.check_scope(strategy, model)),
    "fit": evidence.scope_error(lambda: model.fit(X[:even], y[:even], batch_size=GLOBAL_BATCH, verbose=0)),
}
print("\n".join(f"{caught_by}: {message}" for caught_by, message in scope_errors.items()))

# %% [markdown]
# ## The per-replica step, written out
#
# What ``fit`` does at each step, by hand:
# ``strategy.experimental_distribute_dataset`` gives each replica its slice
# of every global batch, ``strategy.run`` runs ``replica_step`` once per
# replica, and ``apply_gradients`` inside a replica sums the replicas'
# gradients before it updates the mirrored weights. One change from
# ``fit``: each replica's loss is *its rows' summed loss / the global batch's
# rows*, so the all-reduced sum is the gradient of the global batch's mean
# loss however the rows split. Every cookbook optimizer (lesson 15) and its
# Keras built-in train side by side in one compiled step, on all 427 rows
# (``--quick``: Adam only).


# %%
def train(pairs, rows, epochs):
    with strategy.scope():
        for model, optimizer in pairs:
            optimizer.build(model.trainable_variables)  # its state is created here, mirrored

    @tf.function(reduce_retracing=True)
    def train_step(x, y):
        def replica_step(x, y):
            global_rows = tf.distribute.get_replica_context().all_reduce("SUM", tf.cast(tf.shape(x)[0], "float32"))
            for model, optimizer in pairs:
                with tf.GradientTape() as tape:
                    per_row = keras.losses.binary_crossentropy(y, model(x, training=True))
                    loss = tf.reduce_sum(per_row) / global_rows
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # all-reduces them

        strategy.run(replica_step, args=(x, y))

    batches = tf.data.Dataset.from_tensor_slices((X[:rows], y[:rows])).batch(GLOBAL_BATCH)
    for _ in range(epochs):
        for x_batch, y_batch in strategy.experimental_distribute_dataset(batches):
            train_step(x_batch, y_batch)


with strategy.scope():
    pairs = {
        (name, source): (build_model(), evidence.make_optimizer(name, LEARNING_RATE, source=source))
        for name in TWIN_OPTIMIZERS
        for source in ("cookbook", "keras")
    }
train(list(pairs.values()), odd, settings.epochs)
stepped = {key: model.get_weights() for key, (model, _) in pairs.items()}

# %% [markdown]
# ## The workers' result
#
# Each worker trained with the step above, written for processes
# (``distributed_training.train_in_lockstep``): each takes its half of every
# global batch and divides its summed loss by the global batch's rows, and
# ``apply_gradients`` all-reduces the gradients across the processes. Not
# ``fit``: under ``MultiWorkerMirroredStrategy`` it fails in Keras 3
# (keras-team/keras#20585). The launcher enforces a deadline and kills every
# worker if one fails: a worker whose peer died could otherwise wait for it.
# On real hosts, run the same command on each host with its own
# ``TF_CONFIG`` (printed below: replace 127.0.0.1 and the ports by the hosts'
# names and an open port).

# %%
try:
    workers_seen = evidence.workers_table(workers.wait(), job, fits["one device", odd])
except errors.WorkerFailed as error:
    stop(str(error).replace("\n", " | "))
print("\n".join(evidence.hand_commands()))

# %% [markdown]
# ## Compare
#
# Every run against one device trained on the same rows with the same
# ``batch_size``, and every twin against its built-in. What to look for: the
# twins and the built-ins are bit-for-bit identical (the same operations on
# the same summed gradients); mirrored ``fit`` differs from one device by
# float rounding only when every step splits evenly; the written-out step
# does not drift on 427 rows; the two workers hold identical weights.

# %%
runs = evidence.runs_table(
    fits,
    full_batch_error=full_batch_error,
    step=stepped["Adam", "keras"],
    even=even,
    odd=odd,
    batch_size=GLOBAL_BATCH,
    replicas=REPLICAS,
)
twins = evidence.twins_table(stepped, start, REPLICAS, odd)
show(runs, f"Against one device (Adam, lr {LEARNING_RATE:g}, {settings.epochs} epoch(s))")
show(twins, "Cookbook twins vs Keras built-ins, both trained by the strategy.run step")
show(workers_seen, f"MultiWorkerMirroredStrategy: {evidence.WORKERS} processes on 127.0.0.1")
outputs.save_table(runs, settings)
outputs.save_table(twins, settings, "twins")
outputs.save_table(workers_seen, settings, "workers")
outputs.save_figure(evidence.plot_differences(runs, twins, workers_seen), settings, "differences")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``17_distributed_training_claims.json``.

# %%
claims.remember(
    evidence.claims(
        runs,
        twins,
        workers_seen,
        scope_errors,
        replicas=REPLICAS,
    ),
    settings,
)
