"""Train each cookbook optimizer and its Keras twin under MirroredStrategy; print JSON.

Run by tests/test_optimizers.py in a fresh interpreter, because logical
devices must be configured before TensorFlow initialises its runtime (which
has already happened inside a pytest process). Output, on the last line::

    {"replicas": 2, "max_abs_diff": {"SGD": 0.0, ...}, "moved": {"SGD": 0.12, ...}}

``max_abs_diff`` is the largest weight difference between the cookbook
optimizer and the built-in after the same training; ``moved`` is how far
the weights travelled, to show that the run trained at all.

All fourteen models train in ONE compiled step (a custom loop with
``strategy.run``, as Keras's own ``train_step`` does it): a mirrored
``model.fit`` spends about 5 s tracing per model on this 2-core machine.
"""

import json

import cookbook  # first: TensorFlow imported with its start-up log lines hidden
import cookbook.optimizers

import keras
import numpy as np
import tensorflow as tf

# Non-default settings that reach every branch: momentum + nesterov, centered + momentum, amsgrad, decay.
SETTINGS = {
    "SGD": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
    "Adagrad": {"learning_rate": 0.1, "initial_accumulator_value": 0.05},
    "RMSprop": {"learning_rate": 0.01, "momentum": 0.5, "centered": True},
    "Adam": {"learning_rate": 0.02, "amsgrad": True, "beta_1": 0.8},
    "AdamW": {"learning_rate": 0.02, "weight_decay": 0.1, "amsgrad": True},
    "Nadam": {"learning_rate": 0.02, "beta_1": 0.8},  # its product P is assigned once per step, per replica
    "Lion": {"learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.95},
}
SAMPLES, FEATURES, BATCH_SIZE, EPOCHS = 32, 4, 8, 2


def build_model():
    """A tiny MLP; call after ``set_random_seed`` so every copy starts equal."""
    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])


def main():
    """Configure two logical CPUs, train every pair, print the JSON summary."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = rng.normal(size=(SAMPLES, 1)).astype("float32")

    runs = []  # (name, source, model, optimizer, starting weights)
    with strategy.scope():
        for name, config in SETTINGS.items():
            for source in (cookbook.optimizers, keras.optimizers):
                keras.utils.set_random_seed(0)
                model = build_model()
                optimizer = getattr(source, name)(**config)
                optimizer.build(model.trainable_variables)
                runs.append((name, source, model, optimizer, [w.numpy() for w in model.weights]))

    @tf.function
    def train_step(x, y):
        def replica_step(x, y):
            for _, _, model, optimizer, _ in runs:
                with tf.GradientTape() as tape:
                    # Sum over the replica's share / global batch: the all-reduce adds the shares.
                    loss = tf.reduce_sum(tf.square(model(x) - y)) / BATCH_SIZE
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply(grads, model.trainable_variables)

        strategy.run(replica_step, args=(x, y))

    dataset = tf.data.Dataset.from_tensor_slices((X, y)).batch(BATCH_SIZE)
    for _ in range(EPOCHS):
        for x_batch, y_batch in strategy.experimental_distribute_dataset(dataset):
            train_step(x_batch, y_batch)

    weights = {(name, source): [w.numpy() for w in model.weights] for name, source, model, _, _ in runs}
    starts = {name: start for name, source, _, _, start in runs if source is keras.optimizers}
    diffs, moved = {}, {}
    for name in SETTINGS:
        ours, theirs = weights[name, cookbook.optimizers], weights[name, keras.optimizers]
        diffs[name] = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
        moved[name] = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, starts[name]))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "max_abs_diff": diffs, "moved": moved}))


if __name__ == "__main__":
    main()
