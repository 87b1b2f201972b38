"""cookbook.porting: the Keras 3 Yogi takes its Keras 2 original's steps, and the half-ports do not.

The Keras 2 original (``Keras2Yogi``, on ``tf_keras.optimizers.legacy.Optimizer``)
is the reference the port must match: both train the same model from the same
weights for 50 steps, each with its own ``tf.GradientTape`` and
``apply_gradients``, dense and sparse (an ``Embedding``'s ``IndexedSlices``),
with a learning-rate schedule. A float64 NumPy rule (``reference.yogi``) is
the second, backend-free reference. Each half-port in
``cookbook.porting.half_ports`` runs through the same test as the correct port
and must fail it (``xfail(strict=True, raises=AssertionError)``); a second test
per half-port pins its symptom.

The Keras 2 tests need TensorFlow and ``tf_keras`` (the ``test`` extra); under
another backend they skip with that reason and the rest runs.
"""

import json
import pathlib
import sys
import warnings

import cookbook  # noqa: F401  (first: Keras imported quietly)
from cookbook import processes, reference
from cookbook.porting import Yogi, half_ports

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.backend_agnostic  # the Keras 3 port on any backend; Keras 2 tests skip off TensorFlow

ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
needs_tensorflow = pytest.mark.skipif(
    not ON_TENSORFLOW, reason="Keras 2 (tf_keras), tf.GradientTape and IndexedSlices gradients are TensorFlow's"
)
STEPS = 50  # the "at least 50 steps"
VOCAB, TOKENS, ROWS, BATCH = 20, 3, 64, 8
SAME = 1e-6  # Keras 2 vs Keras 3 (float32, same operations: 0 or a few 1e-8 measured)
CHECK_TIMEOUT = 120  # seconds for the MirroredStrategy child (about 12 s on 2 idle cores)

PORTED_FILE = pathlib.Path(cookbook.__file__).parent / "porting" / "yogi.py"


def _half_port(cls, symptom, raises=AssertionError):
    """``cls`` as a parameter that must fail the test with ``raises`` (an AssertionError: the symptom named)."""
    return pytest.param(cls, id=cls.__name__, marks=pytest.mark.xfail(strict=True, raises=raises, reason=symptom))


# --- data, models and the lockstep run of the two versions ------------------------------


def _data(kind):
    """(x, y): token ids for the Embedding model ("sparse"), floats for the MLP ("dense")."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(ROWS, TOKENS)) if kind == "sparse" else rng.normal(size=(ROWS, TOKENS))
    return x.astype("int32" if kind == "sparse" else "float32"), rng.normal(size=(ROWS, 1)).astype("float32")


def _start_weights(kind):
    """Fixed starting weights (NumPy, seeded) for both frameworks' copies of the model."""
    rng = np.random.default_rng(1)
    if kind == "sparse":  # Embedding table, Dense kernel, Dense bias
        shapes = [(VOCAB, 4), (4, 1), (1,)]
    else:  # Dense(4, tanh), Dense(1)
        shapes = [(TOKENS, 4), (4,), (4, 1), (1,)]
    return [(0.3 * rng.normal(size=shape)).astype("float32") for shape in shapes]


def _model(layers, kind):
    """The lesson-sized model in one framework's ``layers`` module (``keras.layers`` or ``tf_keras.layers``)."""
    if kind == "sparse":
        body = [layers.Embedding(VOCAB, 4), layers.GlobalAveragePooling1D(), layers.Dense(1)]
    else:
        body = [layers.Dense(4, activation="tanh"), layers.Dense(1)]
    return body


def _keras3_model(kind):
    dtype = "int32" if kind == "sparse" else "float32"
    model = keras.Sequential([keras.Input((TOKENS,), dtype=dtype), *_model(keras.layers, kind)])
    model.set_weights(_start_weights(kind))
    return model


def _keras2_model(kind):
    import tf_keras

    model = tf_keras.Sequential(_model(tf_keras.layers, kind))
    model.build((None, TOKENS))
    model.set_weights(_start_weights(kind))
    return model


def _lockstep(kind, keras2_optimizer, keras3_optimizer, steps=STEPS):
    """Train both versions side by side; return (largest |Keras 2 - Keras 3| over all steps, distance moved)."""
    import tensorflow as tf

    def compiled_step(model, optimizer):
        # tf.function: a trace (well under a second) costs less than 50 eager steps of both versions.
        @tf.function
        def train_step(x_batch, y_batch):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x_batch) - y_batch))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        return train_step

    x, y = _data(kind)
    models = (_keras2_model(kind), _keras3_model(kind))
    train_steps = [
        compiled_step(model, optimizer) for model, optimizer in zip(models, (keras2_optimizer, keras3_optimizer))
    ]
    largest = 0.0
    for step in range(steps):
        start = (step * BATCH) % ROWS
        for train_step in train_steps:
            train_step(x[start : start + BATCH], y[start : start + BATCH])
        gaps = [np.max(np.abs(a - b)) for a, b in zip(models[0].get_weights(), models[1].get_weights())]
        largest = float(np.max([largest, *gaps]))  # np.max keeps a NaN (max() would drop it): NaN fails `<=`
    moved = max(float(np.max(np.abs(w - s))) for w, s in zip(models[1].get_weights(), _start_weights(kind)))
    return largest, moved


def _keras2_yogi(**kwargs):
    from cookbook.porting.keras2_yogi import Keras2Yogi

    return Keras2Yogi(**kwargs)


def _schedules():
    """The same exponential decay made in each API (a schedule is a hyperparameter like any other)."""
    import tf_keras

    args = dict(initial_learning_rate=0.05, decay_steps=10, decay_rate=0.5)
    return tf_keras.optimizers.schedules.ExponentialDecay(**args), keras.optimizers.schedules.ExponentialDecay(**args)


# id: (model kind, Keras 2 arguments, Keras 3 arguments); "schedule" filled in by _settings. The Embedding
# model ("sparse") runs both paths: its table gets IndexedSlices, its Dense layer a dense gradient.
SETTINGS = {
    "defaults": ("sparse", {}, {}),
    "schedule": ("sparse", "schedule", "schedule"),
    "every_option": (
        "sparse",
        {
            "beta_1": 0.8,
            "beta_2": 0.99,
            "epsilon": 1e-4,
            "initial_accumulator_value": 0.1,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "activation": "tanh",
        },
        "same",
    ),
    # Keras 2's `decay` is inverse-time decay of the rate; Keras 3 says it with a schedule.
    "decay": (
        "sparse",
        {"learning_rate": 0.05, "decay": 0.05},
        {"learning_rate": keras.optimizers.schedules.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.05)},
    ),
}


def _settings(name):
    kind, keras2, keras3 = SETTINGS[name]
    if keras2 == "schedule":
        keras2, keras3 = ({"learning_rate": schedule} for schedule in _schedules())
    if keras3 == "same":
        keras3 = dict(keras2)
    return kind, keras2, keras3


# --- 1. The proof: Keras 2 and Keras 3 take the same 50 steps ----------------------------


@needs_tensorflow
@pytest.mark.parametrize("name", SETTINGS)
def test_keras3_port_takes_the_keras2_steps(name):
    """50 steps, dense and sparse, with schedules and every option: the two versions stay within 1e-6."""
    kind, keras2, keras3 = _settings(name)
    largest, moved = _lockstep(kind, _keras2_yogi(**keras2), Yogi(**keras3))
    assert largest <= SAME
    assert moved > 0.05  # it trained: the comparison is not between two untouched models


@needs_tensorflow
@pytest.mark.parametrize(
    "port",
    [
        Yogi,
        _half_port(half_ports.StepFromZero, "t = iterations: 1 - beta_1**0 = 0 divides by zero at step 1"),
        _half_port(half_ports.VariableAssign, "variable.assign densifies IndexedSlices: other rows 0, repeats summed"),
    ],
)
def test_a_port_takes_the_keras2_steps_on_the_embedding_model(port):
    """The correct port passes this; the two half-ports that break a step fail it (10 steps show it)."""
    largest, _ = _lockstep("sparse", _keras2_yogi(), port(), steps=10)
    assert largest <= SAME


def test_step_from_zero_gives_nan_weights_after_the_first_step():
    """Symptom of ``t = iterations``: 0/0 in the bias correction, NaN in every weight it touches."""
    for port, broken in ((half_ports.StepFromZero, True), (Yogi, False)):
        model = _keras3_model("dense")
        port().apply([np.ones(w.shape, "float32") for w in model.trainable_variables], model.trainable_variables)
        assert all(bool(np.isnan(w).all()) for w in model.get_weights()) is broken


@needs_tensorflow
def test_variable_assign_zeroes_the_untouched_rows_and_adds_up_repeated_ones():
    """Symptom of ``variable.assign(IndexedSlices)``: Keras makes it dense first, zeros in every row not in the
    batch and a repeated row's values summed; ``self.assign`` scatters the rows."""
    import tensorflow as tf

    rows = np.array([2, 5, 5])  # row 5 twice, as two tokens of one batch give it
    tables = {}
    for port in (Yogi, half_ports.VariableAssign):
        table = keras.Variable(np.ones((VOCAB, 4), "float32"))
        gradient = tf.IndexedSlices(tf.ones((3, 4)), tf.constant(rows), tf.constant([VOCAB, 4]))
        port(learning_rate=0.1).apply([gradient], [table])
        tables[port] = table.numpy()
    untouched = [np.delete(tables[port], [2, 5], axis=0) for port in (Yogi, half_ports.VariableAssign)]
    assert (untouched[0] == 1).all() and (untouched[1] == 0).all()
    np.testing.assert_allclose(tables[half_ports.VariableAssign][5], 2 * tables[Yogi][5])
    np.testing.assert_allclose(tables[half_ports.VariableAssign][2], tables[Yogi][2])


@needs_tensorflow
@pytest.mark.parametrize("settings, lazy", [({}, True), ({"clipnorm": 1e6}, True), ({"global_clipnorm": 1e6}, False)])
def test_rows_stay_lazy_only_while_update_step_gets_the_indexed_slices(settings, lazy):
    """Step 1 touches row 2, step 2 only row 5: row 2 stays put in step 2 unless Keras densified the gradient
    (global_clipnorm does, as the docstring says; a clip far above the norm changes no value)."""
    import tensorflow as tf

    table = keras.Variable(np.ones((VOCAB, 4), "float32"))
    optimizer = Yogi(learning_rate=0.1, **settings)
    rows_after = []
    for row in (2, 5):
        gradient = tf.IndexedSlices(tf.ones((1, 4)), tf.constant([row]), tf.constant([VOCAB, 4]))
        optimizer.apply([gradient], [table])
        rows_after.append(table.numpy()[2].copy())
    assert bool(np.array_equal(rows_after[0], rows_after[1])) is lazy


# --- 2. The float64 reference (any backend) ------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"beta_1": 0.0, "beta_2": 0.9, "initial_accumulator_value": 0.5},
        {"l1_regularization_strength": 0.05, "l2_regularization_strength": 0.1, "activation": "tanh"},
        {"l2_regularization_strength": 0.1},  # the proximal step's other branch: a division only
    ],
    ids=["defaults", "no_momentum", "proximal_tanh", "l2_only"],
)
def test_dense_steps_match_the_float64_rule(settings):
    """20 steps of ``Yogi.apply`` on fixed gradients equal ``reference.yogi`` in float64 (1e-5 relative), the
    reference built from the optimizer's own config by ``reference.from_optimizer``."""
    rng = np.random.default_rng(2)
    start = rng.normal(size=(5,))
    weight = keras.Variable(start.astype("float32"))
    optimizer = Yogi(learning_rate=0.05, **settings)
    float64 = reference.from_optimizer(optimizer)
    assert float64.rule is reference.yogi
    expected = [start.copy()]
    for t in range(1, 21):
        gradient = rng.normal(size=(5,)) * (1 + t % 3)
        optimizer.apply([gradient.astype("float32")], [weight])
        expected = float64.apply([gradient], expected)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), expected[0], rtol=1e-5, atol=1e-6)
    assert np.max(np.abs(expected[0] - start)) > 0.1


def test_the_reference_refuses_to_clip_a_sparse_gradient():
    """Clipping an IndexedSlices' values is not modelled in float64: refused, not approximated."""
    float64 = reference.ReferenceOptimizer(reference.yogi, clipnorm=1.0)
    with pytest.raises(ValueError, match="does not model clipping of sparse gradients"):
        float64.apply([np.ones((1, 2))], [np.zeros((3, 2))], rows=[np.array([1])])


@needs_tensorflow
def test_sparse_steps_match_the_float64_rule_row_by_row():
    """IndexedSlices with repeated rows: only the touched rows move, as ``reference.yogi(rows=...)`` says."""
    import tensorflow as tf

    rng = np.random.default_rng(3)
    start = rng.normal(size=(VOCAB, 4))
    table = keras.Variable(start.astype("float32"))
    optimizer = Yogi(learning_rate=0.05)
    expected, state = start.copy(), {}
    for t in range(1, 21):
        rows = rng.integers(0, 6, size=5)  # rows 6.. never touched; repeats likely
        values = rng.normal(size=(5, 4))
        gradient = tf.IndexedSlices(tf.constant(values, tf.float32), tf.constant(rows), tf.constant([VOCAB, 4]))
        optimizer.apply([gradient], [table])
        expected = reference.yogi(expected, values, state, t, learning_rate=0.05, rows=rows)
    np.testing.assert_allclose(table.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(table.numpy()[6:], start[6:].astype("float32"))


# --- 3. Saving, loading, resuming (any backend) ----------------------------------------------

RESUME_SETTINGS = {"learning_rate": 0.05, "beta_2": 0.99}  # beta_2 not the default: a lost value shows


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """Each port's resume run, once per module: {port: (gap, reloaded optimizer, warning texts)}."""
    x, y = _data("dense")
    results = {}

    def fitted(port, epochs):
        model = _keras3_model("dense")
        # Eagerly: a few steps do not pay for compiling a train step (about 1 s each time).
        model.compile(optimizer=port(**RESUME_SETTINGS), loss="mse", run_eagerly=True)
        model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
        return model

    def run(port):
        if port not in results:
            # The run never stopped is Yogi's for every port: each half-port trains with Yogi's own rule
            # (only saving differs), so this is the run its resumed copy should end on.
            if "never_stopped" not in results:
                results["never_stopped"] = fitted(Yogi, 4)
            never_stopped, first_half = results["never_stopped"], fitted(port, 2)
            path = tmp_path_factory.mktemp(port.__name__) / "model.keras"
            first_half.save(path)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                reloaded = keras.models.load_model(path)  # no custom_objects: the classes are registered
            reloaded.run_eagerly = True
            reloaded.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
            gap = max(float(np.max(np.abs(a - b))) for a, b in zip(never_stopped.get_weights(), reloaded.get_weights()))
            results[port] = (gap, reloaded.optimizer, [str(w.message) for w in caught])
        return results[port]

    return run


@pytest.mark.parametrize(
    "port",
    [
        Yogi,
        _half_port(
            half_ports.SlotsOutsideBuild,
            "slots outside build are not restored (TensorFlow: every optimizer variable skipped; JAX: fit refuses)",
            raises=AssertionError if ON_TENSORFLOW else ValueError,
        ),
        _half_port(half_ports.ForgottenHyperparameter, "get_config forgets beta_2: reloaded with 0.999"),
    ],
)
def test_a_keras_file_resumes_as_if_never_stopped(resumed, port):
    """fit 2 epochs, save, load without custom_objects, fit 2 more = fit 4 epochs; Keras loads every variable."""
    gap, optimizer, caught = resumed(port)
    assert type(optimizer) is port
    assert not [text for text in caught if "Skipping variable loading" in text]
    assert gap <= SAME


def test_slots_outside_build_are_skipped_on_load_with_only_a_warning(resumed):
    """Symptom on TensorFlow: Keras warns, skips every optimizer variable and trains on from step 1 with fresh
    slots, drifting from the uninterrupted run.

    On JAX the half-port does not train at all: ``fit`` runs ``update_step`` in a stateless scope, where
    making a variable is an error.
    """
    if not ON_TENSORFLOW:
        with pytest.raises(ValueError, match="create a variable while in a stateless scope"):
            resumed(half_ports.SlotsOutsideBuild)
        return
    gap, optimizer, caught = resumed(half_ports.SlotsOutsideBuild)
    assert any("Skipping variable loading for optimizer" in text for text in caught)
    assert gap > 1e-3
    # Not only the slots: every optimizer variable was skipped, so the step count started again at 0.
    steps_per_epoch = ROWS // 16
    assert int(optimizer.iterations) == 2 * steps_per_epoch
    assert int(resumed(Yogi)[1].iterations) == 4 * steps_per_epoch


def test_a_forgotten_hyperparameter_comes_back_as_its_default(resumed):
    """Symptom: the reloaded optimizer trains with beta_2=0.999, not the 0.99 it was saved with."""
    gap, optimizer, _ = resumed(half_ports.ForgottenHyperparameter)
    assert (optimizer.beta_2, RESUME_SETTINGS["beta_2"]) == (0.999, 0.99)
    assert gap > 1e-4
    _, correct, _ = resumed(Yogi)
    assert correct.beta_2 == 0.99


def test_yogi_is_registered_under_the_cookbook_package():
    """``.keras`` files name it ``cookbook>Yogi``; from_config rebuilds every argument."""
    assert keras.saving.get_registered_name(Yogi) == "cookbook>Yogi"
    optimizer = Yogi(learning_rate=0.02, beta_1=0.5, epsilon=1e-5, initial_accumulator_value=0.3, activation="tanh")
    config = Yogi.from_config(optimizer.get_config()).get_config()
    assert config == optimizer.get_config()


# --- 4. MirroredStrategy (fresh interpreter: two logical CPUs) ---------------------------------


@pytest.fixture(scope="module", autouse=True)
def _mirrored_check(request):
    """Start the MirroredStrategy child at the module's start (it runs beside the other tests); the tests at the
    end of the module collect it. Nothing starts when none of them is selected."""
    selected = any(item.name.startswith("test_mirrored_") for item in request.session.items)
    if not (ON_TENSORFLOW and selected):
        yield None
        return
    script = pathlib.Path(__file__).with_name("_porting_mirrored_check.py")
    check = processes.Workers(
        [[sys.executable, str(script)]], [processes.child_env()], timeout=CHECK_TIMEOUT, what="MirroredStrategy check"
    )
    yield check
    check.close()


@pytest.fixture(scope="module")
def mirrored(_mirrored_check):
    (result,) = _mirrored_check.wait()
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_tensorflow
@pytest.mark.parametrize(
    "port, kind",
    [
        ("Yogi", "sparse"),
        ("Yogi", "dense"),
        pytest.param(
            "VariableAssign",
            "sparse",
            marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason="variable.assign densifies rows"),
        ),
        ("VariableAssign", "dense"),  # measured: on dense gradients variable.assign does no harm in Keras 3.15
    ],
)
def test_mirrored_fit_on_two_replicas_equals_one_device(mirrored, port, kind):
    """model.fit under MirroredStrategy (2 logical CPUs) ends where Yogi on one device ends, within 1e-6."""
    assert mirrored["replicas"] == 2
    assert mirrored["moved"][f"{port}/{kind}"] > 0.05
    assert mirrored["gap"][f"{port}/{kind}"] <= SAME


# --- 5. Arguments a Keras 2 user brings -----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"lr": 0.1}, ["`lr`", "learning_rate"]),
        ({"decay": 0.01}, ["decay=0.01", "InverseTimeDecay", "decay_steps=1"]),
        ({"beta_1": 1.0}, ["beta_1=1.0", "in [0, 1)"]),
        ({"epsilon": -1e-3}, ["epsilon=-0.001", ">= 0"]),
        ({"initial_accumulator_value": float("nan")}, ["initial_accumulator_value=nan"]),
        ({"activation": "relu"}, ["activation='relu'", "sign", "tanh"]),
    ],
    ids=["lr", "decay", "beta_1", "epsilon", "accumulator", "activation"],
)
def test_keras2_arguments_and_impossible_values_are_refused_with_the_fix(kwargs, words):
    with pytest.raises(ValueError) as error:
        Yogi(**kwargs)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_keras3_alone_would_ignore_a_keras2_decay_with_only_a_warning():
    """Why the port refuses `decay`: Keras 3's base class drops it and trains at a constant rate."""
    with pytest.warns(UserWarning, match="`decay` is no longer supported and will be ignored"):
        optimizer = keras.optimizers.Adam(learning_rate=0.05, decay=0.1)
    assert "decay" not in optimizer.get_config()


def test_decay_zero_is_accepted_as_no_decay():
    """Keras 2 optimizers write ``decay: 0.0`` into their configs: that one means no decay and passes."""
    assert Yogi(decay=0.0).get_config()["learning_rate"] == pytest.approx(0.01)


def test_the_keras2_original_without_tf_keras_says_how_to_install_it(monkeypatch):
    """The core install has no tf_keras: importing the "before" names the package and the command."""
    monkeypatch.setitem(sys.modules, "tf_keras", None)  # `import tf_keras` now raises ImportError
    monkeypatch.delitem(sys.modules, "cookbook.porting.keras2_yogi", raising=False)
    with pytest.raises(ModuleNotFoundError) as error:
        import cookbook.porting.keras2_yogi  # noqa: F401
    tensorflow_xy = ".".join(__import__("tensorflow").__version__.split(".")[:2])
    assert f'python -m pip install "tf_keras=={tensorflow_xy}.*"' in str(error.value)
