"""Lesson 16's strategy tools: data parallelism with ``tf.distribute`` on one laptop.

1. Devices. ``use_logical_cpus(2)`` splits the one CPU into two logical
   devices, so ``mirrored_strategy()`` has two replicas to mirror across
   even without GPUs; ``batch_arithmetic`` spells out how a global batch is
   shared between the replicas.
2. Scope mistakes. A model or optimizer created outside ``strategy.scope()``
   fails deep inside ``fit`` with "Mixing different tf.distribute.Strategy
   objects". ``check_scope`` finds the mistake before training and
   ``explain_scope_errors`` turns TensorFlow's message into a
   ``StrategyScopeError`` that says what to move where.
3. ``train_in_lockstep`` is ``fit``'s ``train_step`` written out, for several
   ``(model, optimizer)`` pairs on the same batches (``make_optimizer`` picks
   a twin or a built-in by name).

Processes and clusters are in ``cookbook.lessons.cluster``.
"""

import contextlib
import math
import types

from cookbook.errors import LessonError, StrategyScopeError

import numpy as np

__all__ = [
    "OPTIMIZER_NAMES",
    "batch_arithmetic",
    "check_scope",
    "explain_scope_errors",
    "make_optimizer",
    "mirrored_strategy",
    "train_in_lockstep",
    "use_logical_cpus",
]

OPTIMIZER_NAMES = ("SGD", "Momentum", "Adagrad", "RMSprop", "Adam")
_MOMENTUM = 0.9  # "Momentum" is SGD with this momentum, as in cookbook.optimizers


# --------------------------------------------------------------------------
# 1. Devices and the batch arithmetic


def use_logical_cpus(count=2):
    """Split the CPU into ``count`` logical devices for ``MirroredStrategy``.

    TensorFlow accepts this only before its runtime starts (the first op,
    model or device listing starts it); afterwards the call cannot change
    anything and this function just reports what there is.

    Args:
        count: logical CPU devices wanted. Defaults to `2`.

    Returns:
        ``True`` if at least ``count`` logical CPUs now exist, ``False`` if the
        runtime had already started with fewer (run in a fresh process then).
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # "Virtual devices cannot be modified after being initialized"
        pass
    return len(tf.config.list_logical_devices("CPU")) >= count


def mirrored_strategy(replicas=2):
    """A ``MirroredStrategy`` over the GPUs if there are any, else over logical CPUs.

    Args:
        replicas: logical CPUs to mirror across when there is no GPU; call
            ``use_logical_cpus(replicas)`` first, in a fresh process.
            Defaults to `2`.

    Raises:
        LessonError: no GPU and fewer than ``replicas`` logical CPUs.
    """
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()  # every GPU, one replica each
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(cpus) < replicas:
        raise LessonError(
            f"MirroredStrategy needs {replicas} devices but TensorFlow has {len(cpus)} CPU device(s) and no GPU; "
            f"call distributed.use_logical_cpus({replicas}) before anything else uses TensorFlow "
            f"(in a fresh Python process)"
        )
    return tf.distribute.MirroredStrategy(cpus[:replicas])


def batch_arithmetic(num_rows, batch_size, replicas):
    """How ``fit(batch_size=...)`` shares the rows between replicas, step by step.

    Under a strategy ``batch_size`` is the GLOBAL batch: each step takes
    ``batch_size`` rows and gives each replica an equal slice (the first
    replicas get one row more when it does not divide).

    Args:
        num_rows: rows in the training set.
        batch_size: the ``batch_size`` passed to ``fit``.
        replicas: ``strategy.num_replicas_in_sync``.

    Returns:
        dict with ``global_batch``, ``per_replica`` (rows each replica gets in a
        full step), ``steps`` per epoch, ``last_batch`` rows, ``last_split``
        (e.g. ``"6+5"``) and ``even``: whether every step splits equally, the
        condition for Keras's loss to equal single-device training.
    """
    if num_rows < 1 or batch_size < 1 or replicas < 1:
        raise LessonError(
            f"num_rows, batch_size and replicas must be >= 1, got {num_rows}, {batch_size}, "
            f"{replicas}; pass positive counts"
        )
    steps = math.ceil(num_rows / batch_size)
    last = num_rows - (steps - 1) * batch_size
    split = [len(part) for part in np.array_split(np.arange(last), replicas)]
    return {
        "global_batch": batch_size,
        "per_replica": batch_size / replicas,
        "steps": steps,
        "last_batch": last,
        "last_split": "+".join(map(str, split)),
        "even": batch_size % replicas == 0 and last % replicas == 0,
    }


# --------------------------------------------------------------------------
# 2. Models and optimizers created outside the scope

_SCOPE_MESSAGES = ("Mixing different tf.distribute.Strategy objects", 'Need to be inside "with strategy.scope()"')
_SCOPE_FIX = (
    "create the model AND the optimizer inside `with strategy.scope():` and compile there, e.g. "
    "`with strategy.scope(): model = build_model(); model.compile(optimizer=keras.optimizers.Adam(), ...)`"
)


def check_scope(strategy, model):
    """Raise ``StrategyScopeError`` if ``model`` or its optimizer was made outside ``strategy.scope()``.

    Call it after ``compile`` and before ``fit``: it names the culprit
    where TensorFlow's own error (raised inside ``fit``) does not.

    Args:
        strategy: the ``tf.distribute.Strategy`` the model will train under.
        model: a compiled (or at least built) Keras model.
    """
    created_here = strategy.extended.variable_created_in_scope
    outside = [w.path for w in model.weights if not created_here(w.value)]
    if outside:
        raise StrategyScopeError(
            f"model {model.name!r} was built outside strategy.scope() (its weights {outside[:3]} are not "
            f"mirrored), so fit cannot train it under {type(strategy).__name__}; {_SCOPE_FIX}"
        )
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not created_here(optimizer.iterations.value):
        raise StrategyScopeError(
            f"optimizer {optimizer.name!r} ({type(optimizer).__module__}.{type(optimizer).__name__}) was created "
            f'outside strategy.scope(); fit would fail with "Mixing different tf.distribute.Strategy objects". '
            f"Fix: {_SCOPE_FIX}"
        )


@contextlib.contextmanager
def explain_scope_errors():
    """Turn TensorFlow's scope errors inside the block into a ``StrategyScopeError``.

    ::

        with distributed.explain_scope_errors():
            model.fit(X, y)
    """
    try:
        yield
    except StrategyScopeError:
        raise  # already explained (by check_scope)
    except (RuntimeError, ValueError) as exc:
        if not any(text in str(exc) for text in _SCOPE_MESSAGES):
            raise
        first_line = str(exc).splitlines()[0].split(":")[0]
        raise StrategyScopeError(
            f"TensorFlow said {first_line!r}: a model or optimizer was created outside the strategy's scope. "
            f"Fix: {_SCOPE_FIX}"
        ) from exc


def make_optimizer(name, learning_rate, *, source="cookbook"):
    """An optimizer by name: the cookbook's twin, or the Keras built-in of the same name.

    Args:
        name: one of ``OPTIMIZER_NAMES``; ``"Momentum"`` is SGD with momentum 0.9.
        learning_rate: the learning rate.
        source: ``"cookbook"`` for ``cookbook.optimizers`` (the Keras built-in
            is used if that package cannot be imported) or ``"keras"``.
            Defaults to `"cookbook"`.
    """
    import keras

    if name not in OPTIMIZER_NAMES:
        raise LessonError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    if source not in ("cookbook", "keras"):
        raise LessonError(f"source must be 'cookbook' or 'keras', got {source!r}")
    if source == "cookbook":
        twins: types.ModuleType | None
        try:
            import cookbook.optimizers as twins
        except ImportError:  # the twins are optional: fall back to Keras's own
            twins = None
        if twins is not None and hasattr(twins, name):
            return getattr(twins, name)(learning_rate=learning_rate)
    if name == "Momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=_MOMENTUM)
    return getattr(keras.optimizers, name)(learning_rate=learning_rate)


def train_in_lockstep(
    pairs, X, y, *, loss="binary_crossentropy", batch_size=32, epochs=1, strategy=None, after_step=None
):
    """Train several ``(model, optimizer)`` pairs on the same batches, with one compiled step.

    This is ``fit``'s ``train_step`` written out, for every pair at once (one
    trace instead of one per model): each replica takes its slice of the
    global batch, its loss is *sum over its rows / rows in the global batch*,
    and ``apply_gradients`` all-reduces (sums) the gradients across replicas.
    That sum is exactly the gradient of the global batch's mean loss, however
    unevenly the rows split. Create the models and optimizers inside
    ``strategy.scope()``.

    Args:
        pairs: list of ``(model, optimizer)``.
        X: inputs, a 2-D array.
        y: targets, one row per input row.
        loss: a Keras loss name that returns one value per row. Defaults to `"binary_crossentropy"`.
        batch_size: the GLOBAL batch size. Defaults to `32`.
        epochs: passes over the data, in order (no shuffling). Defaults to `1`.
        strategy: a ``tf.distribute.Strategy``; ``None`` trains on one device. Defaults to `None`.
        after_step: called with the step number after every step. Defaults to `None`.

    Returns:
        The first pair's mean loss in each epoch.
    """
    import keras
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    per_row_loss = keras.losses.get(loss)
    with strategy.scope():
        for model, optimizer in pairs:
            optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(x, y, global_rows):
        def replica_step(x, y):
            losses = []
            for model, optimizer in pairs:
                with tf.GradientTape() as tape:
                    value = tf.reduce_sum(per_row_loss(y, model(x, training=True))) / global_rows
                gradients = tape.gradient(value, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # all-reduces them
                losses.append(value)
            return losses[0]

        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

    def replica_slice(rows):
        # Replica r of R takes the r-th of R nearly equal slices: the split fit makes.
        return lambda context: np.array_split(rows, context.num_replicas_in_sync)[context.replica_id_in_sync_group]

    X, y = np.asarray(X, np.float32), np.asarray(y, np.float32).reshape(len(X), -1)
    step, epoch_losses = 0, []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            x_part = strategy.experimental_distribute_values_from_function(replica_slice(X[rows]))
            y_part = strategy.experimental_distribute_values_from_function(replica_slice(y[rows]))
            total += float(train_step(x_part, y_part, tf.constant(len(X[rows]), tf.float32))) * len(X[rows])
            step += 1
            if after_step is not None:
                after_step(step)
        epoch_losses.append(total / len(X))
    return epoch_losses
