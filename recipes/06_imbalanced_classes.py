"""Imbalanced binary classes: what accuracy hides, and three remedies (class_weight, a threshold, focal loss).

When one class is rare, a classifier that never names it still scores a
high accuracy. This lesson trains a sigmoid model to answer "is this digit
an 8?" (about one image in ten), reads what ``metrics=["accuracy"]`` hides
with precision, recall and PR-AUC, and compares three remedies in Keras
code on the same test rows: ``fit(class_weight=...)``, a decision threshold
chosen on validation rows, and ``keras.losses.BinaryFocalCrossentropy``.

Run it: ``python recipes/06_imbalanced_classes.py`` (``--quick`` for a
few-second look, ``--positive 3`` for another digit as the rare class,
``--csv my.csv --target label --positive VALUE`` for your own numeric
table). What this lesson measures lives in
``cookbook/lessons/imbalanced_classes.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``, and this lesson's own
# ``--positive``); in a notebook, edit them here. The cookbook is imported
# before Keras so that TensorFlow's start-up log lines stay out of the output.

# %%
import cookbook  # first: hides TensorFlow's log lines
from cookbook import claims, loading, outputs
from cookbook.display import show
from cookbook.lessons import imbalanced_classes as evidence
from cookbook.settings import from_command_line

import keras

settings = from_command_line(
    __doc__,
    "06_imbalanced_classes",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=10,
    quick_epochs=3,
    data="digits",
    options={"positive": (8, "the target value that becomes class 1, the rare class; every other value is class 0")},
)
POSITIVE = settings.options["positive"]
BATCH_SIZE = 64
LEARNING_RATE = 0.02
VALIDATION_SHARE = 0.25  # of the training rows, per class: they choose the thresholds
GAMMA = 2.0  # focal loss's focusing exponent (the paper's and Keras's default)

# %% [markdown]
# ## Data
#
# Digits, one-vs-rest: class 1 is "the image is an 8" (174 of the 1797
# images, 9.7%), class 0 every other digit. A stratified split keeps that
# share in each part: test (a quarter of the rows, touched only to report),
# validation (a quarter of the rest, to choose thresholds) and training.
# That leaves about 44 eights to test on and 32 to validate with: each
# eight found or missed moves recall by 2-3 points, which is why the
# differences below come with intervals.

# %%
X, y = loading.load_data(settings)
labels = evidence.one_vs_rest(y, POSITIVE, settings.data_source)
split = loading.split(settings, X, labels, stratify=True)  # standardized with the non-test rows' statistics
train_rows, val_rows = evidence.validation_rows(split.y_train, VALIDATION_SHARE, settings.seed, settings.data_source)
X_train, y_train = split.X_train[train_rows], split.y_train[train_rows]
X_val, y_val = split.X_train[val_rows], split.y_train[val_rows]
X_test, y_test = split.X_test, split.y_test
counts = evidence.class_counts({"train": y_train, "validation": y_val, "test": y_test})
outputs.save_table(show(counts, f"{settings.data_name}: class 1 = target {POSITIVE!r}"), settings, "classes")

# %% [markdown]
# ## A model judged by accuracy
#
# Logistic regression: one sigmoid unit on the 64 pixels, so the rare
# class is hard enough for the remedies to have something to fix. Every
# model starts from the same weights (the seed is reset before each build)
# and sees the same batches: ``cookbook.ReshuffledArrays`` draws a new row
# order each epoch, the same sequence in every run, with ``shuffle=False``
# (on TensorFlow a seeded ``fit(shuffle=True)`` repeats one order every
# epoch; lesson 07 measures it). Nothing in training watches the
# validation rows, so ``fit`` does not get them; a callback that does would
# need ``validation_data=(X_val, y_val)``, as a ``PyDataset`` cannot be cut
# by ``validation_split``.


# %%
def build_model():
    keras.utils.set_random_seed(settings.seed)
    return keras.Sequential([keras.Input((X_train.shape[1],)), keras.layers.Dense(1, activation="sigmoid")])


def batches():
    return cookbook.ReshuffledArrays(X_train, y_train, batch_size=BATCH_SIZE, seed=settings.seed)


model = build_model()
model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(batches(), epochs=settings.epochs, shuffle=False, verbose=0)
accuracy = model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"]
print(f"test accuracy {accuracy:.3f}; always answering class 0 scores {1 - y_test.mean():.3f}")

# %% [markdown]
# ``cookbook.check_fit`` takes a compiled model and the arguments of a
# ``fit`` call, and says what that call gets wrong without a word, before
# it runs (it reads the rows inside a ``ReshuffledArrays``). Here, the same
# arguments as the ``fit`` above:

# %%
findings = cookbook.check_fit(model, batches(), epochs=settings.epochs, shuffle=False)
print(*findings, sep="\n")

# %% [markdown]
# ## What accuracy hides
#
# Compile again with metrics that look at class 1 (``compile`` keeps the
# trained weights): **precision**, the share of the rows called class 1
# that are class 1; **recall**, the share of class-1 rows found; and
# **PR-AUC**, the area under the precision-recall curve, which scores the
# ranking of the rows and so does not depend on any threshold. Always
# answering class 0 gets recall 0 and a PR-AUC equal to the class-1 share.


# %%
def rare_class_metrics():
    return [
        "accuracy",
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
        keras.metrics.AUC(curve="PR", name="pr_auc"),
    ]


model.compile(optimizer=model.optimizer, loss="binary_crossentropy", metrics=rare_class_metrics())
evaluated = model.evaluate(X_test, y_test, verbose=0, return_dict=True)
outputs.save_table(
    show(evidence.hides_table(evaluated, y_test), "Test rows: what accuracy hides"), settings, "accuracy"
)

# %% [markdown]
# ## Remedy 1: ``class_weight``
#
# ``fit(class_weight={0: w0, 1: w1})`` multiplies each row's loss by its
# class's weight. The "balanced" weights ``rows / (2 x class rows)`` give
# both classes the same total weight, so a class-1 row counts about nine
# times a class-0 row.

# %%
n, n_class_1 = len(y_train), int(y_train.sum())
class_weight = {0: n / (2 * (n - n_class_1)), 1: n / (2 * n_class_1)}
print(
    f"{n} training rows, {n_class_1} of class 1: class_weight = {{0: {class_weight[0]:.3f}, 1: {class_weight[1]:.3f}}}"
)

# %% [markdown]
# ## Remedy 2: focal loss
#
# ``BinaryFocalCrossentropy(gamma=2.0)`` multiplies each row's binary
# cross-entropy by ``(1 - p_t) ** gamma``, ``p_t`` the probability the
# model gives the row's true class: rows it already gets right with
# confidence count less, whatever their class. With
# ``apply_class_balancing=True`` it also multiplies class-1 rows by
# ``alpha`` and class-0 rows by ``1 - alpha``. Two focal runs: Keras's
# defaults (no balancing), and balancing at the paper's and Keras's
# ``alpha=0.25``, to see which way that default weighs the rare class.
# (The cookbook's from-scratch twin, ``cookbook.losses.binary_focal_crossentropy``,
# writes the formula out and takes the same arguments.)
#
# One loop trains the three remedies, each from the same start as the
# first model. It compiles no metrics: the test rows are scored from
# ``predict`` below, at 0.5 and at a threshold of each run's own.

# %%
REMEDIES = {
    "BCE + class_weight": (keras.losses.BinaryCrossentropy(), class_weight),
    "focal": (keras.losses.BinaryFocalCrossentropy(gamma=GAMMA), None),
    "focal, alpha 0.25": (
        keras.losses.BinaryFocalCrossentropy(gamma=GAMMA, apply_class_balancing=True, alpha=0.25),
        None,
    ),
}
models = {"BCE": model}
for name, (loss, weights) in REMEDIES.items():
    models[name] = build_model()
    models[name].compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss)
    models[name].fit(batches(), epochs=settings.epochs, shuffle=False, class_weight=weights, verbose=0)

# %% [markdown]
# ## Remedy 3: a threshold chosen on validation
#
# A sigmoid model outputs ``P(class 1)``; calling class 1 above 0.5 is
# only a default. ``evidence.best_f1_threshold`` tries every cut between
# two validation scores and keeps the one with the best F1 there (F1 is
# the harmonic mean of precision and recall; a target recall is the other
# common rule). The test rows never choose it: they only report. In your
# own code the threshold is one comparison, ``model.predict(X)[:, 0] > t``.

# %%
p_val = {name: m.predict(X_val, verbose=0)[:, 0] for name, m in models.items()}
p_test = {name: m.predict(X_test, verbose=0)[:, 0] for name, m in models.items()}
thresholds = {name: evidence.best_f1_threshold(y_val, p) for name, p in p_val.items()}
called = models["BCE"].predict(X_test, verbose=0)[:, 0] > thresholds["BCE"]
print(f"BCE's threshold from validation: {thresholds['BCE']:.3f}; it calls {called.sum()} test rows class 1")

# %% [markdown]
# ## Compare on the test rows
#
# Every run at 0.5 and at its own validation threshold. ``found``,
# ``missed`` and ``false alarms`` count test rows; PR-AUC here is the exact
# area (average precision) from the scores, which ``keras.metrics.AUC``
# estimates from 200 fixed thresholds (the table above), so the two differ
# a little. PR-AUC is the same in a run's two rows: a threshold does not
# change the ranking.

# %%
table = show(evidence.comparison_table(p_test, thresholds, y_test), f"Test rows, {settings.epochs} epochs")
outputs.save_table(table, settings)

# %% [markdown]
# With about 44 class-1 test rows, a few more found or missed change
# every rate. The paired bootstrap below redraws the test rows 1000 times
# and scores both runs on each draw: an interval that holds 0 means this
# test set cannot tell them apart.

# %%
differences = evidence.differences_table(y_test, p_test, thresholds, seed=settings.seed)
outputs.save_table(show(differences, "First minus second, on resampled test rows"), settings, "differences")

# %% [markdown]
# In the figure, left: each run's precision-recall curve on the test rows,
# its operating point at 0.5 (circle) and at its validation threshold
# (star). Moving along one curve is choosing a threshold; a remedy that
# only moves the point along the same curve changes no ranking. Right: the
# test scores of plain BCE and of the class-weighted run by class (log
# counts): class_weight pushes every score up, and the threshold that
# works best moves up with it.

# %%
outputs.save_figure(
    evidence.plot_remedies(y_test, p_test, thresholds, ["BCE", "BCE + class_weight"], settings.data_name),
    settings,
    "remedies",
)

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``06_imbalanced_classes_claims.json``.

# %%
claims.remember(evidence.claims(table, differences, class_weight, class_0_share=1 - n_class_1 / n), settings)
