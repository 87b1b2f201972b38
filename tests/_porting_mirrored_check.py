"""Train the ported Yogi (and one half-port) under MirroredStrategy and on one device; print JSON.

Run by tests/test_porting.py in a fresh interpreter: logical devices must be
configured before TensorFlow starts its runtime, which has already happened
inside pytest. Each run is ``model.fit`` (Keras's own distributed train step)
of a model with an ``Embedding`` (TensorFlow's sparse ``IndexedSlices``
gradient, all-reduced across replicas) or of a small MLP (dense gradients).
Output, on the last line::

    {"replicas": 2, "gap": {"Yogi/sparse": 3e-08, ...}, "moved": {"Yogi/sparse": 0.4, ...}}

``gap`` is the largest weight difference between the mirrored run and the
one-device run of the correct port (``Yogi``); ``moved`` how far the mirrored
run took the weights, to show that it trained at all.
"""

import contextlib
import json

from cookbook.porting import Yogi, half_ports

import keras
import numpy as np
import tensorflow as tf

VOCAB, TOKENS, SAMPLES, BATCH_SIZE, EPOCHS = 12, 3, 32, 8, 2
PORTS = {"Yogi": Yogi, "VariableAssign": half_ports.VariableAssign}


def build_model(kind):
    """An Embedding model ("sparse") or an MLP ("dense"); call after set_random_seed."""
    if kind == "sparse":
        layers = [keras.layers.Embedding(VOCAB, 4), keras.layers.GlobalAveragePooling1D()]
        return keras.Sequential([keras.Input((TOKENS,), dtype="int32"), *layers, keras.layers.Dense(1)])
    return keras.Sequential([keras.Input((TOKENS,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])


def train(port, kind, strategy):
    """Weights before and after EPOCHS epochs of fit, inside ``strategy``'s scope if one is given."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(SAMPLES, TOKENS)) if kind == "sparse" else rng.normal(size=(SAMPLES, TOKENS))
    y = rng.normal(size=(SAMPLES, 1)).astype("float32")
    with strategy.scope() if strategy else contextlib.nullcontext():
        keras.utils.set_random_seed(0)
        model = build_model(kind)
        model.compile(optimizer=port(learning_rate=0.05), loss="mse")
    start = model.get_weights()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0)
    return start, model.get_weights()


def main():
    """Configure two logical CPUs, train each (port, model) mirrored and Yogi on one device, print JSON."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    gap, moved = {}, {}
    for kind in ("sparse", "dense"):
        _, alone = train(Yogi, kind, None)
        for name, port in PORTS.items():
            start, mirrored = train(port, kind, strategy)
            gap[f"{name}/{kind}"] = max(float(np.max(np.abs(a - b))) for a, b in zip(alone, mirrored))
            moved[f"{name}/{kind}"] = max(float(np.max(np.abs(a - b))) for a, b in zip(start, mirrored))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "gap": gap, "moved": moved}))


if __name__ == "__main__":
    main()
