"""Evidence for lesson 07 (batch, stochastic and mini-batch gradient descent): data, records, verdicts, figures.

In Keras the optimizer is only the update rule; how many rows feed one
update is ``batch_size`` in ``model.fit``::

    model.fit(X, y, batch_size=len(X))   # batch gradient descent: 1 update per epoch
    model.fit(X, y, batch_size=1)        # stochastic gradient descent: N updates per epoch
    model.fit(X, y, batch_size=32)       # mini-batch gradient descent: ceil(N / 32)

The lesson writes those calls; this module makes the data (a linear
regression whose minimum ``numpy.linalg.lstsq`` gives exactly), records the
whole training set's loss after every update (``UpdateRecorder``), judges
the learning-rate grid against the noise of the validation split
(``rate_table``), measures how much the loss moves near the minimum
(``wobble``), records which rows each epoch visits (``RowOrderRecorder``), and
measures TensorFlow's repeated shuffle order; the fix is ``cookbook.ReshuffledArrays`` (``cookbook/shuffling.py``).
Speed and memory are measured in ``benchmarks/gradient_descent_variants.py``.

Symbols: ``X`` is the (N, D) feature matrix, ``w`` the kernel, ``b`` the
bias, ``lr`` the learning rate, ``B`` the rows of one batch; one update is
``w <- w - lr * 2/|B| * X_B^T (X_B w + b - y_B)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, verdict_of
from cookbook.errors import LessonError
from cookbook.figures import plain_log_ticks

import keras
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DIVERGENCE_FACTOR",
    "RowOrderRecorder",
    "UpdateRecorder",
    "claims",
    "forget_global_seed",
    "hessian_eigenvalues",
    "least_squares",
    "make_linear_data",
    "mse",
    "orders_table",
    "paired_difference",
    "plot_learning_rates",
    "plot_updates",
    "progress_table",
    "rate_table",
    "repeat_runs",
    "stability_table",
    "updates_per_epoch",
    "wobble",
]

DIVERGENCE_FACTOR = 1e3  # UpdateRecorder stops a run whose training loss grew this many times
NOISE_SE = 2.0  # two validation MSEs closer than 2 paired standard errors are "within the noise"


def updates_per_epoch(n_samples: int, batch_size: int) -> int:
    """How many updates one epoch of ``model.fit`` makes: ``ceil(N / batch_size)`` (a short last batch counts).

    Raises:
        LessonError: ``batch_size`` is below 1 or not a whole number.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise LessonError(
            f"batch_size must be a whole number of at least 1, got {batch_size!r}; "
            "use len(X) for batch GD, 1 for stochastic GD or 32 for mini-batch GD"
        )
    return math.ceil(n_samples / batch_size)


# ---------------------------------------------------------------------------
# Data, and the exact answers in float64 NumPy
# ---------------------------------------------------------------------------


def make_linear_data(
    n_samples: int, n_features: int = 5, *, correlation: float = 0.2, noise: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic linear regression ``y = X w_true + 0.3 + noise * N(0, 1)``, as float32 ``(X, y)``.

    The features are exactly standardized with the same ``correlation``
    between every pair, so the MSE's Hessian has the same eigenvalues for
    any number of rows: ``2 (1 + (D - 1) correlation)``, ``2 (1 - correlation)``
    and 2 (condition number 2.25 for 5 features at 0.2).

    Raises:
        LessonError: no more rows than features, or a correlation outside [0, 1).
    """
    if n_features < 1 or n_samples <= n_features:
        raise LessonError(f"need more rows than features, got {n_samples} x {n_features}")
    if not 0 <= correlation < 1:
        raise LessonError(f"correlation must be in [0, 1), got {correlation!r}; try 0.2")
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, n_features))
    Z -= Z.mean(axis=0)
    whiten = np.linalg.cholesky(np.linalg.inv(Z.T @ Z / n_samples))  # Z @ whiten has covariance I
    covariance = np.full((n_features, n_features), correlation) + (1 - correlation) * np.eye(n_features)
    X = Z @ whiten @ np.linalg.cholesky(covariance).T
    y = X @ (0.6 * np.linspace(1.0, -0.6, n_features)) + 0.3 + noise * rng.standard_normal(n_samples)
    return X.astype("float32"), y.astype("float32")


def mse(X: np.ndarray, y: np.ndarray, kernel: np.ndarray, bias: float | np.ndarray) -> float:
    """Mean squared error of ``X @ kernel + bias``, in float64 (inf for a diverged run, without a warning)."""
    with np.errstate(over="ignore", invalid="ignore"):
        residual = np.asarray(X, np.float64) @ np.ravel(kernel).astype(np.float64) + float(np.ravel(bias)[0])
        return float(np.mean((residual - np.ravel(y).astype(np.float64)) ** 2))


def least_squares(X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The minimum of a linear model's MSE, ``numpy.linalg.lstsq`` with a bias column, as ``Dense(1)`` weights.

    Returns:
        ``[kernel of shape (D, 1), bias of shape (1,)]`` in float32, ready for ``model.set_weights``.
    """
    design = np.hstack([np.asarray(X, np.float64), np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, np.ravel(y).astype(np.float64), rcond=None)[0]
    return [solution[:-1, None].astype("float32"), solution[-1:].astype("float32")]


def hessian_eigenvalues(X: np.ndarray) -> np.ndarray:
    """Eigenvalues of the MSE's Hessian ``2/N [X 1]^T [X 1]``, smallest first; batch GD diverges above ``2 / max``."""
    design = np.hstack([np.asarray(X, np.float64), np.ones((len(X), 1))])
    return np.linalg.eigvalsh(2.0 / len(X) * design.T @ design)


# ---------------------------------------------------------------------------
# What fit does, update by update
# ---------------------------------------------------------------------------


class UpdateRecorder(keras.callbacks.Callback):
    """The whole training set's MSE before training and after every update of a linear regression.

    ``train_loss[k]`` is the MSE after ``k`` updates (float64 NumPy on the
    model's ``Dense(1)`` weights), ``epoch_updates`` the value of
    ``optimizer.iterations`` at each epoch's end. A run whose loss becomes
    NaN or grows ``DIVERGENCE_FACTOR`` times is stopped and marked
    ``diverged``, as ``keras.callbacks.TerminateOnNaN`` does for NaN.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        self.X, self.y = X, y
        self.train_loss: list[float] = []
        self.epoch_updates: list[int] = []
        self.diverged = False

    def _loss(self) -> float:
        dense = self.model.layers[-1]
        if len(self.model.layers) != 1 or not isinstance(dense, keras.layers.Dense) or dense.units != 1:
            raise LessonError("UpdateRecorder measures a linear regression: a model whose only layer is Dense(1)")
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in (dense.kernel, dense.bias))
        return mse(self.X, self.y, kernel, bias)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.train_loss, self.epoch_updates, self.diverged = [self._loss()], [], False

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.train_loss.append(self._loss())
        if not math.isfinite(self.train_loss[-1]) or self.train_loss[-1] > DIVERGENCE_FACTOR * self.train_loss[0]:
            self.diverged = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.epoch_updates.append(int(self.model.optimizer.iterations))


def wobble(train_loss: Sequence[float], minimum: float, last: float = 0.5) -> dict[str, float]:
    """How a run behaves over the last ``last`` of its updates, from its ``UpdateRecorder.train_loss``.

    Returns:
        ``excess``: the mean of the training MSE minus the ``minimum``
        (how far above the bottom the run sits); ``jump``: the root mean
        square of the change of the training MSE from one update to the next
        (how much a single update moves it; the zig-zag).
    """
    loss = np.asarray(train_loss, np.float64)
    if len(loss) < 3:
        raise LessonError(f"need at least 2 updates to measure a wobble, got {len(loss) - 1}")
    start = min(int(round((len(loss) - 1) * (1 - last))), len(loss) - 3)
    window = loss[start:]
    return {"excess": float(np.mean(window[1:] - minimum)), "jump": float(np.sqrt(np.mean(np.diff(window) ** 2)))}


# ---------------------------------------------------------------------------
# Choosing a learning rate on a validation split, honestly
# ---------------------------------------------------------------------------


def paired_difference(errors_a: np.ndarray, errors_b: np.ndarray) -> tuple[float, float]:
    """``mean(a - b)`` of two models' squared errors on the same rows, and its standard error.

    Both models are scored on the same validation rows, so the noise of a
    difference of their MSEs is the spread of the row-by-row differences
    over ``sqrt(rows)``, much smaller than either MSE's own noise.
    """
    d = np.asarray(errors_a, np.float64) - np.asarray(errors_b, np.float64)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def rate_table(
    squared_errors: Mapping[str, Mapping[float, np.ndarray | None]], batch_sizes: Mapping[str, int]
) -> pd.DataFrame:
    """One row per (variant, learning rate): validation MSE, its gap to the best, and the rate chosen.

    Args:
        squared_errors: ``{variant: {rate: per-row squared validation errors, or None if it diverged}}``.
        batch_sizes: ``{variant: batch_size}``.

    The best rate has the lowest validation MSE; a rate whose gap to it is
    below ``NOISE_SE`` paired standard errors is ``within noise`` (the
    validation rows cannot tell it from the best). The rule the lesson
    uses: choose the **largest** rate within the noise (fewer epochs to the
    same validation error).
    """
    rows = []
    for variant, by_rate in squared_errors.items():
        finite = {lr: e for lr, e in by_rate.items() if e is not None}
        if not finite:
            raise LessonError(f"every learning rate diverged for {variant}; add smaller rates to the grid")
        best = min(finite, key=lambda lr: float(np.mean(finite[lr])))
        for lr, errors in by_rate.items():
            gap, se = paired_difference(errors, finite[best]) if errors is not None else (math.inf, math.nan)
            rows.append(
                {
                    "variant": variant,
                    "batch_size": batch_sizes[variant],
                    "learning_rate": lr,
                    "diverged": errors is None,
                    "val MSE": math.inf if errors is None else float(np.mean(errors)),
                    "lowest": lr == best,
                    "gap to lowest": gap,
                    "paired SE": se,
                    "within noise": errors is not None and (lr == best or gap < NOISE_SE * se),
                }
            )
    table = pd.DataFrame(rows)
    chosen = table[table["within noise"]].groupby("variant", sort=False)["learning_rate"].transform("max")
    table["chosen"] = table["within noise"] & (table["learning_rate"] == chosen.reindex(table.index))
    return table


def progress_table(
    runs: Mapping[str, UpdateRecorder], batch_sizes: Mapping[str, int], rates: Mapping[str, float], minimum: float
) -> pd.DataFrame:
    """One row per variant at its chosen rate: updates per epoch, training MSE above the minimum after epoch 1 and at the end."""
    rows = []
    for variant, run in runs.items():
        rows.append(
            {
                "variant": variant,
                "batch_size": batch_sizes[variant],
                "learning_rate": rates[variant],
                "updates/epoch": run.epoch_updates[0],
                "excess MSE after epoch 1": run.train_loss[run.epoch_updates[0]] - minimum,
                "excess MSE at the end": run.train_loss[-1] - minimum,
            }
        )
    return pd.DataFrame(rows)


def repeat_runs(
    run: Callable[[str, float, int], Sequence[float]], rates: Mapping[str, Mapping[str, float]], seeds: Iterable[int]
) -> list[dict[str, Any]]:
    """``run(variant, learning_rate, seed)`` for every setting, variant and seed; a repeated combination runs once.

    Args:
        run: trains and returns the ``UpdateRecorder.train_loss`` of one run.
        rates: ``{setting: {variant: learning_rate}}``, e.g. ``{"same rate": {...}, "own rate": {...}}``.
        seeds: the seeds to repeat each run with.

    Returns:
        ``[{variant, setting, learning_rate, seed, train_loss}]``, the input of ``stability_table``.
    """
    done: dict[tuple[str, float, int], Sequence[float]] = {}
    runs = []
    for seed in seeds:
        for setting, by_variant in rates.items():
            for variant, learning_rate in by_variant.items():
                key = (variant, learning_rate, seed)
                if key not in done:
                    done[key] = run(variant, learning_rate, seed)
                runs.append(
                    {"variant": variant, "setting": setting, "learning_rate": learning_rate, "seed": seed}
                    | {"train_loss": done[key]}
                )
    return runs


def stability_table(runs: Sequence[Mapping[str, Any]], minimum: float) -> pd.DataFrame:
    """``wobble`` of each run started at the minimum, ``runs`` = ``[{variant, setting, learning_rate, seed, train_loss}]``."""
    return pd.DataFrame(
        [
            {key: run[key] for key in ("variant", "setting", "learning_rate", "seed")}
            | {f"{name} (last half)": value for name, value in wobble(run["train_loss"], minimum).items()}
            for run in runs
        ]
    )


# ---------------------------------------------------------------------------
# Which rows each epoch visits, and the fix
# ---------------------------------------------------------------------------


class RowOrderRecorder(keras.layers.Layer):
    """A pass-through layer that notes the first feature of each batch it sees (the row number, when X = arange)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[int] = []

    def call(self, x):
        try:
            self.seen.append(int(keras.ops.convert_to_numpy(x)[0, 0]))
        except Exception:  # the symbolic call that builds the model has no values
            pass
        return x


def forget_global_seed() -> None:
    """Undo ``keras.utils.set_random_seed`` where ``fit`` shuffles from it: TensorFlow's global seed.

    On JAX and torch ``fit`` shuffles with NumPy or torch generators that
    simply continue, so nothing needs undoing there.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.random.set_seed(None)


def orders_table(orders: Mapping[str, Sequence[Sequence[int]]]) -> pd.DataFrame:
    """One row per epoch, one column per way of shuffling: the rows visited, in order."""
    epochs = len(next(iter(orders.values())))
    return pd.DataFrame(
        {"epoch": range(1, epochs + 1)} | {name: [str(list(o)) for o in order] for name, order in orders.items()}
    )


def _times(ratio: float) -> str:
    """A ratio as words that stay true either way: "3.2x less" or "1.5x more"."""
    return f"{ratio:.3g}x less" if ratio >= 1 else f"{1 / ratio:.3g}x more"


def _distinct(orders: Sequence[Sequence[int]]) -> int:
    return len({tuple(order) for order in orders})


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def plot_updates(
    runs: Mapping[str, UpdateRecorder],
    batch_sizes: Mapping[str, int],
    rates: Mapping[str, float],
    from_minimum: Sequence[Mapping[str, Any]],
    minimum: float,
) -> Figure:
    """Training MSE above the minimum after every update: each variant from the start (left), from the minimum (right).

    Args:
        runs: ``{variant: UpdateRecorder}`` of each variant at its chosen rate.
        batch_sizes, rates: ``{variant: batch_size}``, ``{variant: chosen learning rate}``.
        from_minimum: ``repeat_runs`` records; the first seed's "same rate" runs are drawn.
        minimum: the least-squares training MSE.

    Points at or below the minimum (float32 rounding) cannot sit on a log
    axis: they are left out and the legend says how many.
    """
    from matplotlib.figure import Figure

    colors = {variant: f"C{i}" for i, variant in enumerate(runs)}  # one colour per variant in both panels
    first = from_minimum[0]["seed"]
    right = [r for r in from_minimum if r["seed"] == first and r["setting"] == "same rate"]
    panels = (
        (
            "epochs (one point per update)",
            "From one start, each at its chosen rate",
            [
                (f"{v}, batch_size={batch_sizes[v]}, lr={rates[v]:g}", run.train_loss, run.epoch_updates[0], v)
                for v, run in runs.items()
            ],
        ),
        (
            "updates",
            f"Started at the least-squares minimum, seed {first}",
            [(f"{r['variant']}, lr={r['learning_rate']:g}", r["train_loss"], 1, r["variant"]) for r in right],
        ),
    )
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    for ax, (xlabel, title, lines) in zip(fig.subplots(1, 2), panels):
        for label, loss, per_epoch, variant in lines:
            excess = np.asarray(loss, np.float64) - minimum
            x = np.arange(len(excess)) / per_epoch
            shown = excess > 0
            hidden = int((~shown).sum())
            note = f" ({hidden} points at or below the minimum not drawn)" if hidden else ""
            if hidden == 1 and not shown[0]:
                note = " (the start, exactly at the minimum, not drawn)"
            marker = "." if len(excess) <= 40 else None
            ax.plot(x[shown], excess[shown], lw=1, marker=marker, color=colors.get(variant), label=label + note)
        ax.set(yscale="log", xlabel=xlabel, ylabel="training MSE - least-squares minimum (log)", title=title)
        plain_log_ticks(ax.yaxis)
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13))
    return fig


def plot_learning_rates(table: pd.DataFrame, val_at_minimum: float) -> Figure:
    """Validation MSE per learning rate and variant; diverged runs as an x on the top edge, labelled."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    fig = Figure(figsize=(8, 5.6), layout="constrained")
    ax = fig.subplots()
    ok = table[~table["diverged"]]
    top = ok["val MSE"].max() * 1.3
    for i, (variant, rows) in enumerate(table.groupby("variant", sort=False)):
        good = rows[~rows["diverged"]]
        label = f"{variant} (batch_size={rows['batch_size'].iloc[0]})"
        ax.plot(good["learning_rate"], good["val MSE"], marker="o", color=f"C{i}", label=label)
        bad = rows[rows["diverged"]]
        ax.plot(bad["learning_rate"], np.full(len(bad), top), "x", color=f"C{i}", ms=10, mew=2, clip_on=False)
        pick = rows[rows["chosen"]]  # smaller stars on top, so stars at the same rate all show
        ax.plot(pick["learning_rate"], pick["val MSE"], "*", color=f"C{i}", mec="black", mew=0.5, ms=20 - 4 * i)
    ax.axhline(val_at_minimum, color="grey", ls="--", label="least-squares weights")
    ax.plot([], [], "k*", ms=12, ls="none", label="chosen: largest rate within 2 paired SE of the lowest")
    ax.plot([], [], "kx", ms=9, mew=2, ls="none", label="diverged (no value: marked on the top edge)")
    ax.set(xscale="log", yscale="log", ylim=(None, top), xlabel="learning rate (log)")
    ax.set(ylabel="validation MSE after the last epoch (log)", title="Each batch size wants its own learning rate")
    ax.text(1.01, 1.0, "diverged", transform=ax.transAxes, ha="left", va="center", fontsize="small")
    ax.xaxis.set_major_locator(FixedLocator(sorted(table["learning_rate"].unique())))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    return fig


# ---------------------------------------------------------------------------
# The claims
# ---------------------------------------------------------------------------


def claims(
    updates: Mapping[str, Sequence[int]],
    batch_sizes: Mapping[str, int],
    n_train: int,
    rates: pd.DataFrame,
    n_val: int,
    val_at_minimum: float,
    stability: pd.DataFrame,
    orders: Mapping[str, Sequence[Sequence[int]]],
    backend: str,
) -> list[Claim]:
    """The lesson's points to remember.

    Args:
        updates: ``{variant: optimizer.iterations at each epoch's end}`` of its chosen run.
        batch_sizes: ``{variant: batch_size}``; variants "stochastic GD" and "mini-batch GD" are compared.
        n_train: training rows.
        rates: ``rate_table``; n_val: its validation rows.
        val_at_minimum: validation MSE of the least-squares weights.
        stability: ``stability_table`` with settings "same rate" and "own rate".
        orders: rows visited per epoch, by name: "seeded", "seeded again", "unseeded", "fix", "fix again".
        backend: ``keras.backend.backend()``.
    """
    per_epoch = {v: np.diff([0, *u]) for v, u in updates.items()}
    exact = all(len(p) and np.all(p == updates_per_epoch(n_train, batch_sizes[v])) for v, p in per_epoch.items())
    chosen = rates[rates["chosen"]].set_index("variant")["learning_rate"]
    numbers_updates = {f"updates_per_epoch_b{batch_sizes[v]}": int(p[0]) for v, p in per_epoch.items()}
    rate_words = ", ".join(f"{chosen[v]:g} for batch_size={batch_sizes[v]}" for v in chosen.index)

    sgd, mini = "stochastic GD", "mini-batch GD"
    means = stability.groupby(["setting", "variant"])[["excess (last half)", "jump (last half)"]].mean()
    wins = {}
    for setting in ("same rate", "own rate"):
        pivot = stability[stability["setting"] == setting].pivot(index="seed", columns="variant")
        wins[setting] = int((pivot[("jump (last half)", mini)] < pivot[("jump (last half)", sgd)]).sum())
    seeds = stability["seed"].nunique()
    steadier_same, steadier_own = wins["same rate"] == seeds, wins["own rate"] == seeds
    closer_own = (
        means.loc[("own rate", mini), "excess (last half)"] < means.loc[("own rate", sgd), "excess (last half)"]
    )
    stable_numbers = {
        f"{name}_{setting.split()[0]}_{who}": float(means.loc[(setting, v), col])
        for setting in ("same rate", "own rate")
        for who, v in (("sgd", sgd), ("mini", mini))
        for name, col in (("jump", "jump (last half)"), ("excess", "excess (last half)"))
    } | {
        "seeds": seeds,
        "mini_steadier_seeds_same_rate": wins["same rate"],
        "mini_steadier_seeds_own_rate": wins["own rate"],
    }
    same_lr, own_mini = float(stability.loc[stability["setting"] == "same rate", "learning_rate"].iloc[0]), chosen[mini]
    jump = {s: means.loc[(s, sgd), "jump (last half)"] / means.loc[(s, mini), "jump (last half)"] for s in wins}
    excess = {who: means.loc[("own rate", v), "excess (last half)"] for who, v in (("sgd", sgd), ("mini", mini))}
    stable_words = (
        f"Judge 'more stable' at equal rates: at stochastic GD's rate ({same_lr:g}) a batch of "
        f"{batch_sizes[mini]} moved the training loss {_times(jump['same rate'])} per update than one row did "
        f"(steadier in {wins['same rate']} of {seeds} seeds); at its own rate ({own_mini:g}) it moved it "
        f"{_times(jump['own rate'])} (steadier in {wins['own rate']} of {seeds})"
        + (
            f" and sat {excess['sgd'] / excess['mini']:.3g}x closer to the minimum ({excess['mini']:.2g} vs "
            f"{excess['sgd']:.2g} above it)"
            if closer_own
            else f" and sat {excess['mini'] / excess['sgd']:.3g}x further above the minimum ({excess['mini']:.2g} vs "
            f"{excess['sgd']:.2g}): validation gave it a {own_mini / same_lr:.3g}x larger rate, which spends the "
            "calm of its larger batch on speed"
        )
    )

    within = rates[rates["within noise"]].groupby("variant", sort=False)["learning_rate"].apply(list)
    tied = {v: len(lrs) for v, lrs in within.items()}
    lowest = rates[rates["lowest"]].set_index("variant")
    below_lstsq = int((lowest["val MSE"] < val_at_minimum).sum())
    all_tied = all(n > 1 for n in tied.values())
    none_tied = all(n == 1 for n in tied.values())
    gaps = rates[rates["within noise"] & ~rates["lowest"]]
    others = rates[~rates["lowest"] & ~rates["diverged"]]
    closest = (others["gap to lowest"] / others["paired SE"]).min() if len(others) else math.nan
    noise_words = (
        f"Validation told the best rate apart from every other rate of the grid: the closest one was "
        f"{closest:.3g} paired standard errors worse (the exact least-squares weights score {val_at_minimum:.4g})"
        if none_tied
        else "Do not read a small validation gap as a better rate: "
        + ", ".join(f"{n} rates for {v}" for v, n in tied.items() if n > 1)
        + f" lay within {NOISE_SE:g} paired standard errors of the lowest validation MSE"
        + (
            f" (largest gap {gaps['gap to lowest'].max():.2g} against a standard error of "
            f"{gaps.loc[gaps['gap to lowest'].idxmax(), 'paired SE']:.2g})"
            if len(gaps)
            else ""
        )
        + f"; the exact least-squares weights score {val_at_minimum:.4g}, and {below_lstsq} of {len(lowest)} "
        "lowest scores were below even that. So the lesson takes the largest rate within the noise"
    )

    seeded, again, unseeded = orders["seeded"], orders["seeded again"], orders["unseeded"]
    fix, fix_again = orders["fix"], orders["fix again"]
    reshuffles = _distinct(seeded) == len(seeded)
    fix_ok = _distinct(fix) == len(fix) and fix == fix_again
    first = ", ".join(str(o) for o in seeded)
    return [
        Claim(
            key="batch_size_picks_the_variant",
            claim="batch GD is fit(batch_size=len(X)) with one update per epoch, stochastic GD batch_size=1 "
            "with N, mini-batch GD batch_size=32 with ceil(N/32)",
            verdict=verdict_of(exact),
            numbers=numbers_updates
            | {"n_train": n_train}
            | {f"chosen_lr_b{batch_sizes[v]}": chosen[v] for v in chosen.index},
            conclusion=(
                "Choose the variant with fit(batch_size=...) and tune the learning rate again whenever you change "
                "batch_size: optimizer.iterations grew by "
                + ", ".join(f"{int(p[0])}" for p in per_epoch.values())
                + f" per epoch on {n_train} rows (ceil(N / batch_size)), and validation chose {rate_words}."
                if exact
                else "optimizer.iterations did not grow by ceil(N / batch_size) per epoch: "
                + ", ".join(f"{v} {list(p)}" for v, p in per_epoch.items())
                + "."
            ),
        ),
        Claim(
            key="mini_batch_is_more_stable",
            claim="mini-batch GD is more stable than stochastic GD (measured from the minimum, over the last half "
            "of the updates: the change of the training MSE per update, and its distance above the minimum)",
            verdict=verdict_of(steadier_same and steadier_own and closer_own, partly=steadier_same),
            numbers=stable_numbers,
            conclusion=("" if steadier_same else "Mini-batch GD was not steadier than stochastic GD here. ")
            + stable_words
            + ("." if steadier_own else ". The note holds per update at one rate, not at the rates you would tune."),
        ),
        Claim(
            key="validation_picks_one_rate",
            claim=f"a validation split of {n_val} rows tells the best learning rate of the grid from the others",
            verdict=verdict_of(none_tied, partly=not all_tied),
            numbers={f"rates_within_noise_{v.split()[0]}": n for v, n in tied.items()}
            | {"n_val": n_val, "val_mse_least_squares": val_at_minimum, "lowest_below_least_squares": below_lstsq}
            | {"closest_gap_in_standard_errors": closest},
            conclusion=noise_words + ".",
        ),
        Claim(
            key="seeded_fit_reshuffles_every_epoch",
            claim="after keras.utils.set_random_seed, fit(shuffle=True) visits the rows in a new order every epoch",
            verdict=verdict_of(reshuffles),
            numbers={
                "epochs": len(seeded),
                "distinct_orders_seeded": _distinct(seeded),
                "distinct_orders_unseeded": _distinct(unseeded),
                "seeded_runs_agree": int(seeded == again),
            },
            conclusion=(
                f"On {backend}, a seeded fit(shuffle=True) reshuffles every epoch ({_distinct(seeded)} distinct "
                f"orders in {len(seeded)} epochs) and repeats run to run."
                if reshuffles
                else f"On {backend}, a seeded fit(shuffle=True) repeats one order every epoch: {first} "
                f"({_distinct(seeded)} distinct order in {len(seeded)} epochs; without the seed "
                f"{_distinct(unseeded)}). Your batches repeat epoch after epoch; use the fix below."
            ),
        ),
        Claim(
            key="reshuffled_arrays_fix",
            claim="a keras.utils.PyDataset that draws a new permutation from its own seeded generator in "
            "on_epoch_end reshuffles every epoch and repeats run to run",
            verdict=verdict_of(fix_ok),
            numbers={"distinct_orders_fix": _distinct(fix), "fix_runs_agree": int(fix == fix_again)},
            conclusion=(
                f"To reshuffle every epoch and stay reproducible on any backend, train on "
                f"ReshuffledArrays(X, y, batch_size, seed) with fit(shuffle=False): on {backend} it visited "
                f"{_distinct(fix)} distinct orders in {len(fix)} epochs, the same in a second run."
                if fix_ok
                else f"The fix did not do its job on {backend}: {_distinct(fix)} distinct orders in {len(fix)} "
                f"epochs, second run {'the same' if fix == fix_again else 'different'}."
            ),
        ),
    ]
