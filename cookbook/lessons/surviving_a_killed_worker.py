"""Lesson 18's jobs: training killed with SIGKILL in the middle, relaunched, compared with a run never killed.

A *job folder* (``save_job``) holds what the child program needs: the start
model (``model.keras``, so every run in every process starts from the same
weights with no seeding in the child), the data, and ``job.json``: the twins
(name -> optimizer class and settings), epochs, batch size, loss, and the
fault (which process kills itself after which batch of which epoch). The
child program runs on the JAX backend, one command per process::

    python -m cookbook.lessons.fault_tolerance JOB                       # one process
    python -m cookbook.lessons.fault_tolerance JOB --process-id 0 --num-processes 2 --coordinator 127.0.0.1:PORT
    python -m cookbook.lessons.fault_tolerance JOB --process-id 1 --num-processes 2 --coordinator 127.0.0.1:PORT

For each twin it runs ``fit_twin`` twice: the *reference* (no backup, never
interrupted) and the run *with backup* (``keras.callbacks.BackupAndRestore``
in ``JOB/backups/<twin>-p<i>``, one folder per process). The fault fires only
in a run with backup that started at epoch 0, so the same command, launched
again, resumes and finishes instead of dying twice. A relaunch skips what an
earlier launch finished (its final weights are on disk, written atomically).

One process trains its twins side by side, one thread each (JAX computes
outside Python's lock), so a single SIGKILL lands when every twin is at the
same batch. Several processes train the twins one after the other: every
process must start the same collective operations in the same order, which
threads would not keep; a job of N processes is then killed once per twin.

What the children leave (read by ``read_history`` and ``read_events``):
``JOB/weights/<twin>-<run>-p<i>.npz``, ``JOB/history/<twin>-<run>-p<i>.csv``
(``keras.callbacks.CSVLogger``, appended across launches) and
``JOB/events-p<i>.jsonl`` (each run's first epoch in each launch, each kill).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from cookbook import backup, optimizers, processes
from cookbook.errors import LessonError
from cookbook.lessons import cluster, keras_distribution

import keras
import numpy as np
import pandas as pd

__all__ = [
    "BACKUP_CALLBACKS",
    "RUNS",
    "Fault",
    "backup_dir",
    "describe_backups",
    "fit_twin",
    "job_commands",
    "load_weights",
    "main",
    "read_events",
    "read_history",
    "run_job",
    "save_job",
    "start_job",
]

JOB_FILE, MODEL_FILE, DATA_FILE = "job.json", "model.keras", "data.npz"
RUNS = ("reference", "with backup")  # the two runs of every twin, in the order a launch trains them
BACKUP_CALLBACKS = {"keras": keras.callbacks.BackupAndRestore, "cookbook": backup.BackupAndRestore}
BARRIER_TIMEOUT = 120.0  # s a thread waits for the others at the kill point before the job fails


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
# The parent's side: write a job, launch it, read what it left


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
    """Write what ``python -m cookbook.lessons.fault_tolerance FOLDER`` needs; return the folder.

    Args:
        folder: where to write (created if missing).
        model: a built Keras model; its architecture and current weights are
            every run's start.
        X: inputs, 2-D. With several processes, process ``i`` trains on
            the rows ``X[i::num_processes]``.
        y: targets, one per row.
        twins: name -> (class in ``cookbook.optimizers``, keyword
            arguments), e.g. ``{"Momentum": ("SGD", {"learning_rate": 0.02,
            "momentum": 0.9})}``.
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
    command = [sys.executable, "-m", "cookbook.lessons.fault_tolerance", str(job)]
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
    ``cookbook.errors.WorkerFailed`` (``failure.worker`` names the first
    that failed, the others were stopped; ``failure.results`` holds every
    process's result).
    """
    settings = json.loads((pathlib.Path(job) / JOB_FILE).read_text(encoding="utf-8"))
    commands = job_commands(job, settings["num_processes"])
    # The children import this package as the parent does, wherever they are started from.
    package_root = str(pathlib.Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    env = processes.child_env({**keras_distribution.jax_env(1), "PYTHONPATH": path})
    return processes.Workers(commands, [env] * len(commands), timeout=timeout, what="process")


def run_job(job: str | os.PathLike[str], *, timeout: float = 180.0) -> list[processes.WorkerResult]:
    """``start_job`` and wait: one ``WorkerResult`` per process, or ``cookbook.errors.WorkerFailed``."""
    with start_job(job, timeout=timeout) as workers:
        return workers.wait()


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


# --------------------------------------------------------------------------
# The child's side: the training program


class Fault(keras.callbacks.Callback):
    """SIGKILL this process after batch ``batch`` of epoch ``epoch``, in a run that started at epoch 0.

    A resumed run starts at a later epoch, so the same command, launched
    again, is not killed again. With ``barrier`` (threads training side by
    side), each thread waits there and the barrier's action sends the
    signal once every twin has reached the point. With ``epoch=None`` it
    kills nothing and only records the epoch each launch started at.
    """

    def __init__(self, epoch, batch, record, barrier=None):
        super().__init__()
        self.at = None if epoch is None else (epoch, batch)
        self.record = record  # record(event, epoch, batch): a line in the events file
        self.barrier = barrier
        self.epoch = self.first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch
            self.record("start", epoch, None)
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.at is not None and self.first_epoch == 0 and (self.epoch, batch) == self.at:
            self.record("kill", self.epoch, batch)
            if self.barrier is not None:
                self.barrier.wait()  # the last thread to arrive runs the barrier's action: the kill
            else:
                os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no goodbye: as a host losing power


def fit_twin(job, twin, run, X, y, process_id=0, fault=None):
    """One run of one twin, as the lesson writes it: load the start, compile, ``fit``; save the weights."""
    settings = json.loads((job / JOB_FILE).read_text(encoding="utf-8"))
    optimizer_class, kwargs = settings["twins"][twin]
    model = keras.models.load_model(job / MODEL_FILE, compile=False)  # the same start in every run
    model.compile(optimizer=getattr(optimizers, optimizer_class)(**kwargs), loss=settings["loss"])
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


def _side_by_side(tasks, barrier):
    """Run every task in its own thread; re-raise the first error (and release the others from the barrier)."""
    failures = []

    def run(task):
        try:
            task()
        except BaseException as exc:  # re-raised below, once every thread has ended
            failures.append(exc)
            if barrier is not None:
                barrier.abort()

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m cookbook.lessons.fault_tolerance", description=__doc__.splitlines()[0]
    )
    parser.add_argument("job", type=pathlib.Path, help="folder written by fault_tolerance.save_job")
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
    events, lock = (job / f"events-p{pid}.jsonl").open("a", encoding="utf-8"), threading.Lock()

    def recorder(twin, run):
        def record(event, epoch, batch):
            line = {"pid": os.getpid(), "process": pid, "twin": twin, "run": run, "event": event}
            with lock:  # one whole line per write; flushed, so it survives the SIGKILL that may follow
                events.write(json.dumps({**line, "epoch": epoch, "batch": batch}) + "\n")
                events.flush()

        return record

    kill = settings["kill"] if settings["kill"] and settings["kill"]["process"] == pid else None
    todo = {run: [t for t in settings["twins"] if not _weights_path(job, t, run, pid).exists()] for run in RUNS}
    side_by_side = args.num_processes == 1
    # Only runs that start at epoch 0 (no backup yet) reach the kill point: the barrier waits for those.
    starting = [t for t in todo["with backup"] if not backup_dir(job, t, pid).exists()]
    barrier = (
        threading.Barrier(len(starting), action=lambda: os.kill(os.getpid(), signal.SIGKILL), timeout=BARRIER_TIMEOUT)
        if kill and side_by_side and starting
        else None
    )

    def task(twin, run):
        fault = None
        if run == "with backup":
            record = recorder(twin, run)
            fault = Fault(kill["epoch"], kill["batch"], record, barrier) if kill else Fault(None, None, record)

        def train():
            fit_twin(job, twin, run, X, y, pid, fault)
            recorder(twin, run)("done", settings["epochs"] - 1, None)

        return train

    if side_by_side:
        for run in RUNS:
            _side_by_side([task(twin, run) for twin in todo[run]], barrier if run == "with backup" else None)
    else:
        for twin in settings["twins"]:
            for run in RUNS:
                if twin in todo[run]:
                    task(twin, run)()
    print(f"process {pid}: {sum(len(v) for v in todo.values())} run(s) finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
