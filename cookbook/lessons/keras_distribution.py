"""JAX processes for ``keras.distribution``: their environment, joining them into one job, failing fast.

Keras 3's own API for several devices and hosts (``keras.distribution``)
runs ``model.fit`` on the JAX backend. A process's backend is fixed when
Keras is first imported, and JAX's device count when JAX starts, so a lesson
that runs on TensorFlow starts its JAX code in child processes with the
environment ``jax_env`` gives (lesson 18 fits under ``DataParallel`` there;
lesson 19 kills such a process and resumes the job):

- several *devices* in one process: ``XLA_FLAGS=--xla_force_host_platform_device_count=N``
  makes JAX show N virtual CPU devices;
- several *processes*, each with its own devices, joined by JAX's distributed
  runtime (``join_processes``). On real hosts the same call takes the
  coordinator's real address and each host's own ``process_id``.

``failing_fast`` ends a failed process of such a job at once (its peers would
wait for it), and ``quiet`` drops the lines JAX and gloo print that say
nothing about the lesson.
"""

import contextlib
import importlib.util
import operator
import os
import pathlib
import re
import sys
import traceback

from cookbook.errors import LessonError
from cookbook.lessons.cluster import LOCALHOST

__all__ = ["check_job_arguments", "child_env", "failing_fast", "jax_env", "join_processes", "quiet"]


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
    check_job_arguments(process_id, num_processes, coordinator_address)
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


def check_job_arguments(process_id, num_processes, coordinator_address):
    """Raise ``LessonError`` unless ``process_id`` in ``0 .. num_processes - 1`` and a ``"host:port"`` address."""
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


def child_env(devices=1):
    """``jax_env(devices)`` plus a ``PYTHONPATH`` that finds this package, for ``python -m cookbook...`` children."""
    package_root = str(pathlib.Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    return {**jax_env(devices), "PYTHONPATH": path}


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
