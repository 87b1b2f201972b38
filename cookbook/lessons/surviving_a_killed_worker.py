"""Lesson 19's evidence: runs crashed or killed in mid-epoch, resumed from a backup, against runs never stopped.

Two kinds of run, both compared with a run never stopped:

- in the lesson's own process, a ``fit`` stopped by an exception in mid-epoch
  (what is on disk then is what a kill between two saves leaves) and a second
  ``fit`` that resumes from the backup; ``resume_row``, ``folder_table`` and
  ``try_resume`` measure them;
- a two-process ``keras.distribution`` job on JAX in which worker 1 kills
  itself with SIGKILL: a *job folder* (``save_job``: the start model, the
  data, ``job.json``) and the program each process runs::

    python -m cookbook.lessons.surviving_a_killed_worker JOB --process-id 0 --num-processes 2 --coordinator 127.0.0.1:PORT
    python -m cookbook.lessons.surviving_a_killed_worker JOB --process-id 1 --num-processes 2 --coordinator 127.0.0.1:PORT

  For each twin (name -> optimizer) the program runs ``fit_twin`` twice: the
  *reference* (no backup, never interrupted), then the run *with backup*
  (``keras.callbacks.BackupAndRestore`` or ``cookbook.BackupAndRestore`` in
  ``JOB/backups/<twin>-p<i>``, one folder per process). The fault fires only
  in a run that started at epoch 0, so the same command launched again
  resumes instead of dying twice; a relaunch skips what an earlier launch
  finished. ``run_until_done`` launches the job until it finishes.

The library callback itself is ``cookbook.backup`` (``cookbook.BackupAndRestore``):
this module only measures it.
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cookbook import backup, processes
from cookbook.claims import Claim, Verdict
from cookbook.errors import LessonError, WorkerFailed, WorkerTimeout
from cookbook.lessons import agreement, cluster, keras_distribution

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "BACKUP_CALLBACKS",
    "RUNS",
    "Fault",
    "backup_dir",
    "claims",
    "describe_backups",
    "fit_twin",
    "folder_table",
    "job_commands",
    "job_losses",
    "job_rows",
    "launch_rows",
    "load_weights",
    "loss_rows",
    "main",
    "plot_losses",
    "read_events",
    "read_history",
    "resume_row",
    "run_until_done",
    "save_job",
    "scratch_folder",
    "standardized",
    "start_in_background",
    "start_job",
    "try_resume",
]

JOB_FILE, MODEL_FILE, DATA_FILE = "job.json", "model.keras", "data.npz"
RUNS = ("reference", "with backup")  # the two runs of every twin, in the order a launch trains them
BACKUP_CALLBACKS = {"keras": keras.callbacks.BackupAndRestore, "cookbook": backup.BackupAndRestore}
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _slug(run):
    return run.replace(" ", "-")


def _weights_path(job, twin, run, process):
    return pathlib.Path(job) / "weights" / f"{twin}-{_slug(run)}-p{process}.npz"


def _history_path(job, twin, run, process):
    return pathlib.Path(job) / "history" / f"{twin}-{_slug(run)}-p{process}.csv"


def backup_dir(job: str | os.PathLike[str], twin: str, process: int) -> pathlib.Path:
    """Where the run with backup of ``twin`` in process ``process`` keeps its backup."""
    return pathlib.Path(job) / "backups" / f"{twin}-p{process}"


# --------------------------------------------------------------------------
# In the lesson's process: what a backup folder holds, resumed runs, the guard


def folder_table(folder: str | os.PathLike[str], epoch: int) -> dict[str, Any]:
    """What ``folder`` holds at the end of ``epoch`` (0-based): its files and the epoch a resume starts at (1-based)."""
    folder = pathlib.Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    metadata = [p for p in files if p.name == "training_metadata.json"]
    resume = json.loads(metadata[0].read_text(encoding="utf-8"))["epoch"] + 1 if metadata else None
    return {
        "after epoch": epoch + 1,
        "files": ", ".join(f"{p.relative_to(folder).as_posix()} ({p.stat().st_size} B)" for p in files),
        "a resume starts at epoch": resume,
    }


def scratch_folder() -> pathlib.Path:
    """A new temporary folder for backups and jobs, removed when the process exits."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cookbook-19-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def standardized(X: pd.DataFrame, y: pd.Series, multiple_of: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every column and the target standardized, as float32, the rows cut to a multiple of ``multiple_of``."""
    rows = len(X) - len(X) % multiple_of  # the processes split the rows evenly: the same steps in each
    X_out = ((X - X.mean()) / X.std()).to_numpy(np.float32)[:rows]
    y_out = ((y - y.mean()) / y.std()).to_numpy(np.float32).reshape(-1, 1)[:rows]
    return X_out, y_out


def loss_rows(optimizer: str, histories: Mapping[str, Any]) -> list[tuple[str, str, int, float]]:
    """``(optimizer, run, epoch, loss)`` for every epoch of each ``keras.callbacks.History`` by run name."""
    return [
        (optimizer, run, epoch, loss)
        for run, history in histories.items()
        for epoch, loss in zip(history.epoch, history.history["loss"])
    ]


def resume_row(
    setting: str, optimizer: str, resumed_at: int | None, final: Sequence[Any], reference: Sequence[Any],
    start: Sequence[Any], process: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """One row of the resume table: where a run resumed (1-based epoch) and how far it ended from the reference."""
    return {
        "setting": setting,
        "optimizer": optimizer,
        "process": process,
        "resumed at epoch": resumed_at,
        "max |w - start|": agreement.max_difference(final, start),  # it did train
        "max |w - never killed|": agreement.max_difference(final, reference),
    }


def _digest(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(pathlib.Path(folder).rglob("*"))
            if p.is_file()}  # fmt: skip


def try_resume(
    callback: Callable[[pathlib.Path], keras.callbacks.Callback], written: str | os.PathLike[str],
    model: keras.Model, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int,
) -> dict[str, Any]:  # fmt: skip
    """``fit`` ``model`` for ``epochs`` from a copy of the backup folder ``written``, under ``callback``.

    Returns ``refused`` (the error's class name, or `None`), ``resumed at
    epoch`` (1-based; 1 means it started afresh), ``learning rate`` (the one
    the optimizer ran with), ``warned`` (Keras warned that it skipped the
    optimizer's state) and ``folder unchanged`` (`None` when ``fit``
    finished and deleted it).
    """
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="cookbook-19-resume-"))
    folder = scratch / "backup"
    shutil.copytree(written, folder)
    before = _digest(folder)
    started: list[int] = []
    watch = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: started.append(epoch))
    outcome: dict[str, Any] = {"refused": None, "resumed at epoch": None, "learning rate": None, "warned": False}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
                      callbacks=[callback(folder), watch])  # fmt: skip
        except Exception as exc:  # the outcome measured: which error, if any
            outcome["refused"] = type(exc).__name__
        else:
            outcome["resumed at epoch"] = started[0] + 1 if started else epochs + 1
            outcome["learning rate"] = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            outcome["warned"] = any("Skipping variable loading" in str(w.message) for w in caught)
    outcome["folder unchanged"] = _digest(folder) == before if folder.exists() else None
    shutil.rmtree(scratch, ignore_errors=True)
    return outcome


# --------------------------------------------------------------------------
# The parent's side of the job: write it, launch it until done, read what it left


def save_job(
    folder: str | os.PathLike[str],
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    twins: Mapping[str, tuple[str, Mapping[str, Any]]],
    epochs: int,
    batch_size: int,
    loss: str = "mean_squared_error",
    num_processes: int = 1,
    kill: Mapping[str, int] | None = None,
    callback: str = "keras",
) -> pathlib.Path:
    """Write what ``python -m cookbook.lessons.surviving_a_killed_worker FOLDER`` needs; return the folder.

    Args:
        folder: where to write (created if missing).
        model: a built Keras model; its architecture and current weights are
            every run's start.
        X: inputs, 2-D. With several processes, process ``i`` trains on
            the rows ``X[i::num_processes]``.
        y: targets, one per row.
        twins: name -> (class in ``keras.optimizers``, keyword arguments),
            e.g. ``{"Adam": ("Adam", {"learning_rate": 0.01})}``.
        epochs: passes over the data.
        batch_size: rows per batch in each process.
        loss: a Keras loss name. Defaults to `"mean_squared_error"`.
        num_processes: processes the job runs on. Defaults to `1`.
        kill: ``{"epoch": k, "batch": j, "process": p}``: process ``p``
            kills itself with SIGKILL after batch ``j`` (0-based) of epoch
            ``k`` (0-based, at least 1 so that a backup exists) of each
            twin's first run with backup. `None`: no fault. Defaults to `None`.
        callback: the run with backup uses ``keras.callbacks.BackupAndRestore``
            (`"keras"`) or ``cookbook.BackupAndRestore`` (`"cookbook"`).
            Defaults to `"keras"`.

    Raises:
        LessonError: a kill point outside the training, or too few rows.
    """
    X = np.asarray(X, np.float32)
    y = np.asarray(y, np.float32).reshape(len(X), -1)
    rows = len(X) // num_processes
    steps = -(-rows // batch_size)  # batches per epoch in each process
    if num_processes < 1 or rows < batch_size:
        raise LessonError(f"{len(X)} rows cannot give {num_processes} process(es) a batch of {batch_size} each")
    if len(X) % num_processes:
        raise LessonError(
            f"{len(X)} rows do not split evenly over {num_processes} processes; drop {len(X) % num_processes} "
            "rows so that every process runs the same number of steps"
        )
    if callback not in BACKUP_CALLBACKS:
        raise LessonError(f"callback must be one of {sorted(BACKUP_CALLBACKS)}, got {callback!r}")
    if kill is not None:
        epoch, batch, process = kill["epoch"], kill["batch"], kill["process"]
        if not (1 <= epoch < epochs and 0 <= batch < steps and 0 <= process < num_processes):
            raise LessonError(
                f"kill point epoch {epoch}, batch {batch}, process {process} is outside the training: epoch must "
                f"be 1..{epochs - 1} (epoch 0 has no backup yet), batch 0..{steps - 1}, process "
                f"0..{num_processes - 1}"
            )
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    np.savez(folder / DATA_FILE, X=X, y=y)
    settings = {
        "twins": {name: [cls, dict(kwargs)] for name, (cls, kwargs) in twins.items()},
        "epochs": epochs,
        "batch_size": batch_size,
        "loss": loss,
        "num_processes": num_processes,
        "steps_per_epoch": steps,
        "kill": dict(kill) if kill is not None else None,
        "callback": callback,
    }
    (folder / JOB_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return folder


def job_commands(job: str | os.PathLike[str], num_processes: int = 1, *, port: int | None = None) -> list[list[str]]:
    """The argv of each process of ``job``; several processes join at ``127.0.0.1:port`` (a free one if `None`)."""
    command = [sys.executable, "-m", "cookbook.lessons.surviving_a_killed_worker", str(job)]
    if num_processes == 1:
        return [command]
    port = port if port is not None else cluster.free_ports(1)[0]
    coordinator = f"{cluster.LOCALHOST}:{port}"
    return [
        [*command, "--process-id", str(i), "--num-processes", str(num_processes), "--coordinator", coordinator]
        for i in range(num_processes)
    ]


def start_job(job: str | os.PathLike[str], *, timeout: float = 180.0) -> processes.Workers:
    """Start every process of ``job`` (JAX backend, one CPU device each); ``.wait()`` on the result.

    The ``cookbook.processes.Workers`` returned is a context manager: leaving
    its block kills whatever still runs. Its ``wait()`` returns one
    ``WorkerResult`` per process when all exit 0, or raises
    ``cookbook.errors.WorkerFailed`` (the others were stopped;
    ``failure.results`` holds every process's result).
    """
    settings = json.loads((pathlib.Path(job) / JOB_FILE).read_text(encoding="utf-8"))
    commands = job_commands(job, settings["num_processes"])
    # The children import this package as the parent does, wherever they are started from.
    package_root = str(pathlib.Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    env = processes.child_env({**keras_distribution.jax_env(1), "PYTHONPATH": path})
    return processes.Workers(commands, [env] * len(commands), timeout=timeout, what="process")


def run_until_done(
    job: str | os.PathLike[str], *, max_launches: int = 4, timeout: float = 180.0
) -> tuple[list[list[processes.WorkerResult]], pd.DataFrame]:
    """Launch ``job``; after a failure, launch the same commands again, until every process exits 0.

    Bringing a job back is the user's part (Keras's docstring says so); this
    is the smallest such launcher. Returns every launch's results and what
    the backup folders held after each failed launch (``describe_backups``
    with an ``after launch`` column).

    Raises:
        WorkerTimeout: a launch hung (not a fault to retry).
        LessonError: still failing after ``max_launches`` launches.
    """
    launches: list[list[processes.WorkerResult]] = []
    on_disk: list[pd.DataFrame] = []
    for launch in range(1, max_launches + 1):
        with start_job(job, timeout=timeout) as workers:
            try:
                launches.append(workers.wait())
                return launches, pd.concat(on_disk, ignore_index=True) if on_disk else describe_backups(job)
            except WorkerTimeout:
                raise
            except WorkerFailed as failure:
                launches.append(failure.results)
                on_disk.append(describe_backups(job).assign(**{"after launch": launch}))
    raise LessonError(f"the job in {job} still failed after {max_launches} launches; its processes' stderr is above")


def start_in_background(job: str | os.PathLike[str], *, timeout: float = 180.0) -> concurrent.futures.Future[Any]:
    """``run_until_done(job)`` in a background thread; ``.result()`` waits for it and returns or re-raises."""
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="job").submit(
        run_until_done, job, timeout=timeout
    )


def read_history(job: str | os.PathLike[str]) -> pd.DataFrame:
    """Loss per epoch of every run: columns twin, run, process, epoch (0-based), loss."""
    frames = []
    for path in sorted((pathlib.Path(job) / "history").glob("*.csv")):
        twin, rest = path.stem.split("-", 1)
        run, process = rest.rsplit("-p", 1)
        frame = pd.read_csv(path)[["epoch", "loss"]]
        frames.append(frame.assign(twin=twin, run=run.replace("-", " "), process=int(process)))
    columns = ["twin", "run", "process", "epoch", "loss"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def read_events(job: str | os.PathLike[str]) -> pd.DataFrame:
    """What the children recorded: columns pid, process, twin, run, event ("start", "kill", "done"), epoch, batch.

    A kill can cut the last line of a file short; such a line is skipped.
    """
    rows = []
    for path in sorted(pathlib.Path(job).glob("events-p*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return pd.DataFrame(rows, columns=["pid", "process", "twin", "run", "event", "epoch", "batch"])


def load_weights(job: str | os.PathLike[str], twin: str, run: str, process: int = 0) -> list[np.ndarray]:
    """The final weights a finished run saved."""
    with np.load(_weights_path(job, twin, run, process)) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def describe_backups(job: str | os.PathLike[str]) -> pd.DataFrame:
    """Every file in the job's backup folders: columns twin, process, file, bytes, state.

    ``state`` says what a restore would find: for a weights file whether
    h5py can open it at all (a write cut short by a kill leaves one that
    does not), for ``training_metadata.json`` the epoch (1-based) a resume
    starts at.
    """
    import h5py  # Keras's own dependency for .weights.h5

    rows = []
    for folder in sorted((pathlib.Path(job) / "backups").glob("*-p*")):
        twin, process = folder.name.rsplit("-p", 1)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            state = ""
            if path.name.endswith(".weights.h5"):
                try:
                    h5py.File(path, "r").close()
                    state = "opens"
                except OSError:
                    state = "does not open"
            elif path.name == "training_metadata.json":
                try:
                    state = f"resume at epoch {json.loads(path.read_text(encoding='utf-8'))['epoch'] + 1}"
                except (ValueError, KeyError):
                    state = "unreadable"
            elif path.name == backup.FINGERPRINT_FILE:
                state = "model and optimizer fingerprint"
            rows.append(
                {
                    "twin": twin,
                    "process": int(process),
                    "file": path.relative_to(folder).as_posix(),
                    "bytes": path.stat().st_size,
                    "state": state,
                }
            )
    return pd.DataFrame(rows, columns=["twin", "process", "file", "bytes", "state"])


def launch_rows(launches: Sequence[Sequence[processes.WorkerResult]], job: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per process per launch: exit status, whether it killed itself (the fault), seconds."""
    events = read_events(job)
    killers = set(events.loc[events["event"] == "kill", "pid"])
    rows = [
        {
            "launch": number,
            "process": r.index,
            "exit status": r.returncode,
            "killed itself": r.pid in killers,
            "stopped by the launcher": bool(r.stopped_by_launcher),
            "seconds": round(r.seconds, 1),
        }
        for number, results in enumerate(launches, start=1)
        for r in results
    ]
    return pd.DataFrame(rows)


def job_rows(job: str | os.PathLike[str], setting: str = "two workers") -> list[dict[str, Any]]:
    """``resume_row`` for every twin and process of a finished job (the launch it resumed in, from its events)."""
    settings = json.loads((pathlib.Path(job) / JOB_FILE).read_text(encoding="utf-8"))
    events = read_events(job)
    start = keras.models.load_model(pathlib.Path(job) / MODEL_FILE, compile=False).get_weights()
    rows = []
    for twin in settings["twins"]:
        for process in range(settings["num_processes"]):
            starts = events[(events["twin"] == twin) & (events["process"] == process) & (events["event"] == "start")]
            resumed = int(starts["epoch"].iloc[-1]) + 1 if len(starts) > 1 else None
            final, reference = (load_weights(job, twin, run, process) for run in ("with backup", "reference"))
            rows.append(resume_row(setting, twin, resumed, final, reference, start, process))
    return rows


def job_losses(job: str | os.PathLike[str], process: int = 0) -> pd.DataFrame:
    """One process's loss per epoch in the shape ``plot_losses`` takes: optimizer, run, epoch, loss.

    The run with backup logs to one CSV across launches: its epochs before
    the epoch the last launch started at are "before the stop", the rest
    "after the resume".
    """
    history = read_history(job)
    history = history[history["process"] == process].rename(columns={"twin": "optimizer"})
    events = read_events(job)
    starts = events[(events["event"] == "start") & (events["process"] == process)].groupby("twin")["epoch"].max()
    backed = history["run"] == "with backup"
    resumed_at = history["optimizer"].map(starts)
    history.loc[backed, "run"] = np.where(history["epoch"][backed] < resumed_at[backed], "before the stop",
                                          "after the resume")  # fmt: skip
    return history[["optimizer", "run", "epoch", "loss"]].reset_index(drop=True)


# --------------------------------------------------------------------------
# The figure and the claims


def plot_losses(
    panels: Sequence[tuple[str, pd.DataFrame]], kill_epoch: int, kill_step: int, steps_per_epoch: int
) -> Figure:
    """Loss per epoch: never killed (lines), stopped and resumed (o before the stop, x after), one panel each.

    Each panel's frame has columns optimizer, run ("reference", "before the
    stop", "after the resume"), epoch (0-based) and loss.
    """
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    stopped_at = kill_epoch + kill_step / steps_per_epoch  # epochs done when the run stops
    names = list(dict.fromkeys(name for _, frame in panels for name in frame["optimizer"]))
    colors = dict(zip(names, COLORS * len(names)))  # one color per optimizer in every panel
    markers = {"before the stop": dict(marker="o", mfc="none"), "after the resume": dict(marker="x")}
    for ax, (title, frame) in zip(axes, panels):
        for name, rows in frame.groupby("optimizer", sort=False):
            color = colors[name]
            reference = rows[rows["run"] == "reference"].sort_values("epoch")
            ax.plot(reference["epoch"] + 1, reference["loss"], color=color, lw=1.5, label=f"{name}, never stopped")
            for run, style in markers.items():
                part = rows[rows["run"] == run]
                ax.plot(part["epoch"] + 1, part["loss"], ls="none", color=color, ms=8, **style)
        ax.axvline(stopped_at, color="black", ls="--", lw=1)
        ax.annotate(f"stopped: epoch {kill_epoch + 1},\nstep {kill_step} of {steps_per_epoch}", (stopped_at, 0.97),
                    xycoords=("data", "axes fraction"), ha="left", va="top", fontsize=8, xytext=(4, 0),
                    textcoords="offset points")  # fmt: skip
        ax.set(title=title, xlabel="epochs completed")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss (MSE, standardized target)")
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    handles += [axes[0].plot([], [], "ko", mfc="none")[0], axes[0].plot([], [], "kx")[0]]
    labels += ["stopped run, before the stop (o)", "resumed run, after the restart (x)"]
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(
        "Loss per epoch: runs stopped in mid-epoch and resumed from a backup (markers) vs never stopped (lines)"
    )
    return fig


def claims(
    table: pd.DataFrame,
    launches: pd.DataFrame,
    shuffled: Mapping[str, float],
    guard: pd.DataFrame,
    *,
    kill_epoch: int,
    tolerance: float,
    backend: str,
) -> list[Claim]:
    """The lesson's points to remember, from its tables.

    Args:
        table: ``resume_row`` rows; setting "one process" (crashed in the
            lesson's process) and "two workers" (the killed job).
        launches: ``launch_rows`` of the two-worker job.
        shuffled: max |w - never stopped| of a shuffled run stopped and
            resumed, by how it shuffled: ``"fit(shuffle=True)"`` and
            ``"ReshuffledArrays"``.
        guard: ``try_resume`` outcomes, one row per (case, callback) with
            columns case, callback ("keras"/"cookbook"), same model (bool),
            refused, resumed at epoch, learning rate, folder unchanged.
        kill_epoch: epochs completed before the stop.
        tolerance: the largest |w - never killed| that counts as the same weights.
        backend: the Keras backend of the lesson's process.
    """
    one, two = table[table["setting"] == "one process"], table[table["setting"] == "two workers"]
    worst_one = float(one["max |w - never killed|"].max())
    at_lost_epoch = bool((one["resumed at epoch"] == kill_epoch + 1).all())
    resumed = Claim(
        key="resumed_like_never_killed",
        claim="A run stopped in mid-epoch and started again with BackupAndRestore ends with the weights of a run "
        "never stopped",
        verdict=Verdict.HOLDS if worst_one <= tolerance and at_lost_epoch else Verdict.FAILS,
        numbers={
            "runs": len(one),
            "resumed_at_epoch": kill_epoch + 1,
            "max_difference": worst_one,
            "tolerance": tolerance,
        },  # fmt: skip
        conclusion=(
            "In your own training script, pass keras.callbacks.BackupAndRestore(backup_dir) to fit, keep "
            "shuffle=False (or an order fixed by the epoch number), and start the same script again after a crash: "
            + (
                f"all {len(one)} optimizers here resumed at epoch {kill_epoch + 1}, the one they lost, and ended "
                + ("bit for bit at" if worst_one == 0 else f"at most {worst_one:.3g} from")
                + " the weights of the runs never stopped; the first steps of the lost epoch run again, on the "
                "same batches, from the same state."
                if worst_one <= tolerance and at_lost_epoch
                else f"here a resumed run ended {worst_one:.3g} from the run never stopped, more than "
                f"{tolerance:g}, so something besides the backup changed between the runs."
            )
        ),
    )
    killed = launches[launches["killed itself"]]
    final = launches[launches["launch"] == launches["launch"].max()]
    worst_two = float(two["max |w - never killed|"].max()) if len(two) else float("nan")
    job_held = bool(len(killed) and (final["exit status"] == 0).all() and worst_two <= tolerance
                    and (two["resumed at epoch"] == kill_epoch + 1).all())  # fmt: skip
    job = Claim(
        key="killed_worker_job_resumed",
        claim="In a two-process keras.distribution job, a worker killed with SIGKILL is survived by relaunching "
        "the job: every process restores its own backup",
        verdict=Verdict.HOLDS if job_held else Verdict.FAILS,
        numbers={
            "launches": int(launches["launch"].max()),
            "killed_exit_status": int(killed["exit status"].iloc[0]) if len(killed) else None,
            "processes": len(two),
            "max_difference": worst_two,
        },  # fmt: skip
        conclusion=(
            "A killed worker takes the whole job down, and the whole job comes back: "
            + (
                f"worker 1's SIGKILL (exit status {int(killed['exit status'].iloc[0])}) stopped the job, and "
                f"launch {int(launches['launch'].max())} of the same commands resumed both processes at epoch "
                f"{kill_epoch + 1}, each from its own backup_dir, ending "
                + ("bit for bit at" if worst_two == 0 else f"at most {worst_two:.3g} from")
                + " the weights of the job never killed."
                if job_held
                else f"here the relaunched job did not end where the job never killed did (max difference "
                f"{worst_two:.3g}, {len(killed)} kill(s) recorded)."
            )
        ),
    )
    plain, reshuffled = shuffled["fit(shuffle=True)"], shuffled["ReshuffledArrays"]
    both = plain <= tolerance and reshuffled <= tolerance
    shuffle = Claim(
        key="shuffled_resume",
        claim="BackupAndRestore resumes a shuffled run exactly",
        verdict=Verdict.HOLDS if both else Verdict.PARTLY if min(plain, reshuffled) <= tolerance else Verdict.FAILS,
        numbers={"shuffle_true_difference": plain, "reshuffled_arrays_difference": reshuffled},
        conclusion=(
            "A backup holds the weights, the optimizer and the epoch, not the shuffle's random state: "
            + (
                f"on {backend} both shuffled runs resumed exactly ({plain:.3g}, {reshuffled:.3g})."
                if both
                else f"on {backend}, fit(shuffle=True) resumed {'exactly' if plain <= tolerance else 'elsewhere'} "
                f"({plain:.3g}) and cookbook.ReshuffledArrays {'exactly' if reshuffled <= tolerance else 'elsewhere'}"
                f" ({reshuffled:.3g}). "
                + (
                    "The exact one is exact only because a seeded shuffle on TensorFlow repeats one order every "
                    "epoch (lesson 07); a shuffle that really reshuffles starts its sequence of orders afresh in "
                    "the new process. "
                    if plain <= tolerance
                    else ""
                )
                + "A resumed model is as good, not the same numbers; for exact resumes derive each epoch's "
                "order from the epoch number."
            )
        ),
    )
    others = guard[~guard["same model"]]
    ours, theirs = others[others["callback"] == "cookbook"], others[others["callback"] == "keras"]
    silent = int(theirs["refused"].isna().sum())
    refused = int(ours["refused"].notna().sum())
    untouched = int((ours["folder unchanged"] == True).sum())  # noqa: E712 (None: deleted)
    guarded = Claim(
        key="keras_loads_another_runs_backup",
        claim="keras.callbacks.BackupAndRestore notices a backup written by another model or optimizer",
        verdict=Verdict.FAILS if silent else Verdict.HOLDS,
        numbers={
            "cases": len(theirs),
            "keras_resumed_silently": silent,
            "cookbook_refused": refused,
            "cookbook_folders_unchanged": untouched,
        },  # fmt: skip
        conclusion=(
            f"Give every experiment its own backup_dir: Keras's callback resumed {silent} of {len(theirs)} backups "
            "written with another optimizer or learning rate without a word (the rate it ran with was the "
            f"backup's), while cookbook.BackupAndRestore refused {refused} of {len(ours)} with BackupMismatch and "
            f"left {untouched} of those folders as they were."
        ),
    )
    return [resumed, job, shuffle, guarded]


# --------------------------------------------------------------------------
# The child's side: the training program


class Fault(keras.callbacks.Callback):
    """SIGKILL this process after batch ``batch`` of epoch ``epoch``, in a run that started at epoch 0.

    A resumed run starts at a later epoch, so the same command, launched
    again, is not killed again. ``record(event, epoch, batch)`` writes a line
    of the events file: "start" at each run's first epoch, "kill" before the
    signal. With ``epoch=None`` it kills nothing and only records.
    """

    def __init__(self, epoch: int | None, batch: int | None, record: Callable[[str, int, int | None], None]) -> None:
        super().__init__()
        self.at = None if epoch is None else (epoch, batch)
        self.record = record
        self.epoch: int | None = None
        self.first_epoch: int | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.first_epoch is None:
            self.first_epoch = epoch
            self.record("start", epoch, None)
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.at is not None and self.first_epoch == 0 and (self.epoch, batch) == self.at:
            self.record("kill", self.at[0], batch)
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no goodbye: as a host losing power


def fit_twin(job, twin, run, X, y, process_id=0, fault=None):
    """One run of one twin, as the lesson writes it: load the start, compile, ``fit``; save the weights."""
    settings = json.loads((job / JOB_FILE).read_text(encoding="utf-8"))
    optimizer_class, kwargs = settings["twins"][twin]
    model = keras.models.load_model(job / MODEL_FILE, compile=False)  # the same start in every run
    model.compile(optimizer=getattr(keras.optimizers, optimizer_class)(**kwargs), loss=settings["loss"])
    callbacks = [keras.callbacks.CSVLogger(_history_path(job, twin, run, process_id), append=True)]
    if run == "with backup":
        BackupAndRestore = BACKUP_CALLBACKS[settings["callback"]]  # keras's, or cookbook's drop-in subclass
        callbacks = [BackupAndRestore(backup_dir(job, twin, process_id)), *callbacks, fault]
    model.fit(
        X,
        y,
        batch_size=settings["batch_size"],
        epochs=settings["epochs"],
        shuffle=False,  # the same batches in the same order in every launch
        verbose=0,
        callbacks=[c for c in callbacks if c is not None],
    )
    final = _weights_path(job, twin, run, process_id)
    partial = final.with_suffix(".partial.npz")
    np.savez(partial, *model.get_weights())
    os.replace(partial, final)  # atomic: a kill never leaves a half-written file that looks finished
    return model


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m cookbook.lessons.surviving_a_killed_worker", description="Train a job's twins, killable."
    )
    parser.add_argument("job", type=pathlib.Path, help="folder written by surviving_a_killed_worker.save_job")
    parser.add_argument("--process-id", type=int, default=0, help="this process's index (default: 0)")
    parser.add_argument("--num-processes", type=int, default=1, help="processes in the job (default: 1)")
    parser.add_argument("--coordinator", default=None, help="host:port of process 0, for several processes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Train every twin of the job (reference, then with backup), skipping what is already finished."""
    args = _parse(argv)
    if args.num_processes == 1:
        return _train(args)
    with keras_distribution.failing_fast():  # a failed process must not wait at exit for its peers
        return _train(args)


def _train(args):
    job, pid = args.job, args.process_id
    if args.num_processes > 1:  # before any array exists: join the other processes
        # This program never uses TensorFlow, but keras.distribution.initialize imports it (2-3 s of every
        # launch of every process, measured) only to seed TensorFlow's generator too (keras.utils.
        # set_random_seed does that whenever TensorFlow is importable). Marked absent, Keras skips it.
        sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
        devices = keras_distribution.join_processes(pid, args.num_processes, args.coordinator)
        distribution = keras.distribution.DataParallel(devices=devices)
        distribution.auto_shard_dataset = False  # each process feeds its own rows (Keras refuses NumPy otherwise)
        keras.distribution.set_distribution(distribution)
    settings = json.loads((job / JOB_FILE).read_text(encoding="utf-8"))
    with np.load(job / DATA_FILE) as data:
        X, y = data["X"][pid :: args.num_processes], data["y"][pid :: args.num_processes]
    for folder in ("weights", "history"):
        (job / folder).mkdir(exist_ok=True)
    events = (job / f"events-p{pid}.jsonl").open("a", encoding="utf-8")

    def recorder(twin, run):
        def record(event, epoch, batch):
            line = {"pid": os.getpid(), "process": pid, "twin": twin, "run": run, "event": event}
            events.write(json.dumps({**line, "epoch": epoch, "batch": batch}) + "\n")
            events.flush()  # so it survives the SIGKILL that may follow

        return record

    kill = settings["kill"] if settings["kill"] and settings["kill"]["process"] == pid else None
    finished = 0
    for twin in settings["twins"]:  # every process starts the same collectives in the same order
        for run in RUNS:
            if _weights_path(job, twin, run, pid).exists():
                continue  # an earlier launch finished it
            fault = None
            if run == "with backup":
                record = recorder(twin, run)
                fault = Fault(kill["epoch"], kill["batch"], record) if kill else Fault(None, None, record)
            fit_twin(job, twin, run, X, y, pid, fault)
            recorder(twin, run)("done", settings["epochs"] - 1, None)
            finished += 1
    print(f"process {pid}: {finished} run(s) finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
