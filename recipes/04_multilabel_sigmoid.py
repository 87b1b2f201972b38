"""Multi-label classification: Dense(k, "sigmoid") with binary_crossentropy.

When each sample can carry several yes/no labels at once (none, one or all
k of them), the output is k sigmoid units, the loss is
``binary_crossentropy`` on a 0/1 label matrix of shape (N, k), and each
probability is thresholded on its own: binary cross-entropy does not need
``Dense(1)``. The tempting alternative, a softmax over the labels with
``categorical_crossentropy``, cannot say yes to two labels at once; the lesson
measures both on the same images.

Run it: ``python recipes/04_multilabel_sigmoid.py`` (``--quick`` for a
few-second look). What this lesson measures lives in
``cookbook/lessons/multilabel_sigmoid.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``; see ``--help``); in a notebook, edit them here.
# This lesson takes no ``--csv``: a multi-label table needs several target
# columns, one per label, and the lesson derives its labels from the bundled
# Digits set instead. The cookbook is imported before Keras so that
# TensorFlow's start-up log lines stay out of the output.

# %%
from cookbook import ReshuffledArrays, claims, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.datasets import load_dataset, split_and_standardize
from cookbook.display import show
from cookbook.lessons import multilabel_sigmoid as evidence
from cookbook.settings import from_command_line

import keras

settings = from_command_line(
    __doc__, "04_multilabel_sigmoid", quick=False, seed=0, out="cookbook-out", epochs=40, quick_epochs=5
)
BATCH_SIZE = 32
LEARNING_RATE = 0.005
HIDDEN_UNITS = 32
THRESHOLD = 0.5  # a label is predicted "on" when its probability is above this

# %% [markdown]
# ## Data
#
# The 8x8 Digits images (64 pixel columns), split into training and test
# rows with the lesson's seed (each digit's share the same in both). Each
# image then gets **three yes/no labels**, each a property of its digit:
# *even*, *greater than 4*, and *closed loop* (0, 6, 8 and 9 are drawn with
# one). A 6 has all three on, a 1 none, a 9 two: the labels are not
# exclusive, which is what makes this multi-label and not multiclass.
# (Here the labels follow from the digit, to keep the lesson on bundled
# data; in real multi-label data, such as tags on photos, they need not.)

# %%
X, digit = load_dataset("digits")
split = split_and_standardize(X, digit, seed=settings.seed, stratify=True)
y_train = evidence.digit_labels(split.y_train)  # shape (N, 3), 0/1
y_test = evidence.digit_labels(split.y_test)
show(evidence.label_table(), "Each digit's labels")
show(evidence.label_count_table({"train": y_train, "test": y_test}), "Share of images with n labels on")

# %% [markdown]
# ## Model
#
# The multi-label head: ``Dense(K, activation="sigmoid")`` with K = 3, the
# number of label columns. One sigmoid per label, each its own probability
# between 0 and 1, independent of the others, so any number of them can be
# high at once. The loss is ``binary_crossentropy``, the same loss as a
# ``Dense(1, "sigmoid")`` binary classifier, now applied to every label.
# ``BinaryAccuracy`` thresholds each
# probability at 0.5 and counts the share of labels right.


# %%
def build_model(activation, loss):
    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
            keras.layers.Dense(y_train.shape[1], activation=activation),  # K units, one per label
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=loss,
        metrics=[keras.metrics.BinaryAccuracy(threshold=THRESHOLD, name="label_accuracy")],
    )
    return model


keras.utils.set_random_seed(settings.seed)
sigmoid_model = build_model("sigmoid", "binary_crossentropy")
sigmoid_model.summary()

# %% [markdown]
# The tempting wrong head: ``Dense(3, activation="softmax")`` with
# ``categorical_crossentropy``, the multiclass setup of lesson 02, fed the
# same multi-hot rows. Keras trains it without a word. But a softmax's 3
# probabilities sum to 1, so at most one of them can be above 0.5: it
# cannot say yes to two labels at once. And on an image with no label on,
# the label row is all zeros, so ``categorical_crossentropy``,
# ``-sum(y * log(p))``, is 0 whatever it predicts: it learns nothing there.

# %%
keras.utils.set_random_seed(settings.seed)
softmax_model = build_model("softmax", "categorical_crossentropy")
SIGMOID, SOFTMAX = "sigmoid + binary CE", "softmax + categorical CE"
models = {SIGMOID: sigmoid_model, SOFTMAX: softmax_model}

# %% [markdown]
# ``cookbook.check_setup(model, y)`` compares a compiled model's last
# layer, its loss and the labels before any training: silent when they fit,
# a ``SetupError`` naming the fix when they do not. What does it say about
# each head?

# %%
refused = evidence.check_each(models, y_train)

# %% [markdown]
# ## Train
#
# Both heads, same starting seed, same batches, same epochs. The batches
# come from ``cookbook.ReshuffledArrays``: ``batch_size`` rows at a time, a
# new order every epoch, the same orders for both heads (one seed). A
# seeded ``fit(X, y, shuffle=True)`` would repeat one order every epoch on
# the TensorFlow backend (lesson 07 measures it); ``shuffle=False`` makes
# ``fit`` leave the order to ``ReshuffledArrays``.

# %%
sigmoid_history = sigmoid_model.fit(
    ReshuffledArrays(split.X_train, y_train, batch_size=BATCH_SIZE, seed=settings.seed),
    epochs=settings.epochs,
    shuffle=False,
    verbose=0,
)
softmax_history = softmax_model.fit(
    ReshuffledArrays(split.X_train, y_train, batch_size=BATCH_SIZE, seed=settings.seed),  # the same orders again
    epochs=settings.epochs,
    shuffle=False,
    verbose=0,
)
print(f"{SIGMOID}: final train loss", round(sigmoid_history.history["loss"][-1], 4))
print(f"{SOFTMAX}: final train loss", round(softmax_history.history["loss"][-1], 4))

# %% [markdown]
# What ``binary_crossentropy`` computes on K units: for each label the
# one-unit binary cross-entropy ``-(y log p + (1 - y) log(1 - p))``, then the
# mean over the K labels (the compiled loss then averages over the batch). So
# the loss of the multi-label head is K binary classifiers' losses averaged.
# Below, Keras's value on all K units next to ``binary_crossentropy`` on
# each label column alone, their mean, and a float64 NumPy formula.

# %%
p_sigmoid = sigmoid_model.predict(split.X_test, verbose=0)
on_k_units = keras.losses.binary_crossentropy(y_test, p_sigmoid)  # one value per image, shape (N,)
one_unit = keras.ops.stack(  # each label column alone, as a Dense(1) head would see it, shape (N, 3)
    [keras.losses.binary_crossentropy(y_test[:, [j]], p_sigmoid[:, [j]]) for j in range(y_test.shape[1])], axis=1
)
to_numpy = keras.ops.convert_to_numpy
bce_check = evidence.bce_check_table(y_test, p_sigmoid, to_numpy(on_k_units), to_numpy(one_unit))
show(bce_check.head(5), "binary_crossentropy on 3 units = the mean of 3 one-unit values (first 5 test images)")
print(
    "BinaryCrossentropy(), the compiled loss, on the test rows:",
    float(keras.losses.BinaryCrossentropy()(y_test, p_sigmoid)),
)
print("the mean of the per-image values above:", float(keras.ops.mean(on_k_units)))

# %% [markdown]
# ## Compare
#
# First, what each head says about one test image of each digit that has
# two or three labels on (0, 6, 8, 9). The softmax's three probabilities
# sum to 1 on every image, so on a 6 (all three labels on) its loss is
# lowest at a third each: below 0.5, three labels "off".

# %%
p_softmax = softmax_model.predict(split.X_test, verbose=0)
row_sums = keras.ops.sum(p_softmax, axis=-1)  # one sum per image
low, high = float(keras.ops.min(row_sums)), float(keras.ops.max(row_sums))
print(f"the softmax head's three probabilities sum to {low:.5f} to {high:.5f} on the {len(row_sums)} test images")
probabilities = {SIGMOID: p_sigmoid, SOFTMAX: p_softmax}
show(evidence.examples_table(split.y_test, probabilities, (0, 6, 8, 9)), "Probabilities on four test images")

# %% [markdown]
# Then all test rows, each label thresholded at 0.5. Three scores: each
# label's accuracy (the share of images where that label is right), *exact
# match* (all three right), and, on the images with 2 or 3 labels on, how
# often the head says yes to two or more. The baseline predicts each
# label's more frequent training value. Could another threshold rescue the
# softmax? Its best threshold for exact match is chosen on the training rows
# and scored on the test rows too. Not entirely: all three labels "on" needs
# all three probabilities above the threshold, so a threshold below 1/3,
# while all three "off" needs one at or above 1/3 (the largest of three
# probabilities summing to 1 is at least 1/3).

# %%
keras_accuracy = {
    name: model.evaluate(split.X_test, y_test, verbose=0, return_dict=True)["label_accuracy"]
    for name, model in models.items()
}
tuned = evidence.best_threshold(y_train, softmax_model.predict(split.X_train, verbose=0))
SOFTMAX_TUNED = f"softmax, threshold {tuned:.2f}"
rows = {SIGMOID: (SIGMOID, THRESHOLD), SOFTMAX: (SOFTMAX, THRESHOLD), SOFTMAX_TUNED: (SOFTMAX, tuned)}
results = evidence.results_table(probabilities, rows, keras_accuracy, y_test, y_train)
show(results, "Test scores (Keras BinaryAccuracy = the mean per-label accuracy at 0.5)")
outputs.save_table(results, settings)
outputs.save_table(bce_check, settings, "bce_check")

# %% [markdown]
# In the figure, left: each label's test accuracy and the exact match;
# right: on the test images with 2 or 3 labels on, how many labels each
# head predicted. The softmax head's bars stop at 1 label.

# %%
figure = evidence.plot_results(results, [SIGMOID, SOFTMAX, evidence.BASELINE], probabilities, y_test)
outputs.save_figure(figure, settings, "accuracy")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``04_multilabel_sigmoid_claims.json``.

# %%
claims.remember(evidence.claims(results, SIGMOID, SOFTMAX, SOFTMAX_TUNED, bce_check, refused, y_test), settings)
