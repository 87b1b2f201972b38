"""Import Keras (and TensorFlow, when it is the backend) without start-up log lines.

TensorFlow's C++ runtime prints lines such as "Could not find cuda drivers"
and "oneDNN custom operations are on" while it is being imported. Most are
silenced by ``TF_CPP_MIN_LOG_LEVEL``, but a few are written by absl *before*
that variable is read, straight to file descriptor 2. The only way to keep
them out of a learner's terminal is to point descriptor 2 at ``/dev/null``
for the duration of the import.

TensorFlow's Python logger is set to errors only for the same reason: its
warnings ("triggered tf.function retracing", AutoGraph notices) are about
TensorFlow's internals, not the lesson. Keras's own warnings (softmax on one
unit, ``from_logits=True`` after a softmax) use Python's ``warnings`` module
and still show.

Set ``TF_CPP_MIN_LOG_LEVEL=0`` yourself to see every line again.

Only Keras is imported here, never TensorFlow directly: Keras imports the
backend it is set to (``KERAS_BACKEND`` or ``~/.keras/keras.json``), so under
``KERAS_BACKEND=jax`` TensorFlow is not loaded at all and the JAX backend is
kept.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    """Send everything written to file descriptor 2 to /dev/null."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (some IDEs, notebooks)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras_quietly():
    """Import Keras, and with it its backend, with TensorFlow's start-up noise hidden.

    A real import error still surfaces: Python raises it after descriptor 2
    is restored.
    """
    if "keras" in sys.modules:
        _quiet_tensorflow_logger()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        import keras  # noqa: F401  (the user asked for every log line)

        return
    with _stderr_silenced():
        import keras  # noqa: F401
    _quiet_tensorflow_logger()


def _quiet_tensorflow_logger():
    # Only when Keras has loaded TensorFlow (its TensorFlow backend): under
    # JAX or torch there is no TensorFlow to quiet, and importing it here
    # would cost seconds and memory for nothing.
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":
        tensorflow.get_logger().setLevel("ERROR")
