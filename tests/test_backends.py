"""``import cookbook`` keeps the Keras backend it is given, in fresh interpreters.

A process's backend is fixed at its first ``import keras``, so each check runs
in a child started with ``KERAS_BACKEND`` set. Under JAX the package must
never load TensorFlow (seconds and hundreds of MB for nothing); under
TensorFlow it must keep TensorFlow's start-up log lines out of the terminal.
(The library's own tests run under JAX as well: ``.ci/run`` repeats the tests
marked ``backend_agnostic`` with ``KERAS_BACKEND=jax``.)
"""

import json
import sys
import textwrap

from cookbook import processes

import pytest

_REPORT = textwrap.dedent(
    """
    import json, sys
    import cookbook, keras
    print(json.dumps({"backend": keras.backend.backend(), "tensorflow": "tensorflow" in sys.modules}))
    """
)
TIMEOUT = 300.0  # seconds; generous, the machine may be shared


@pytest.mark.slow
def test_import_under_jax_keeps_jax_and_never_loads_tensorflow():
    """KERAS_BACKEND=jax: the backend stays jax, TensorFlow is not in sys.modules, nothing on stderr.

    Then ``keras.utils.set_random_seed`` imports TensorFlow (Keras seeds it when
    installed): that later import must be as quiet as the first.
    """
    seeded = _REPORT + textwrap.dedent(
        """
        keras.utils.set_random_seed(0)
        print(json.dumps({"backend": keras.backend.backend(), "tensorflow": "tensorflow" in sys.modules}))
        """
    )
    as_a_user = {"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": None}
    result = processes.run([sys.executable, "-c", seeded], env=as_a_user, timeout=TIMEOUT)
    imported, after_seeding = map(json.loads, result.stdout.splitlines())
    assert imported == {"backend": "jax", "tensorflow": False}
    assert after_seeding == {"backend": "jax", "tensorflow": True}
    assert result.stderr == ""


@pytest.mark.slow
def test_import_under_tensorflow_hides_its_start_up_lines():
    """With the user's TensorFlow logging, bare ``import keras`` prints start-up lines; ``import cookbook`` none."""
    as_a_user = processes.child_env({"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": None})
    with processes.Workers(
        [[sys.executable, "-c", _REPORT], [sys.executable, "-c", "import keras"]],
        [as_a_user, as_a_user],
        timeout=TIMEOUT,
        what="import check",
    ) as workers:  # both at once: each costs a TensorFlow import
        ours, bare = workers.wait()
    assert json.loads(ours.stdout) == {"backend": "tensorflow", "tensorflow": True}
    assert ours.stderr == ""
    if not bare.stderr:
        pytest.skip("TensorFlow printed nothing at import on this machine: no start-up lines to hide")
