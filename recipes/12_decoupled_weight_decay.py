"""L2 in the loss versus decoupled weight decay: under Adam they shrink different weights; under SGD they are one rule.

An L2 penalty in the loss adds ``2 * l2 * w`` to every gradient, and Adam then
divides that term by ``sqrt(v)``, like the rest of the gradient: weights whose
data gradients are small get shrunk hard, weights with large gradients hardly
at all. AdamW (Loshchilov and Hutter, "Decoupled Weight Decay
Regularization", 2019) takes the decay out of the gradient and shrinks every
weight by the same share ``lr * weight_decay`` per step. We train one small
MLP on Digits three ways (Adam, Adam with ``keras.regularizers.L2``, AdamW),
compare the first layer's weights leaving never, rarely and often inked
pixels, and then show numerically that with SGD the two rules coincide when
``weight_decay = 2 * l2``. It builds on recipe 09 (busy and rare pixels, a
rate per weight) and recipe 11 (the same MLP, ``compile`` and ``fit``).

Run it: ``python recipes/12_decoupled_weight_decay.py`` (about 15 s;
``--quick`` for a few seconds).
"""

# %% [markdown]
# ## Setup
#
# Every setting is a named constant. Both regularizers act on the layers'
# kernels only, never on the biases: the L2 penalty sits on
# ``kernel_regularizer``, and the decoupled decay is told to skip the
# biases with ``exclude_from_weight_decay``, so the two runs regularize the
# same weights.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.optimizers
import cookbook.recipe
from cookbook.lessons import agreement, weight_decay

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EPOCHS = 12
QUICK_EPOCHS = 3
BATCH_SIZE = 64
HIDDEN_UNITS = 32
LEARNING_RATE = 0.003  # Adam and AdamW
L2 = 1e-3  # keras.regularizers.L2(L2) adds L2 * sum(w^2) to the loss: gradient 2 * L2 * w
WEIGHT_DECAY = 0.5  # AdamW: each step removes lr * WEIGHT_DECAY = 0.15% of every kernel weight
RARE_BELOW = 0.10  # "rare" pixel: inked in under 10% of the training images (as in recipe 09)
BUSY_FROM = 0.50  # "busy" pixel: inked in at least half of them
GROUPS = ("never", "rare", "sometimes", "busy")

SGD_LEARNING_RATE = 0.1
EQUIVALENCE_EPOCHS = 2  # the SGD check: every step recorded
QUICK_EQUIVALENCE_EPOCHS = 1


# %% [markdown]
# Helpers that only draw; the measuring helpers are in
# ``cookbook.lessons.weight_decay`` and the Keras code is in ``main``.


# %%
def plot_lesson(norms, initial, decay_points, gaps, adamw_share):
    """Left: weight RMS per pixel group and method. Middle: the L2 term's shrink per step. Right: the SGD check."""
    fig = Figure(figsize=(16, 5.2), layout="constrained")
    bars, shrink, check = fig.subplots(1, 3)
    positions = np.arange(len(GROUPS))
    ticks = [f"{g}\n({n} pixels)" for g, n in zip(GROUPS, decay_points["sizes"])]
    width = 0.8 / len(norms)
    for i, (name, row) in enumerate(norms.items()):
        drawn = bars.bar(positions + (i - 1) * width, [row[g] for g in GROUPS], width, label=name)
        bars.bar_label(drawn, fmt="%.2f", fontsize="x-small")  # a bar shrunk to ~0 still shows its value
    initial_rms = [initial[g] for g in GROUPS]
    bars.hlines(
        initial_rms, positions - 0.4, positions + 0.4, color="black", linewidth=2, label="before training (all)"
    )
    bars.set_xticks(positions, ticks)
    bars.set_ylim(0, 1.3 * max(max(row.values()) for row in norms.values()))  # room for the legend
    bars.set(
        xlabel="input pixels, by the share of training images that ink them",
        ylabel="RMS of the first-layer weights leaving them",
        title=f"After training: weight size per pixel group (lr {LEARNING_RATE:g})",
    )
    bars.legend(fontsize="small", ncol=2, loc="upper left")

    jitter = np.random.default_rng(0)  # spread the dots sideways so they do not hide each other
    for i, name in enumerate(GROUPS):
        share = decay_points["share"][name]
        shrink.plot(i + jitter.uniform(-0.3, 0.3, len(share)), share, ".", markersize=3, alpha=0.4, color="C1")
        shrink.plot([i - 0.35, i + 0.35], [np.median(share)] * 2, color="black", linewidth=2)
    shrink.plot([], [], ".", color="C1", label=f"Adam + L2({L2:g}): one dot per weight")
    shrink.plot([], [], color="black", linewidth=2, label="Adam + L2: median of the group")
    shrink.axhline(
        adamw_share, color="C2", linewidth=2, label=f"AdamW: lr x weight_decay = {adamw_share:.2g}, every weight"
    )
    shrink.set_xticks(positions, ticks)
    shrink.set(
        yscale="log",
        xlabel="input pixels, by the share of training images that ink them",
        ylabel="share of w removed per step (log scale)",
        title="Adam + L2 at the end: lr 2 l2 / (sqrt(v_hat) + eps) per weight",
    )
    shrink.legend(fontsize="small", loc="upper right")

    for label, gap in gaps.items():
        check.semilogy(np.arange(1, len(gap) + 1), np.maximum(gap, 1e-18), label=label)
    check.set(
        xlabel="optimizer step (mini-batches of 64)",
        ylabel="max |w_L2 - w_decay| over all weights (log scale)",
        title=f"L2 vs decoupled decay, same start and batches\n(SGD lr {SGD_LEARNING_RATE:g}, Adam lr {LEARNING_RATE:g})",
    )
    check.xaxis.set_major_locator(MaxNLocator(integer=True))
    check.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="digits")


# %%
def main(argv=None):
    """Adam, Adam + L2 and AdamW on Digits, weight sizes per pixel group; then SGD's L2 against its decay."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    equivalence_epochs = QUICK_EQUIVALENCE_EPOCHS if args.quick else EQUIVALENCE_EPOCHS

    # %% [markdown]
    # ## Data
    #
    # Digits: 8x8 images of handwritten digits, pixel ink 0..16, scaled to
    # [0, 1] (as in recipe 09) so a blank pixel feeds exactly 0 to the
    # network. A first-layer weight's gradient is its input times an error
    # signal, so weights leaving a pixel that is blank in most images get a
    # data gradient in few batches (none at all for a pixel never inked):
    # these are the weights with *small* gradients, the busy centre pixels'
    # weights those with *large* ones. We group the 64 pixels by the share of
    # training images that ink them.

    # %%
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)
    X_train, X_test = weight_decay.to_unit_range(split)
    y_train, y_test = split.y_train, split.y_test
    groups = weight_decay.input_groups(X_train, RARE_BELOW, BUSY_FROM)
    sizes = [int(groups[g].sum()) for g in GROUPS]
    if min(sizes[1:]) == 0:
        cookbook.recipe.fail(
            args,
            f"{cookbook.recipe.data_name(args)} has {sizes[1]} rare, {sizes[2]} sometimes and {sizes[3]} busy "
            f"features (nonzero in < {RARE_BELOW:.0%}, in between, >= {BUSY_FROM:.0%} of rows): this lesson "
            f"needs all three (sparse features, like blank pixels)",
        )
    print(
        f"{len(X_train)} training rows, {len(X_test)} test rows; {X_train.shape[1]} pixels: "
        + ", ".join(f"{n} {g}" for g, n in zip(GROUPS, sizes))
        + f" (rare: inked in < {RARE_BELOW:.0%} of images, busy: >= {BUSY_FROM:.0%})"
    )

    # %% [markdown]
    # ## Model
    #
    # The MLP of recipe 11, built by one function: ``l2`` puts
    # ``keras.regularizers.L2(l2)`` on both kernels (biases are left
    # alone). We
    # use the regularizer argument rather than writing the penalty into a
    # custom loss: Keras adds ``L2 * sum(w^2)`` of every regularized kernel
    # to the batch's loss inside ``fit`` (``model.losses``), so the
    # penalty is differentiated with the rest and ``fit`` stays plain.
    # Keras's ``L2(l2)`` has no 1/2 in front: its gradient is
    # ``2 * l2 * w``.

    # %%
    def build_model(l2=None):
        regularizer = keras.regularizers.L2(l2) if l2 else None
        return keras.Sequential(
            [
                keras.Input((X_train.shape[1],)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu", kernel_regularizer=regularizer),
                keras.layers.Dense(len(classes), activation="softmax", kernel_regularizer=regularizer),
            ]
        )

    keras.utils.set_random_seed(args.seed)
    build_model(L2).summary()

    # %% [markdown]
    # The update rules for one kernel weight ``w`` with data gradient ``g``
    # (``m``, ``v`` start at 0, ``t`` counts steps, Keras's ``eps`` = 1e-7):
    #
    #     Adam + L2   g' = g + 2 l2 w                      (the penalty is part of the gradient)
    #                 m <- b1 m + (1 - b1) g'      v <- b2 v + (1 - b2) g'^2
    #                 w <- w - lr * m_hat / (sqrt(v_hat) + eps)
    #     AdamW       w <- w - lr * wd * w                 (decay first, on w itself)
    #                 m, v from g alone;  w <- w - lr * m_hat / (sqrt(v_hat) + eps)
    #
    # In Adam + L2 the penalty's pull ``2 l2 w`` is divided by ``sqrt(v_hat)``
    # like the data gradient: per step it removes about
    # ``lr * 2 l2 / sqrt(v_hat)`` of ``w``. A weight with a small gradient
    # RMS (small ``v``) is shrunk hard: with no data gradient at all,
    # ``m_hat / sqrt(v_hat)`` is about 1 and ``w`` loses ``lr`` per step
    # whatever ``l2`` is. A weight with large gradients is hardly shrunk.
    # AdamW removes ``lr * wd`` of every weight per step, its gradient size
    # does not matter. Keras applies that decay in the base optimizer
    # (``_apply_weight_decay`` in ``keras/src/optimizers/base_optimizer.py``:
    # ``variable.assign(variable - variable * wd * lr)``) before the Adam
    # step, with the gradient already computed at the old ``w``.

    # %% [markdown]
    # ## Train
    #
    # One dict of three optimizers and one loop, as in recipe 11: the same
    # seeded start and batch order for each. AdamW is the cookbook's twin
    # ``cookbook.optimizers.AdamW`` (recipe 14's kind: the same arguments
    # and results as ``keras.optimizers.AdamW``, which works here
    # unchanged). ``exclude_from_weight_decay(var_names=["bias"])`` keeps
    # its decay off the biases, as the regularizer is. The test cross-entropy
    # is measured from the predictions, without the penalty that
    # ``evaluate`` would add.

    # %%
    def make_adamw(learning_rate, wd):
        optimizer = cookbook.optimizers.AdamW(learning_rate=learning_rate, weight_decay=wd)
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        return optimizer

    runs = {
        "Adam": (None, lambda: keras.optimizers.Adam(learning_rate=LEARNING_RATE)),
        "Adam + L2": (L2, lambda: keras.optimizers.Adam(learning_rate=LEARNING_RATE)),
        "AdamW": (None, lambda: make_adamw(LEARNING_RATE, WEIGHT_DECAY)),
    }
    settings = {
        "Adam": f"lr {LEARNING_RATE:g}",
        "Adam + L2": f"lr {LEARNING_RATE:g}, L2({L2:g}) on kernels",
        "AdamW": f"lr {LEARNING_RATE:g}, weight_decay {WEIGHT_DECAY:g}, biases excluded",
    }
    models, optimizers = {}, {}
    for name, (l2, make_optimizer) in runs.items():
        keras.utils.set_random_seed(args.seed)
        model = build_model(l2)
        if name == "Adam":
            initial_kernel = keras.ops.convert_to_numpy(model.layers[0].kernel)
        model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(X_train, y_train, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0)
        models[name], optimizers[name] = model, model.optimizer
    steps = int(keras.ops.convert_to_numpy(optimizers["Adam"].iterations))
    print(f"3 runs of {args.epochs} epochs ({steps} steps of mini-batches of {BATCH_SIZE})")

    # %% [markdown]
    # ## Compare
    #
    # The first layer's kernel has one row per pixel: the RMS of the rows
    # of each group, per method, and the test scores. Read each group
    # against Adam without decay: how much did each regularizer take off?

    # %%
    initial = weight_decay.group_rms(initial_kernel, groups)
    norms = {name: weight_decay.group_rms(model.layers[0].kernel, groups) for name, model in models.items()}
    rows = []
    for name, model in models.items():
        probabilities = keras.ops.convert_to_numpy(model.predict(X_test, batch_size=len(X_test), verbose=0))
        cross_entropy = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y_test, probabilities))
        row = {"method": name, "settings": settings[name]}
        row |= {f"weight RMS: {g}": norms[name][g] for g in GROUPS}
        row["rare / busy RMS"] = norms[name]["rare"] / norms[name]["busy"]
        row["test accuracy"] = float(np.mean(probabilities.argmax(axis=1) == y_test))
        row["test cross-entropy"] = float(keras.ops.convert_to_numpy(cross_entropy))
        rows.append(row)
    table = cookbook.recipe.show(
        pd.DataFrame(rows), f"{args.recipe}: first-layer weights and test scores after {args.epochs} epochs"
    )
    cookbook.recipe.save_table(table, args)

    # %% [markdown]
    # Why: Adam's ``v`` holds each weight's recent squared gradient. We read
    # it back from the optimizers (``optimizer.variables``) as
    # ``sqrt(v_hat)``: in the Adam run it is the data gradient's RMS alone
    # (exactly 0 for a pixel never inked), in the Adam + L2 run it includes
    # the penalty's ``2 l2 w``. From the latter, the share of ``w`` the L2
    # term removes per step, ``lr * 2 l2 / (sqrt(v_hat) + eps)``, next to
    # AdamW's ``lr * wd``. The medians per group, and each regularized run's
    # weight RMS as a share of Adam's. The share assumes ``m`` holds
    # about ``2 l2 w``: a never-inked pixel's weight, pushed by the penalty
    # alone, has been driven to near 0 and steps about ``lr`` back and
    # forth around it, so its share can read above 1.

    # %%
    data_rms = weight_decay.adam_gradient_rms(optimizers["Adam"], models["Adam"].layers[0].kernel)
    l2_rms = weight_decay.adam_gradient_rms(optimizers["Adam + L2"], models["Adam + L2"].layers[0].kernel)
    l2_share = weight_decay.l2_decay_per_step(optimizers["Adam + L2"], models["Adam + L2"].layers[0].kernel, L2)
    adamw_share = LEARNING_RATE * WEIGHT_DECAY
    by_group = pd.DataFrame(
        {
            "pixels": GROUPS,
            "count": sizes,
            "Adam: median sqrt(v_hat)": [np.median(data_rms[groups[g]]) for g in GROUPS],
            "Adam + L2: median sqrt(v_hat)": [np.median(l2_rms[groups[g]]) for g in GROUPS],
            "Adam + L2: median share of w removed per step": [np.median(l2_share[groups[g]]) for g in GROUPS],
            "AdamW: share removed per step": adamw_share,
            "Adam + L2 RMS / Adam RMS": [norms["Adam + L2"][g] / norms["Adam"][g] for g in GROUPS],
            "AdamW RMS / Adam RMS": [norms["AdamW"][g] / norms["Adam"][g] for g in GROUPS],
        }
    )
    by_group = cookbook.recipe.show(by_group, "Per pixel group: gradient size, shrink per step, what was left")
    cookbook.recipe.save_table(by_group, args, "groups")

    # %% [markdown]
    # ## SGD: the two rules coincide
    #
    # With SGD (momentum 0, mini-batches of 64) there is no ``v`` to divide
    # by. L2 in the loss gives ``w <- w - lr * (g + 2 l2 w)``; Keras's
    # decoupled decay gives ``w <- w - lr * wd * w``, then
    # ``w <- w - lr * g`` with ``g`` computed at the old ``w``. Both are
    # ``w (1 - lr * 2 l2) - lr * g`` when ``wd = 2 l2``: the decay is
    # already scaled by the learning rate in Keras (and PyTorch), so the
    # correspondence does not depend on ``lr``. (Were the decay applied
    # *after* the gradient step, the two would differ by
    # ``lr^2 * wd * g`` per step.) We train each pair from the same start
    # on the same batches and record every weight after every step with a
    # callback; the gap is the largest entry-wise difference. (The callback
    # reads ``self.model``, not a model captured from outside: on JAX,
    # ``fit`` keeps the weights out of the model between epochs, and
    # ``self.model`` writes them back first.)
    # ``keras.config.set_floatx`` and ``set_dtype_policy`` run one pair in
    # double precision, to tell a rounding gap from a difference in the rule
    # (JAX keeps float32 unless its ``jax_enable_x64`` flag is on: the table
    # names the dtype the weights really had). The
    # same pair under Adam, and SGD with ``wd = l2`` (Keras's factor 2
    # forgotten), show what a real difference looks like.

    # %%
    class RecordWeights(keras.callbacks.Callback):
        """A copy of every weight after every step."""

        def __init__(self):
            super().__init__()
            self.snapshots = []

        def on_train_batch_end(self, batch, logs=None):
            self.snapshots.append(self.model.get_weights())

    def train_recording(l2, make_optimizer, dtype="float32"):
        policy = keras.config.dtype_policy()
        keras.config.set_floatx(dtype)  # the loss and the optimizer's state in this precision
        keras.config.set_dtype_policy(dtype)  # and the layers' weights and computations
        try:
            keras.utils.set_random_seed(args.seed)
            model = build_model(l2)
            model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy")
            record = RecordWeights()
            model.fit(X_train, y_train, epochs=equivalence_epochs, batch_size=BATCH_SIZE, verbose=0, callbacks=[record])
        finally:
            keras.config.set_floatx("float32")
            keras.config.set_dtype_policy(policy)
        return record.snapshots

    def make_sgd_decay(wd):
        optimizer = keras.optimizers.SGD(learning_rate=SGD_LEARNING_RATE, weight_decay=wd)
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        return optimizer

    sgd = lambda: keras.optimizers.SGD(learning_rate=SGD_LEARNING_RATE)  # noqa: E731
    adam = lambda: keras.optimizers.Adam(learning_rate=LEARNING_RATE)  # noqa: E731
    pairs = {  # "{dtype}" is filled in with the precision the weights really had
        f"SGD {{dtype}}: L2({L2:g}) vs weight_decay {2 * L2:g}": (
            (L2, sgd, "float32"),
            (None, lambda: make_sgd_decay(2 * L2), "float32"),
        ),
        f"SGD {{dtype}}: L2({L2:g}) vs weight_decay {2 * L2:g} ": (
            (L2, sgd, "float64"),
            (None, lambda: make_sgd_decay(2 * L2), "float64"),
        ),
        f"SGD {{dtype}}: L2({L2:g}) vs weight_decay {L2:g} (factor 2 forgotten)": (
            (L2, sgd, "float32"),
            (None, lambda: make_sgd_decay(L2), "float32"),
        ),
        f"Adam {{dtype}}: L2({L2:g}) vs AdamW weight_decay {2 * L2:g}": (
            (L2, adam, "float32"),
            (None, lambda: make_adamw(LEARNING_RATE, 2 * L2), "float32"),
        ),
    }
    gaps, rows, paths = {}, [], {}
    for template, (with_l2, with_decay) in pairs.items():
        for run in (with_l2, with_decay):
            if run not in paths:  # the float32 SGD + L2 run serves two pairs: train it once
                paths[run] = train_recording(*run)
        path_l2, path_decay = paths[with_l2], paths[with_decay]
        dtype = str(path_l2[-1][0].dtype)  # JAX, for one, runs float64 in float32 unless x64 is enabled
        label = template.format(dtype=dtype).strip()
        if dtype != with_l2[2]:
            label += f" (asked for {with_l2[2]})"
        gap = np.array([agreement.max_difference(a, b) for a, b in zip(path_l2, path_decay)])
        gaps[label] = gap
        size = max(float(np.max(np.abs(w))) for w in path_l2[-1])
        rows.append(
            {
                "pair": label,
                "weights' dtype": dtype,
                "steps": len(gap),
                "max gap after step 1": gap[0],
                "max gap, any step": gap.max(),
                "gap / largest |w|": gap.max() / size,
            }
        )
    equivalence = cookbook.recipe.show(pd.DataFrame(rows), "L2 in the loss vs decoupled decay, step by step")
    cookbook.recipe.save_table(equivalence, args, "equivalence")

    # %% [markdown]
    # The float32 SGD pair is not bit for bit equal: ``(w - w*wd*lr) - lr*g``
    # and ``w - lr*(g + 2*l2*w)`` round differently in float32 (about 1e-7
    # of ``w`` per step), and once two runs differ by a rounding error their
    # gradients differ by about as much in the next step. If the rules are
    # the same and only the rounding differs, the float64 gap is smaller
    # than the float32 one by about the ratio of the two precisions'
    # epsilons (2.2e-16 against 1.2e-7, 5e8x); a difference in the rule
    # would not shrink with the precision. The figure shows all three parts:
    # the weights per pixel group, the L2 term's shrink per step per group,
    # and the gaps step by step.

    # %%
    gap = equivalence["max gap, any step"].to_numpy()  # rows: SGD float32, SGD float64, factor 2 forgotten, Adam
    precise = equivalence["weights' dtype"].iloc[1]  # "float64" unless the backend would not
    precision_ratio = gap[0] / gap[1] if gap[1] > 0 else np.inf
    epsilon_ratio = np.finfo(np.float32).eps / np.finfo(np.float64).eps
    print(
        f"SGD gap float32 / {precise}: {precision_ratio:.3g}x (epsilon "
        f"ratio {epsilon_ratio:.3g}x); factor 2 forgotten: {gap[2] / gap[0]:.3g}x the float32 gap"
    )
    decay_points = {
        "sizes": sizes,
        "gradient rms": {g: l2_rms[groups[g]].ravel() for g in GROUPS},
        "share": {g: l2_share[groups[g]].ravel() for g in GROUPS},
    }
    fig = plot_lesson(norms, initial, decay_points, gaps, adamw_share)
    cookbook.recipe.save_figure(fig, args, "weight_decay")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by = table.set_index("method")
    g = by_group.set_index("pixels")
    accuracy = by["test accuracy"]
    cookbook.recipe.remember(
        [
            f"Adam + L2({L2:g}) left the weights of rare pixels at {g.loc['rare', 'Adam + L2 RMS / Adam RMS']:.2f}x "
            f"Adam's RMS and those of busy pixels at {g.loc['busy', 'Adam + L2 RMS / Adam RMS']:.2f}x; AdamW "
            f"(weight_decay {WEIGHT_DECAY:g}) at {g.loc['rare', 'AdamW RMS / Adam RMS']:.2f}x and "
            f"{g.loc['busy', 'AdamW RMS / Adam RMS']:.2f}x, after {steps} steps at lr {LEARNING_RATE:g}.",
            f"Why: in Adam + L2 the median share of w the penalty removed per step was about "
            f"{g.loc['rare', 'Adam + L2: median share of w removed per step']:.2g} for rare pixels (median gradient "
            f"RMS {g.loc['rare', 'Adam: median sqrt(v_hat)']:.2g} without the penalty) and "
            f"{g.loc['busy', 'Adam + L2: median share of w removed per step']:.2g} for busy ones (gradient RMS "
            f"{g.loc['busy', 'Adam: median sqrt(v_hat)']:.2g}); AdamW removed {adamw_share:.2g} of "
            f"every weight.",
            f"With SGD, L2({L2:g}) in the loss and weight_decay {2 * L2:g} stayed within {gap[0]:.2g} of each "
            f"other over {len(gaps[next(iter(gaps))])} steps in float32 and {gap[1]:.2g} in {precise} "
            + (
                f"({precision_ratio:.2g}x smaller; the epsilons differ {epsilon_ratio:.2g}x)"
                if precise == "float64"
                else "(this backend kept float32 weights when asked for float64: no precision effect to see)"
            )
            + f"; weight_decay {L2:g} drifted to {gap[2]:.2g}, and the same pair under Adam to {gap[3]:.2g}.",
            f"Test accuracy: Adam {accuracy['Adam']:.3f}, Adam + L2 {accuracy['Adam + L2']:.3f}, AdamW "
            f"{accuracy['AdamW']:.3f}: the three differ by at most "
            f"{round((accuracy.max() - accuracy.min()) * len(X_test))} of {len(X_test)} test images, in one run "
            f"of one seed each; the lesson is where each regularizer shrinks, not which scores best.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
