"""cookbook.lessons.cluster: lesson 17's workers on 127.0.0.1 (ports, TF_CONFIG, the job folder, the launch).

The supervision itself (deadline, the failing child named, every process
reaped) is ``cookbook.processes``'s and is tested in ``test_processes.py``;
here the cluster's own parts: free ports, one ``TF_CONFIG`` per worker, and
ONE run of real TensorFlow workers in which a worker kills itself (recipe
17's claims, from its quick run, are in ``test_distributed_training.py``).
"""

import json
import socket

from cookbook import errors
from cookbook.lessons import cluster

import keras
import numpy as np
import pytest
import tensorflow as tf
from _processes import _alive, _python, _running_workers

CHILD_TIMEOUT = 240.0  # generous: the machine is shared; a hang still ends


# --- ports and TF_CONFIG ------------------------------------------------------------------------


def test_free_ports_are_distinct_and_bindable_on_localhost():
    """Ports differ from each other and can be bound on 127.0.0.1 right away."""
    ports = cluster.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as sock:
            sock.bind((cluster.LOCALHOST, port))


def test_tf_config_reads_back_through_tensorflows_own_resolver(monkeypatch):
    """TensorFlow's TFConfigClusterResolver sees the cluster and this task's index."""
    addresses = ["127.0.0.1:1111", "127.0.0.1:2222"]
    monkeypatch.setenv("TF_CONFIG", cluster.tf_config(addresses, 1))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    assert resolver.cluster_spec().as_dict() == {"worker": addresses}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


# --- launching: tiny children first, then real TensorFlow workers ---------------------------------


def test_run_workers_gives_each_worker_its_own_tf_config():
    """Every worker sees the same 127.0.0.1 cluster and its own index; results come back in order."""
    results = cluster.run_workers(_python("import os; print(os.environ['TF_CONFIG'])"), 3, timeout=60)
    configs = [json.loads(r.stdout) for r in results]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    clusters = {json.dumps(c["cluster"]) for c in configs}
    assert len(clusters) == 1
    addresses = configs[0]["cluster"]["worker"]
    assert len(set(addresses)) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)
    assert [r.returncode for r in results] == [0, 0, 0]


def test_a_failing_worker_is_named_by_its_tf_config_index():
    """The same command on every worker, the one whose TF_CONFIG index is 1 fails: WorkerFailed names worker 1."""
    code = """
        import json, os, signal, sys
        if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
            sys.exit("boom: the disk is full")
        signal.pause()  # like a worker stuck in a collective, waiting for its dead peer
    """
    with pytest.raises(errors.WorkerFailed) as info:
        cluster.run_workers(_python(code), 2, timeout=CHILD_TIMEOUT)
    assert info.value.worker == 1 and "boom: the disk is full" in str(info.value)
    assert "worker 0: stopped by the launcher" in str(info.value)
    assert not any(_alive(r.pid) for r in info.value.results)


@pytest.mark.slow
def test_a_killed_worker_ends_the_run_with_an_error_not_a_hang(tmp_path):
    """Worker 1 SIGKILLs itself mid-training: WorkerFailed names it, and no process is left."""
    keras.utils.set_random_seed(0)
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    job = cluster.save_job(
        tmp_path / "job",
        _tiny_model_for(X),
        X,
        (X[:, 0] > 0),
        batch_size=8,
        epochs=5,
        loss="binary_crossentropy",
        collective_timeout=20.0,
    )
    command = cluster.worker_command(job, "--crash-worker", 1, "--crash-after-steps", 2)
    with pytest.raises(errors.WorkerFailed) as info:
        cluster.run_workers(command, 2, timeout=CHILD_TIMEOUT)
    error = info.value
    assert error.worker == 1 and not isinstance(error, errors.WorkerTimeout)
    assert "worker 1 of 2 failed (killed by SIGKILL)" in str(error)
    assert error.results[0].returncode != 0, "the survivor ended with an error (its own, or the launcher's kill)"
    assert not any(_alive(r.pid) for r in error.results)
    assert not (job / cluster.RESULT_FILE).exists(), "the chief never finished"
    assert not _running_workers()


def _tiny_model_for(X):
    return keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(1, activation="sigmoid")])
