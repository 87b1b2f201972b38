"""One worker of a ``MultiWorkerMirroredStrategy`` cluster: ``python -m cookbook.lessons.worker JOB``.

``JOB`` is a folder written by ``cluster.save_job`` (model,
data, settings). Every worker reads the whole folder, trains its share of
each global batch, and writes its final weights to ``JOB/worker_<i>.npz``;
the chief (worker 0) also writes ``JOB/result.json``. Which worker this
process is, and where its peers are, comes from ``TF_CONFIG``::

    # on host-a (the chief) and host-b, with the same JOB folder copied to both:
    TF_CONFIG='{"cluster": {"worker": ["host-a:2222", "host-b:2222"]},
                "task": {"type": "worker", "index": 0}}' python -m cookbook.lessons.worker JOB
    TF_CONFIG='{"cluster": {"worker": ["host-a:2222", "host-b:2222"]},
                "task": {"type": "worker", "index": 1}}' python -m cookbook.lessons.worker JOB

``cluster.run_workers`` does the same on 127.0.0.1 and cleans up.

Why a custom loop and not ``model.fit``: in Keras 3 (up to 3.15 at least)
``fit`` under ``MultiWorkerMirroredStrategy`` fails before the first step
("Attempt to convert a value (PerReplica ...) to a Tensor"; keras-team/keras
issue 20585). ``distributed_training.train_in_lockstep`` is what ``fit``'s
``train_step`` does, with the batch arithmetic in plain sight.
"""

import argparse
import json
import os
import pathlib
import signal
import sys
import time

from cookbook.lessons import cluster, distributed_training

import keras
import numpy as np
import tensorflow as tf


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m cookbook.lessons.worker", description=__doc__.splitlines()[0])
    parser.add_argument("job", type=pathlib.Path, help="folder written by cluster.save_job")
    parser.add_argument(
        "--crash-worker",
        type=int,
        default=None,
        help="for the launcher's tests: this worker kills itself (SIGKILL), as a crashed host would",
    )
    parser.add_argument(
        "--crash-after-steps", type=int, default=2, help="steps --crash-worker trains before it dies (default: 2)"
    )
    return parser.parse_args(argv)


def train(job, strategy, crash_after_steps=None):
    """Train the job's model under ``strategy``; return ``(model, epoch_losses, settings)``."""
    settings = json.loads((job / cluster.JOB_FILE).read_text(encoding="utf-8"))
    with np.load(job / cluster.DATA_FILE) as data:
        X, y = data["X"], data["y"]
    with strategy.scope():  # model AND optimizer inside the scope, or they are not mirrored
        model = keras.models.load_model(job / cluster.MODEL_FILE, compile=False)
        optimizer = distributed_training.make_optimizer(
            settings["optimizer"], settings["learning_rate"], source=settings["optimizer_source"]
        )

    def maybe_crash(step):
        if step == crash_after_steps:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no goodbye: like a host losing power

    epoch_losses = distributed_training.train_in_lockstep(
        [(model, optimizer)],
        X,
        y,
        loss=settings["loss"],
        batch_size=settings["batch_size"],
        epochs=settings["epochs"],
        strategy=strategy,
        after_step=maybe_crash,
    )
    return model, epoch_losses, settings


def main(argv=None):
    """Join the cluster described by ``TF_CONFIG``, train, write the results."""
    args = _parse(argv)
    started = time.perf_counter()
    index = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0)
    settings = json.loads((args.job / cluster.JOB_FILE).read_text(encoding="utf-8"))
    # A worker whose peer died would otherwise wait in an all-reduce for a very long time.
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=settings["collective_timeout"])
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    crash = args.crash_after_steps if args.crash_worker == index else None
    model, epoch_losses, settings = train(args.job, strategy, crash)
    np.savez(args.job / f"worker_{index}.npz", *model.get_weights())
    if index == 0:  # the chief writes the shared result; every worker wrote its own weights
        result = {
            "workers": strategy.cluster_resolver.cluster_spec().num_tasks("worker"),
            "replicas": strategy.num_replicas_in_sync,
            "epoch_losses": epoch_losses,
            "seconds": time.perf_counter() - started,
            **settings,
        }
        (args.job / cluster.RESULT_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"worker {index}: trained {len(epoch_losses)} epoch(s), last loss {epoch_losses[-1]:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
