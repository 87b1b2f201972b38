"""Lesson 16's second engine: ``keras.distribution`` on the JAX backend.

Keras 3's own API for several devices and hosts runs on JAX, where
``model.fit`` works under it (under TensorFlow's MultiWorkerMirroredStrategy
it does not: keras-team/keras#20585). Everything here runs in a child process
with ``KERAS_BACKEND=jax``: a process's backend is fixed when Keras is first
imported, and the recipe itself runs on TensorFlow.

Two set-ups, both on this one machine:

- several *devices* in one process: ``XLA_FLAGS=--xla_force_host_platform_device_count=N``
  makes JAX show N virtual CPU devices (``jax_env``);
- several *processes*, each with its own devices, joined by JAX's distributed
  runtime (``join_processes``). On real hosts the same call takes the
  coordinator's real address and each host's own ``process_id``.

The program those children run is ``python -m cookbook.lessons.jax_worker JOB
NAME``: ``save_job`` writes the folder it reads (model with its starting
weights, data, settings), ``launch_devices`` and ``launch_processes`` start it
under ``cookbook.processes.Workers`` (a deadline, every child killed on any
error, ``WorkerFailed`` naming the one that failed), ``load_results`` reads
the weights each process wrote, and ``quiet`` drops the lines JAX and gloo
print on stderr that say nothing about the lesson.
"""

import contextlib
import importlib.util
import json
import operator
import os
import pathlib
import re
import sys
import traceback
from typing import Any

from cookbook import processes
from cookbook.errors import LessonError
from cookbook.lessons.cluster import LOCALHOST, free_ports

import numpy as np

__all__ = [
    "DATA_FILE",
    "JOB_FILE",
    "MODEL_FILE",
    "SOURCES",
    "failing_fast",
    "jax_env",
    "join_processes",
    "launch_devices",
    "launch_processes",
    "load_job",
    "load_results",
    "quiet",
    "save_job",
    "save_results",
    "worker_command",
]

JOB_FILE, MODEL_FILE, DATA_FILE = "job.json", "model.keras", "data.npz"
SOURCES = ("cookbook", "keras")  # cookbook twin or Keras built-in (distributed.make_optimizer)


def jax_env(devices=1):
    """Environment entries for a child process on the JAX backend with ``devices`` CPU devices.

    Pass them to ``cookbook.processes.child_env(...)``. The device count is
    read by XLA when JAX starts, so it must be in the environment before the
    child imports anything.

    Raises:
        ModuleNotFoundError: jax is not installed (a core dependency), said
            here with the pip command rather than by every child after it starts.
    """
    if int(devices) < 1:
        raise LessonError(f"devices must be at least 1, got {devices}; ask for 1 or more virtual CPU devices")
    if importlib.util.find_spec("jax") is None:
        raise ModuleNotFoundError(
            "the JAX child processes need jax, which is not installed: python -m pip install jax", name="jax"
        )
    flags = os.environ.get("XLA_FLAGS", "")
    flags = " ".join(f for f in flags.split() if not f.startswith("--xla_force_host_platform_device_count"))
    return {
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={int(devices)}".strip(),
        "JAX_PLATFORMS": "cpu",
    }


@contextlib.contextmanager
def failing_fast():
    """In a process of a multi-process JAX job: on an error, print it and end the process at once.

    Left to Python, a failed process waits at exit in JAX's distributed
    shutdown for peers that are themselves waiting in a collective for it,
    until the launcher's deadline. Ending with ``os._exit(1)`` lets the
    launcher see the failure and stop the others now. ``SystemExit`` (an
    exit status the program chose, argparse's usage errors) passes through.
    """
    try:
        yield
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def join_processes(process_id, num_processes, coordinator_address):
    """Join this process to a ``keras.distribution`` job of ``num_processes`` processes.

    Call it first thing in each process, before any array is created, with
    the same ``coordinator_address`` ("host:port" of process 0) everywhere and
    a distinct ``process_id`` in each. JAX's CPU backend has no cross-process
    collectives unless told which library to use; gloo ships with jaxlib, so
    the all-reduce of gradients works between plain CPU processes. On GPUs
    or TPUs that line is not needed (NCCL / ICI are the defaults).

    Returns ``jax.devices()``: every device of every process, the list a
    ``keras.distribution.DataParallel`` spans.

    Raises:
        LessonError: a process count below 1, a ``process_id`` outside
            ``0 .. num_processes - 1`` or an address that is not
            ``"host:port"`` (checked before JAX is touched).
    """
    _check_job_arguments(process_id, num_processes, coordinator_address)
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    import keras

    keras.distribution.initialize(job_addresses=coordinator_address, num_processes=num_processes, process_id=process_id)
    return jax.devices()


def _whole_number(value):
    """``value`` as an int if it is one (NumPy integers too), else None: "2" and 2.0 are mistakes here."""
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_job_arguments(process_id, num_processes, coordinator_address):
    count, index = _whole_number(num_processes), _whole_number(process_id)
    if count is None or count < 1:
        raise LessonError(f"num_processes must be an integer >= 1, got {num_processes!r}")
    if index is None or not 0 <= index < count:
        raise LessonError(
            f"process_id must be an integer from 0 to {count - 1} (num_processes={count}), got "
            f"{process_id!r}; give each process its own id, 0 for the coordinator"
        )
    host, _, port = str(coordinator_address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise LessonError(
            f"coordinator_address must be 'host:port' of process 0 (e.g. '{LOCALHOST}:1234'), got "
            f"{coordinator_address!r}; use the same address in every process"
        )


# --------------------------------------------------------------------------
# The job folder cookbook.lessons.jax_worker trains from, and its results


def save_job(folder, model, X, y, *, runs, learning_rate=0.01, loss="binary_crossentropy", global_batch=32, epochs=1):
    """Write what ``python -m cookbook.lessons.jax_worker FOLDER NAME`` needs; return the folder.

    Args:
        folder: where to write (created if missing).
        model: a built Keras model; its architecture and current weights are
            saved (``.keras`` files load on any backend), so every run of
            every process starts from these weights.
        X: training inputs (2-D array).
        y: training targets; stored as float32 ``(n, -1)``.
        runs: ``(optimizer name, source)`` pairs, one ``fit`` each, e.g.
            ``[("Adam", "cookbook"), ("Adam", "keras")]``; names from
            ``distributed.OPTIMIZER_NAMES``, sources from ``SOURCES``.
        learning_rate: every optimizer's learning rate. Defaults to `0.01`.
        loss: a Keras loss name. Defaults to `"binary_crossentropy"`.
        global_batch: rows per step over ALL processes; each of P processes
            passes ``fit(batch_size=global_batch // P)`` of its own rows.
            Defaults to `32`.
        epochs: passes over the data, in order (no shuffling). Defaults to `1`.

    Raises:
        LessonError: an unknown optimizer or source, no runs, or a batch or
            epoch count below 1.
    """
    from cookbook.lessons.distributed import OPTIMIZER_NAMES

    runs = [tuple(run) for run in runs]
    bad = [run for run in runs if len(run) != 2 or run[0] not in OPTIMIZER_NAMES or run[1] not in SOURCES]
    if not runs or bad:
        raise LessonError(
            f"runs must be (optimizer, source) pairs with optimizer in {OPTIMIZER_NAMES} and source in {SOURCES}, "
            f"got {bad or 'no runs'}"
        )
    if int(global_batch) < 1 or int(epochs) < 1:
        raise LessonError(f"global_batch and epochs must be >= 1, got {global_batch} and {epochs}")
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    X = np.asarray(X, np.float32)
    np.savez(folder / DATA_FILE, X=X, y=np.asarray(y, np.float32).reshape(len(X), -1))
    settings = {
        "runs": [list(run) for run in runs],
        "learning_rate": learning_rate,
        "loss": loss,
        "global_batch": int(global_batch),
        "epochs": int(epochs),
    }
    (folder / JOB_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return folder


def load_job(folder):
    """``(settings, X, y)`` of a job folder written by ``save_job``; ``settings["runs"]`` as tuples."""
    folder = pathlib.Path(folder)
    if not (folder / JOB_FILE).is_file():
        raise LessonError(f"{folder} has no {JOB_FILE}; write the job with keras_distribution.save_job first")
    settings = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    settings["runs"] = [tuple(run) for run in settings["runs"]]
    with np.load(folder / DATA_FILE) as data:
        return settings, data["X"], data["y"]


def worker_command(folder, name, *, process_id=None, num_processes=None, coordinator_address=None):
    """The argv that runs ``cookbook.lessons.jax_worker`` on ``folder`` with this Python.

    With ``coordinator_address`` the worker first joins a job of
    ``num_processes`` processes as ``process_id``.
    """
    command = [sys.executable, "-m", "cookbook.lessons.jax_worker", str(folder), str(name)]
    if coordinator_address is not None:
        _check_job_arguments(process_id, num_processes, coordinator_address)
        command += [
            "--coordinator",
            str(coordinator_address),
            "--num-processes",
            str(num_processes),
            "--process-id",
            str(process_id),
        ]
    return command


def _child_env(devices):
    # The children import this package as this process does, from wherever it was started.
    package_root = str(pathlib.Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    return {**jax_env(devices), "PYTHONPATH": path}


def launch_devices(folder, name, devices, *, timeout=120.0):
    """Start one worker process with ``devices`` virtual CPU devices; return its ``processes.Workers``.

    Use it as a context manager (every child killed on leaving), then
    ``wait()``: the result list, or ``WorkerFailed`` quoting the child's stderr.
    """
    env = processes.child_env(_child_env(devices))
    return processes.Workers([worker_command(folder, name)], [env], timeout=timeout, what=f"{name} process")


def launch_processes(folder, name, num_processes=2, *, timeout=120.0):
    """Start ``num_processes`` workers on 127.0.0.1, joined as one job; return their ``processes.Workers``.

    Each process has one CPU device; process 0 is the coordinator, on a port
    that was free a moment ago. When one fails the launcher kills the
    others (they would wait for it in the next all-reduce) and
    ``wait()`` raises ``WorkerFailed`` naming it.
    """
    coordinator = f"{LOCALHOST}:{free_ports(1)[0]}"
    commands = [
        worker_command(folder, name, process_id=i, num_processes=num_processes, coordinator_address=coordinator)
        for i in range(num_processes)
    ]
    envs = [processes.child_env(_child_env(1)) for _ in commands]
    return processes.Workers(commands, envs, timeout=timeout, what=f"{name} process")


def save_results(folder, name, process_index, weights, info):
    """Write one process's final weights (``{run: [arrays]}``) and its ``info`` dict next to the job."""
    folder = pathlib.Path(folder)
    arrays: dict[str, Any] = {
        f"{opt}/{source}/{i}": np.asarray(w) for (opt, source), ws in weights.items() for i, w in enumerate(ws)
    }
    np.savez(folder / f"{name}_process_{process_index}.npz", **arrays)
    (folder / f"{name}_process_{process_index}.json").write_text(json.dumps(info, indent=2), encoding="utf-8")


def load_results(folder, name, num_processes=1):
    """Each process's ``(weights, info)``: weights as ``{(optimizer, source): [arrays]}``, in process order."""
    folder = pathlib.Path(folder)
    results = []
    for index in range(num_processes):
        by_position: dict[tuple[str, str], dict[int, np.ndarray]] = {}
        with np.load(folder / f"{name}_process_{index}.npz") as saved:
            for key in saved.files:
                optimizer, source, position = key.split("/")
                by_position.setdefault((optimizer, source), {})[int(position)] = saved[key]
        weights = {run: [arrays[i] for i in range(len(arrays))] for run, arrays in by_position.items()}
        info = json.loads((folder / f"{name}_process_{index}.json").read_text(encoding="utf-8"))
        results.append((weights, info))
    return results


# Lines JAX, XLA and gloo print (on stdout or stderr) that say nothing about the lesson: absl's
# preamble and its info lines ("I0000 00:00:..."), gloo's connection notice, JAX's "no GPU" notices.
# absl's warning and error lines (W..., E...) are kept: they may say why a child failed.
_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|I\d{4} \d\d:\d\d:\d\d|"
    r"\[Gloo\]|.*An NVIDIA GPU may be present|.*Unable to initialize backend|.*No GPU/TPU found)"
)


def quiet(text):
    """``text`` without the start-up and connection chatter of JAX, XLA and gloo; errors are kept."""
    return "\n".join(line for line in str(text).splitlines() if not _CHATTER.match(line))
