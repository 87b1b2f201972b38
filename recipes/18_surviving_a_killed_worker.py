"""Surviving a killed worker: keras.callbacks.BackupAndRestore, SIGKILL in mid-epoch, and the same weights after.

A training process killed in the middle of an epoch (a real SIGKILL, as a preempted machine or the
out-of-memory killer sends) and started again with ``keras.callbacks.BackupAndRestore`` resumes at the
epoch it lost and ends with the weights of a run never killed, with each of the cookbook's optimizer
twins, in one process and in a two-worker ``keras.distribution`` job; ``cookbook.BackupAndRestore`` adds
what Keras's callback lacks: it refuses a backup that another model or optimizer wrote, and never leaves
a half-written one. Builds on recipe 16 (processes on localhost, ``keras.distribution`` on JAX) and
recipe 14 (the twins).

Run it: ``python recipes/18_surviving_a_killed_worker.py`` (about a minute: it launches JAX child
processes and kills them), or ``--quick`` (about 30 s: fewer epochs, one twin in the two-worker job).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant here. ``import cookbook``
# comes before ``import keras`` so that TensorFlow's start-up log lines stay
# out of the terminal. The training that gets killed runs in child
# processes on the JAX backend (``cookbook/lessons/fault_tolerance.py``):
# only a separate process can be killed and started again, and the
# two-worker job needs ``keras.distribution``, which runs ``fit`` on JAX
# (under TensorFlow's MultiWorkerMirroredStrategy ``fit`` fails:
# keras-team/keras#20585). JAX is also the lighter import, which counts
# when a lesson starts a dozen processes.

# %%
import atexit
import concurrent.futures
import hashlib
import inspect
import json
import pathlib
import shutil
import tempfile
import threading
import warnings

import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.lessons import agreement, fault_tolerance

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EPOCHS = 6
QUICK_EPOCHS = 4
HIDDEN_UNITS = 16
LEARNING_RATE = 0.01  # Adam's, in the one-process demonstration
BATCH_SIZE = 32  # rows per step; in the two-worker job each process feeds half of them
WORKERS = 2
KILL_BATCH = 5  # the fault fires after this batch (0-based) of the middle epoch: 6 of its 14 steps done
TOLERANCE = 1e-6  # |resumed - never killed| on float32 weights (what the tests demand)
MAX_LAUNCHES = 8  # a job still failing after this many launches is broken, not unlucky
LAUNCH_TIMEOUT = 240.0  # s before the launcher kills a launch that hangs
GUARD_EPOCHS = 2  # epochs behind the backup that part 2 tries to resume with other models
SHUFFLE_EPOCHS = 4  # the shuffled run of part 1; "killed" after half of them
# The twins (class in cookbook.optimizers, settings); "Momentum" is SGD with momentum, as in every lesson.
TWINS = {
    "SGD": ("SGD", {"learning_rate": 0.05}),
    "Momentum": ("SGD", {"learning_rate": 0.02, "momentum": 0.9}),
    "Adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "RMSprop": ("RMSprop", {"learning_rate": 0.005}),
    "Adam": ("Adam", {"learning_rate": 0.01}),
}
QUICK_WORKER_TWINS = ["Adam"]  # the twin with the most state to carry: m, v and the step count t
COLORS = {
    "SGD": "tab:blue",
    "Momentum": "tab:orange",
    "Adagrad": "tab:green",
    "RMSprop": "tab:red",
    "Adam": "tab:purple",
}
CALLBACKS = {"keras": "keras.callbacks.BackupAndRestore", "cookbook": "cookbook.BackupAndRestore"}


def in_background(function, *args):
    """Run ``function(*args)`` in a daemon thread; ``.result()`` waits for it and returns or re-raises."""
    future = concurrent.futures.Future()

    def run():
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # handed to whoever calls .result()
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def finished(future, args):
    """The result of a background job, or one line on stderr and exit status 2 if it hung or kept failing."""
    try:
        return future.result()
    except (cookbook.errors.WorkerTimeout, cookbook.errors.LessonError) as exc:
        cookbook.recipe.fail(args, str(exc).replace("\n", " | "))


def settings_text(twin):
    """``SGD(learning_rate=0.02, momentum=0.9)`` for a twin's name."""
    cls, kwargs = TWINS[twin]
    return f"{cls}(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def backup_files(folder, epoch):
    """What a backup folder holds at the end of ``epoch``: its files and the epoch its metadata resumes at."""
    files = sorted(p for p in pathlib.Path(folder).rglob("*") if p.is_file())
    metadata = [p for p in files if p.name == "training_metadata.json"]
    return {
        "after epoch": epoch + 1,
        "files": ", ".join(f"{p.relative_to(folder)} ({p.stat().st_size} B)" for p in files),
        "training_metadata.json": metadata[0].read_text(encoding="utf-8") if metadata else "-",
    }


def digest(folder):
    """One hash of every file's path and bytes under ``folder`` (to see that nothing changed)."""
    h = hashlib.sha256()
    for path in sorted(p for p in pathlib.Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


def try_resume(callback, written, model, X, y):
    """``fit`` one epoch more than ``written`` holds, from a copy of it, under ``callback``; what happened."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cookbook-13-resume-")) / "backup"
    shutil.copytree(written, folder)
    before = digest(folder)
    started = []
    watch = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: started.append(epoch))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(
                X,
                y,
                batch_size=BATCH_SIZE,
                epochs=GUARD_EPOCHS + 1,
                shuffle=False,
                verbose=0,
                callbacks=[callback(folder), watch],
            )
        except Exception as exc:  # the outcome we measure: which error, if any
            outcome = f"refused: {type(exc).__name__}"
        else:
            outcome = f"resumed at epoch {started[0] + 1}" if started and started[0] > 0 else "started afresh"
            outcome += f", lr {float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)):.3g}"
            if any("Skipping variable loading" in str(w.message) for w in caught):
                outcome += " (warned: optimizer state skipped)"
    after = "deleted (fit finished)" if not folder.exists() else "unchanged" if digest(folder) == before else "changed"
    shutil.rmtree(folder.parent, ignore_errors=True)
    return outcome, after


def how_it_ended(result, killed_itself):
    """In words: the fault, the launcher, or an error (with its last line)."""
    if killed_itself:
        return "killed itself (the fault)"
    if result.stopped_by_launcher:
        return "stopped by the launcher"
    if result.returncode == 0:
        return "finished"
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("I0000", "W0000"))]
    last = lines[-1].strip() if lines else "no message"
    return f"{result.describe()}: {last if len(last) <= 80 else '...' + last[-77:]}"  # the root cause comes last


def launch_rows(part, launches, job):
    """One row per process per launch: exit status and how it ended."""
    events = fault_tolerance.read_events(job)
    rows = []
    for number, results in enumerate(launches, start=1):
        for r in results:
            killed_itself = bool(((events["pid"] == r.pid) & (events["event"] == "kill")).any())
            rows.append(
                {
                    "part": part,
                    "launch": number,
                    "process": r.index,
                    "pid": r.pid,
                    "exit status": r.returncode,
                    "how it ended": how_it_ended(r, killed_itself),
                    "seconds": round(r.seconds, 1),
                }
            )
    return pd.DataFrame(rows)


def resume_table(job, part, twins, num_processes, launches, callback):
    """Per twin and process: the launch that killed it, how, where it resumed, and its distance to the reference."""
    events = fault_tolerance.read_events(job)
    settings = json.loads((job / fault_tolerance.JOB_FILE).read_text(encoding="utf-8"))
    kill = settings["kill"]
    by_pid = {r.pid: (number, r) for number, results in enumerate(launches, start=1) for r in results}
    rows = []
    for twin in twins:
        for process in range(num_processes):
            starts = events[(events["twin"] == twin) & (events["process"] == process) & (events["event"] == "start")]
            killed_launch, killed = by_pid[starts["pid"].iloc[0]]
            killed_itself = bool(((events["pid"] == killed.pid) & (events["event"] == "kill")).any())
            resumed = starts["epoch"].iloc[-1] + 1 if len(starts) > 1 else None
            reference = fault_tolerance.load_weights(job, twin, "reference", process)
            final = fault_tolerance.load_weights(job, twin, "with backup", process)
            difference = agreement.max_difference(final, reference)
            start = keras.models.load_model(job / fault_tolerance.MODEL_FILE, compile=False).get_weights()
            rows.append(
                {
                    "part": part,
                    "twin": twin,
                    "optimizer": settings_text(twin),
                    "callback": CALLBACKS[callback],
                    "process": process,
                    "killed in launch": killed_launch,
                    "exit status": killed.returncode,
                    "how it ended": how_it_ended(killed, killed_itself),
                    "epochs done at the kill": kill["epoch"],
                    "steps done in the next": f"{kill['batch'] + 1} of {settings['steps_per_epoch']}",
                    "resumed at epoch": resumed,
                    "launches": len(starts),
                    "max |w - start|": agreement.max_difference(final, start),  # it did train
                    "max |w - never killed|": difference,
                    f"equal within {TOLERANCE:g}": difference <= TOLERANCE,
                }
            )
    return pd.DataFrame(rows)


def plot_losses(parts, steps_per_epoch, kill_epoch):
    """Loss per epoch, never killed (lines) and killed + resumed (markers), one panel per part; the kill marked."""
    fig = Figure(figsize=(12, 4.6))
    axes = fig.subplots(1, len(parts), sharey=True)
    killed_at = kill_epoch + (KILL_BATCH + 1) / steps_per_epoch  # epochs done when the signal lands
    for ax, (title, history, resumed_at) in zip(np.atleast_1d(axes), parts):
        history = history[history["process"] == 0]
        for twin in TWINS:
            rows = history[history["twin"] == twin]
            if rows.empty:
                continue
            reference = rows[rows["run"] == "reference"].sort_values("epoch")
            backup = rows[rows["run"] == "with backup"].sort_values("epoch")
            ax.plot(
                reference["epoch"] + 1,
                reference["loss"],
                color=COLORS[twin],
                lw=1.5,
                label=f"{twin}: {settings_text(twin)}",
            )
            before, after = backup[backup["epoch"] < resumed_at[twin]], backup[backup["epoch"] >= resumed_at[twin]]
            ax.plot(before["epoch"] + 1, before["loss"], "o", mfc="none", color=COLORS[twin], ms=7)
            ax.plot(after["epoch"] + 1, after["loss"], "x", color=COLORS[twin], ms=7)
        ax.axvline(killed_at, color="black", ls="--", lw=1)
        ax.annotate(
            f"SIGKILL\n(epoch {kill_epoch + 1}, step {KILL_BATCH + 1} of {steps_per_epoch})",
            (killed_at, 0.97),
            xycoords=("data", "axes fraction"),
            ha="left",
            va="top",
            fontsize=8,
            xytext=(4, 0),
            textcoords="offset points",
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epochs completed")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes_list = list(np.atleast_1d(axes))
    axes_list[0].set_ylabel("training loss (MSE, standardized target)")
    handles, labels = axes_list[0].get_legend_handles_labels()
    marker_handles = [
        axes_list[0].plot([], [], "k-", lw=1.5)[0],
        axes_list[0].plot([], [], "ko", mfc="none")[0],
        axes_list[0].plot([], [], "kx")[0],
    ]
    marker_labels = ["never killed (line)", "with backup: before the kill (o)", "with backup: after the resume (x)"]
    fig.legend(
        handles + marker_handles,
        labels + marker_labels,
        loc="lower center",
        ncol=4,
        fontsize=8,
        bbox_to_anchor=(0.5, -0.08),
        frameon=False,
    )
    fig.suptitle(
        "Loss per epoch: runs killed with SIGKILL in mid-epoch, then resumed (markers), and never killed (lines)"
    )
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="diabetes")


# %%
def main(argv=None):
    """The callback in one process, a killed child resumed, the guard, a killed two-worker job; the key table."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    if args.epochs < 3:
        cookbook.recipe.fail(args, f"--epochs must be at least 3 (killed in the middle, resumed), got {args.epochs}")
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="cookbook-13-"))  # the jobs and backups, removed at exit
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    kill_epoch = args.epochs // 2  # 0-based: the middle epoch, with at least one backup behind it

    # %% [markdown]
    # ## Data
    #
    # The diabetes table (442 patients, 10 measurements, a disease score a
    # year later), every column standardized. The lesson is about
    # surviving a crash, not about generalization, so all rows are
    # training rows. The order of the rows matters here: every run below
    # uses ``shuffle=False``, so that epoch 5 of a resumed run sees the same
    # batches as epoch 5 of a run never killed (part 1 measures what
    # shuffling does to a resumed run).

    # %%
    X_frame, y_series = cookbook.recipe.load_data(args)
    rows = len(X_frame) - len(X_frame) % WORKERS  # the workers split the rows evenly: same steps in each
    if rows < BATCH_SIZE * (KILL_BATCH + 1) + 1:
        cookbook.recipe.fail(
            args,
            f"{len(X_frame)} rows are too few: the kill lands after {KILL_BATCH + 1} steps "
            f"of {BATCH_SIZE} rows, so the lesson needs more than {BATCH_SIZE * (KILL_BATCH + 1)}",
        )
    X = ((X_frame - X_frame.mean()) / X_frame.std()).to_numpy(np.float32)[:rows]
    y = ((y_series - y_series.mean()) / y_series.std()).to_numpy(np.float32).reshape(-1, 1)[:rows]
    steps_per_epoch = -(-len(X) // BATCH_SIZE)
    print(f"{len(X)} rows, {X.shape[1]} columns; {steps_per_epoch} steps of {BATCH_SIZE} rows per epoch")

    # %% [markdown]
    # ## Model
    #
    # A small regression MLP, the same start (seeded) for every run. What a
    # backup must hold to resume exactly is everything that changes during
    # training: the weights, the epoch, and the optimizer's state, which
    # differs per twin (Keras's update rules, gradient g, learning rate lr,
    # in the order of the note):
    #
    #     SGD       w -= lr * g                                      state: the step count only
    #     Momentum  v = momentum * v - lr * g;  w += v               state: v per weight
    #     Adagrad   G += g**2;  w -= lr * g / sqrt(G + eps)          state: G per weight (it only grows)
    #     RMSprop   s = rho * s + (1 - rho) * g**2
    #               w -= lr * g / sqrt(s + eps)                      state: s per weight
    #     Adam      m = beta_1 * m + (1 - beta_1) * g;  v = beta_2 * v + (1 - beta_2) * g**2;  t += 1
    #               w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps)
    #                                                                state: m, v per weight, and t
    #
    # A resume that lost Momentum's ``v`` would restart its ball at rest,
    # one that lost Adagrad's ``G`` would take large steps again, and one
    # that lost Adam's ``t`` would apply step 1's bias corrections to
    # averages that need none. Keras saves all of it:
    # ``optimizer.variables`` (step count, learning rate, the slots) go into
    # the same ``.weights.h5`` file as the model's weights.

    # %%
    def build_model(units=HIDDEN_UNITS, activation="relu"):
        keras.utils.set_random_seed(args.seed)
        return keras.Sequential(
            [keras.Input((X.shape[1],)), keras.layers.Dense(units, activation), keras.layers.Dense(1)]
        )

    model = build_model()
    model.summary()

    # %% [markdown]
    # ## Train
    #
    # **The two killed jobs start first**, in the background, because they
    # take the longest; parts 1 and 3 read them. Each is a folder (the start
    # model, the data, the settings) and a program,
    # ``python -m cookbook.lessons.fault_tolerance JOB``, run on JAX in
    # child processes. For each twin the program trains a *reference* (no
    # backup, never interrupted) and a run *with backup*; its key lines,
    # the source of ``fit_twin``, are printed below. The fault is a
    # callback: in the middle epoch, after step ``KILL_BATCH + 1``, the
    # process sends itself SIGKILL. That is the same signal as ``kill -9``
    # from outside (no clean-up, no ``finally``, no flushing of buffers),
    # sent at a point fixed in the job rather than at a moment a timer
    # picks, so where each run dies and where it resumes are the same on
    # every run. It fires only
    # in a run that started at epoch 1 (no backup yet), so the same
    # command, launched again, resumes instead of dying again.
    #
    # - *One process* trains the five twins side by side, one thread each,
    #   and sends the signal once every twin has reached that step: one
    #   SIGKILL interrupts five trainings.
    # - *Two workers* (recipe 16's ``keras.distribution`` job) train the
    #   twins one after the other, and worker 1 kills itself in each
    #   twin's run.
    #
    # The launcher, ``cookbook.processes.Workers``, reports a process that
    # dies by a signal as ``WorkerFailed``. Bringing the job back is the
    # user's part (Keras's docstring says so): here ``run_until_done``
    # launches the same command again after each failure, and looks at the
    # backup folders in between. It runs in a background thread for each
    # job, so that parts 1 and 2 below go on while the jobs are killed and
    # relaunched.

    # %%
    print(inspect.getsource(fault_tolerance.fit_twin))
    worker_twins = QUICK_WORKER_TWINS if args.quick else list(TWINS)
    one_job = fault_tolerance.save_job(
        scratch / "one-process",
        build_model(),
        X,
        y,
        twins=TWINS,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        kill={"epoch": kill_epoch, "batch": KILL_BATCH, "process": 0},
        callback="keras",
    )
    two_job = fault_tolerance.save_job(
        scratch / "two-workers",
        build_model(),
        X,
        y,
        twins={twin: TWINS[twin] for twin in worker_twins},
        epochs=args.epochs,
        batch_size=BATCH_SIZE // WORKERS,
        num_processes=WORKERS,
        kill={"epoch": kill_epoch, "batch": KILL_BATCH, "process": WORKERS - 1},
        callback="cookbook",
    )

    def run_until_done(job):
        """Launch the job; after a failure, launch the same command again. Every launch's results, and a log."""
        launches, on_disk, log = [], [], []
        for launch in range(1, MAX_LAUNCHES + 1):
            workers = fault_tolerance.start_job(job, timeout=LAUNCH_TIMEOUT)
            running.append(workers)  # killed at exit if the lesson stops early
            try:
                launches.append(workers.wait())
                log.append(f"launch {launch}: every process exited with status 0")
                return launches, pd.concat(on_disk, ignore_index=True), log
            except cookbook.errors.WorkerTimeout:
                raise  # a hang is not a fault to retry
            except cookbook.errors.WorkerFailed as failure:
                launches.append(failure.results)
                on_disk.append(fault_tolerance.describe_backups(job).assign(**{"after launch": launch}))
                log.append(f"launch {launch}: {str(failure).split('. Its last stderr')[0]}")
        raise cookbook.errors.LessonError(f"the job in {job} still failed after {MAX_LAUNCHES} launches")

    running = []
    atexit.register(lambda: [workers.close() for workers in running])
    jobs = {job: in_background(run_until_done, job) for job in (one_job, two_job)}
    print(f"launching {one_job.name} and {two_job.name}, each until it finishes, in the background")

    # %% [markdown]
    # **Part 1, the callback in one process.** ``BackupAndRestore`` writes
    # the training state into ``backup_dir`` at the end of every epoch
    # (``save_freq="epoch"``; an integer saves every that many batches), and
    # at the start of ``fit`` loads whatever it finds there. A finished
    # ``fit`` deletes the folder (``delete_checkpoint=True``): a backup only
    # exists while a run is unfinished. Look at what the folder holds after
    # each epoch.

    # %%
    backup_dir = scratch / "part1-backup"
    snapshots = []
    look = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append(backup_files(backup_dir, epoch))
    )
    model = build_model()
    model.compile(optimizer=cookbook.optimizers.Adam(learning_rate=LEARNING_RATE), loss="mean_squared_error")
    model.fit(
        X,
        y,
        batch_size=BATCH_SIZE,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup_dir), look],
    )
    cookbook.recipe.show(pd.DataFrame(snapshots), "What keras.callbacks.BackupAndRestore holds after each epoch")
    print(f"after fit returned: {backup_dir.name} exists: {backup_dir.exists()}")

    # %% [markdown]
    # ``training_metadata.json`` holds the *next* epoch to run (0-based) and
    # ``latest.weights.h5`` the weights and the optimizer's variables at the
    # end of the last one. Not in the backup: the state of the random
    # generator that orders the rows when ``shuffle=True``. On JAX (and
    # torch) ``fit`` draws a new order for every epoch from NumPy's
    # generator; a relaunched process seeds it afresh, so the resumed epochs
    # see other orders than the run never stopped did, and its weights end
    # elsewhere (as good a model, not the same numbers). On TensorFlow, with
    # a seed set by ``keras.utils.set_random_seed``, the seeded shuffle
    # restarts with every epoch and repeats one order
    # (``keras/src/trainers/data_adapters/array_data_adapter.py``,
    # tensorflow/tensorflow#26179): a relaunch replays it, and nothing is
    # lost because nothing was reshuffled. Every run here uses
    # ``shuffle=False``; to shuffle *and* resume exactly, order the rows
    # yourself with a generator seeded by the epoch number. Measured on
    # this run's backend: a shuffled run stopped after half its epochs (its
    # backup kept), then started again as a new process does (seed, build,
    # ``fit`` with the callback), against the same shuffled run never
    # stopped.

    # %%
    shuffle_dir = scratch / "part1-shuffled"
    runs = {}
    for name, stops in (("never stopped", []), ("stopped, then resumed", [SHUFFLE_EPOCHS // 2])):
        for epochs in [*stops, SHUFFLE_EPOCHS]:  # each fit here stands for one launch of the program
            model = build_model()
            model.compile(optimizer=cookbook.optimizers.Adam(learning_rate=LEARNING_RATE), loss="mean_squared_error")
            backup = keras.callbacks.BackupAndRestore(shuffle_dir, delete_checkpoint=epochs == SHUFFLE_EPOCHS)
            model.fit(X, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=0, callbacks=[backup])
        runs[name] = model.get_weights()
    shuffled_gap = agreement.max_difference(runs["never stopped"], runs["stopped, then resumed"])
    print(
        f"{keras.backend.backend()}, shuffle=True: resumed vs never stopped, max weight difference {shuffled_gap:.3g}"
    )

    # %% [markdown]
    # **Part 1, killed for real.** The one-process job started above uses
    # ``keras.callbacks.BackupAndRestore``, exactly as the cell above does.
    # Its launches, and what the kill left on disk:

    # %%
    one_launches, one_on_disk, one_log = finished(jobs[one_job], args)
    print(*one_log, sep="\n")
    cookbook.recipe.show(launch_rows("one process", one_launches, one_job), "Each launch of the one-process job")
    cookbook.recipe.show(
        one_on_disk[["after launch", "twin", "file", "bytes", "state"]],
        "What the kill left in each twin's backup folder",
    )

    # %% [markdown]
    # Each twin's folder held a complete backup: the weights file opens,
    # and the metadata says to resume at the middle epoch, the one the kill
    # interrupted (its first steps are lost and run again). The process
    # died between two saves, after a step, as most deaths do. A death
    # *during* a save is the case Keras's callback does not survive: it
    # rewrites ``latest.weights.h5`` in place, so a kill in that moment
    # leaves a file that does not open, and the previous epoch's backup is
    # gone with it (``cookbook/backup.py`` quotes the measured errors).
    # Part 2 fixes that, and part 3 is a job where it can happen without
    # anyone planning it.

    # %%
    one_table = resume_table(one_job, "one process", list(TWINS), 1, one_launches, "keras")
    cookbook.recipe.show(
        one_table[["twin", "optimizer", "exit status", "resumed at epoch", "max |w - never killed|"]],
        "One process: killed with SIGKILL, relaunched, against the run never killed",
    )

    # %% [markdown]
    # **Part 2, the guard: ``cookbook.BackupAndRestore``.** Keras's
    # callback loads whatever ``backup_dir`` holds. A backup left by another
    # experiment (another width, another activation, another optimizer) is
    # loaded without a word whenever the shapes allow it, and a changed
    # learning rate is silently replaced by the backup's. The cookbook's
    # drop-in subclass (same arguments) writes a fingerprint of the model
    # and the optimizer next to each backup and refuses a backup that does
    # not match, with ``cookbook.BackupMismatch`` naming what differs and
    # leaving the folder as it was. It also lets Keras write into a staging
    # folder and commits each backup with one atomic rename, so a kill
    # during a save leaves the previous backup whole. Here: a backup of the
    # Momentum model, then an RMSprop model pointed at the same folder.

    # %%
    guard_dir = scratch / "part2-guard"
    model = build_model()
    model.compile(optimizer=cookbook.optimizers.SGD(learning_rate=0.02, momentum=0.9), loss="mean_squared_error")
    model.fit(
        X,
        y,
        batch_size=BATCH_SIZE,
        epochs=GUARD_EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=[cookbook.BackupAndRestore(guard_dir, delete_checkpoint=False)],  # kept, as after a crash
    )
    print("backup folder:", sorted(str(p.relative_to(guard_dir)) for p in guard_dir.rglob("*") if p.is_file()))

    other = build_model()
    other.compile(optimizer=cookbook.optimizers.RMSprop(learning_rate=0.005), loss="mean_squared_error")
    try:
        other.fit(
            X,
            y,
            batch_size=BATCH_SIZE,
            epochs=GUARD_EPOCHS + 1,
            shuffle=False,
            verbose=0,
            callbacks=[cookbook.BackupAndRestore(guard_dir)],
        )
    except cookbook.BackupMismatch as refusal:
        print(f"cookbook.BackupMismatch: {refusal}")

    # %% [markdown]
    # The same test for both callbacks and five ways to come back to a
    # backup of the Momentum model: each row resumes a fresh copy of the
    # backup (written by that callback) with another model or optimizer,
    # for one more epoch. "Resumed" with another model is the silent case:
    # the run continues from weights or optimizer state that were not its
    # own; the learning rate shown is the one the optimizer ran with.

    # %%
    keras_guard_dir = scratch / "part2-keras"
    model = build_model()
    model.compile(optimizer=cookbook.optimizers.SGD(learning_rate=0.02, momentum=0.9), loss="mean_squared_error")
    model.fit(
        X,
        y,
        batch_size=BATCH_SIZE,
        epochs=GUARD_EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(keras_guard_dir, delete_checkpoint=False)],
    )
    written = {"keras": keras_guard_dir, "cookbook": guard_dir}
    momentum = ("SGD", {"learning_rate": 0.02, "momentum": 0.9})
    cases = {  # what comes back: (hidden units, activation, (optimizer class, settings))
        "the same model and Momentum": (HIDDEN_UNITS, "relu", momentum),
        f"Dense({HIDDEN_UNITS // 2}) hidden layer": (HIDDEN_UNITS // 2, "relu", momentum),
        "tanh for relu (same shapes)": (HIDDEN_UNITS, "tanh", momentum),
        "RMSprop for Momentum (same slot count)": (HIDDEN_UNITS, "relu", ("RMSprop", {"learning_rate": 0.005})),
        "Momentum at learning_rate=0.05": (HIDDEN_UNITS, "relu", ("SGD", {"learning_rate": 0.05, "momentum": 0.9})),
    }
    guard_rows = []
    for case, (units, activation, (cls, kwargs)) in cases.items():
        row = {"comes back with": case}
        for callback, class_ in (("keras", keras.callbacks.BackupAndRestore), ("cookbook", cookbook.BackupAndRestore)):
            model = build_model(units, activation)
            model.compile(optimizer=getattr(cookbook.optimizers, cls)(**kwargs), loss="mean_squared_error")
            outcome, folder = try_resume(class_, written[callback], model, X, y)
            row[CALLBACKS[callback]] = outcome
            row[f"{callback}'s folder after"] = folder
        guard_rows.append(row)
    guard = cookbook.recipe.show(pd.DataFrame(guard_rows), "Resuming a Momentum model's backup with something else")

    # %% [markdown]
    # **Part 3, two workers, one killed.** The job of recipe 16's
    # ``keras.distribution`` section: two JAX processes joined by
    # ``keras.distribution.initialize`` (``join_processes``), a
    # ``DataParallel`` distribution over both processes' devices with
    # ``auto_shard_dataset = False``, and each process calling ``fit`` on
    # its own half of the rows (``X[i::2]``, ``batch_size=16``: a global
    # batch of 32) with ``shuffle=False``. Keras's callback has no notion of
    # processes: every process writes ``backup_dir`` itself, so each
    # process gets its own folder (``backups/<twin>-p<i>``); one shared
    # folder would have both processes rewriting the same files at once.
    # Worker 1 kills itself in the middle epoch; the launcher sees it die,
    # raises ``WorkerFailed`` and stops worker 0, which is waiting for its
    # peer in a gradient all-reduce. The job dies once per twin and is
    # launched once more than it has twins (every process must start the
    # same collective operations in the same order, which threads would
    # not keep, so the twins train one after the other). This part uses
    # ``cookbook.BackupAndRestore``, because worker 0 runs ahead of its dead
    # peer (JAX dispatches steps without waiting for their results): it can
    # reach the end of the epoch, open its backup file for writing, and be
    # killed there while it waits for values that need the dead peer. With
    # Keras's own callback that leaves worker 0 a truncated weights file
    # and no backup to resume; with the cookbook's, a half-written file can
    # only be in ``staging/``, and the committed backup stays whole. The
    # table after the launches shows what each worker's folder held.

    # %%
    two_launches, two_on_disk, two_log = finished(jobs[two_job], args)
    print(*two_log, sep="\n")
    cookbook.recipe.show(launch_rows("two workers", two_launches, two_job), "Each launch of the two-worker job")
    cookbook.recipe.show(
        two_on_disk[["after launch", "twin", "process", "file", "bytes", "state"]],
        "What each kill left in the workers' backup folders (cookbook.BackupAndRestore)",
    )
    two_table = resume_table(two_job, "two workers", worker_twins, WORKERS, two_launches, "cookbook")
    agree = max(
        agreement.max_difference(
            fault_tolerance.load_weights(two_job, twin, "with backup", 0),
            fault_tolerance.load_weights(two_job, twin, "with backup", 1),
        )
        for twin in worker_twins
    )
    cookbook.recipe.show(
        two_table[["twin", "process", "exit status", "how it ended", "resumed at epoch", "max |w - never killed|"]],
        "Two workers: one killed with SIGKILL, the job relaunched, against the job never killed",
    )
    torn = two_on_disk[two_on_disk["state"] == "does not open"]
    print(
        f"worker 0 and worker 1 end {agree:.3g} apart; a half-written weights file was left in staging/ by "
        f"{len(torn)} of {len(two_launches) - 1} kills ({', '.join(torn['file']) or 'none'}), every committed "
        f"backup opened: {bool((two_on_disk[two_on_disk['file'].str.startswith('backup-')]['state'] != 'does not open').all())}"
    )

    # %% [markdown]
    # ## Compare
    #
    # Every run killed and resumed against its twin never killed: the
    # losses per epoch (markers on the lines) and the largest weight
    # difference (the table). A backup taken at the end of an epoch loses
    # the steps done since (here, the first steps of the middle epoch);
    # those run again after the restart, from the same weights and
    # optimizer state, on the same batches, so they compute the same
    # numbers. The markers after the restart sit on the line of the run
    # never killed.

    # %%
    resumed_one = one_table.set_index("twin")["resumed at epoch"] - 1
    resumed_two = two_table[two_table["process"] == 0].set_index("twin")["resumed at epoch"] - 1
    fig = plot_losses(
        [
            (
                f"one process: {len(TWINS)} twins side by side, one SIGKILL",
                fault_tolerance.read_history(one_job),
                resumed_one,
            ),
            (
                "two workers: worker 1 killed in each twin's run (worker 0's loss)",
                fault_tolerance.read_history(two_job),
                resumed_two,
            ),
        ],
        steps_per_epoch,
        kill_epoch,
    )
    cookbook.recipe.save_figure(fig, args, "losses")
    table = pd.concat([one_table, two_table], ignore_index=True)
    cookbook.recipe.show(
        table[
            [
                "part",
                "twin",
                "process",
                "callback",
                "resumed at epoch",
                "max |w - never killed|",
                f"equal within {TOLERANCE:g}",
            ]
        ],
        "Killed and resumed vs never killed, every twin",
    )
    for name, frame in (
        ("guard", guard),
        (
            "launches",
            pd.concat(
                [launch_rows("one process", one_launches, one_job), launch_rows("two workers", two_launches, two_job)]
            ),
        ),
    ):
        cookbook.recipe.save_table(frame, args, name)
    cookbook.recipe.save_table(table, args)

    # %% [markdown]
    # ## What to remember
    #
    # The numbers below are this run's. The points hold whatever they are:
    # each compares what was measured.

    # %%
    worst = table["max |w - never killed|"].max()
    within = int(table[f"equal within {TOLERANCE:g}"].sum())
    resumed_at = ", ".join(str(e) for e in sorted(set(table["resumed at epoch"].dropna().astype(int))))
    others = guard.iloc[1:]  # every case but "the same model and Momentum"
    silent = others[others[CALLBACKS["keras"]].str.startswith("resumed")]["comes back with"].tolist()
    refused = int(others[CALLBACKS["cookbook"]].str.startswith("refused").sum())
    untouched = int((others["cookbook's folder after"] == "unchanged").sum())
    cookbook.recipe.remember(
        [
            f"A fit with keras.callbacks.BackupAndRestore killed with SIGKILL after {kill_epoch} epochs and "
            f"{KILL_BATCH + 1} steps resumed at epoch {resumed_at} when launched again; with shuffle=False all "
            f"{len(table)} resumed runs ({len(TWINS)} twins in one process, {len(worker_twins)} in each of "
            f"{WORKERS} workers) ended "
            + ("bit for bit at" if worst == 0 else f"at most {worst:.3g} from")
            + f" the weights of the runs never killed ({within} of {len(table)} within {TOLERANCE:g}).",
            f"With shuffle=True on {keras.backend.backend()}, a run stopped and resumed ended {shuffled_gap:.3g} "
            "from the same run never stopped: "
            + (
                "the relaunch drew other orders of the rows than the run never stopped, from a random generator "
                "that the backup does not hold."
                if shuffled_gap > TOLERANCE
                else "the relaunch drew the same orders of the rows, from a seeded generator that starts each "
                "epoch afresh; the backup holds no generator state, so that is the backend's doing, not the "
                "callback's."
            ),
            f"keras.callbacks.BackupAndRestore resumed {len(silent)} of {len(others)} backups of another model or "
            f"optimizer without an error ({'; '.join(silent) or 'none'}); cookbook.BackupAndRestore refused "
            f"{refused} of {len(others)} and left {untouched} of those folders unchanged.",
            f"In the two-worker job each process restored its own backup_dir; the {WORKERS} workers ended "
            f"{agree:.3g} apart.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
