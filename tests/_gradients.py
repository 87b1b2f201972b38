"""The gradient of a loss for the tests, on whichever Keras backend runs them.

``keras.ops`` has no gradient function: each backend has its own (TensorFlow's
``GradientTape``, ``jax.grad``, torch's ``backward``). This is the one place
the tests name them, so a test of our losses' gradients runs on every backend.
"""

import keras
import numpy as np


def value_and_gradient(f, x):
    """``(sum of f(x), d sum / dx)`` as ``(float, NumPy array)``; ``x`` is a NumPy array.

    ``x`` keeps its dtype where the backend allows it (float64 becomes float32
    on JAX unless its 64-bit mode is on, as everywhere in Keras on JAX).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(f(variable))
        return float(total), tape.gradient(total, variable).numpy()
    if backend == "jax":
        import jax

        total, grad = jax.value_and_grad(lambda v: jax.numpy.sum(f(v)))(jax.numpy.asarray(x))
        return float(total), np.asarray(grad)
    if backend == "torch":
        import torch

        variable = torch.tensor(x, requires_grad=True)
        total = torch.sum(f(variable))
        total.backward()
        return float(total), variable.grad.numpy()
    raise NotImplementedError(f"no gradient helper for the {backend} backend: add one to tests/_gradients.py")
