"""The cookbook's optimizers equal Keras's built-ins, and refuse impossible hyperparameters.

One table, ``_OPTIMIZERS_UNDER_TEST`` (like optax's ``alias_test.py``), drives
the agreement checks: add a row, get every check. Two checks need a fresh
interpreter (MirroredStrategy on two logical CPUs; each file copied alone);
both run in subprocesses started when this module's first test starts, so
they overlap with the in-process tests.

Every test runs on any Keras backend (``.ci/run`` runs them under JAX too),
except the MirroredStrategy check, a TensorFlow strategy, which skips
elsewhere; the copied-alone check runs under the backend of the test run.
"""

import inspect
import json
import math
import pathlib
import re
import shutil
import sys

import cookbook  # first: TensorFlow imported with its start-up noise hidden
import cookbook.optimizers
from cookbook import processes
from cookbook.compare import compare_optimizers

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.backend_agnostic

OPTIMIZER_DIR = pathlib.Path(cookbook.optimizers.__file__).parent
ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
NAMES = ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Lion")
STEPS = 50
TWIN_ATOL = 1e-6  # custom vs built-in, float32 weights
REFERENCE_RTOL = 1e-5  # against the float64 NumPy reference, relative to the largest weight
CHECK_TIMEOUT = 600.0  # seconds for each fresh-interpreter check; generous: the machine is shared

# (id, cookbook class name, config). Every flag is on at least once: momentum, nesterov,
# RMSprop momentum, centered, amsgrad, non-default betas / rho / epsilon / accumulator /
# AdamW's weight decay, Nadam's schedule over 50 steps, Lion's betas at their legal edges.
_OPTIMIZERS_UNDER_TEST = [
    ("sgd_default", "SGD", {}),
    ("sgd_momentum", "SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    ("momentum_alias", "Momentum", {"learning_rate": 0.05}),
    ("adagrad_default", "Adagrad", {}),
    ("adagrad_tuned", "Adagrad", {"learning_rate": 0.2, "initial_accumulator_value": 0.01, "epsilon": 1e-4}),
    ("rmsprop_default", "RMSprop", {}),
    ("rmsprop_momentum", "RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    (
        "rmsprop_everything",
        "RMSprop",
        {"learning_rate": 0.01, "rho": 0.95, "momentum": 0.5, "centered": True, "epsilon": 1e-4},
    ),
    ("adam_default", "Adam", {}),
    ("adam_amsgrad", "Adam", {"learning_rate": 0.02, "beta_2": 0.9, "amsgrad": True}),
    ("adam_betas", "Adam", {"learning_rate": 0.02, "beta_1": 0.5, "beta_2": 0.99, "epsilon": 1e-4}),
    ("adamw_default", "AdamW", {}),
    ("adamw_amsgrad", "AdamW", {"learning_rate": 0.02, "weight_decay": 0.1, "beta_2": 0.9, "amsgrad": True}),
    (
        "adamw_betas",
        "AdamW",
        {"learning_rate": 0.02, "weight_decay": 0.05, "beta_1": 0.5, "beta_2": 0.99, "epsilon": 1e-4},
    ),
    ("nadam_default", "Nadam", {}),
    ("nadam_betas", "Nadam", {"learning_rate": 0.02, "beta_1": 0.5, "beta_2": 0.99, "epsilon": 1e-4}),
    ("nadam_decay", "Nadam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("lion_default", "Lion", {}),
    ("lion_betas", "Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("lion_edges", "Lion", {"learning_rate": 0.01, "beta_1": 1.0, "beta_2": 0.0}),
]
_IDS = [row[0] for row in _OPTIMIZERS_UNDER_TEST]


def _twins(name, config):
    """The cookbook optimizer and its Keras built-in twin, both fresh."""
    builtin_name, builtin_config = name, dict(config)
    if name == "Momentum":  # Momentum is SGD with momentum 0.9 by default
        builtin_name = "SGD"
        builtin_config.setdefault("momentum", 0.9)
    return (getattr(cookbook.optimizers, name)(**config), getattr(keras.optimizers, builtin_name)(**builtin_config))


def _max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - y))) for x, y in zip(a, b))


# --- subprocess checks, started early so they overlap with the in-process tests ---------

_COPIED_ALONE_SCRIPT = r"""
import importlib, json, sys
import numpy as np
results = {}
for module_name, names in (("sgd", ("SGD", "Momentum")), ("adagrad", ("Adagrad",)),
                           ("rmsprop", ("RMSprop",)), ("adam", ("Adam",)), ("adamw", ("AdamW",)),
                           ("nadam", ("Nadam",)), ("lion", ("Lion",))):
    module = importlib.import_module(module_name)
    for name in names:
        import keras
        twin = keras.optimizers.SGD(momentum=0.9) if name == "Momentum" else getattr(keras.optimizers, name)()
        ours = getattr(module, name)()
        w = [keras.Variable(np.full((3,), 0.5, "float32")), keras.Variable(np.full((2,), -1.0, "float32"))]
        v = [keras.Variable(x.numpy()) for x in w]
        for step in range(3):
            g = [np.array([0.1, -0.2, 0.3], "float32") * (step + 1), np.array([1.0, -2.0], "float32")]
            ours.apply(g, w)
            twin.apply(g, v)
        results[name] = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(w, v))
print(json.dumps({"diff": results, "cookbook_imported": "cookbook" in sys.modules,
                  "file": sys.modules["adam"].__file__}))
"""


def _last_json_line(child):
    """The JSON object a check printed last; WorkerFailed (quoting its stderr) if the check failed."""
    (result,) = child.wait()
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", autouse=True)
def _subprocess_checks(tmp_path_factory):
    """Start the two fresh-interpreter checks; the tests at the end of the module collect them."""
    env = processes.child_env({"PYTHONPATH": None})  # the copies must import without the checkout's path
    alone = tmp_path_factory.mktemp("copied_alone")
    for path in OPTIMIZER_DIR.glob("*.py"):
        if path.name != "__init__.py":
            shutil.copy(path, alone / path.name)
    mirrored_script = pathlib.Path(__file__).with_name("_optimizer_mirrored_check.py")
    checks = {
        # tf.distribute needs the TensorFlow backend: on any other the test skips, so nothing to start.
        "mirrored": processes.Workers(
            [[sys.executable, str(mirrored_script)]], [env], timeout=CHECK_TIMEOUT, what="MirroredStrategy check"
        )
        if ON_TENSORFLOW
        else None,
        "alone": processes.Workers(
            [[sys.executable, "-c", _COPIED_ALONE_SCRIPT]],
            [env],
            timeout=CHECK_TIMEOUT,
            what="copied-alone check",
            cwd=alone,
        ),
        "alone_dir": alone,
    }
    yield checks
    for key in ("mirrored", "alone"):
        if checks[key] is not None:
            checks[key].close()  # a test was deselected: do not leave its check running


# --- the same API as Keras -----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_constructor_has_keras_names_order_and_defaults(name):
    """Every Keras argument is there, in Keras's order, with Keras's default (Adam adds one)."""
    ours = inspect.signature(getattr(cookbook.optimizers, name).__init__).parameters
    theirs = inspect.signature(getattr(keras.optimizers, name).__init__).parameters
    extra = [p for p in ours if p not in theirs]
    assert extra == (["bias_correction"] if name == "Adam" else [])
    assert [p for p in ours if p in theirs] == list(theirs)

    # Positional calls mean the same: Keras's arguments come first, the extra one is keyword-only.
    def positional(params):
        return [p.name for p in params.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]

    assert positional(ours) == positional(theirs)
    assert all(ours[p].kind is inspect.Parameter.KEYWORD_ONLY for p in extra)
    for param in theirs.values():
        assert ours[param.name].default == param.default, param.name
    if name == "Adam":
        assert ours["bias_correction"].default is True


def test_momentum_is_sgd_with_momentum_on():
    """Momentum() is an SGD subclass whose only difference is momentum=0.9 by default."""
    momentum = cookbook.optimizers.Momentum()
    assert isinstance(momentum, cookbook.optimizers.SGD)
    assert momentum.momentum == 0.9 and momentum.nesterov is False
    assert momentum.get_config()["learning_rate"] == pytest.approx(0.01)


@pytest.mark.parametrize("name", NAMES)
def test_optimizer_variables_line_up_with_keras(name):
    """Built on the same weights, both create variables with the same names, shapes and order."""
    config = {
        "SGD": {"momentum": 0.5},
        "RMSprop": {"momentum": 0.5, "centered": True},
        "Adam": {"amsgrad": True},
        "AdamW": {"amsgrad": True},
    }.get(name, {})
    ours, theirs = _twins(name, config)
    weights = [
        keras.Variable(np.zeros((2, 3), "float32"), name="kernel"),
        keras.Variable(np.zeros((3,), "float32"), name="bias"),
    ]
    ours.build(weights)
    theirs.build(weights)

    def strip(optimizer):
        # Drop the optimizer's own scope ("adam/", "adam_1/"). Nadam's product P is an unnamed variable
        # outside that scope in Keras's class and the twin alike, which Keras numbers: "variable", "variable_1".
        return [
            (v.path.split("/", 1)[1] if "/" in v.path else re.sub(r"_\d+$", "", v.path), tuple(v.shape))
            for v in optimizer.variables
        ]

    assert strip(ours) == strip(theirs)
    assert len(ours.variables) > 2  # iterations, learning rate, and the optimizer's own state


# --- three-way agreement: custom vs built-in vs float64 NumPy ----------------------------


@pytest.mark.parametrize("name, config", [row[1:] for row in _OPTIMIZERS_UNDER_TEST], ids=_IDS)
def test_custom_matches_builtin_and_numpy_reference(name, config):
    """50 steps on a noisy quadratic: custom == built-in (1e-6) and both == reference (1e-5 rel)."""
    table = compare_optimizers(*_twins(name, config), steps=STEPS)
    assert len(table) == STEPS
    assert table["custom_vs_builtin"].max() <= TWIN_ATOL
    assert table["custom_vs_reference"].max() <= REFERENCE_RTOL
    assert table["builtin_vs_reference"].max() <= REFERENCE_RTOL
    assert table["custom_moved"].iloc[-1] > 1e-3, "the weights must move for agreement to mean anything"


def test_adam_bias_correction_false_follows_the_uncorrected_reference():
    """Adam(bias_correction=False) matches reference.adam(bias_correction=False) and differs from Keras."""
    config = {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.95}
    table = compare_optimizers(
        cookbook.optimizers.Adam(bias_correction=False, **config), keras.optimizers.Adam(**config), steps=STEPS
    )
    assert table["custom_vs_reference"].max() <= REFERENCE_RTOL
    assert table["custom_vs_builtin"].max() > 1e-3


def test_adam_without_bias_correction_takes_the_textbook_first_step_then_converges_to_it():
    """Step 1 is (1-b1)/sqrt(1-b2) times larger; after many steps the two step sizes agree."""
    beta_1, beta_2, lr = 0.5, 0.7, 0.01
    steps = {}
    for corrected in (True, False):
        optimizer = cookbook.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2, epsilon=0.0, bias_correction=corrected)
        w = keras.Variable(np.zeros(2, "float32"))
        sizes = []
        for _ in range(40):  # a constant gradient: every step's size is the rule itself
            before = w.numpy().copy()
            optimizer.apply([np.array([0.3, -2.0], "float32")], [w])
            sizes.append(np.abs(w.numpy() - before))
        steps[corrected] = np.array(sizes)
    predicted_first_ratio = (1 - beta_1) / math.sqrt(1 - beta_2)  # the textbook's m_1 and v_1 bias
    np.testing.assert_allclose(steps[False][0] / steps[True][0], predicted_first_ratio, rtol=1e-5)
    np.testing.assert_allclose(steps[True][0], lr, rtol=1e-5)  # corrected: exactly lr * sign(g)
    np.testing.assert_allclose(steps[False][-1], steps[True][-1], rtol=1e-4)  # beta^40 ~ 0


def test_nadam_product_grows_once_per_real_update_even_without_the_first_gradient():
    """Accumulating 2 batches, 6 batches make 3 updates: P = u_1 u_2 u_3 in both, a None gradient on update 2."""
    beta_1 = 0.8
    products = []
    for optimizer in (
        cookbook.optimizers.Nadam(0.01, beta_1=beta_1, gradient_accumulation_steps=2),
        keras.optimizers.Nadam(0.01, beta_1=beta_1, gradient_accumulation_steps=2),
    ):
        weights = [keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(2, "float32"))]
        for step in range(6):  # batch 4 (the second real update) has no gradient for the first weight
            first = None if step == 3 else np.full(3, 0.5, "float32")
            optimizer.apply([first, np.ones(2, "float32")], weights)
        products.append(float(optimizer._u_product.numpy()))
    expected = math.prod(beta_1 * (1 - 0.5 * 0.96**t) for t in (1, 2, 3))  # t counts updates, not batches
    assert products[0] == products[1]
    assert products[0] == pytest.approx(expected, rel=1e-6)


def test_lion_beta_2_of_one_is_sign_sgd_which_is_why_the_twin_refuses_it():
    """Keras's Lion(beta_2=1) keeps m at zero, so every step is lr * sign(g): the signSGD Keras refuses beta_1=0 for."""
    lion = keras.optimizers.Lion(0.01, beta_1=0.9, beta_2=1.0)
    w = keras.Variable(np.zeros(3, "float32"))
    expected = np.zeros(3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        g = rng.normal(size=3).astype("float32")
        lion.apply([g], [w])
        expected -= 0.01 * np.sign(g)
    np.testing.assert_allclose(w.numpy(), expected, atol=1e-6)
    (momentum,) = [v for v in lion.variables if "momentum" in v.path]
    assert not momentum.numpy().any()


# --- model.fit with every base feature ----------------------------------------------------

# A non-default setting per optimizer: the fit tests use these.
_FIT_SETTINGS = {
    "SGD": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
    "Adagrad": {"learning_rate": 0.1, "initial_accumulator_value": 0.05},
    "RMSprop": {"learning_rate": 0.01, "momentum": 0.5, "centered": True},
    "Adam": {"learning_rate": 0.02, "amsgrad": True, "beta_1": 0.8},
    "AdamW": {"learning_rate": 0.02, "weight_decay": 0.1, "amsgrad": True},
    "Nadam": {"learning_rate": 0.02, "beta_1": 0.8},
    "Lion": {"learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.95},
}
_FEATURES = {
    "clipnorm": {"clipnorm": 0.05},
    "clipvalue": {"clipvalue": 0.02},
    "global_clipnorm": {"global_clipnorm": 0.05},
    "weight_decay": {"weight_decay": 0.1},
    "use_ema": {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 2},
    "gradient_accumulation_steps": {"gradient_accumulation_steps": 2},
    "schedule": {},  # the learning rate becomes an ExponentialDecay of the setting's rate
    "embedding": {},  # the model starts with an Embedding: sparse (IndexedSlices) gradients
}
# Sparse gradients reach every update_step, so all four run with an Embedding. The step
# counter (gradient accumulation: Adam's bias correction reads it) and a schedule (SGD's
# velocity stores the rate) run with the optimizers they touch; the features the base class
# applies around update_step (clipping, decay, EMA) once each, in rotation, to fit the budget.
_FIT_CASES = (
    [(name, "embedding") for name in NAMES]
    + [("Adam", "gradient_accumulation_steps"), ("SGD", "gradient_accumulation_steps")]
    + [("Nadam", "gradient_accumulation_steps")]  # its product P grows only on real updates
    + [("SGD", "schedule"), ("Adam", "schedule"), ("AdamW", "schedule")]  # AdamW: the decay follows lr
    + [
        ("SGD", "clipnorm"),
        ("Adagrad", "clipvalue"),
        ("RMSprop", "global_clipnorm"),
        ("Adagrad", "weight_decay"),
        ("RMSprop", "use_ema"),
        ("Lion", "clipvalue"),
    ]
)
SAMPLES, FEATURES, VOCABULARY, BATCH_SIZE = 32, 4, 12, 8  # 4 steps per epoch


def _data(feature):
    rng = np.random.default_rng(1)
    if feature == "embedding":
        X = rng.integers(0, VOCABULARY, size=(SAMPLES, FEATURES))
    else:
        X = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    return X, rng.normal(size=(SAMPLES, 1)).astype("float32")


def _model(feature):
    keras.utils.set_random_seed(0)
    if feature == "embedding":
        return keras.Sequential(
            [
                keras.Input((FEATURES,), dtype="int32"),
                keras.layers.Embedding(VOCABULARY, 3),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1),
            ]
        )
    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])


def _fit(optimizer, feature, *, run_eagerly=ON_TENSORFLOW, epochs=1):
    """Weights after ``model.fit`` (seed 0, no shuffling).

    Eager on TensorFlow, where tracing a tf.function per model costs more than the fit. Compiled on JAX,
    whose eager mode compiles each op on first use anyway: one jax.jit of the step is cheaper (measured:
    the mixed-precision and embedding fits take about half as long), and it is how JAX trains.
    """
    model = _model(feature)
    start = [w.numpy() for w in model.weights]
    model.compile(optimizer=optimizer, loss="mean_squared_error", run_eagerly=run_eagerly)
    model.fit(*_data(feature), batch_size=BATCH_SIZE, epochs=epochs, shuffle=False, verbose=0)
    return start, [w.numpy() for w in model.weights]


def _fit_config(name, feature):
    config = {**_FIT_SETTINGS[name], **_FEATURES[feature]}
    if feature == "schedule":
        config["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(
            config["learning_rate"], decay_steps=2, decay_rate=0.5
        )
    return config


@pytest.mark.parametrize("name, feature", _FIT_CASES, ids=[f"{n}-{f}" for n, f in _FIT_CASES])
def test_model_fit_matches_builtin_with_each_base_feature(name, feature):
    """model.fit with the feature on gives the built-in's weights (1e-6), and training moved them."""
    start, ours = _fit(getattr(cookbook.optimizers, name)(**_fit_config(name, feature)), feature)
    _, theirs = _fit(getattr(keras.optimizers, name)(**_fit_config(name, feature)), feature)
    assert _max_diff(ours, theirs) <= TWIN_ATOL
    assert _max_diff(ours, start) > 1e-3
    assert all(np.isfinite(w).all() for w in ours)


# Every flag of each optimizer on at once, with weight decay and clipping, for a compiled fit.
_ALL_FLAGS = {
    "SGD": {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True},
    "Adagrad": {"learning_rate": 0.1, "initial_accumulator_value": 0.05, "epsilon": 1e-4},
    "RMSprop": {"learning_rate": 0.01, "rho": 0.95, "momentum": 0.5, "centered": True, "epsilon": 1e-4},
    "Adam": {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-4, "amsgrad": True},
    "AdamW": {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-4, "amsgrad": True},
    "Nadam": {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-4},
    "Lion": {"learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.95},
}


@pytest.mark.parametrize("name", NAMES)
def test_compiled_fit_with_every_flag_matches_builtin(name):
    """3 epochs of compiled model.fit (tf.function, or jax.jit), every flag on: custom == built-in (1e-6)."""
    config = {**_ALL_FLAGS[name], "weight_decay": 0.05, "clipnorm": 0.5}
    start, ours = _fit(getattr(cookbook.optimizers, name)(**config), "dense", run_eagerly=False, epochs=3)
    _, theirs = _fit(getattr(keras.optimizers, name)(**config), "dense", run_eagerly=False, epochs=3)
    assert _max_diff(ours, theirs) <= TWIN_ATOL
    assert _max_diff(ours, start) > 1e-2


@pytest.mark.parametrize(
    "policy, names",
    [("mixed_float16", ("Adam", "RMSprop", "Nadam")), ("mixed_bfloat16", ("SGD", "Adagrad", "AdamW", "Lion"))],
)
def test_model_fit_under_mixed_precision_matches_builtin_and_float32(policy, names):
    """Under a mixed policy custom == built-in, and both stay near float32 training (loose)."""
    for name in names:
        _, float32_weights = _fit(getattr(keras.optimizers, name)(**_FIT_SETTINGS[name]), "dense")
        try:
            keras.mixed_precision.set_global_policy(policy)
            start, ours = _fit(getattr(cookbook.optimizers, name)(**_FIT_SETTINGS[name]), "dense")
            _, theirs = _fit(getattr(keras.optimizers, name)(**_FIT_SETTINGS[name]), "dense")
        finally:
            keras.mixed_precision.set_global_policy("float32")
        assert _max_diff(ours, theirs) <= TWIN_ATOL, name
        assert _max_diff(ours, start) > 1e-3, name
        if name == "Nadam" and not ON_TENSORFLOW:
            # Keras 3.15 on JAX: under the LossScaleOptimizer that mixed_float16 adds, the built-in Nadam's
            # product P is not carried from one step to the next (it reads 1.0 after fit), so its steps
            # differ from float32 training (2.3e-2 here). The twin equals the built-in (checked above).
            continue
        # float16 keeps ~3 significant digits, bfloat16 ~2: a loose, policy-sized tolerance.
        tolerance = 5e-3 if policy == "mixed_float16" else 5e-2
        assert _max_diff(ours, float32_weights) <= tolerance, name
    assert keras.mixed_precision.global_policy().name == "float32"


# --- saving ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, config",
    [row[1:] for row in _OPTIMIZERS_UNDER_TEST if row[2]],
    ids=[row[0] for row in _OPTIMIZERS_UNDER_TEST if row[2]],
)
def test_get_config_from_config_round_trip_keeps_every_argument(name, config):
    """from_config(get_config()) rebuilds the same config; every non-default argument survives."""
    base = {
        "weight_decay": 0.01,
        "clipnorm": 2.0,
        "use_ema": True,
        "ema_momentum": 0.9,
        "ema_overwrite_frequency": 5,
        "gradient_accumulation_steps": 3,
        "name": "mine",
    }
    optimizer = getattr(cookbook.optimizers, name)(**{**config, **base})  # base's weight_decay wins
    saved = optimizer.get_config()
    for key, value in {**config, **base}.items():
        assert saved[key] == pytest.approx(value), key
    rebuilt = type(optimizer).from_config(dict(saved))
    assert type(rebuilt) is type(optimizer) and rebuilt.get_config() == saved
    # The Keras registry finds it by name: "cookbook>Adam" and so on.
    revived = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(revived) is type(optimizer) and revived.get_config() == saved


@pytest.mark.parametrize("name", NAMES)
def test_builtin_config_builds_the_cookbook_twin(name):
    """cookbook.optimizers.X.from_config(keras.optimizers.X(...).get_config()) works: a drop-in."""
    builtin = getattr(keras.optimizers, name)(**_FIT_SETTINGS[name], clipvalue=1.0)
    ours = getattr(cookbook.optimizers, name).from_config(builtin.get_config())
    assert ours.get_config() == builtin.get_config()


@pytest.mark.parametrize("name, config", [row[1:] for row in _OPTIMIZERS_UNDER_TEST], ids=_IDS)
def test_cookbook_config_builds_the_builtin(name, config):
    """keras.optimizers.X.from_config(cookbook twin's get_config()) works and equals the built-in: no extra keys."""
    ours, theirs = _twins(name, {**config, "clipvalue": 1.0, "name": "mine"})
    rebuilt = type(theirs).from_config(ours.get_config())
    assert type(rebuilt) is type(theirs) and rebuilt.get_config() == theirs.get_config()


def test_adam_bias_correction_false_survives_its_config_and_the_builtin_refuses_it():
    """Only bias_correction=False is written; the twin restores it (absent means True), Keras's Adam refuses it."""
    assert "bias_correction" not in cookbook.optimizers.Adam().get_config()
    assert cookbook.optimizers.Adam.from_config(cookbook.optimizers.Adam().get_config()).bias_correction is True
    uncorrected = cookbook.optimizers.Adam(learning_rate=0.02, bias_correction=False, name="mine")
    saved = uncorrected.get_config()
    assert saved["bias_correction"] is False
    for rebuilt in (
        cookbook.optimizers.Adam.from_config(dict(saved)),
        keras.optimizers.deserialize(keras.optimizers.serialize(uncorrected)),
    ):
        assert type(rebuilt) is cookbook.optimizers.Adam and rebuilt.bias_correction is False
        assert rebuilt.get_config() == saved
    # Loading the uncorrected rule into Keras's Adam would silently change the algorithm: Keras refuses.
    with pytest.raises(ValueError, match="bias_correction"):
        keras.optimizers.Adam.from_config(dict(saved))


_SAVED = [(name, {}) for name in NAMES] + [("Adam", {"bias_correction": False})]


@pytest.mark.parametrize("name, extra", _SAVED, ids=[*NAMES, "Adam-uncorrected"])
def test_saved_model_loads_without_custom_objects_and_continues_exactly(name, extra, tmp_path):
    """fit, save .keras, load_model (no custom_objects), fit again == fit twice uninterrupted."""
    model = _model("dense")
    model.compile(
        optimizer=getattr(cookbook.optimizers, name)(**_FIT_SETTINGS[name], **extra),
        loss="mean_squared_error",
        run_eagerly=True,
    )
    X, y = _data("dense")
    model.fit(X, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is getattr(cookbook.optimizers, name)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    loaded.compile(optimizer=loaded.optimizer, loss="mean_squared_error", run_eagerly=True)
    for m in (model, loaded):  # the original goes on uninterrupted
        m.fit(X, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    assert _max_diff([w.numpy() for w in loaded.weights], [w.numpy() for w in model.weights]) <= 1e-6
    assert int(loaded.optimizer.iterations.numpy()) == 2 * SAMPLES // BATCH_SIZE


# --- impossible hyperparameters ------------------------------------------------------------

_NAN = float("nan")
_REFUSED = [
    ("SGD", {"learning_rate": -0.1}, "learning_rate"),
    ("SGD", {"learning_rate": _NAN}, "learning_rate"),
    ("SGD", {"momentum": -0.5}, "momentum"),
    ("SGD", {"momentum": 1.5}, "momentum"),
    ("SGD", {"weight_decay": -0.01}, "weight_decay"),
    ("SGD", {"clipnorm": 0.0}, "clipnorm"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    ("Adagrad", {"epsilon": -1e-7}, "epsilon"),
    ("Adagrad", {"clipvalue": -1.0}, "clipvalue"),
    ("RMSprop", {"rho": 1.0}, "rho"),
    ("RMSprop", {"rho": -0.1}, "rho"),
    ("RMSprop", {"momentum": -0.1}, "momentum"),
    ("RMSprop", {"global_clipnorm": 0.0}, "global_clipnorm"),
    ("Adam", {"beta_1": 1.0}, "beta_1"),
    ("Adam", {"beta_1": -0.1}, "beta_1"),
    ("Adam", {"beta_2": 1.5}, "beta_2"),
    ("Adam", {"beta_2": _NAN}, "beta_2"),
    ("Adam", {"epsilon": -1e-8}, "epsilon"),
    ("Adam", {"learning_rate": -0.001}, "learning_rate"),
    # Values that look like numbers to a plain range test but are not legal ones.
    ("SGD", {"learning_rate": float("inf")}, "learning_rate"),
    ("Adam", {"epsilon": float("inf")}, "epsilon"),
    ("Adam", {"beta_1": True}, "beta_1"),  # True == 1
    ("RMSprop", {"rho": True}, "rho"),
    ("Adam", {"beta_1": np.array(1.0)}, "beta_1"),  # a 0-d array holds a number
    ("SGD", {"momentum": np.float32(-0.5)}, "momentum"),
    # Base keywords the cookbook checks too.
    ("Adam", {"use_ema": True, "ema_momentum": _NAN}, "ema_momentum"),
    ("Adagrad", {"loss_scale_factor": 0.0}, "loss_scale_factor"),
    # The three later twins: AdamW needs its decay, Nadam's betas are Adam's, Lion's are its own.
    ("AdamW", {"weight_decay": None}, "weight_decay"),
    ("AdamW", {"weight_decay": -0.004}, "weight_decay"),
    ("AdamW", {"beta_1": 1.0}, "beta_1"),
    ("Nadam", {"beta_1": 1.0}, "beta_1"),
    ("Nadam", {"beta_2": 1.0}, "beta_2"),
    ("Nadam", {"epsilon": _NAN}, "epsilon"),
    ("Lion", {"beta_1": 0.0}, "beta_1"),  # signSGD: Keras refuses it too
    ("Lion", {"beta_1": 1.5}, "beta_1"),
    ("Lion", {"beta_2": 1.0}, "beta_2"),  # m frozen at zero: signSGD again
    ("Lion", {"beta_2": -0.1}, "beta_2"),
    ("Lion", {"learning_rate": -0.001}, "learning_rate"),
]


def _keras_refuses_too(name, config, parameter):
    """Keras refuses only a bad SGD momentum, AdamW without decay and a Lion beta_1 outside (0, 1]."""
    return (name, parameter) in {("SGD", "momentum"), ("Lion", "beta_1")} or (
        name == "AdamW" and config.get("weight_decay", 0.0) is None
    )


@pytest.mark.parametrize("name, config, parameter", _REFUSED, ids=[f"{n}-{p}={c[p]!r}" for n, c, p in _REFUSED])
def test_impossible_hyperparameter_is_refused_with_its_legal_range(name, config, parameter):
    """A ValueError names the parameter and its legal range; Keras's built-in accepts most of them."""
    with pytest.raises(ValueError, match=rf"`{parameter}` must be (a finite number|in \[0, 1|in \(0, 1\])"):
        getattr(cookbook.optimizers, name)(**config)
    if _keras_refuses_too(name, config, parameter):
        with pytest.raises(ValueError):
            getattr(keras.optimizers, name)(**config)
    else:
        getattr(keras.optimizers, name)(**config)


def test_builtins_reach_nan_or_skip_clipping_on_impossible_settings():
    """Recipe 15's claim: Keras's Adam(beta_1=1), RMSprop(rho=1) reach NaN; clipnorm=0 does not clip."""
    for name, config in (
        ("Adam", {"learning_rate": 0.01, "beta_1": 1.0}),
        ("RMSprop", {"learning_rate": 0.01, "rho": 1.0}),
    ):
        table = compare_optimizers(
            getattr(keras.optimizers, name)(**config),
            getattr(keras.optimizers, name)(**config),
            steps=20,
            reference=False,
        )
        assert np.isnan(table["custom_moved"].iloc[-1]), name
    unclipped = compare_optimizers(
        keras.optimizers.Adagrad(0.1, clipnorm=0.0), keras.optimizers.Adagrad(0.1), steps=20, reference=False
    )
    assert (unclipped["custom_vs_builtin"] == 0).all()


_LEGAL_EDGES = [
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.0}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.0}),
    ("SGD", {"learning_rate": 0.1, "momentum": 1.0}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.0, "epsilon": 0.0}),
    ("Adagrad", {"learning_rate": 0.1, "epsilon": 0.0, "initial_accumulator_value": 0.0}),
    ("Adam", {"learning_rate": 0.0}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.0}),
    ("Nadam", {"learning_rate": 0.01, "beta_1": 0.0, "beta_2": 0.0, "epsilon": 0.0}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 1.0, "beta_2": 0.0}),
]


@pytest.mark.parametrize("name, config", _LEGAL_EDGES, ids=[f"{n}-{c}" for n, c in _LEGAL_EDGES])
def test_legal_edge_values_still_train_like_keras(name, config):
    """beta_1=0 (Lion: 1), momentum 0 or 1, epsilon=0, rho=0, no decay, lr 0: accepted, and equal to Keras."""
    table = compare_optimizers(*_twins(name, config), steps=5)
    assert table["custom_vs_builtin"].max() <= TWIN_ATOL
    assert table["custom_vs_reference"].max() <= REFERENCE_RTOL
    moved = table["custom_moved"].iloc[-1]
    assert moved == 0.0 if config["learning_rate"] == 0.0 else moved > 1e-3


def test_integer_momentum_zero_is_accepted_though_keras_refuses_it():
    """SGD(momentum=0) is legal here; Keras's SGD insists on a float."""
    assert cookbook.optimizers.SGD(momentum=0).momentum == 0
    with pytest.raises(ValueError):
        keras.optimizers.SGD(momentum=0)


@pytest.mark.parametrize(
    "learning_rate",
    [
        keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5),
        lambda: 0.05,
    ],
    ids=["schedule", "callable"],
)
def test_schedules_and_callables_are_legal_learning_rates(learning_rate):
    """A LearningRateSchedule or a zero-argument callable passes validation and matches Keras."""
    ours = cookbook.optimizers.Adam(learning_rate, amsgrad=True)
    theirs = keras.optimizers.Adam(learning_rate, amsgrad=True)
    table = compare_optimizers(ours, theirs, steps=5, reference=False)
    assert table["custom_vs_builtin"].max() <= TWIN_ATOL and table["custom_moved"].iloc[-1] > 0
    assert "custom_vs_reference" not in table


# --- fresh-interpreter checks (started by _subprocess_checks at the top of the module) ------


def test_each_file_copied_alone_imports_and_matches_its_twin(_subprocess_checks):
    """Every optimizer file copied into an empty folder imports without cookbook and equals Keras."""
    result = _last_json_line(_subprocess_checks["alone"])
    assert result["cookbook_imported"] is False
    assert pathlib.Path(result["file"]).parent == _subprocess_checks["alone_dir"]
    assert set(result["diff"]) == {"SGD", "Momentum", *NAMES}
    assert max(result["diff"].values()) <= TWIN_ATOL


@pytest.mark.skipif(not ON_TENSORFLOW, reason="tf.distribute.MirroredStrategy needs the TensorFlow backend")
def test_mirrored_strategy_on_two_cpus_trains_like_the_builtin(_subprocess_checks):
    """Under MirroredStrategy with two replicas each optimizer equals its twin, and training moved."""
    result = _last_json_line(_subprocess_checks["mirrored"])
    assert result["replicas"] == 2
    assert set(result["max_abs_diff"]) == set(NAMES)
    for name in NAMES:
        assert result["max_abs_diff"][name] <= TWIN_ATOL, name
        assert result["moved"][name] > 1e-2, name
