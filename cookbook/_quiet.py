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
``KERAS_BACKEND=jax`` the JAX backend is kept and TensorFlow is not loaded.
Keras may still import TensorFlow later on another backend (for example
``keras.utils.set_random_seed`` seeds TensorFlow too when it is installed, for
``tf.data`` pipelines); that later import is made quiet the same way, by a
one-shot import hook.
"""

import contextlib
import importlib.util
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
    is restored. When Keras is already imported (the user imported it
    first), only what comes later is made quiet.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        import keras  # noqa: F401  (the user asked for every log line)

        return
    if "keras" not in sys.modules:
        with _stderr_silenced():
            import keras  # noqa: F401
    if "tensorflow" in sys.modules:
        _quiet_tensorflow_logger()
    elif not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        # Not loaded yet (another backend): Keras may still import it later.
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def _quiet_tensorflow_logger():
    # Only when Keras has loaded TensorFlow (its TensorFlow backend): under
    # JAX or torch there is no TensorFlow to quiet, and importing it here
    # would cost seconds and memory for nothing.
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":
        tensorflow.get_logger().setLevel("ERROR")


class _QuietTensorFlowImport:
    """Import hook: the first ``import tensorflow`` runs with descriptor 2 silenced.

    It steps aside once TensorFlow is imported (it removes itself from
    ``sys.meta_path``), so it costs nothing afterwards and never touches any
    other module. A mere probe (``importlib.util.find_spec``) leaves it in place.
    """

    _looking = False  # set while this finder asks the others, so it does not answer itself

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self._looking:
            return None
        self._looking = True
        try:
            spec = importlib.util.find_spec(name)  # the finders that would have found it anyway
        finally:
            self._looking = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            if self in sys.meta_path:  # a probe (find_spec alone) leaves the hook in place
                sys.meta_path.remove(self)
            with _stderr_silenced():
                run_module(module)
            _quiet_tensorflow_logger()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
