"""Custom optimizers versus Keras's built-ins: checked step by step against them and float64 NumPy.

The cookbook's SGD, Momentum, Adagrad, RMSprop, Adam, AdamW, Nadam and Lion are Keras 3 optimizers
written as lessons (``build`` + ``update_step`` + ``self.assign*``); here each
one steps next to its ``keras.optimizers`` twin and a float64 NumPy reference
with ``optimizer.apply_gradients``, over a grid of settings, then trains a
model through ``model.compile(optimizer=cookbook.optimizers.Adam(...))`` and
``fit`` next to the built-in. Tables show how far they drift apart, what the
Keras 2 optimizer API became in Keras 3, and what the built-ins and the twins
do with impossible settings. It builds on recipes 07-11, which showed how each
optimizer behaves; here is how each one is written and a step-by-step check of
how close the code comes to what Keras's computes.

Run it: ``python recipes/14_custom_optimizers_vs_builtin.py`` (``--quick`` for
a few-second look, ``--steps 300`` to watch longer runs).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant here. ``import cookbook``
# comes before ``import keras`` so that TensorFlow's start-up log lines stay
# out of the terminal.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.optimizers
import cookbook.recipe
import cookbook.reference
from cookbook.compare import compare_optimizers

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

STEPS = 50
QUICK_STEPS = 20
TWIN_TOLERANCE = 1e-6  # |custom - built-in| on float32 weights (what the tests demand)
REFERENCE_TOLERANCE = 1e-5  # relative to the float64 reference (what the tests demand)
FLOAT32_EPSILON = float(np.finfo(np.float32).eps)

# The step-by-step walk-through: one optimizer pair on a noisy quadratic bowl.
WALK_SETTINGS = {"learning_rate": 0.02}  # for cookbook.optimizers.Adam and keras.optimizers.Adam
BOWL_SHAPE = (4, 3)  # one weight matrix
CURVATURE_RANGE = (0.5, 2.0)  # the bowl's curvature per weight
GRADIENT_NOISE = 0.1  # std of the noise added to each gradient, like a mini-batch's

# The drop-in check: model.compile(optimizer=...) + fit on Digits.
FIT_LEARNING_RATE = 0.01
FIT_EPOCHS = 3
FIT_BATCH_SIZE = 128
HIDDEN_UNITS = 32

# (cookbook.optimizers / keras.optimizers class, non-default settings). Every flag is on at least once.
# The tables name each row by its method: SGD(momentum=0.9) is "Momentum", see method_name().
SETTINGS = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Momentum", {"learning_rate": 0.05}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.01, "epsilon": 1e-4}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "centered": True}),
    ("Adam", {"learning_rate": 0.02}),
    ("Adam", {"learning_rate": 0.02, "beta_2": 0.9, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.02, "beta_1": 0.5, "beta_2": 0.99, "epsilon": 1e-4}),
    ("Adam", {"learning_rate": 0.02, "weight_decay": 0.1, "clipnorm": 0.5}),
    ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.05, "amsgrad": True}),
    ("Nadam", {"learning_rate": 0.02, "beta_1": 0.8}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
]
QUICK_SETTINGS = [SETTINGS[i] for i in (0, 2, 3, 5, 8, 10, 13, 14, 15)]  # every method at least once, flags on

# Settings a Keras built-in accepts without a word. BAD_STEPS steps show what it then does.
IMPOSSIBLE = [
    ("Adam", {"learning_rate": 0.01, "beta_1": 1.0}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 1.0}),
    ("SGD", {"learning_rate": -0.1}),
    ("Adagrad", {"learning_rate": 0.1, "clipnorm": 0.0}),
]
BAD_STEPS = 20


# %% [markdown]
# Helpers that measure, tabulate and draw. They are not the lesson: the Keras
# code is in ``main`` below, one cell per step. ``compare_optimizers`` runs
# the same ``apply_gradients`` loop as the walk-through cell (compiled into a
# ``tf.function`` on TensorFlow, eager on JAX) on a kernel and a bias, for
# every row of the grid.


# %%
def label(config):
    """``learning_rate=0.1, momentum=0.9``: a setting as one string."""
    return ", ".join(f"{key}={value}" for key, value in config.items())


def builtin_twin(name, config):
    """The ``keras.optimizers`` class name and settings matching ``cookbook.optimizers.<name>(**config)``."""
    if name == "Momentum":  # the cookbook's Momentum is Keras's SGD with momentum 0.9 unless told otherwise
        return "SGD", {**config, "momentum": config.get("momentum", 0.9)}
    return name, dict(config)


def method_name(name, config):
    """One name per method: SGD only with momentum 0; SGD(momentum > 0) is Momentum, with Nesterov if asked."""
    _, config = builtin_twin(name, config)
    if name in ("SGD", "Momentum") and config.get("momentum", 0.0) > 0:
        return "Momentum (Nesterov)" if config.get("nesterov") else "Momentum"
    return name


def call_text(name, config):
    """``SGD(learning_rate=0.05, momentum=0.9)``: the call both get, or both calls when the classes differ."""
    builtin_name, builtin_config = builtin_twin(name, config)
    text = f"{name}({label(config)})"
    if (builtin_name, builtin_config) != (name, config):
        text += f" vs keras {builtin_name}({label(builtin_config)})"
    return text


def row_name(row):
    """A row of the comparison table in words: its call, with the method's name first where the call hides it."""
    if row["settings"].startswith(f"{row['method']}("):
        return row["settings"]
    return f"{row['method']}: {row['settings']}"


def build_optimizers(name, config):
    """A fresh (cookbook, Keras built-in) pair with the same settings; Momentum's twin is SGD(momentum=0.9)."""
    builtin_name, builtin_config = builtin_twin(name, config)
    return (getattr(cookbook.optimizers, name)(**config), getattr(keras.optimizers, builtin_name)(**builtin_config))


def run_grid(settings, steps, seed):
    """compare_optimizers for every (class, settings) row, stacked into one long per-step table."""
    tables = []
    for name, config in settings:
        table = compare_optimizers(*build_optimizers(name, config), steps=steps, seed=seed)
        tables.append(table.assign(method=method_name(name, config), settings=call_text(name, config)))
    return pd.concat(tables, ignore_index=True)


def summarize(long):
    """One row per setting: the largest differences over all steps, and how far the weights moved."""
    return (
        long.groupby(["method", "settings"], sort=False)
        .agg(
            steps=("step", "max"),
            max_custom_vs_builtin=("custom_vs_builtin", "max"),
            max_rel_custom_vs_numpy=("custom_vs_reference", "max"),
            max_rel_builtin_vs_numpy=("builtin_vs_reference", "max"),
            weights_moved=("custom_moved", "last"),
        )
        .reset_index()
    )


def optimizer_state(custom, builtin):
    """The variables ``build`` created in each optimizer, side by side."""

    def rows(optimizer):
        return [(v.path.split("/", 1)[1], tuple(v.shape)) for v in optimizer.variables]

    left, right = rows(custom), rows(builtin)
    return pd.DataFrame(
        {
            "cookbook variable": [n for n, _ in left],
            "shape": [s for _, s in left],
            "keras variable": [n for n, _ in right],
            "keras shape": [s for _, s in right],
        }
    )


def keras_2_to_3():
    """What a Keras 2 legacy (OptimizerV2) custom optimizer used, and what replaces it in Keras 3."""
    return pd.DataFrame(
        [
            (
                "class MyOpt(keras.optimizers.legacy.Optimizer)",
                "class MyOpt(keras.optimizers.Optimizer)",
                "one optimizer API, any backend",
            ),
            ("_set_hyper('beta_1', beta_1)", "self.beta_1 = beta_1", "hyperparameters are plain attributes"),
            (
                "_create_slots(var_list): add_slot(var, 'm')",
                "build(var_list): self.add_optimizer_variables(var_list, ['m'])",
                "state is created once, for all variables",
            ),
            (
                "_resource_apply_dense(grad, var, apply_state)",
                "update_step(gradient, variable, learning_rate)",
                "one method, dense or sparse",
            ),
            (
                "_resource_apply_sparse(grad, var, indices)",
                "(the same update_step)",
                "gradient may be tf.IndexedSlices; self.assign* scatters it",
            ),
            (
                "_decayed_lr(var_dtype), _get_hyper(...)",
                "ops.cast(learning_rate, variable.dtype)",
                "the schedule is applied for you",
            ),
            ("tf.math.sqrt, training_ops.resource_apply_*", "keras.ops.sqrt, keras.ops.*", "backend-neutral math"),
            (
                "var.assign_sub(...), m.assign(...)",
                "self.assign_sub(var, ...), self.assign(m, ...)",
                "keeps sparse updates and tf.distribute working",
            ),
            (
                "_serialize_hyperparameter('beta_1')",
                "config.update({'beta_1': self.beta_1})",
                "get_config returns plain values",
            ),
        ],
        columns=["Keras 2 legacy OptimizerV2 (keras.optimizers.legacy; the default before TF 2.11)", "Keras 3", "why"],
    )


def run_impossible(steps, seed):
    """What the built-in does with each impossible setting, and what the cookbook twin says.

    The built-in steps next to a second copy of itself (``moved``: how far its
    weights went), and, for a ``clipnorm`` setting, next to the same optimizer
    without ``clipnorm`` (``vs_unclipped``: 0 means no clipping happened).
    """
    rows = []
    for name, config in IMPOSSIBLE:
        moved, vs_unclipped, builtin_error = np.nan, None, None
        try:
            builtin = getattr(keras.optimizers, name)(**config)
        except ValueError as error:
            builtin_error = str(error)
        if builtin_error is None:
            probe = getattr(keras.optimizers, name)(**config)
            moved = compare_optimizers(builtin, probe, steps=steps, seed=seed, reference=False)["custom_moved"].iloc[-1]
            if "clipnorm" in config:
                unclipped = getattr(keras.optimizers, name)(**{k: v for k, v in config.items() if k != "clipnorm"})
                vs_unclipped = compare_optimizers(
                    getattr(keras.optimizers, name)(**config), unclipped, steps=steps, seed=seed, reference=False
                )["custom_vs_builtin"].max()
        try:
            getattr(cookbook.optimizers, name)(**config)
            refusal = "(accepted)"
        except ValueError as error:
            refusal = str(error)
        rows.append(
            {
                "method": name,
                "settings": label(config),
                f"built-in: distance moved in {steps} steps": moved,
                "what the built-in did": what_happened(config, moved, vs_unclipped, builtin_error),
                "cookbook.optimizers says": refusal,
            }
        )
    return pd.DataFrame(rows)


def what_happened(config, moved, vs_unclipped=None, builtin_error=None):
    """The built-in's behaviour on an impossible setting, in words, from what was measured."""
    if builtin_error is not None:
        return f"refused: {builtin_error}"
    if np.isnan(moved):
        return "weights became NaN"
    if vs_unclipped is not None:
        return (
            "same weights as without clipnorm (no clipping)"
            if vs_unclipped == 0
            else f"differs from the unclipped run by up to {vs_unclipped:.3g}"
        )
    if config.get("learning_rate", 0) < 0:
        return f"stepped uphill, w <- w + {-config['learning_rate']:g} g (moved {moved:.3g})"
    return f"trained (moved {moved:.3g})"


def max_weight_difference(model_a, model_b):
    """Largest absolute difference between two models' weights."""
    return max(float(np.max(np.abs(a - b))) for a, b in zip(model_a.get_weights(), model_b.get_weights()))


def plot_agreement(long):
    """Per step: custom vs built-in, and custom vs float64 NumPy (log scale), one line per setting."""
    fig = Figure(figsize=(12, 6.2), layout="constrained")
    twin_ax, ref_ax = fig.subplots(1, 2)
    names = list(long["method"].unique())
    floor = FLOAT32_EPSILON * 1e-4  # where an exact 0 is drawn on a log axis
    styles = ("-", "--", ":", "-.")
    for (name, settings), part in long.groupby(["method", "settings"], sort=False):
        index = list(long.loc[long["method"] == name, "settings"].unique()).index(settings)
        style = {"color": f"C{names.index(name)}", "linestyle": styles[index % 4], "label": f"{name}: {settings}"}
        twin_ax.plot(part["step"], part["custom_vs_builtin"].clip(lower=floor), linewidth=2, **style)
        ref_ax.plot(part["step"], part["custom_vs_reference"], alpha=0.85, **style)
    exact = int((long["custom_vs_builtin"] == 0).sum())
    twin_ax.axhline(TWIN_TOLERANCE, color="grey", linestyle="--")
    twin_ax.set(
        yscale="log",
        xlabel="step (apply_gradients calls)",
        ylabel="max |cookbook - built-in| (weight units)",
        title=f"cookbook vs keras.optimizers\n(exactly 0 at {exact} of {len(long)} steps)",
        ylim=(floor / 10, 1e-3),
    )
    twin_ax.set_yticks([floor, 1e-9, TWIN_TOLERANCE, 1e-3], ["0 (exact)", "1e-9", "1e-6 (tolerance)", "1e-3"])
    ref_ax.axhline(REFERENCE_TOLERANCE, color="grey", linestyle="--")
    ref_ax.axhline(FLOAT32_EPSILON, color="grey", linestyle=":")
    ref_ax.text(1, REFERENCE_TOLERANCE * 1.2, f"test tolerance {REFERENCE_TOLERANCE:g}", fontsize=8)
    ref_ax.text(1, FLOAT32_EPSILON * 1.2, "float32 epsilon", fontsize=8)
    ref_ax.set(
        yscale="log",
        xlabel="step (apply_gradients calls)",
        ylabel="max |cookbook - NumPy| / max |w| (relative)",
        title="cookbook vs the float64 NumPy reference\n(same rule, no Keras)",
    )
    for ax in (twin_ax, ref_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole steps only
    fig.legend(
        *twin_ax.get_legend_handles_labels(),
        loc="outside lower center",
        ncols=2,
        fontsize=8,
        title="method: the call both the cookbook twin and the keras built-in get (both calls where they differ)",
        title_fontsize=8,
    )
    return fig


def build_parser():
    return cookbook.recipe.make_parser(
        __doc__,
        __file__,
        steps=STEPS,
        quick_steps=QUICK_STEPS,
        steps_help="update steps per comparison",
        dataset="digits",
    )


# %%
def main(argv=None):
    """Step the twins next to the built-ins and NumPy, fit with both, tabulate and plot the agreement."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)

    # %% [markdown]
    # ## Data
    #
    # For the step-by-step check no dataset is needed: a noisy quadratic
    # bowl, ``loss = sum(c * (w - w_star)**2) / 2``, whose gradient
    # ``c * (w - w_star)`` gets fixed random noise at each step (as a
    # mini-batch would add). Both optimizers compute the gradient from their
    # OWN weights, so a difference in one step would change the next
    # gradient and grow: agreement after many steps means agreement at every
    # step. Everything starts from float32 values, so the float64 reference
    # starts from exactly the same numbers.

    # %%
    rng = np.random.default_rng(args.seed)
    w_start = rng.normal(size=BOWL_SHAPE).astype("float32")
    w_star = rng.normal(size=BOWL_SHAPE).astype("float32")
    curvature = rng.uniform(*CURVATURE_RANGE, size=BOWL_SHAPE).astype("float32")
    noise = (GRADIENT_NOISE * rng.normal(size=(args.steps, *BOWL_SHAPE))).astype("float32")

    def gradient(w, step):
        """The bowl's noisy gradient at w, in w's dtype (float32 for Keras, float64 for NumPy)."""
        w = np.asarray(w)
        return curvature.astype(w.dtype) * (w - w_star.astype(w.dtype)) + noise[step].astype(w.dtype)

    print(
        f"weights {BOWL_SHAPE}, curvature in {CURVATURE_RANGE}, gradient noise std {GRADIENT_NOISE}, "
        f"{args.steps} steps; loss at the start {0.5 * np.sum(curvature * (w_start - w_star) ** 2):.3f}"
    )

    # %% [markdown]
    # ## Model
    #
    # The "model" is the optimizer. The update rules the eight classes
    # implement, for a weight ``w`` with gradient ``g`` and learning rate
    # ``lr`` (every buffer starts at 0 unless said):
    #
    #     SGD:       w <- w - lr * g
    #     Momentum:  v <- mu * v - lr * g;                 w <- w + v
    #     Adagrad:   G <- G + g^2  (G starts at 0.1);      w <- w - lr * g / sqrt(G + eps)
    #     RMSprop:   v <- rho * v + (1 - rho) * g^2;       w <- w - lr * g / sqrt(v + eps)
    #     Adam:      m <- b1 * m + (1 - b1) * g;   v <- b2 * v + (1 - b2) * g^2
    #                w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    #     AdamW:     w <- w - lr * wd * w  (decoupled decay, wd = 0.004 by default); then Adam
    #     Nadam:     u_t = b1 * (1 - 0.5 * 0.96^t);   P_t = u_1 * ... * u_t;   m, v as Adam
    #                m_hat = u_{t+1} m / (1 - P_t u_{t+1}) + (1 - u_t) g / (1 - P_t)
    #                w <- w - lr * m_hat / (sqrt(v / (1 - b2^t)) + eps)
    #     Lion:      w <- w - lr * sign(b1 * m + (1 - b1) * g);   m <- b2 * m + (1 - b2) * g
    #
    # Where Keras's convention differs from the textbook (and so where a
    # from-scratch version usually disagrees with the built-in):
    # - Momentum keeps the learning rate inside the velocity, ``v = mu v - lr g``,
    #   ``w += v`` (Sutskever et al. 2013). The textbook heavy ball
    #   ``v = mu v + g``, ``w -= lr v`` follows the same path for a constant
    #   rate, but not under a schedule: the old velocity keeps the old rate.
    # - Adagrad's accumulator starts at ``initial_accumulator_value=0.1``, not
    #   0, so the first step is ``lr g / sqrt(0.1 + g^2)``, not ``lr sign(g)``;
    #   and ``eps`` sits inside the root. RMSprop also puts ``eps`` inside the
    #   root, where PyTorch adds it outside, ``sqrt(v) + eps``.
    # - Adam folds both bias corrections into the step size and adds ``eps``
    #   to the uncorrected ``sqrt(v)``: the paper's "epsilon hat" (the formula
    #   just before its section 2.1), a larger epsilon in the first steps than
    #   Algorithm 1's. Nadam, by contrast, adds ``eps`` to the corrected root,
    #   and its schedule is ``0.96^t`` where PyTorch's NAdam uses ``0.96^(t/250)``.
    #
    # ``cookbook.optimizers.X(**settings)`` takes exactly the arguments of
    # ``keras.optimizers.X(**settings)`` (``Momentum`` is SGD with
    # ``momentum=0.9``). ``build`` creates each optimizer's state, one buffer
    # per weight: compare the two lists of variables.

    # %%
    w_custom = keras.Variable(w_start, name="w")
    w_builtin = keras.Variable(w_start, name="w")
    custom = cookbook.optimizers.Adam(**WALK_SETTINGS)
    builtin = keras.optimizers.Adam(**WALK_SETTINGS)
    custom.build([w_custom])
    builtin.build([w_builtin])
    cookbook.recipe.show(optimizer_state(custom, builtin), "Variables created by build(): Adam's m and v")

    # %% [markdown]
    # How the class is written changed twice. Keras 2's legacy optimizer
    # (``OptimizerV2``, ``keras.optimizers.legacy``, the default before
    # TensorFlow 2.11) used slots and ``_resource_apply_dense``; the table
    # maps each piece to Keras 3. In between, TensorFlow 2.9-2.10 shipped a
    # new optimizer as ``keras.optimizers.experimental.Optimizer`` and TF
    # 2.11-2.15 made it the default ``keras.optimizers.Optimizer``: it already
    # had ``build(var_list)`` (state via ``add_variable_from_reference``) and
    # ``update_step(gradient, variable)``. Keras 3 keeps that shape, passes
    # the learning rate to ``update_step`` and does the math in ``keras.ops``
    # so one class runs on every backend. Read ``cookbook/optimizers/adam.py``:
    # four methods, the Keras 3 way.

    # %%
    api = cookbook.recipe.show(keras_2_to_3(), "Writing an optimizer: Keras 2 legacy -> Keras 3")
    cookbook.recipe.save_table(api, args, "keras2_to_keras3")

    # %% [markdown]
    # ## Train
    #
    # The walk-through: every step, each optimizer gets the gradient at its
    # own weights through ``apply_gradients`` (what ``fit`` calls after each
    # batch), and ``cookbook.reference`` takes the same step in float64 NumPy
    # (plain formulas, no Keras). Watch the first column: 0 means the two
    # float32 weight matrices are bit-for-bit equal.

    # %%
    reference = cookbook.reference.from_optimizer(custom)  # the same rule and settings, in float64
    w_reference = w_start.astype("float64")
    walk = []
    for step in range(args.steps):
        custom.apply_gradients([(gradient(w_custom.numpy(), step), w_custom)])
        builtin.apply_gradients([(gradient(w_builtin.numpy(), step), w_builtin)])
        w_reference = reference.apply([gradient(w_reference, step)], [w_reference])[0]
        walk.append(
            {
                "step": step + 1,
                "max |cookbook - keras|": float(np.max(np.abs(w_custom.numpy() - w_builtin.numpy()))),
                "max |cookbook - NumPy| / max |w|": float(
                    np.max(np.abs(w_custom.numpy() - w_reference)) / np.max(np.abs(w_reference))
                ),
                "loss": float(0.5 * np.sum(curvature * (w_reference - w_star) ** 2)),
            }
        )
    walk = pd.DataFrame(walk)
    cookbook.recipe.show(
        walk.iloc[[0, 1, 2, len(walk) - 1]], f"Adam({label(WALK_SETTINGS)}), step by step (first three and last)"
    )

    # %% [markdown]
    # The same loop for every optimizer and every switch (momentum,
    # Nesterov, centered, AMSGrad, weight decay, clipnorm ...): each row of
    # the grid is one fresh (cookbook, built-in) pair. ``compare_optimizers``
    # runs the loop above (compiled in a ``tf.function`` on TensorFlow), with
    # a kernel and a bias, and records the same differences at every step.

    # %%
    long = run_grid(QUICK_SETTINGS if args.quick else SETTINGS, args.steps, args.seed)
    table = summarize(long)

    # %% [markdown]
    # The drop-in test: a Digits classifier compiled with
    # ``optimizer=cookbook.optimizers.Adam(...)`` and trained with ``fit``,
    # then the same model from the same seed with ``keras.optimizers.Adam``.
    # ``fit`` calls ``apply_gradients`` once per batch, so the weights should
    # match as they did above.

    # %%
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)

    def build_classifier():
        return keras.Sequential(
            [
                keras.Input((split.X_train.shape[1],)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
                keras.layers.Dense(len(classes), activation="softmax"),
            ]
        )

    keras.utils.set_random_seed(args.seed)
    model_cookbook = build_classifier()
    model_cookbook.compile(
        optimizer=cookbook.optimizers.Adam(learning_rate=FIT_LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history_cookbook = model_cookbook.fit(
        split.X_train, split.y_train, epochs=FIT_EPOCHS, batch_size=FIT_BATCH_SIZE, verbose=0
    )
    print("cookbook.optimizers.Adam, loss per epoch:", np.round(history_cookbook.history["loss"], 6))

    # %% [markdown]
    # The same cell with the built-in: only the optimizer line differs.

    # %%
    keras.utils.set_random_seed(args.seed)
    model_keras = build_classifier()
    model_keras.compile(
        optimizer=keras.optimizers.Adam(learning_rate=FIT_LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history_keras = model_keras.fit(
        split.X_train, split.y_train, epochs=FIT_EPOCHS, batch_size=FIT_BATCH_SIZE, verbose=0
    )
    print("keras.optimizers.Adam,    loss per epoch:", np.round(history_keras.history["loss"], 6))

    # %% [markdown]
    # ## Compare
    #
    # One row per setting: the largest difference between the cookbook and
    # the built-in weights over all steps, and the largest relative error of
    # each against float64 NumPy. What to expect, and why: where the twin
    # performs the same ``keras.ops`` operations in the same order as the
    # built-in, float32 rounds both the same way and their difference is
    # exactly 0 (the line below the table counts the steps where it was).
    # Against float64, both carry float32's rounding, about float32's
    # epsilon (1.2e-7) per operation, and a run's error can build up over
    # its steps; the line below names the settings with the largest and the
    # smallest error, in units of that epsilon. ``weights_moved`` says the
    # weights really travelled: agreement means little if nothing moved.

    # %%
    table = cookbook.recipe.show(table, f"{args.recipe}: cookbook vs Keras vs float64 NumPy, {args.steps} steps")
    exact = int((long["custom_vs_builtin"] == 0).sum())
    largest = table.loc[table["max_rel_custom_vs_numpy"].idxmax()]
    smallest = table.loc[table["max_rel_custom_vs_numpy"].idxmin()]
    print(
        f"cookbook = keras bit for bit at {exact} of {len(long)} steps. Largest relative error against float64 "
        f"in this grid: {largest['max_rel_custom_vs_numpy']:.2g} = "
        f"{largest['max_rel_custom_vs_numpy'] / FLOAT32_EPSILON:.1f}x float32's epsilon ({row_name(largest)}); "
        f"smallest: {smallest['max_rel_custom_vs_numpy']:.2g} = "
        f"{smallest['max_rel_custom_vs_numpy'] / FLOAT32_EPSILON:.1f}x ({row_name(smallest)})."
    )
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(long, args, "per_step")
    cookbook.recipe.save_figure(plot_agreement(long), args, "agreement")
    fit_difference = max_weight_difference(model_cookbook, model_keras)
    fit = cookbook.recipe.show(
        pd.DataFrame(
            [
                {
                    "optimizer": name,
                    "epochs": FIT_EPOCHS,
                    "batch_size": FIT_BATCH_SIZE,
                    "final train loss": history.history["loss"][-1],
                    "test accuracy": float(
                        np.mean(model.predict(split.X_test, verbose=0).argmax(axis=1) == split.y_test)
                    ),
                    "max |weight - cookbook's|": max_weight_difference(model, model_cookbook),
                }
                for name, model, history in (
                    ("cookbook.optimizers.Adam", model_cookbook, history_cookbook),
                    ("keras.optimizers.Adam", model_keras, history_keras),
                )
            ]
        ),
        f"model.fit on {cookbook.recipe.data_name(args)}, Adam(learning_rate={FIT_LEARNING_RATE})",
    )
    cookbook.recipe.save_table(fit, args, "fit")

    # %% [markdown]
    # Four settings no optimizer should take: a ``beta_1`` of 1 (``m`` then
    # stays 0 for ever and the bias correction divides by ``1 - 1**t = 0``:
    # 0/0), a ``rho`` of 1 (``v`` stays 0, so every step divides by
    # ``sqrt(eps)``), a negative learning rate (a step uphill), and
    # ``clipnorm=0``. Each is handed to the built-in and to the cookbook
    # twin: the table shows whether each accepted it, what the built-in's
    # weights did in a few steps (the ``clipnorm`` row next to the same
    # optimizer without ``clipnorm``), and what the twin said.

    # %%
    impossible = run_impossible(min(args.steps, BAD_STEPS), args.seed)
    accepted = int((~impossible["what the built-in did"].str.startswith("refused")).sum())
    refused = int((impossible["cookbook.optimizers says"] != "(accepted)").sum())
    impossible = cookbook.recipe.show(
        impossible,
        f"Impossible settings: the built-ins accepted {accepted} of {len(impossible)}, "
        f"the cookbook twins refused {refused} of {len(impossible)}",
    )
    cookbook.recipe.save_table(impossible, args, "impossible_settings")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    twin_worst = table["max_custom_vs_builtin"].max()
    cookbook.recipe.remember(
        [
            f"Over {len(table)} settings of {table['method'].nunique()} methods and {args.steps} "
            f"apply_gradients steps each, the largest weight difference between a cookbook twin and its "
            f"keras.optimizers built-in was {twin_worst:.3g} ({exact} of {len(long)} steps exactly 0); weights moved "
            f"at least "
            f"{table['weights_moved'].min():.3g}.",
            f"Against the float64 NumPy reference the largest relative error was "
            f"{largest['max_rel_custom_vs_numpy']:.2g} ({row_name(largest)}), "
            f"{largest['max_rel_custom_vs_numpy'] / FLOAT32_EPSILON:.1f}x float32's epsilon; the built-ins' "
            f"was {table['max_rel_builtin_vs_numpy'].max():.2g}.",
            f"model.compile(optimizer=cookbook.optimizers.Adam(...)) + fit for {FIT_EPOCHS} epochs: largest weight "
            f"difference from keras.optimizers.Adam's run {fit_difference:.3g} (final loss "
            f"{history_cookbook.history['loss'][-1]:.5f} vs {history_keras.history['loss'][-1]:.5f}).",
            f"The built-ins accepted {accepted} of {len(impossible)} impossible settings "
            f"({int((impossible['what the built-in did'] == 'weights became NaN').sum())} turned the weights to NaN "
            f"within {min(args.steps, BAD_STEPS)} steps); the cookbook twins refused {refused} of them with a "
            f"ValueError (its message is in the table).",
        ]
    )
    return table


if __name__ == "__main__":
    main()
