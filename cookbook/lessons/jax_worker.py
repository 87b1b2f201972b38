"""Lesson 16's ``keras.distribution`` program: ``python -m cookbook.lessons.jax_worker JOB NAME``.

``JOB`` is a folder written by ``keras_distribution.save_job`` (model, data,
settings). The program runs on the JAX backend (``keras_distribution.jax_env``
sets it, with the number of virtual CPU devices) and fits the job's model once
per optimizer under ``keras.distribution.DataParallel`` over every device it
can see. Alone, that is every device of this process::

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \\
        python -m cookbook.lessons.jax_worker JOB two_devices

With ``--coordinator``, ``--num-processes`` and ``--process-id`` it first
joins a job of several processes (``keras_distribution.join_processes``) and
fits on its own share of the rows; the devices are then those of every
process::

    # on host-a (process 0, the coordinator) and host-b, KERAS_BACKEND=jax and the same JOB folder on both:
    python -m cookbook.lessons.jax_worker JOB processes --coordinator host-a:1234 --num-processes 2 --process-id 0
    python -m cookbook.lessons.jax_worker JOB processes --coordinator host-a:1234 --num-processes 2 --process-id 1

Each process writes its final weights and a summary next to the job
(``keras_distribution.load_results`` reads them). ``fit_under_data_parallel``
is the code lesson 16 quotes: keep it short and literal.
"""

import argparse
import os
import pathlib
import sys
import time

# On JAX this program never uses TensorFlow, but keras.distribution.initialize seeds every framework
# it can import (keras.utils.set_random_seed imports TensorFlow only to seed tf.random): 2-3 s of CPU
# in each process. Marking it absent before Keras loads skips that; nothing else changes. Only when
# run as the program: a process that merely imports this module (pytest collecting doctests) keeps TensorFlow.
if __name__ == "__main__" and os.environ.get("KERAS_BACKEND") == "jax":
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # None: Python's "cannot be imported"

from cookbook.lessons import distributed, keras_distribution  # noqa: E402

import jax  # noqa: E402
import keras  # noqa: E402


def fit_under_data_parallel(job):
    """Fit the job's model once per optimizer under DataParallel; return ``({run: weights}, {run: losses})``."""
    settings, X, y = keras_distribution.load_job(job)
    distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    distribution.auto_shard_dataset = False  # X_own below is already this process's share of the rows
    keras.distribution.set_distribution(distribution)
    mine = slice(jax.process_index(), None, jax.process_count())  # every process_count-th row, from this one's id
    X_own, y_own = X[mine], y[mine]
    batch_size = settings["global_batch"] // jax.process_count()  # fit's batch_size counts this process's rows
    weights, losses = {}, {}
    for name, source in settings["runs"]:
        model = keras.models.load_model(job / keras_distribution.MODEL_FILE, compile=False)  # the same start
        optimizer = distributed.make_optimizer(name, settings["learning_rate"], source=source)
        model.compile(optimizer=optimizer, loss=settings["loss"])
        history = model.fit(X_own, y_own, batch_size=batch_size, epochs=settings["epochs"], shuffle=False, verbose=0)
        weights[name, source] = model.get_weights()
        losses[name, source] = history.history["loss"]
    return weights, losses


def auto_shard_refusal(job):
    """Keras's error for NumPy rows under a multi-process DataParallel left at ``auto_shard_dataset=True``."""
    settings, X, y = keras_distribution.load_job(job)
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
    model = keras.models.load_model(job / keras_distribution.MODEL_FILE, compile=False)
    model.compile(optimizer="sgd", loss=settings["loss"])
    try:
        model.fit(X[: settings["global_batch"]], y[: settings["global_batch"]], epochs=1, verbose=0)
    except ValueError as error:  # raised while fit wraps the data, before any step
        return str(error)
    finally:
        keras.distribution.set_distribution(None)
    return None


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m cookbook.lessons.jax_worker", description=__doc__.splitlines()[0])
    parser.add_argument("job", type=pathlib.Path, help="folder written by keras_distribution.save_job")
    parser.add_argument("name", help="name of this run; the results are saved as JOB/NAME_process_<i>.*")
    parser.add_argument("--coordinator", help="host:port of process 0, the same in every process")
    parser.add_argument("--num-processes", type=int, default=1, help="processes in the job (default: 1)")
    parser.add_argument("--process-id", type=int, default=0, help="this process's id, 0 to num-processes - 1")
    return parser.parse_args(argv)


def main(argv=None):
    """Join the job if asked, fit every run, write this process's results."""
    args = _parse(argv)
    started = time.perf_counter()
    if keras.backend.backend() != "jax":
        print(
            f"jax_worker: error: it needs the JAX backend, got {keras.backend.backend()!r}: set KERAS_BACKEND=jax",
            file=sys.stderr,
        )
        return 2
    if args.coordinator:  # first, before any array exists: JAX fixes its devices at the first one
        keras_distribution.join_processes(args.process_id, args.num_processes, args.coordinator)
    refusal = auto_shard_refusal(args.job) if jax.process_count() > 1 else None
    weights, losses = fit_under_data_parallel(args.job)
    keras_distribution.save_results(
        args.job,
        args.name,
        jax.process_index(),
        weights,
        {
            "process_index": jax.process_index(),
            "process_count": jax.process_count(),
            "devices": keras.distribution.list_devices(),
            "local_devices": len(jax.local_devices()),
            "losses": {f"{name}/{source}": values for (name, source), values in losses.items()},
            "auto_shard_refusal": refusal,
            "seconds": time.perf_counter() - started,
        },
    )
    print(f"process {jax.process_index()} of {jax.process_count()}: {len(weights)} fit(s) on {jax.devices()}")
    return 0


if __name__ == "__main__":
    with keras_distribution.failing_fast():  # a failed process must not wait at exit for its peers
        sys.exit(main())
