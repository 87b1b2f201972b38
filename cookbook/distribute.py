"""Training on several devices or machines with ``tf.distribute``, made safe to try on a laptop.

Three jobs, one per section below:

1. Devices. ``use_logical_cpus(2)`` splits the one CPU into two logical
   devices, so ``mirrored_strategy()`` has two replicas to mirror across
   even without GPUs; ``batch_arithmetic`` spells out how a global batch is
   shared between the replicas.
2. Scope mistakes. A model or optimizer created outside ``strategy.scope()``
   fails deep inside ``fit`` with "Mixing different tf.distribute.Strategy
   objects". ``check_scope`` finds the mistake before training and
   ``explain_scope_errors`` turns TensorFlow's message into a
   ``StrategyScopeError`` that says what to move where.
3. Processes. ``launch_workers`` starts a ``MultiWorkerMirroredStrategy``
   cluster of worker processes on 127.0.0.1 (ports picked free at run time,
   one ``TF_CONFIG`` each), enforces a deadline, and kills and reaps every
   child on any error, so nothing is left running. A worker whose peer died
   can wait in a collective operation for a long time, so the launcher does
   not wait for it: when one worker fails it stops the others at once and
   raises ``WorkerFailed`` naming the worker and its last stderr lines.

The worker program the recipes launch is ``python -m cookbook._worker JOB``;
``save_job`` writes the folder it reads (model, data, settings).

On real hosts nothing here is needed: run the same worker command on every
host, each with its own ``TF_CONFIG`` (``tf_config`` builds it)::

    TF_CONFIG='{"cluster": {"worker": ["host-a:2222", "host-b:2222"]},
                "task": {"type": "worker", "index": 0}}'   # 1 on host-b
"""

import contextlib
import dataclasses
import json
import math
import os
import pathlib
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from cookbook.errors import CookbookError

__all__ = [
    "LOCALHOST",
    "OPTIMIZER_NAMES",
    "StrategyScopeError",
    "WorkerFailed",
    "WorkerResult",
    "WorkerTimeout",
    "Workers",
    "batch_arithmetic",
    "check_scope",
    "explain_scope_errors",
    "free_ports",
    "launch_workers",
    "load_worker_weights",
    "make_optimizer",
    "mirrored_strategy",
    "run_subprocess",
    "run_workers",
    "save_job",
    "tf_config",
    "train_in_lockstep",
    "use_logical_cpus",
    "worker_command",
]

LOCALHOST = "127.0.0.1"  # workers only ever listen here: no other network
STDERR_TAIL_LINES = 12  # how much of a failed worker's stderr an error message quotes
OPTIMIZER_NAMES = ("SGD", "Momentum", "Adagrad", "RMSprop", "Adam")
_MOMENTUM = 0.9  # "Momentum" is SGD with this momentum, as in cookbook.optimizers


# --------------------------------------------------------------------------
# Errors


class StrategyScopeError(CookbookError):
    """A model or optimizer created outside ``strategy.scope()``, then trained inside it."""


class WorkerFailed(CookbookError):
    """A worker process ended with an error; the launcher stopped the others.

    Attributes:
        worker: index of the worker that failed first (``None`` for a timeout).
        results: one ``WorkerResult`` per worker, after every process was reaped.
    """

    def __init__(self, message, worker=None, results=()):
        super().__init__(message)
        self.worker = worker
        self.results = list(results)


class WorkerTimeout(WorkerFailed):
    """Workers still running at the launcher's deadline; they were killed."""


# --------------------------------------------------------------------------
# 1. Devices and the batch arithmetic


def use_logical_cpus(count=2):
    """Split the CPU into ``count`` logical devices for ``MirroredStrategy``.

    TensorFlow accepts this only before its runtime starts (the first op,
    model or device listing starts it); afterwards the call cannot change
    anything and this function just reports what there is.

    Args:
        count: logical CPU devices wanted. Defaults to `2`.

    Returns:
        ``True`` if at least ``count`` logical CPUs now exist, ``False`` if the
        runtime had already started with fewer (run in a fresh process then).
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # "Virtual devices cannot be modified after being initialized"
        pass
    return len(tf.config.list_logical_devices("CPU")) >= count


def mirrored_strategy(replicas=2):
    """A ``MirroredStrategy`` over the GPUs if there are any, else over logical CPUs.

    Args:
        replicas: logical CPUs to mirror across when there is no GPU; call
            ``use_logical_cpus(replicas)`` first, in a fresh process.
            Defaults to `2`.

    Raises:
        CookbookError: no GPU and fewer than ``replicas`` logical CPUs.
    """
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()  # every GPU, one replica each
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(cpus) < replicas:
        raise CookbookError(
            f"MirroredStrategy needs {replicas} devices but TensorFlow has {len(cpus)} CPU device(s) and no GPU; "
            f"call cookbook.distribute.use_logical_cpus({replicas}) before anything else uses TensorFlow "
            f"(in a fresh Python process)")
    return tf.distribute.MirroredStrategy(cpus[:replicas])


def batch_arithmetic(num_rows, batch_size, replicas):
    """How ``fit(batch_size=...)`` shares the rows between replicas, step by step.

    Under a strategy ``batch_size`` is the GLOBAL batch: each step takes
    ``batch_size`` rows and gives each replica an equal slice (the first
    replicas get one row more when it does not divide).

    Args:
        num_rows: rows in the training set.
        batch_size: the ``batch_size`` passed to ``fit``.
        replicas: ``strategy.num_replicas_in_sync``.

    Returns:
        dict with ``global_batch``, ``per_replica`` (rows each replica gets in a
        full step), ``steps`` per epoch, ``last_batch`` rows, ``last_split``
        (e.g. ``"6+5"``) and ``even``: whether every step splits equally, the
        condition for Keras's loss to equal single-device training.
    """
    if num_rows < 1 or batch_size < 1 or replicas < 1:
        raise CookbookError(f"num_rows, batch_size and replicas must be >= 1, got {num_rows}, {batch_size}, "
                            f"{replicas}; pass positive counts")
    steps = math.ceil(num_rows / batch_size)
    last = num_rows - (steps - 1) * batch_size
    split = [len(part) for part in np.array_split(np.arange(last), replicas)]
    return {
        "global_batch": batch_size,
        "per_replica": batch_size / replicas,
        "steps": steps,
        "last_batch": last,
        "last_split": "+".join(map(str, split)),
        "even": batch_size % replicas == 0 and last % replicas == 0,
    }


# --------------------------------------------------------------------------
# 2. Models and optimizers created outside the scope

_SCOPE_MESSAGES = ("Mixing different tf.distribute.Strategy objects", 'Need to be inside "with strategy.scope()"')
_SCOPE_FIX = ("create the model AND the optimizer inside `with strategy.scope():` and compile there, e.g. "
              "`with strategy.scope(): model = build_model(); model.compile(optimizer=keras.optimizers.Adam(), ...)`")


def check_scope(strategy, model):
    """Raise ``StrategyScopeError`` if ``model`` or its optimizer was made outside ``strategy.scope()``.

    Call it after ``compile`` and before ``fit``: it names the culprit
    where TensorFlow's own error (raised inside ``fit``) does not.

    Args:
        strategy: the ``tf.distribute.Strategy`` the model will train under.
        model: a compiled (or at least built) Keras model.
    """
    created_here = strategy.extended.variable_created_in_scope
    outside = [w.path for w in model.weights if not created_here(w.value)]
    if outside:
        raise StrategyScopeError(
            f"model {model.name!r} was built outside strategy.scope() (its weights {outside[:3]} are not "
            f"mirrored), so fit cannot train it under {type(strategy).__name__}; {_SCOPE_FIX}")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not created_here(optimizer.iterations.value):
        raise StrategyScopeError(
            f"optimizer {optimizer.name!r} ({type(optimizer).__module__}.{type(optimizer).__name__}) was created "
            f"outside strategy.scope(); fit would fail with \"Mixing different tf.distribute.Strategy objects\". "
            f"Fix: {_SCOPE_FIX}")


@contextlib.contextmanager
def explain_scope_errors():
    """Turn TensorFlow's scope errors inside the block into a ``StrategyScopeError``.

    ::

        with cookbook.distribute.explain_scope_errors():
            model.fit(X, y)
    """
    try:
        yield
    except StrategyScopeError:
        raise  # already explained (by check_scope)
    except (RuntimeError, ValueError) as exc:
        if not any(text in str(exc) for text in _SCOPE_MESSAGES):
            raise
        first_line = str(exc).splitlines()[0].split(":")[0]
        raise StrategyScopeError(
            f"TensorFlow said {first_line!r}: a model or optimizer was created outside the strategy's scope. "
            f"Fix: {_SCOPE_FIX}") from exc


def make_optimizer(name, learning_rate, *, source="cookbook"):
    """An optimizer by name: the cookbook's twin, or the Keras built-in of the same name.

    Args:
        name: one of ``OPTIMIZER_NAMES``; ``"Momentum"`` is SGD with momentum 0.9.
        learning_rate: the learning rate.
        source: ``"cookbook"`` for ``cookbook.optimizers`` (the Keras built-in
            is used if that package cannot be imported) or ``"keras"``.
            Defaults to `"cookbook"`.
    """
    import keras

    if name not in OPTIMIZER_NAMES:
        raise CookbookError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    if source not in ("cookbook", "keras"):
        raise CookbookError(f"source must be 'cookbook' or 'keras', got {source!r}")
    if source == "cookbook":
        try:
            import cookbook.optimizers as twins
        except ImportError:  # the twins are optional: fall back to Keras's own
            twins = None
        if twins is not None and hasattr(twins, name):
            return getattr(twins, name)(learning_rate=learning_rate)
    if name == "Momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=_MOMENTUM)
    return getattr(keras.optimizers, name)(learning_rate=learning_rate)


def train_in_lockstep(pairs, X, y, *, loss="binary_crossentropy", batch_size=32, epochs=1, strategy=None,
                      after_step=None):
    """Train several ``(model, optimizer)`` pairs on the same batches, with one compiled step.

    This is ``fit``'s ``train_step`` written out, for every pair at once (one
    trace instead of one per model): each replica takes its slice of the
    global batch, its loss is *sum over its rows / rows in the global batch*,
    and ``apply_gradients`` all-reduces (sums) the gradients across replicas.
    That sum is exactly the gradient of the global batch's mean loss, however
    unevenly the rows split. Create the models and optimizers inside
    ``strategy.scope()``.

    Args:
        pairs: list of ``(model, optimizer)``.
        X: inputs, a 2-D array.
        y: targets, one row per input row.
        loss: a Keras loss name that returns one value per row. Defaults to `"binary_crossentropy"`.
        batch_size: the GLOBAL batch size. Defaults to `32`.
        epochs: passes over the data, in order (no shuffling). Defaults to `1`.
        strategy: a ``tf.distribute.Strategy``; ``None`` trains on one device. Defaults to `None`.
        after_step: called with the step number after every step. Defaults to `None`.

    Returns:
        The first pair's mean loss in each epoch.
    """
    import keras
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    per_row_loss = keras.losses.get(loss)
    with strategy.scope():
        for model, optimizer in pairs:
            optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(x, y, global_rows):
        def replica_step(x, y):
            losses = []
            for model, optimizer in pairs:
                with tf.GradientTape() as tape:
                    value = tf.reduce_sum(per_row_loss(y, model(x, training=True))) / global_rows
                gradients = tape.gradient(value, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # all-reduces them
                losses.append(value)
            return losses[0]
        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

    def replica_slice(rows):
        # Replica r of R takes the r-th of R nearly equal slices: the split fit makes.
        return lambda context: np.array_split(rows, context.num_replicas_in_sync)[context.replica_id_in_sync_group]

    X, y = np.asarray(X, np.float32), np.asarray(y, np.float32).reshape(len(X), -1)
    step, epoch_losses = 0, []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            x_part = strategy.experimental_distribute_values_from_function(replica_slice(X[rows]))
            y_part = strategy.experimental_distribute_values_from_function(replica_slice(y[rows]))
            total += float(train_step(x_part, y_part, tf.constant(len(X[rows]), tf.float32))) * len(X[rows])
            step += 1
            if after_step is not None:
                after_step(step)
        epoch_losses.append(total / len(X))
    return epoch_losses


# --------------------------------------------------------------------------
# 3. Processes: free ports, TF_CONFIG, the launcher


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


@dataclasses.dataclass
class WorkerResult:
    """What one child process did: exit status (negative = killed by that signal) and output."""

    index: int
    pid: int
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    stopped_by_launcher: bool = False

    def describe(self):
        """``"exit status 1"`` or ``"killed by SIGKILL"``."""
        if self.returncode < 0:
            return f"killed by {signal.Signals(-self.returncode).name}"
        return f"exit status {self.returncode}"


def _tail(text, lines=STDERR_TAIL_LINES):
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n    ".join(kept) or "(no stderr output)"


class Workers:
    """Child processes started together and supervised until they all end.

    Use it as a context manager (``launch_workers`` returns one): leaving the
    block for any reason kills and reaps every child that is still running.
    ``wait()`` returns the results or raises ``WorkerFailed``.
    """

    def __init__(self, commands, envs, *, timeout, what="worker"):
        self.timeout = timeout
        self.what = what
        self._started = time.monotonic()
        self._deadline = self._started + timeout
        self._exits = queue.Queue()
        self._processes, self._outputs = [], []
        self._ended_at, self._stopped = {}, set()
        try:
            for index, (command, env) in enumerate(zip(commands, envs)):
                out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # files: a pipe could fill and block
                self._outputs.append((out, err))
                process = subprocess.Popen(command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                           start_new_session=True)  # own process group: killed with its children
                self._processes.append(process)
                threading.Thread(target=self._watch, args=(index, process), daemon=True).start()
        except BaseException:
            self.close()
            raise

    @property
    def pids(self):
        """Process ids of the children, in worker order."""
        return [p.pid for p in self._processes]

    def _watch(self, index, process):
        process.wait()
        self._exits.put((index, time.monotonic()))

    def wait(self):
        """Wait for every child; return their ``WorkerResult`` list in order.

        Raises:
            WorkerFailed: a child ended with an error (the rest were killed).
            WorkerTimeout: children still running at the deadline (all killed).
        """
        failed, timed_out = None, False
        try:
            while len(self._ended_at) < len(self._processes):
                try:
                    index, when = self._exits.get(timeout=max(0.0, self._deadline - time.monotonic()))
                except queue.Empty:
                    timed_out = True
                    break
                self._ended_at[index] = when
                if self._processes[index].returncode != 0:
                    failed = index  # the first to fail is the one to blame; stop the rest now
                    break
        finally:
            self.close()
        results = self._results()
        if failed is not None:
            raise WorkerFailed(self._failure_message(failed, results), failed, results)
        if timed_out:
            running = [r for r in results if r.stopped_by_launcher]
            names = ", ".join(str(r.index) for r in running)
            tails = "".join(f"\n  {self.what} {r.index} stderr:\n    {_tail(r.stderr)}" for r in running)
            raise WorkerTimeout(
                f"{self.what} {names} still running after the launcher's deadline of {self.timeout:g} s and "
                f"were killed. Raise timeout= if the job is just slow; if a worker waits for a peer, check "
                f"that every worker started with the same cluster in TF_CONFIG.{tails}", None, results)
        return results

    def _failure_message(self, failed, results):
        result = results[failed]
        others = []
        for r in results:
            if r.index == failed:
                continue
            state = "stopped by the launcher" if r.stopped_by_launcher else r.describe()
            others.append(f"{self.what} {r.index}: {state}")
        return (f"{self.what} {failed} of {len(results)} failed ({result.describe()}) after "
                f"{result.seconds:.1f} s; {'; '.join(others) or 'no other process'}. "
                f"Its last stderr lines:\n    {_tail(result.stderr)}")

    def close(self):
        """Kill (SIGKILL, whole process group) and reap every child still running."""
        for index, process in enumerate(self._processes):
            if process.poll() is None:
                self._stopped.add(index)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            self._ended_at.setdefault(index, time.monotonic())

    def _results(self):
        results = []
        for index, (process, (out, err)) in enumerate(zip(self._processes, self._outputs)):
            texts = []
            for handle in (out, err):
                handle.seek(0)
                texts.append(handle.read().decode("utf-8", "replace"))
                handle.close()
            results.append(WorkerResult(index, process.pid, process.returncode, texts[0], texts[1],
                                        self._ended_at[index] - self._started, index in self._stopped))
        return results

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def _child_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.update(extra or {})
    return env


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
    envs = [_child_env({**(env or {}), "TF_CONFIG": tf_config(addresses, i)}) for i in range(num_workers)]
    return Workers([list(command)] * num_workers, envs, timeout=timeout, what="worker")


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


def run_subprocess(command, *, timeout=120.0, env=None):
    """Run one child with the launcher's guarantees (deadline, killed on error); return its result.

    Args:
        command: argv list.
        timeout: seconds until it is killed. Defaults to `120.0`.
        env: extra environment variables. Defaults to `None`.
    """
    with Workers([list(command)], [_child_env(env)], timeout=timeout, what="subprocess") as child:
        return child.wait()[0]


# --------------------------------------------------------------------------
# The job folder cookbook._worker trains from

JOB_FILE, MODEL_FILE, DATA_FILE, RESULT_FILE = "job.json", "model.keras", "data.npz", "result.json"


def save_job(folder, model, X, y, *, optimizer="Adam", learning_rate=0.01, loss="binary_crossentropy",
             batch_size=32, epochs=1, collective_timeout=30.0, optimizer_source="cookbook"):
    """Write what ``python -m cookbook._worker FOLDER`` needs; return the folder.

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
    settings = {"optimizer": optimizer, "optimizer_source": optimizer_source, "learning_rate": learning_rate,
                "loss": loss, "batch_size": batch_size, "epochs": epochs, "collective_timeout": collective_timeout}
    (folder / JOB_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return folder


def worker_command(folder, *extra):
    """The argv that runs the cookbook's worker on ``folder`` with this Python."""
    return [sys.executable, "-m", "cookbook._worker", str(folder), *map(str, extra)]


def load_worker_weights(folder, num_workers):
    """Each worker's final weights, as written by ``cookbook._worker``: a list of lists of arrays."""
    weights = []
    for index in range(num_workers):
        with np.load(pathlib.Path(folder) / f"worker_{index}.npz") as saved:
            weights.append([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return weights
