"""Lesson 12's second engine: ``keras.distribution`` on the JAX backend.

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
"""

import os

__all__ = ["jax_env", "join_processes"]


def jax_env(devices=1):
    """Environment entries for a child process on the JAX backend with ``devices`` CPU devices.

    Pass them to ``cookbook.processes.child_env(...)``. The device count is
    read by XLA when JAX starts, so it must be in the environment before the
    child imports anything.
    """
    if int(devices) < 1:
        raise ValueError(f"devices must be at least 1, got {devices}")
    flags = os.environ.get("XLA_FLAGS", "")
    flags = " ".join(f for f in flags.split() if not f.startswith("--xla_force_host_platform_device_count"))
    return {
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={int(devices)}".strip(),
        "JAX_PLATFORMS": "cpu",
    }


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
    """
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    import keras

    keras.distribution.initialize(
        job_addresses=coordinator_address, num_processes=num_processes, process_id=process_id
    )
    return jax.devices()
