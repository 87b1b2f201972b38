"""Lesson 18's JAX child: ``python -m cookbook.lessons.jax_worker JOB CHILD`` runs the lesson's Keras functions on JAX.

``JOB`` is a folder written by ``keras_distribution_on_jax.save_job``: the
model with its starting weights, the rows, the source of the lesson's
functions (``fit_on_one_device``, ``fit_data_parallel``) and the runs each
child makes. The program runs on the JAX backend with as many virtual CPU
devices as ``XLA_FLAGS`` asks for (``keras_distribution.jax_env`` sets both)::

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \\
        python -m cookbook.lessons.jax_worker JOB devices

With ``--coordinator``, ``--num-processes`` and ``--process-id`` it first
joins a job of several processes (``keras_distribution.join_processes``); the
lesson's functions then see the devices of every process::

    # on host-a (process 0, the coordinator) and host-b, KERAS_BACKEND=jax and the same JOB folder on both:
    python -m cookbook.lessons.jax_worker JOB processes --coordinator host-a:1234 --num-processes 2 --process-id 0
    python -m cookbook.lessons.jax_worker JOB processes --coordinator host-a:1234 --num-processes 2 --process-id 1

Each process writes the final weights of every run and a summary next to
the job (``keras_distribution_on_jax.load_results`` reads them).
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

from cookbook.lessons import keras_distribution  # noqa: E402
from cookbook.lessons import keras_distribution_on_jax as job_files  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402


def devices_used():
    """How many devices the last fit ran on: the current distribution's device mesh, or 1 without one."""
    distribution = keras.distribution.distribution()
    return 1 if distribution is None else int(np.size(distribution.device_mesh.devices))


def run_child(job, child):
    """Every run of ``child`` in order: ``({label: weights}, {label: details})``.

    Each run's function returns ``(weights, steps)``: the final weights and
    the optimizer's step count. A run marked ``expects_error`` records Keras's ``ValueError`` as its
    outcome; any other error ends the program (in a joined job its peers
    are then stopped by the launcher).
    """
    spec, X, y = job_files.load_job(job)
    functions = {"keras": keras, "np": np}
    exec(compile(spec["source"], str(pathlib.Path(job) / "lesson functions"), "exec"), functions)
    weights, details = {}, {}
    for run in spec["children"][child]:
        keras.distribution.set_distribution(None)  # each run sets its own, or none
        started = time.perf_counter()
        record = {"function": run["function"], "kwargs": run["kwargs"], "expects_error": run["expects_error"]}
        record["error"] = None
        try:
            function = functions[run["function"]]
            weights[run["label"]], record["steps"] = function(
                pathlib.Path(job) / job_files.MODEL_FILE, X, y, **run["kwargs"]
            )
        except ValueError as error:
            if not run["expects_error"]:
                raise
            record["error"] = str(error)
        record["devices"] = devices_used()
        record["seconds"] = time.perf_counter() - started
        details[run["label"]] = record
    keras.distribution.set_distribution(None)
    return weights, details


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m cookbook.lessons.jax_worker", description=__doc__.splitlines()[0])
    parser.add_argument("job", type=pathlib.Path, help="folder written by keras_distribution_on_jax.save_job")
    parser.add_argument("child", help="which runs of the job to make; results go to JOB/CHILD_process_<i>.*")
    parser.add_argument("--coordinator", help="host:port of process 0, the same in every process")
    parser.add_argument("--num-processes", type=int, default=1, help="processes in the job (default: 1)")
    parser.add_argument("--process-id", type=int, default=0, help="this process's id, 0 to num-processes - 1")
    return parser.parse_args(argv)


def main(argv=None):
    """Join the job if asked, make every run, write this process's results."""
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
    import jax

    weights, details = run_child(args.job, args.child)
    info = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "devices": keras.distribution.list_devices(),
        "runs": details,
        "seconds": time.perf_counter() - started,
    }
    job_files.save_results(args.job, args.child, jax.process_index(), weights, info)
    print(
        f"{args.child} process {jax.process_index()} of {jax.process_count()}: {len(details)} run(s) on {jax.devices()}"
    )
    return 0


if __name__ == "__main__":
    with keras_distribution.failing_fast():  # a failed process must not wait at exit for its peers
        sys.exit(main())
