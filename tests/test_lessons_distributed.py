"""cookbook.distribute: batch arithmetic, scope errors, the worker launcher.

TensorFlow's runtime is already started inside pytest, so everything that
needs two worker processes runs in children: ONE run in which a worker kills
itself (recipe 12's own claims, from its quick run, are in
``test_12_distributed_training.py``). The launcher's own logic (failure,
deadline, process groups) is tested with tiny Python children that import
nothing.
"""

import json
import socket
import sys
import textwrap

from cookbook import errors, processes
from cookbook.errors import CookbookError
from cookbook.lessons import cluster, distributed

import keras
import numpy as np
import pytest
import tensorflow as tf
from _processes import _alive, _running_workers

CHILD_TIMEOUT = 240.0  # generous: the machine is shared; a hang still ends


def _python(code):
    """argv running ``code`` in a fresh interpreter that imports nothing heavy."""
    return [sys.executable, "-c", textwrap.dedent(code)]


# --- batch arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, batch, per_replica, steps, last, split, even",
    [
        (427, 32, 16, 14, 11, "6+5", False),  # the odd last step that makes mirrored fit drift
        (426, 32, 16, 14, 10, "5+5", True),
        (426, 426, 213, 1, 426, "213+213", True),  # batch_size=len(X): full batch, halved
        (427, 427, 213.5, 1, 427, "214+213", False),
        (64, 32, 16, 2, 32, "16+16", True),
    ],
)
def test_batch_arithmetic_spells_out_the_split(rows, batch, per_replica, steps, last, split, even):
    """Global batch = per-replica batch x replicas; the last step's split is what fit really sees."""
    plan = distributed.batch_arithmetic(rows, batch, 2)
    assert plan == {
        "global_batch": batch,
        "per_replica": per_replica,
        "steps": steps,
        "last_batch": last,
        "last_split": split,
        "even": even,
    }
    assert (plan["steps"] - 1) * batch + plan["last_batch"] == rows


def test_batch_arithmetic_refuses_zero_counts():
    """A zero batch size is a CookbookError (a ValueError) that names the fix."""
    with pytest.raises(CookbookError, match="positive"):
        distributed.batch_arithmetic(10, 0, 2)


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


# --- scope errors (one-device MirroredStrategy: works in this process) ---------------------------


def _tiny_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])


def test_check_scope_names_an_optimizer_created_outside_the_scope():
    """check_scope raises StrategyScopeError (a ValueError) saying to create it inside the scope."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    optimizer = keras.optimizers.Adam()  # outside
    with strategy.scope():
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
    with pytest.raises(errors.StrategyScopeError, match=r"outside strategy\.scope\(\).*inside `with strategy"):
        distributed.check_scope(strategy, model)
    assert issubclass(errors.StrategyScopeError, ValueError)


def test_check_scope_accepts_model_and_optimizer_made_inside_and_names_a_model_made_outside():
    """Everything inside passes; a model built outside is named as the culprit."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        good = _tiny_model()
        good.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    distributed.check_scope(strategy, good)  # no error
    outside = _tiny_model()
    with strategy.scope():
        outside.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    with pytest.raises(errors.StrategyScopeError, match="was built outside"):
        distributed.check_scope(strategy, outside)


def test_explain_scope_errors_translates_the_error_fit_raises():
    """fit's "Mixing different tf.distribute.Strategy objects" becomes a StrategyScopeError with the fix."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    optimizer = keras.optimizers.Adam()  # its slot variables are what fit trips over
    with strategy.scope():
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
    X = np.zeros((8, 3), np.float32)
    with pytest.raises(errors.StrategyScopeError, match="create the model AND the optimizer inside") as info:
        with distributed.explain_scope_errors():
            model.fit(X, X[:, :1], epochs=1, verbose=0)
    assert "Mixing different tf.distribute.Strategy objects" in str(info.value.__cause__)


def test_explain_scope_errors_lets_other_errors_through():
    """An unrelated RuntimeError is re-raised unchanged."""
    with pytest.raises(RuntimeError, match="^something else$"):
        with distributed.explain_scope_errors():
            raise RuntimeError("something else")


@pytest.mark.parametrize("name", distributed.OPTIMIZER_NAMES)
def test_make_optimizer_keras_source_is_the_builtin_with_the_same_settings(name):
    """source="keras" gives keras.optimizers.<name> (Momentum: SGD, momentum 0.9); the default a same-named twin."""
    builtin = distributed.make_optimizer(name, 0.05, source="keras")
    expected = "SGD" if name == "Momentum" else name
    assert type(builtin) is getattr(keras.optimizers, expected)
    assert float(builtin.learning_rate) == pytest.approx(0.05)
    if name == "Momentum":
        assert builtin.momentum == 0.9
    twin = distributed.make_optimizer(name, 0.05)
    assert type(twin).__name__ in (name, expected)
    assert float(twin.learning_rate) == pytest.approx(0.05)


def test_make_optimizer_refuses_an_unknown_name():
    """A typo names the legal choices."""
    with pytest.raises(CookbookError, match="choose one of SGD"):
        distributed.make_optimizer("Adamm", 0.1)


# --- the launcher, with children that import nothing ----------------------------------------------


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


def test_a_failing_worker_is_named_and_the_survivor_is_stopped():
    """Worker 1 exits 3; worker 0 (waiting forever) is killed; the error quotes worker 1's stderr."""
    code = """
        import json, os, signal, sys
        if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
            sys.exit("boom: the disk is full")
        signal.pause()  # like a worker stuck in a collective, waiting for its dead peer
    """
    with pytest.raises(errors.WorkerFailed) as info:
        cluster.run_workers(_python(code), 2, timeout=CHILD_TIMEOUT)
    error = info.value
    assert error.worker == 1 and isinstance(error, CookbookError)
    assert "worker 1 of 2 failed (exit status 1)" in str(error)
    assert "boom: the disk is full" in str(error)
    assert "worker 0: stopped by the launcher" in str(error)
    survivor = error.results[0]
    assert survivor.stopped_by_launcher and survivor.returncode == -9
    assert not any(_alive(r.pid) for r in error.results)


def test_the_deadline_kills_hanging_workers_and_their_children(tmp_path):
    """At the deadline every worker AND the processes it started are killed; WorkerTimeout says so."""
    pid_file = tmp_path / "grandchild.pid"
    code = f"""
        import signal, subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
        open({str(pid_file)!r} + str(child.pid), "w").close()
        signal.pause()
    """
    with pytest.raises(errors.WorkerTimeout, match="deadline of 3 s") as info:
        cluster.run_workers(_python(code), 2, timeout=3.0)
    assert all(r.stopped_by_launcher and r.returncode == -9 for r in info.value.results)
    assert not any(_alive(r.pid) for r in info.value.results)
    grandchildren = [int(p.name.removeprefix(pid_file.name)) for p in tmp_path.iterdir()]
    assert grandchildren, "the workers started their children before the deadline"
    assert not any(_alive(pid) for pid in grandchildren)


def test_run_subprocess_returns_output_and_raises_on_failure():
    """One child: its stdout on success, a WorkerFailed naming "subprocess 0" on failure."""
    assert processes.run(_python("print('hello')"), timeout=60).stdout == "hello\n"
    with pytest.raises(errors.WorkerFailed, match="subprocess 0 of 1 failed"):
        processes.run(_python("raise SystemExit(2)"), timeout=60)


# --- real TensorFlow children ---------------------------------------------------------------------


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
