"""Lesson 17's cluster: worker processes of a ``MultiWorkerMirroredStrategy`` job on 127.0.0.1.

``launch_workers`` starts a cluster of worker processes on 127.0.0.1 (ports
picked free at run time, one ``TF_CONFIG`` each) under the supervision of
``cookbook.processes.Workers``: a deadline, and every child killed and reaped
on any error. A worker whose peer died can wait in a collective operation for a
long time, so the launcher does not wait for it: when one worker fails it stops
the others at once and raises ``WorkerFailed`` naming the worker and its last
stderr lines.

The worker program is ``python -m cookbook.lessons.worker JOB``; ``save_job``
writes the folder it reads (model, data, settings).

On real hosts nothing here is needed: run the same worker command on every
host, each with its own ``TF_CONFIG`` (``tf_config`` builds it)::

    TF_CONFIG='{"cluster": {"worker": ["host-a:2222", "host-b:2222"]},
                "task": {"type": "worker", "index": 0}}'   # 1 on host-b
"""

import json
import pathlib
import socket
import sys

from cookbook import processes

import numpy as np

__all__ = [
    "LOCALHOST",
    "free_ports",
    "launch_workers",
    "load_worker_weights",
    "run_workers",
    "save_job",
    "tf_config",
    "worker_command",
]

LOCALHOST = "127.0.0.1"  # workers only ever listen here: no other network


def free_ports(count):
    """``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago.

    All sockets stay open until every port is chosen, so the ports differ.
    Another program could still take one before a worker binds it; the
    worker then fails with "address in use" and the launcher says so.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOCALHOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(addresses, index):
    """The ``TF_CONFIG`` JSON for worker ``index`` of a cluster of ``addresses``.

    Args:
        addresses: ``"host:port"`` of every worker, in the same order on every
            host; worker 0 is the chief (it writes the results).
        index: this process's position in ``addresses``.
    """
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})


def launch_workers(command, num_workers=2, *, timeout=120.0, env=None):
    """Start ``num_workers`` copies of ``command`` as a localhost TF cluster; return ``Workers``.

    Each copy gets ``TF_CONFIG`` naming every worker at ``127.0.0.1:<free
    port>`` and its own index; worker 0 is the chief.

    Args:
        command: argv list, e.g. ``worker_command(job_dir)``.
        num_workers: processes to start. Defaults to `2`.
        timeout: seconds from launch until every worker is killed. Defaults to `120.0`.
        env: extra environment variables for every worker. Defaults to `None`.
    """
    addresses = [f"{LOCALHOST}:{port}" for port in free_ports(num_workers)]
    envs = [processes.child_env({**(env or {}), "TF_CONFIG": tf_config(addresses, i)}) for i in range(num_workers)]
    return processes.Workers([list(command)] * num_workers, envs, timeout=timeout, what="worker")


def run_workers(command, num_workers=2, *, timeout=120.0, env=None):
    """``launch_workers`` then wait: the list of ``WorkerResult``, or ``WorkerFailed``.

    Args:
        command: argv list every worker runs.
        num_workers: processes to start. Defaults to `2`.
        timeout: seconds until every worker is killed. Defaults to `120.0`.
        env: extra environment variables for every worker. Defaults to `None`.
    """
    with launch_workers(command, num_workers, timeout=timeout, env=env) as workers:
        return workers.wait()


# --------------------------------------------------------------------------
# The job folder cookbook.lessons.worker trains from

JOB_FILE, MODEL_FILE, DATA_FILE, RESULT_FILE = "job.json", "model.keras", "data.npz", "result.json"


def save_job(
    folder,
    model,
    X,
    y,
    *,
    optimizer="Adam",
    learning_rate=0.01,
    loss="binary_crossentropy",
    batch_size=32,
    epochs=1,
    collective_timeout=30.0,
    optimizer_source="cookbook",
):
    """Write what ``python -m cookbook.lessons.worker FOLDER`` needs; return the folder.

    Args:
        folder: where to write (created if missing).
        model: a built Keras model; its architecture and current weights are
            saved, so every worker starts from the same weights.
        X: training inputs (2-D array).
        y: training targets; stored as float32 column ``(n, 1)``.
        optimizer: a name from ``OPTIMIZER_NAMES``. Defaults to `"Adam"`.
        learning_rate: the optimizer's learning rate. Defaults to `0.01`.
        loss: a Keras loss name returning one value per row. Defaults to `"binary_crossentropy"`.
        batch_size: GLOBAL batch size, shared by all replicas. Defaults to `32`.
        epochs: passes over the data. Defaults to `1`.
        collective_timeout: seconds a worker waits in one all-reduce before
            failing (``CommunicationOptions(timeout_seconds=...)``). Defaults to `30.0`.
        optimizer_source: ``"cookbook"`` or ``"keras"``. Defaults to `"cookbook"`.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    np.savez(folder / DATA_FILE, X=np.asarray(X, np.float32), y=np.asarray(y, np.float32).reshape(len(X), -1))
    settings = {
        "optimizer": optimizer,
        "optimizer_source": optimizer_source,
        "learning_rate": learning_rate,
        "loss": loss,
        "batch_size": batch_size,
        "epochs": epochs,
        "collective_timeout": collective_timeout,
    }
    (folder / JOB_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return folder


def worker_command(folder, *extra):
    """The argv that runs the cookbook's worker on ``folder`` with this Python."""
    return [sys.executable, "-m", "cookbook.lessons.worker", str(folder), *map(str, extra)]


def load_worker_weights(folder, num_workers):
    """Each worker's final weights, as written by ``cookbook.lessons.worker``: a list of lists of arrays."""
    weights = []
    for index in range(num_workers):
        with np.load(pathlib.Path(folder) / f"worker_{index}.npz") as saved:
            weights.append([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return weights
