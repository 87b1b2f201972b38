"""Binary classification two ways: Dense(1, sigmoid) or Dense(2, softmax).

Two classes can end in one sigmoid unit with ``binary_crossentropy`` and
0/1 labels, or in a softmax over two units with
``sparse_categorical_crossentropy`` and integer labels (or
``categorical_crossentropy`` and one-hot labels). This lesson trains the
three from one starting function and shows they are one model: a trained
head converts exactly into the other, because ``sigmoid(z) = softmax([0, z])[1]``;
what differs is the head's parameter count, the label format and the
effective learning rate.

Run it: ``python recipes/03_binary_sigmoid_vs_softmax.py`` (``--quick`` for a
few-second look, ``--hidden 8`` for a small relu body instead of a linear
model, ``--csv my.csv --target label --positive NAME`` for your own
two-class table, NAME being the class that becomes class 1). What this
lesson measures lives in ``cookbook/lessons/binary_sigmoid_vs_softmax.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``, and this lesson's own
# ``--hidden`` and ``--positive``); in a notebook, edit them here. The
# cookbook is imported before Keras so that TensorFlow's start-up log lines
# stay out of the output.

# %%
from cookbook import ReshuffledArrays, binary_heads, claims, loading, outputs, tables  # first: hides TensorFlow's logs
from cookbook.display import show
from cookbook.lessons import binary_sigmoid_vs_softmax as evidence
from cookbook.settings import from_command_line

import keras
import numpy as np
import pandas as pd

settings = from_command_line(
    __doc__,
    "03_binary_sigmoid_vs_softmax",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=10,
    quick_epochs=3,
    data="breast_cancer",
    table=True,
    options={
        "hidden": (0, "relu units of a hidden layer before the head; 0: none (logistic regression)"),
        "positive": (None, "the class name that becomes class 1 (default: the last in sorted order)"),
    },
)
HIDDEN = evidence.hidden_units(settings.options["hidden"])
POSITIVE = settings.options["positive"]
BATCH_SIZE = 32
LEARNING_RATE = 0.02

# %% [markdown]
# ## Data
#
# Breast Cancer: 569 tumours, 30 numeric features, class 1 = malignant. A
# stratified split keeps the class shares equal in training and test rows.
# ``tables.fit_encoder`` is lesson 01's preprocessing cell as a function
# (Keras ``Normalization`` and ``StringLookup`` adapted on the training
# rows). Which class is "class 1" matters for a sigmoid head, whose one
# output is ``P(class 1)``: ``--positive NAME`` chooses it.

# %%
table = loading.load_table(settings, "binary", positive=POSITIVE)
for note in table.notes:
    print(note)
print(f"class 1 = {table.target_name} == {table.classes[1]!r}")
outputs.save_table(table.class_table(), settings, "classes")
parts = loading.split_table(settings, table, stratify=True)
split = parts.encoded(tables.fit_encoder(parts.train, table.kinds))
X_train, X_test = split.X_train, split.X_test

# %% [markdown]
# Each head wants its labels in its own format: float 0/1 for the sigmoid
# (A), integer class numbers for the sparse loss (B), one-hot rows for
# ``categorical_crossentropy`` (C). Same labels, three encodings.


# %%
def three_ways(y):
    return {"A": y.astype("float32"), "B": y.astype("int32"), "C": keras.utils.to_categorical(y, 2)}


y_train, y_test = three_ways(split.y_train), three_ways(split.y_test)
y_train["A, 2x lr"], y_test["A, 2x lr"] = y_train["A"], y_test["A"]
show(
    pd.DataFrame({"A (0/1)": y_train["A"][:5], "B (integer)": y_train["B"][:5], "C (one-hot)": list(y_train["C"][:5])}),
    "The first five training labels, three ways",
)

# %% [markdown]
# ## Model
#
# The body (nothing, or ``--hidden`` relu units) is the same for every
# setup; only the last layer and the loss change. ``metrics=["accuracy"]``
# lets Keras pick the matching accuracy for each loss (binary, sparse or
# categorical).


# %%
def body():
    layers = [keras.Input((X_train.shape[1],))]
    if HIDDEN:
        layers.append(keras.layers.Dense(HIDDEN, activation="relu"))
    return layers


keras.utils.set_random_seed(settings.seed)
model_a = keras.Sequential(body() + [keras.layers.Dense(1, activation="sigmoid")])
model_a.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy", metrics=["accuracy"])

model_b = keras.Sequential(body() + [keras.layers.Dense(2, activation="softmax")])
model_b.compile(
    optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
model_c = keras.Sequential(body() + [keras.layers.Dense(2, activation="softmax")])
model_c.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy", metrics=["accuracy"])
model_b.summary()

# %% [markdown]
# Every run starts from one function, so that any difference comes from
# training. ``softmax([z0, z1])[1] = sigmoid(z1 - z0)``: a softmax head
# with kernel ``[0, w]`` and bias ``[0, b]`` predicts exactly what the
# sigmoid head ``(w, b)`` predicts. ``binary_heads.sigmoid_to_softmax``
# builds that model; B and C take its weights (body included). A fourth
# run, A again at twice the learning rate, explains the training below.

# %%
model_b.set_weights(binary_heads.sigmoid_to_softmax(model_a).get_weights())
model_c.set_weights(model_b.get_weights())
model_a2 = keras.models.clone_model(model_a)
model_a2.set_weights(model_a.get_weights())
model_a2.compile(optimizer=keras.optimizers.Adam(2 * LEARNING_RATE), loss="binary_crossentropy", metrics=["accuracy"])
models = {"A": model_a, "B": model_b, "C": model_c, "A, 2x lr": model_a2}

# %% [markdown]
# ## Train
#
# Each model fits its own labels, in batches from
# ``cookbook.ReshuffledArrays`` with the lesson's seed: ``batch_size`` rows
# at a time, a new order every epoch, and the same orders for every run, so
# the curves can be compared epoch by epoch. (A seeded
# ``fit(X, y, shuffle=True)`` would repeat one order every epoch on the
# TensorFlow backend; lesson 07 measures it. ``shuffle=False`` makes ``fit``
# leave the order to ``ReshuffledArrays``.)
#
# Why "A, 2x lr"? B's loss depends on ``z1 - z0`` only. The gradient on
# its class-1 column equals A's gradient on ``w``; the gradient on its
# class-0 column is exactly its negative. So ``w1`` and ``w0`` take equal
# and opposite steps, and their difference, the part that predicts, moves
# twice as far per step as A's ``w``. That holds for plain SGD and for
# Adam (its step flips sign with the gradient and ignores its scale;
# lesson 11 looks inside Adam). Without a hidden layer, B at ``lr`` should
# follow A at ``2 lr`` step for step.

# %%
histories = {}
for name, model in models.items():
    histories[name] = model.fit(
        ReshuffledArrays(X_train, y_train[name], batch_size=BATCH_SIZE, seed=settings.seed),
        epochs=settings.epochs,
        shuffle=False,
        verbose=0,
    )
losses = {name: history.history["loss"] for name, history in histories.items()}
gaps = evidence.curve_gaps(losses, [("B", "C"), ("B", "A, 2x lr"), ("A", "B")])
show(gaps, "Largest gap between two training curves")

# %% [markdown]
# ## Compare
#
# ``evaluate`` gives each run's loss and accuracy on the test rows;
# ``predict(...)[:, -1]`` is ``P(class 1)`` for either head (A's only
# column, B's second). The two decision rules are one rule: A calls class 1
# when ``p > 0.5``, B takes the argmax of ``[1 - p, p]``, and ``p > 1 - p``
# exactly when ``p > 0.5``. The baseline always names the commonest class:
# a model that cannot beat it learned nothing.

# %%
scores = {
    name: {
        "train": model.evaluate(X_train, y_train[name], verbose=0, return_dict=True),
        "test": model.evaluate(X_test, y_test[name], verbose=0, return_dict=True),
    }
    for name, model in models.items()
}
p_class1 = {name: model.predict(X_test, verbose=0)[:, -1] for name, model in models.items()}
heads = show(
    evidence.heads_table(models, scores, p_class1, split.y_test),
    f"Sigmoid vs softmax heads on {settings.data_name}, class 1 = {table.classes[1]!r}, {settings.epochs} epochs",
)
outputs.save_table(heads, settings)
outputs.save_table(gaps, settings, "curves")
outputs.save_table(evidence.history_table(losses), settings, "history")

# %% [markdown]
# ### Converting a trained head
#
# The conversion works on trained models too, both ways: A -> B puts
# ``[0, w]`` in the softmax kernel; B -> A (``softmax_to_sigmoid``) keeps
# only the differences ``w1 - w0`` and ``b1 - b0``. The third case shows
# why B's extra parameters add nothing: the same random vector added to
# both columns of B's kernel (and one number to both biases) adds the same
# number to both logits, and softmax cannot see it.

# %%
shifted = keras.models.clone_model(model_b)
kernel, bias = model_b.layers[-1].get_weights()
rng = np.random.default_rng(settings.seed)
shift = rng.standard_normal((kernel.shape[0], 1)).astype("float32")
shifted.set_weights(model_b.get_weights()[:-2] + [kernel + shift, bias + np.float32(rng.standard_normal())])
conversions = {
    "A -> B": (model_a, binary_heads.sigmoid_to_softmax(model_a)),
    "B -> A": (model_b, binary_heads.softmax_to_sigmoid(model_b)),
    "B, both logits shifted": (model_b, shifted),
}
X_all = np.concatenate([X_train, X_test])
conversion_outputs = {
    name: (before.predict(X_all, verbose=0), after.predict(X_all, verbose=0))
    for name, (before, after) in conversions.items()
}
conversion_table = show(evidence.conversion_table(conversion_outputs), "Exact conversions, on all rows")
outputs.save_table(conversion_table, settings, "conversions")

# %% [markdown]
# In the figure, left: each test row's ``P(class 1)`` from B against A's.
# Trained apart, the points scatter around the diagonal (B trained at
# what amounts to twice A's rate); A converted to a softmax head lies on
# it. Right: the training curves. Without ``--hidden``, B (thick), C
# (dashed) and A at twice the learning rate (dotted, with dots) are one
# curve; A at the same rate trains more slowly.

# %%
p_class1["A -> B"] = conversions["A -> B"][1].predict(X_test, verbose=0)[:, -1]
figure = evidence.plot_heads(p_class1, losses, heads, settings.data_name)
outputs.save_figure(figure, settings, "heads")

# %% [markdown]
# This lesson keeps to the setups that are right; the near misses
# (a softmax on one unit, a 2-unit softmax with ``binary_crossentropy``,
# mismatched label shapes) are lesson 05's. And ``binary_crossentropy`` is
# not only for ``Dense(1)``: lesson 04 uses it with ``Dense(k,
# "sigmoid")`` for k independent yes/no labels.

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``03_binary_sigmoid_vs_softmax_claims.json``.

# %%
claims.remember(evidence.claims(heads, gaps, conversion_table, hidden=HIDDEN), settings)
