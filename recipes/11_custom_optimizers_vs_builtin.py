"""Custom optimizers versus Keras's built-ins: proven equal, step by step.

The cookbook's SGD, Momentum, Adagrad, RMSprop and Adam are Keras 3 optimizers
written as lessons (``build`` + ``update_step`` + ``self.assign*``); here each
one runs next to its ``keras.optimizers`` twin and a float64 NumPy reference
over a grid of settings, and a table shows how far they drift apart (not at
all), what the Keras 2 optimizer API became in Keras 3, and which impossible
settings the built-ins silently accept. It builds on recipes 06-10, which
showed how each optimizer behaves; here is how each one is written, with its
update rule as formulas in the docstring, and the proof that the code
computes exactly what Keras's does.

Run it: ``python recipes/11_custom_optimizers_vs_builtin.py`` (``--quick`` for
a few-second look, ``--steps 300`` to watch longer runs).
"""

# %% [markdown]
# ## Setup

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.optimizers
import cookbook.recipe
from cookbook.compare import compare_optimizers
import keras

STEPS = 50
QUICK_STEPS = 20
TWIN_TOLERANCE = 1e-6       # |custom - built-in|, float32 weights (what the tests demand)
REFERENCE_TOLERANCE = 1e-5  # relative to the float64 reference (what the tests demand)
FLOAT32_EPSILON = float(np.finfo(np.float32).eps)

# (optimizer, non-default settings). Every flag is on at least once.
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
]
QUICK_SETTINGS = [SETTINGS[i] for i in (2, 5, 8, 10)]  # one per optimizer, flags on

# Settings a Keras built-in accepts without a word. BAD_STEPS steps show what it then does.
IMPOSSIBLE = [
    ("Adam", {"learning_rate": 0.01, "beta_1": 1.0}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 1.0}),
    ("SGD", {"learning_rate": -0.1}),
    ("Adagrad", {"learning_rate": 0.1, "clipnorm": 0.0}),
]
BAD_STEPS = 20


# %% [markdown]
# ## Data
#
# There is no dataset: ``compare_optimizers`` feeds both optimizers the same
# stream of gradients of a noisy quadratic bowl (fixed curvature in [0.5, 2],
# fixed noise per step, a kernel and a bias), each computed from that
# optimizer's own weights, so any difference would feed back and grow.

# %%
def prepare_data(args):
    """The grid of settings to compare: one row per (optimizer, settings)."""
    settings = QUICK_SETTINGS if args.quick else SETTINGS
    return pd.DataFrame({"optimizer": [name for name, _ in settings],
                         "settings": [_label(config) for _, config in settings],
                         "config": [config for _, config in settings]})


def _label(config):
    return ", ".join(f"{key}={value}" for key, value in config.items())


# %% [markdown]
# ## Model
#
# The "model" is the optimizer pair. ``cookbook.optimizers.X(**cfg)`` takes
# exactly the arguments of ``keras.optimizers.X(**cfg)``; ``Momentum`` is
# SGD with ``momentum=0.9`` by default, so its twin is that SGD. Read
# ``cookbook/optimizers/adam.py``: four methods, the Keras 3 way.

# %%
def build_optimizers(name, config):
    """A fresh (cookbook, Keras built-in) pair with the same settings."""
    builtin_name, builtin_config = name, dict(config)
    if name == "Momentum":
        builtin_name = "SGD"
        builtin_config.setdefault("momentum", 0.9)
    return (getattr(cookbook.optimizers, name)(**config),
            getattr(keras.optimizers, builtin_name)(**builtin_config))


def keras_2_to_3():
    """What a Keras 2 custom optimizer used, and what replaces it in Keras 3."""
    return pd.DataFrame([
        ("class MyOpt(keras.optimizers.legacy.Optimizer)",
         "class MyOpt(keras.optimizers.Optimizer)", "one optimizer API, any backend"),
        ("self._set_hyper('beta_1', beta_1)", "self.beta_1 = beta_1",
         "hyperparameters are plain attributes"),
        ("_create_slots(var_list): self.add_slot(var, 'm')",
         "build(var_list): self.add_optimizer_variables(var_list, ['m'])",
         "state is created once, for all variables"),
        ("_resource_apply_dense(grad, var, apply_state)",
         "update_step(gradient, variable, learning_rate)", "one method, dense or sparse"),
        ("_resource_apply_sparse(grad, var, indices)", "(the same update_step)",
         "gradient may be tf.IndexedSlices; self.assign* scatters it"),
        ("self._decayed_lr(var_dtype), self._get_hyper(...)",
         "ops.cast(learning_rate, variable.dtype)", "the schedule is applied for you"),
        ("tf.math.sqrt, training_ops.resource_apply_*", "keras.ops.sqrt, keras.ops.*",
         "backend-neutral math"),
        ("var.assign_sub(...), m.assign(...)", "self.assign_sub(var, ...), self.assign(m, ...)",
         "keeps sparse updates and tf.distribute working"),
        ("_serialize_hyperparameter('beta_1')", "config.update({'beta_1': self.beta_1})",
         "get_config returns plain values"),
    ], columns=["Keras 2 (TensorFlow 2.x)", "Keras 3", "why"])


# %% [markdown]
# ## Train
#
# Every pair takes the same steps from the same start.

# %%
def run_comparisons(grid, steps, seed):
    """compare_optimizers for every row of the grid, stacked into one long table."""
    tables = []
    for row in grid.itertuples(index=False):
        table = compare_optimizers(*build_optimizers(row.optimizer, row.config), steps=steps,
                                   seed=seed)
        tables.append(table.assign(optimizer=row.optimizer, settings=row.settings))
    return pd.concat(tables, ignore_index=True)


def run_impossible(steps, seed):
    """What the built-in does with each impossible setting, and what the cookbook says."""
    rows = []
    for name, config in IMPOSSIBLE:
        builtin = getattr(keras.optimizers, name)(**config)
        probe = getattr(keras.optimizers, name)(**config)
        moved = compare_optimizers(builtin, probe, steps=steps, seed=seed,
                                   reference=False)["custom_moved"].iloc[-1]
        try:
            getattr(cookbook.optimizers, name)(**config)
            refusal = "(accepted)"
        except ValueError as error:
            refusal = str(error)
        rows.append({"optimizer": name, "settings": _label(config),
                     f"built-in: distance moved in {steps} steps": moved,
                     "what the built-in did": _what_happened(name, config, moved),
                     "cookbook.optimizers says": refusal})
    return pd.DataFrame(rows)


def _what_happened(name, config, moved):
    """The built-in's behaviour on an impossible setting, in words."""
    if np.isnan(moved):
        return "weights became NaN"
    if config.get("clipnorm") == 0.0:
        return "clipnorm=0 treated as 'no clipping'"
    if config.get("learning_rate", 0) < 0:
        return "walked uphill (negative rate)"
    return "trained"


# %% [markdown]
# ## Compare
#
# The custom and built-in weights are equal to the bit. Against float64
# NumPy the relative error stays near float32's rounding (1.2e-7); Adam's
# is larger because Keras rounds ``beta_2`` to float32 before the bias
# correction ``1 - beta_2**t`` (0.999 becomes 0.99900001), a systematic
# ~6e-6 on the step size that float64 does not have.

# %%
def summarize(long):
    """One row per setting: the largest differences over all steps, and how far weights moved."""
    return (long.groupby(["optimizer", "settings"], sort=False)
            .agg(steps=("step", "max"),
                 max_custom_vs_builtin=("custom_vs_builtin", "max"),
                 max_rel_custom_vs_numpy=("custom_vs_reference", "max"),
                 max_rel_builtin_vs_numpy=("builtin_vs_reference", "max"),
                 weights_moved=("custom_moved", "last"))
            .reset_index())


def plot_agreement(long):
    """Per step: custom vs built-in, and custom vs float64 NumPy (log scale), per setting."""
    fig = Figure(figsize=(11, 4.2))
    twin_ax, ref_ax = fig.subplots(1, 2)
    colors = dict(zip(long["optimizer"].unique(), ["C0", "C1", "C2", "C3", "C4"]))
    floor = FLOAT32_EPSILON * 1e-4  # where an exact 0 is drawn on a log axis
    for (name, settings), part in long.groupby(["optimizer", "settings"], sort=False):
        twin_ax.plot(part["step"], part["custom_vs_builtin"].clip(lower=floor), color=colors[name])
        ref_ax.plot(part["step"], part["custom_vs_reference"], color=colors[name], alpha=0.8,
                    label=name if name not in ref_ax.get_legend_handles_labels()[1] else None)
    exact = int((long["custom_vs_builtin"] == 0).sum())
    twin_ax.set(yscale="log", xlabel="step", ylabel="max |custom - built-in|",
                title=f"custom vs built-in: exactly 0 at {exact} of {len(long)} steps",
                ylim=(floor / 10, 1e-3))
    twin_ax.axhline(TWIN_TOLERANCE, color="grey", linestyle="--", label="test tolerance 1e-6")
    twin_ax.set_yticks([floor, 1e-9, 1e-6, 1e-3], ["0 (exact)", "1e-9", "1e-6", "1e-3"])
    twin_ax.legend(loc="upper right")
    ref_ax.axhline(REFERENCE_TOLERANCE, color="grey", linestyle="--", label="test tolerance 1e-5")
    ref_ax.axhline(FLOAT32_EPSILON, color="grey", linestyle=":", label="float32 epsilon")
    ref_ax.set(yscale="log", xlabel="step", ylabel="max |custom - NumPy| / max |w|",
               title="custom vs float64 NumPy reference (relative)")
    ref_ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    fig.suptitle("Cookbook optimizers against Keras's built-ins")
    return fig


# %%
def main(argv=None):
    """Compare every setting, print and save the agreement, API and refusal tables and the plot."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, steps=STEPS, quick_steps=QUICK_STEPS,
                                         steps_help="update steps per comparison")
    args = cookbook.recipe.parse_args(parser, argv)
    steps = args.steps
    keras.utils.set_random_seed(args.seed)

    grid = prepare_data(args)
    long = run_comparisons(grid, steps, args.seed)
    table = summarize(long)
    api = keras_2_to_3()
    impossible = run_impossible(min(steps, BAD_STEPS), args.seed)

    cookbook.recipe.print_table(table, f"{args.recipe}: cookbook vs Keras vs float64 NumPy, "
                                       f"{steps} steps")
    cookbook.recipe.print_table(api, "Writing an optimizer: Keras 2 -> Keras 3")
    cookbook.recipe.print_table(impossible, "Impossible settings: Keras trains on, the cookbook refuses")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(long, args, "per_step")
    cookbook.recipe.save_table(api, args, "keras2_to_keras3")
    cookbook.recipe.save_table(impossible, args, "impossible_settings")
    cookbook.recipe.save_figure(plot_agreement(long), args, "agreement")
    return table


if __name__ == "__main__":
    main()
