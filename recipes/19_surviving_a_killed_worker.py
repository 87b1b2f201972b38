"""Surviving a killed worker: keras.callbacks.BackupAndRestore, a run stopped in mid-epoch, the same weights after.

A training run stopped in the middle of an epoch and started again with
``keras.callbacks.BackupAndRestore`` resumes at the epoch it lost and ends with
the weights of a run never stopped: in this process with five optimizers, and
in a two-process ``keras.distribution`` job on JAX whose worker 1 is killed with
a real SIGKILL. It also shows what the backup does not hold (the shuffle's
random state) and what Keras's callback does not check (whose backup it loads).

Run it: ``python recipes/19_surviving_a_killed_worker.py`` (about half a minute:
the killed job runs in JAX child processes), or ``--quick`` (fewer epochs and
optimizers). What it measures lives in ``cookbook/lessons/surviving_a_killed_worker.py``.
"""

# %% [markdown]
# ## Settings
#
# One concept, one name: this lesson, its evidence module
# (``cookbook/lessons/surviving_a_killed_worker.py``) and its tests share the
# slug; the callback it uses beyond Keras's own, ``cookbook.BackupAndRestore``,
# is library code named for what it is (``cookbook/backup.py``). The command
# line sets ``--quick``, ``--seed``, ``--out``, ``--epochs`` and
# ``--csv``/``--target``; in a notebook, edit them here.

# %%
from cookbook import BackupAndRestore, BackupMismatch, CookbookError, ReshuffledArrays, claims, loading, outputs
from cookbook.display import show
from cookbook.lessons import agreement
from cookbook.lessons import surviving_a_killed_worker as evidence
from cookbook.settings import from_command_line, stop

import keras
import pandas as pd

settings = from_command_line(
    __doc__,
    "19_surviving_a_killed_worker",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=6,
    quick_epochs=3,
    data="diabetes",
)
HIDDEN_UNITS = 16
BATCH_SIZE = 32  # rows per step; in the two-worker job each process feeds half of them
WORKERS = 2
STOP_STEP = 6  # the run stops after this many steps of the middle epoch
TOLERANCE = 1e-6  # |resumed - never stopped| on float32 weights that counts as the same weights
OPTIMIZERS = {  # the state each must carry across a restart is in the update rules below the figure
    "SGD": lambda: keras.optimizers.SGD(learning_rate=0.05),
    "Momentum": lambda: keras.optimizers.SGD(learning_rate=0.02, momentum=0.9),
    "Adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.1),
    "RMSprop": lambda: keras.optimizers.RMSprop(learning_rate=0.005),
    "Adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
}
optimizers = ["Adam"] if settings.quick else list(OPTIMIZERS)  # --quick: Adam, which carries the most state
stop_epoch = settings.epochs // 2  # 0-based: the middle epoch, with at least one backup behind it
if settings.epochs < 3:
    stop(f"--epochs must be at least 3 (stopped in the middle, then resumed), got {settings.epochs}")

# %% [markdown]
# ## Data
#
# The diabetes table (442 patients, 10 measurements, a disease score a year
# later), standardized. The lesson is about surviving a crash, not about
# generalization, so every row trains. Every run uses ``shuffle=False``: epoch
# 5 of a resumed run then sees the batches epoch 5 of a run never stopped saw
# (the shuffle section measures what shuffling changes).

# %%
X_frame, y_series = loading.load_data(settings)
X, y = evidence.standardized(X_frame, y_series, multiple_of=WORKERS)
if len(X) < BATCH_SIZE * STOP_STEP + 1:
    stop(f"{len(X_frame)} rows are too few: the run stops after {STOP_STEP} steps of {BATCH_SIZE} rows")
steps_per_epoch = -(-len(X) // BATCH_SIZE)
print(f"{len(X)} rows, {X.shape[1]} columns; {steps_per_epoch} steps of {BATCH_SIZE} rows per epoch")

# %% [markdown]
# ## Model
#
# A small regression MLP. Every run seeds and builds it the same way, as a
# training script started again would. (Were the runs shuffled, a seeded
# ``fit(shuffle=True)`` on TensorFlow would visit the rows in the same order
# every epoch: lesson 07 measures it and shows a fix; the shuffle section
# below measures what either does to a resume.)


# %%
def build_model(units=HIDDEN_UNITS, activation="relu"):
    keras.utils.set_random_seed(settings.seed)
    return keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(units, activation), keras.layers.Dense(1)])


build_model().summary()

# %% [markdown]
# ## A worker killed for real, in the background
#
# The job of lesson 18: two JAX processes joined by
# ``keras.distribution.initialize``, a ``DataParallel`` distribution over
# both, each process calling ``fit`` on its own half of the rows
# (``X[i::2]``, ``batch_size=16``: a global batch of 32). Each process has its
# own ``backup_dir``: Keras's callback knows nothing of processes, and one
# shared folder would have both rewriting the same files. In the middle epoch,
# after step ``STOP_STEP``, worker 1 sends itself SIGKILL (as ``kill -9`` or a
# host losing power: no clean-up). The launcher sees it die, stops worker 0
# (which waits for its peer in a gradient all-reduce), and launches the same
# commands again; bringing a job back is the user's part, Keras's docstring
# says. The job uses ``cookbook.BackupAndRestore``: worker 0 runs ahead of its
# dead peer (JAX dispatches steps without waiting for them) and can be killed
# while it writes its backup, which Keras's callback rewrites in place. Each
# process runs ``evidence.fit_twin`` (load the start model, ``compile``,
# ``fit`` with ``shuffle=False``), first without a backup (the reference),
# then with one. The job starts now; the lesson goes on while it runs.

# %%
folder = evidence.scratch_folder()  # backups and the job, removed at exit
job = evidence.save_job(
    folder / "two-workers",
    build_model(),
    X,
    y,
    twins={"Adam": ("Adam", {"learning_rate": 0.01})},  # Adam carries the most state: m, v and the step count
    epochs=settings.epochs,
    batch_size=BATCH_SIZE // WORKERS,
    num_processes=WORKERS,
    kill={"epoch": stop_epoch, "batch": STOP_STEP - 1, "process": WORKERS - 1},
    callback="cookbook",
)
job_done = evidence.start_in_background(job)

# %% [markdown]
# ## The callback in one process
#
# ``BackupAndRestore(backup_dir)`` writes the training state into
# ``backup_dir`` at the end of every epoch (``save_freq="epoch"``; an integer
# saves every that many steps) and, when ``fit`` starts, loads whatever it
# finds there. ``Stop`` below stands for the kill: it raises in the middle
# epoch, after ``STOP_STEP`` steps, and leaves on disk what a kill between two
# saves leaves. The lesson's child processes do the real thing.


# %%
class Stop(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch + 1) == (stop_epoch, STOP_STEP):
            raise RuntimeError("stopped in mid-epoch")


def launch(optimizer, *callbacks, data=None):
    """One start of a training script: seed, build, compile, fit (until it stops). The model and its History."""
    model = build_model()
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss="mean_squared_error")
    history = keras.callbacks.History()
    fit_data = data or {"x": X, "y": y, "batch_size": BATCH_SIZE, "shuffle": False}
    try:
        model.fit(**fit_data, epochs=settings.epochs, verbose=0, callbacks=[history, *callbacks])
    except RuntimeError:
        pass  # stopped: whatever the callback wrote stays on disk
    return model, history


# %% [markdown]
# What the folder holds after each epoch of a run that stops:

# %%
snapshots = []
look = keras.callbacks.LambdaCallback(
    on_epoch_end=lambda epoch, logs: snapshots.append(evidence.folder_table(folder / "Adam", epoch))
)
stopped = {"Adam": launch("Adam", keras.callbacks.BackupAndRestore(folder / "Adam"), Stop(), look)[1]}
show(pd.DataFrame(snapshots), "What keras.callbacks.BackupAndRestore holds after each epoch")

# %% [markdown]
# ``latest.weights.h5`` holds the weights and ``optimizer.variables`` (the
# step count, the learning rate and every slot), ``training_metadata.json``
# the next epoch to run. A finished ``fit`` deletes the folder
# (``delete_checkpoint=True``). Now every optimizer: a run never stopped, a
# run stopped in mid-epoch, and a second start of the same script that
# resumes from the backup.

# %%
resume_rows, losses = [], []
start = build_model().get_weights()
for name in optimizers:
    reference, never = launch(name)
    if name not in stopped:
        stopped[name] = launch(name, keras.callbacks.BackupAndRestore(folder / name), Stop())[1]
    resumed, after = launch(name, keras.callbacks.BackupAndRestore(folder / name))
    resume_rows.append(evidence.resume_row("one process", name, after.epoch[0] + 1, resumed.get_weights(),
                                    reference.get_weights(), start))  # fmt: skip
    losses += evidence.loss_rows(
        name, {"reference": never, "before the stop": stopped[name], "after the resume": after}
    )
snapshot_losses = pd.DataFrame(losses, columns=["optimizer", "run", "epoch", "loss"])
show(pd.DataFrame(resume_rows), "Stopped in mid-epoch, resumed, against the run never stopped")

# %% [markdown]
# ## Shuffled batches
#
# The backup does not hold the random state that orders the rows. Seeded
# ``fit(shuffle=True)`` on TensorFlow visits the rows in one order every epoch
# (lesson 07 measures it); ``cookbook.ReshuffledArrays`` draws a new order
# every epoch from its own generator, the same sequence in every run. Each is
# stopped and resumed as above, against the same shuffle never stopped.

# %%
shuffles = {
    "fit(shuffle=True)": lambda: {"x": X, "y": y, "batch_size": BATCH_SIZE, "shuffle": True},
    "ReshuffledArrays": lambda: {"x": ReshuffledArrays(X, y, BATCH_SIZE, seed=settings.seed), "shuffle": False},
}
shuffled = {}
for how, data in shuffles.items():
    never, _ = launch("Adam", data=data())
    launch("Adam", keras.callbacks.BackupAndRestore(folder / how), Stop(), data=data())
    resumed, _ = launch("Adam", keras.callbacks.BackupAndRestore(folder / how), data=data())
    shuffled[how] = agreement.max_difference(resumed.get_weights(), never.get_weights())
shuffle_table = pd.DataFrame({"shuffled by": list(shuffled), "max |w - never stopped|": list(shuffled.values())})
show(shuffle_table, f"Shuffled, stopped and resumed, on {keras.backend.backend()}")

# %% [markdown]
# ## Whose backup? ``cookbook.BackupAndRestore``
#
# Keras's callback loads whatever ``backup_dir`` holds. A backup left by
# another run is loaded without a word whenever the shapes allow it, and a
# changed learning rate is replaced by the backup's (it is one of the
# optimizer's variables). ``cookbook.BackupAndRestore`` (same arguments)
# writes a fingerprint of the model and optimizer with each backup and raises
# ``BackupMismatch`` on another run's, leaving the folder as it was. Here a
# Momentum run writes two epochs, then RMSprop comes back to the folder:

# %%
for kind, callback in (("keras", keras.callbacks.BackupAndRestore), ("cookbook", BackupAndRestore)):
    model = build_model()
    model.compile(optimizer=OPTIMIZERS["Momentum"](), loss="mean_squared_error")
    model.fit(X, y, batch_size=BATCH_SIZE, epochs=2, shuffle=False, verbose=0,
              callbacks=[callback(folder / f"guard-{kind}", delete_checkpoint=False)])  # fmt: skip

other = build_model()
other.compile(optimizer=OPTIMIZERS["RMSprop"](), loss="mean_squared_error")
try:
    other.fit(X, y, batch_size=BATCH_SIZE, epochs=3, verbose=0, callbacks=[BackupAndRestore(folder / "guard-cookbook")])
except BackupMismatch as refusal:
    print(f"BackupMismatch: {refusal}")

# %% [markdown]
# The same test for both callbacks, each on a fresh copy of its backup: the
# same run coming back, RMSprop for Momentum, and Momentum at another rate.

# %%
cases = {
    "same model and optimizer": lambda: keras.optimizers.SGD(learning_rate=0.02, momentum=0.9),
    "RMSprop for Momentum": OPTIMIZERS["RMSprop"],
    "Momentum at learning_rate=0.05": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
}
guard = []
for case, make_optimizer in cases.items():
    for kind, callback in (("keras", keras.callbacks.BackupAndRestore), ("cookbook", BackupAndRestore)):
        model = build_model()
        model.compile(optimizer=make_optimizer(), loss="mean_squared_error")
        outcome = evidence.try_resume(callback, folder / f"guard-{kind}", model, X, y, epochs=3, batch_size=BATCH_SIZE)
        guard.append({"case": case, "callback": kind, "same model": case == "same model and optimizer", **outcome})
guard = show(pd.DataFrame(guard), "Coming back to a Momentum run's backup (lr: the rate the run trained with)")
outputs.save_table(guard, settings, "guard")

# %% [markdown]
# ## The killed job, and the comparison
#
# Back to the two-worker job: each launch, and what the kill left in the
# workers' backup folders (a weights file that ``does not open`` would be a
# write the kill cut short, left in ``staging/``).

# %%
try:
    launches, on_disk = job_done.result()
except CookbookError as exc:
    stop(str(exc).replace("\n", " | "))
launch_table = show(evidence.launch_rows(launches, job), "Each launch of the two-worker job")
show(on_disk[["after launch", "process", "file", "bytes", "state"]], "What the kill left in the backup folders")
table = pd.concat([pd.DataFrame(resume_rows), pd.DataFrame(evidence.job_rows(job))], ignore_index=True)
show(table, "Stopped or killed, resumed, against the runs never stopped")
outputs.save_table(table, settings)
outputs.save_table(launch_table, settings, "launches")

# %% [markdown]
# A backup taken at the end of an epoch loses the steps done since; they run
# again after the restart, from the same weights and optimizer state, on the
# same batches, so they compute the same numbers: the crosses sit on the
# lines. What each optimizer's backup must carry, in Keras's update rules
# (gradient $g$, rate lr, the ``learning_rate``; ``keras/src/optimizers/``;
# momentum, $\rho$, $\beta_1$, $\beta_2$ and $\epsilon$ are the arguments
# ``momentum``, ``rho``, ``beta_1``, ``beta_2`` and ``epsilon``):
#
# $$
# \begin{aligned}
# \text{SGD:}\quad w &\leftarrow w - \text{lr}\, g \qquad \text{(state: the step count)} \\
# \text{Momentum:}\quad v &\leftarrow \text{momentum}\, v - \text{lr}\, g
# \qquad \text{(state: } v \text{ per weight)} \\
# w &\leftarrow w + v \\
# \text{Adagrad:}\quad G &\leftarrow G + g^2 \qquad \text{(state: } G \text{ per weight, starts at 0.1)} \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{G + \epsilon}} \\
# \text{RMSprop:}\quad s &\leftarrow \rho s + (1 - \rho)\, g^2 \qquad \text{(state: } s \text{ per weight)} \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{s + \epsilon}} \\
# \text{Adam:}\quad m &\leftarrow m + (1 - \beta_1)(g - m)
# \qquad \text{(state: } m, v \text{ per weight, and } t\text{)} \\
# v &\leftarrow v + (1 - \beta_2)(g^2 - v) \\
# w &\leftarrow w - \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon}
# \end{aligned}
# $$
#
# The textbook's momentum adds $\text{lr}\, v$ with $v$ a running gradient, and
# the textbook's Adam puts $\epsilon$ outside the bias correction. A resume that
# lost $v$ would restart Momentum at rest; one that lost $t$ would apply
# step 1's bias correction again.

# %%
panels = [("one process: stopped by an exception", snapshot_losses),
          ("two workers: worker 1 killed (worker 0's loss)", evidence.job_losses(job))]  # fmt: skip
outputs.save_figure(evidence.plot_losses(panels, stop_epoch, STOP_STEP, steps_per_epoch), settings, "losses")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``19_surviving_a_killed_worker_claims.json``.

# %%
claims.remember(
    evidence.claims(
        table,
        launch_table,
        shuffled,
        guard,
        kill_epoch=stop_epoch,
        tolerance=TOLERANCE,
        backend=keras.backend.backend(),
    ),
    settings,
)
