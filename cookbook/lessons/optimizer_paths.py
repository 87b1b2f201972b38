"""Evidence for lesson 08 (optimizer paths on a stretched bowl): grids, path measures, theory, figures, claims.

The lesson walks Keras optimizers down ``f(x, y) = x**2 / 20 + y**2`` in its
own ``apply_gradients`` loop and hands the recorded positions here. The
learning-rate grids around those runs are walked in float64 NumPy with the
update rules of ``cookbook.reference``, read from each Keras optimizer's
``get_config()`` and vectorized over the rates, so a grid of a thousand
settings costs a fraction of a second (``tests/test_optimizer_paths.py``
checks those rules against the Keras optimizers themselves):

>>> import keras
>>> from cookbook.lessons import optimizer_paths as evidence
>>> points = evidence.walk_rates(keras.optimizers.SGD(), [0.9], start=(-7.0, 2.0), steps=100)
>>> points.shape  # (steps + 1, rates, coordinates)
(101, 1, 2)
>>> float(evidence.steps_to_settle(evidence.gradient_norms(points[:, 0]), 1e-3))
70.0

"Settled" is stricter than "reached": a path that dips below the tolerance
and swings out again has not settled until its last swing has died out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook import reference
from cookbook.claims import Claim, verdict_of
from cookbook.lessons import landscapes

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

__all__ = [
    "CURVATURES",
    "SECOND_KNOB",
    "SETTLE",
    "HeavyBall",
    "best_cells",
    "claims",
    "describe",
    "describe_roots",
    "fitted_rate",
    "gradient_norms",
    "path_table",
    "plot_paths",
    "plot_rates",
    "plot_tuning",
    "predicted_rate",
    "rates_table",
    "steps_to_settle",
    "swing_period",
    "tune",
    "walk_rates",
]

CURVATURES = np.array(landscapes.BOWL_CURVATURES, dtype=np.float64)  # f's second derivatives along x and y
SECOND_KNOB = {"SGD": "momentum", "RMSprop": "rho", "Adam": "beta_1"}  # the averaging knob besides the rate
SETTLE = "steps to settle"
FINAL = "final |grad f|"
XLIM, YLIM = (-8.0, 8.0), (-3.5, 3.5)  # the frame of the paths figure
LOWEST_DISTANCE = 1e-8  # the rates figure draws distances down to here; below, a line ends


def gradient_norms(points: npt.ArrayLike) -> np.ndarray:
    """``|grad f|`` at positions on the bowl (last axis: x, y): the norm of ``(x / 10, 2 y)``, in float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged run's norm is inf or NaN
        return np.linalg.norm(np.asarray(points, np.float64) * CURVATURES, axis=-1)


def steps_to_settle(norms: npt.ArrayLike, tolerance: float) -> np.ndarray:
    """The step from which ``|grad f|`` stays below ``tolerance`` to the end of the run; NaN if it ends above.

    Args:
        norms: ``|grad f|`` per step, row 0 the start: shape ``(steps + 1,)``
            for one run or ``(steps + 1, runs)`` for several. NaN (a diverged
            run) counts as above.
        tolerance: the gradient norm that counts as "at the minimum".

    Returns:
        A float array with one entry per run (a 0-d array for one run).
    """
    norms = np.asarray(norms, np.float64)
    above = ~(norms < tolerance)
    last_above = len(norms) - 1 - np.argmax(above[::-1], axis=0)
    settled = np.where(above.any(axis=0), last_above + 1, 0).astype(np.float64)
    return np.where(above[-1], np.nan, settled)


def walk_rates(
    optimizer: keras.optimizers.Optimizer, rates: npt.ArrayLike, start: Sequence[float], steps: int
) -> np.ndarray:
    """Walk ``optimizer``'s update rule down the bowl at every rate at once, in float64 NumPy.

    The rule and its other hyperparameters come from the optimizer's
    ``get_config()`` (``cookbook.reference.from_optimizer``); only its
    learning rate is replaced by each of ``rates``. Each run gets the exact
    gradient ``CURVATURES * (x, y)``.

    Returns:
        Positions, shape ``(steps + 1, len(rates), 2)``; a diverged run holds inf or NaN.
    """
    rule = reference.from_optimizer(optimizer)
    learning_rate = np.asarray(rates, np.float64).reshape(-1, 1)
    w = np.tile(np.asarray(start, np.float64), (len(learning_rate), 1))
    state: dict[str, Any] = {}
    points = [w]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            w = rule.rule(w, w * CURVATURES, state, t, learning_rate=learning_rate, **rule.hyperparameters)
            points.append(w)
    return np.stack(points)


def _knob(optimizer: keras.optimizers.Optimizer) -> tuple[str, float]:
    name = SECOND_KNOB.get(type(optimizer).__name__, "")
    return name, float(optimizer.get_config()[name]) if name else np.nan


def tune(
    contenders: Mapping[str, Sequence[keras.optimizers.Optimizer]],
    rates: npt.ArrayLike,
    start: Sequence[float],
    steps: int,
    tolerance: float,
) -> pd.DataFrame:
    """Every cell of every contender's grid: its variants (one per knob value) times ``rates``.

    Args:
        contenders: ``{name: [optimizer, ...]}``; the optimizers differ in
            their second knob (``SECOND_KNOB``), their learning rates are ignored.
        rates: the learning rates every variant is walked at.
        start, steps, tolerance: where each walk starts, how long it runs, when it has settled.

    Returns:
        One row per cell: ``optimizer``, ``variant`` (index into its list),
        ``knob``, ``knob value``, ``learning rate``, ``SETTLE`` (NaN: not
        within ``steps``) and ``FINAL``.
    """
    rates = np.asarray(rates, np.float64)
    frames = []
    for name, variants in contenders.items():
        for index, optimizer in enumerate(variants):
            norms = gradient_norms(walk_rates(optimizer, rates, start, steps))
            knob, value = _knob(optimizer)
            frames.append(
                pd.DataFrame(
                    {
                        "optimizer": name,
                        "variant": index,
                        "knob": knob,
                        "knob value": value,
                        "learning rate": rates,
                        SETTLE: steps_to_settle(norms, tolerance),
                        FINAL: norms[-1],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def best_cells(grid: pd.DataFrame) -> pd.DataFrame:
    """Each contender's best cell: fewest steps to settle, or, if no cell settles, the lowest final ``|grad f|``.

    Among cells that settle in equally few steps, the smallest learning rate is kept (the grid's first).

    Returns:
        One row per contender, in the grid's order, with ``cells tried`` and the chosen cell's columns.
    """
    rows = []
    for name, cells in grid.groupby("optimizer", sort=False):
        settled = cells[cells[SETTLE].notna()]
        if len(settled):
            chosen = settled.sort_values([SETTLE, "learning rate"], kind="stable").iloc[0]
        else:
            chosen = cells.loc[cells[FINAL].fillna(np.inf).idxmin()]
        rows.append({"optimizer": name, "cells tried": len(cells), **chosen.drop("optimizer").to_dict()})
    table = pd.DataFrame(rows)
    return table[["optimizer", "cells tried", "learning rate", "knob", "knob value", SETTLE, FINAL, "variant"]]


def describe(optimizer: keras.optimizers.Optimizer) -> str:
    """The settings that matter here, from the optimizer's config: ``"lr 0.866, momentum 0.9"``."""
    config = optimizer.get_config()
    words = [f"lr {config['learning_rate']:.3g}"]
    knob, value = _knob(optimizer)
    if knob and not (knob == "momentum" and value == 0):
        words.append(f"{knob} {value:.3g}")
    return ", ".join(words)


def fitted_rate(points: npt.ArrayLike, until: int | None = None) -> float:
    """The factor by which the distance to the minimum shrinks per step: exp of the least-squares slope of its log.

    A fit over the first ``until`` steps (all by default), so a path that
    swings is not judged by where one swing happens to end. Exact zeros are left out.
    """
    distance = np.linalg.norm(np.asarray(points, np.float64), axis=-1)[: None if until is None else until + 1]
    steps = np.arange(len(distance))
    keep = distance > 0
    return float(np.exp(np.polyfit(steps[keep], np.log(distance[keep]), 1)[0]))


def predicted_rate(learning_rate: float, momentum: float, curvatures: Sequence[float] = tuple(CURVATURES)) -> float:
    """The heavy-ball theory's rate per step of SGD (``momentum=0``) or Momentum: the largest root over the directions."""
    return max(abs(landscapes.heavy_ball_roots(learning_rate, momentum, h)[0]) for h in curvatures)


def describe_roots(roots: np.ndarray) -> str:
    """How one direction moves: ``real, positive: glides``, ``real, negative: flips every step`` or ``complex: swings``."""
    if abs(roots[0].imag) > 1e-6:  # a double root can come out with a rounding-size imaginary part
        return f"complex: swings, one swing every {2 * np.pi / abs(np.angle(roots[0])):.1f} steps"
    return "real, negative: flips every step" if roots[0].real < 0 else "real, positive: glides"


def swing_period(learning_rate: float, momentum: float, curvature: float) -> float:
    """Steps per swing of Momentum along a direction of curvature ``curvature``: ``2 pi / angle(root)``; NaN if it does not swing."""
    root = landscapes.heavy_ball_roots(learning_rate, momentum, curvature)[0]
    return float(2 * np.pi / abs(np.angle(root))) if abs(root.imag) > 1e-6 else float("nan")


@dataclasses.dataclass(frozen=True)
class HeavyBall:
    """Momentum on a quadratic with curvatures ``mu < L`` (Polyak 1964): the best settings and rates.

    Attributes:
        mu, L: the smallest and largest curvature.
    """

    mu: float
    L: float

    @property
    def condition_number(self) -> float:
        return self.L / self.mu

    @property
    def best_momentum(self) -> float:
        """``((sqrt(k) - 1) / (sqrt(k) + 1))**2``."""
        root = np.sqrt(self.condition_number)
        return float(((root - 1) / (root + 1)) ** 2)

    @property
    def best_learning_rate(self) -> float:
        """``4 / (sqrt(mu) + sqrt(L))**2``, the rate that goes with ``best_momentum``."""
        return float(4 / (np.sqrt(self.mu) + np.sqrt(self.L)) ** 2)

    @property
    def best_rate(self) -> float:
        """``sqrt(best_momentum)``: the distance shrinks by this per step at the best settings."""
        return float(np.sqrt(self.best_momentum))

    @property
    def sgd_best_rate(self) -> float:
        """``(k - 1) / (k + 1)``: plain gradient descent at its best rate ``2 / (mu + L)``."""
        k = self.condition_number
        return (k - 1) / (k + 1)

    @property
    def sgd_best_learning_rate(self) -> float:
        return 2 / (self.mu + self.L)

    @staticmethod
    def rate_floor(momentum: float) -> float:
        """``sqrt(momentum)``: no learning rate makes Momentum converge faster than this per step."""
        return float(np.sqrt(momentum))

    def table(self, momentum: float = 0.9) -> pd.DataFrame:
        """The theory's numbers, with their formulas."""
        rows = [
            ("condition number k", "L / mu", self.condition_number),
            ("best momentum", "((sqrt(k)-1)/(sqrt(k)+1))^2", self.best_momentum),
            ("its learning rate", "4/(sqrt(mu)+sqrt(L))^2", self.best_learning_rate),
            ("its rate per step", "sqrt(best momentum)", self.best_rate),
            ("plain SGD's best rate per step", "(k-1)/(k+1)", self.sgd_best_rate),
            ("its learning rate", "2/(mu+L)", self.sgd_best_learning_rate),
            (f"momentum {momentum:g}: best rate at any lr", f"sqrt({momentum:g})", self.rate_floor(momentum)),
        ]
        return pd.DataFrame(rows, columns=["quantity", "formula", "value"])


def path_table(
    paths: Mapping[str, npt.ArrayLike],
    optimizers: Mapping[str, keras.optimizers.Optimizer],
    start: Sequence[float],
    tolerance: float,
) -> pd.DataFrame:
    """One row per recorded path: when it settled, how it zig-zagged, and the float64 NumPy rule's answer beside it.

    Args:
        paths: ``{name: positions, shape (steps + 1, 2)}`` recorded by the lesson's Keras loop.
        optimizers: ``{name: the Keras optimizer that walked it}``.
        start: the start (row 0 of every path).
        tolerance: the gradient norm that counts as "at the minimum".

    The reversals are counted until the path settles (over the whole run if it never does):
    a y-step reversal is the zig-zag across the valley, an x-step reversal a swing along it.
    """
    rows = []
    for name, points in paths.items():
        points = np.asarray(points, np.float64)
        steps = len(points) - 1
        settle = steps_to_settle(gradient_norms(points), tolerance)
        numpy_settle = steps_to_settle(
            gradient_norms(
                walk_rates(optimizers[name], [optimizers[name].get_config()["learning_rate"]], start, steps)[:, 0]
            ),
            tolerance,
        )
        until = int(settle) if np.isfinite(settle) else steps
        path = landscapes.Path.from_points(points, landscapes.anisotropic_bowl, landscapes.anisotropic_bowl_gradient)
        reversals = landscapes.sign_changes(path, axis=1, until=until)
        rows.append(
            {
                "optimizer": name,
                "settings": describe(optimizers[name]),
                SETTLE: float(settle),
                f"{SETTLE} (float64 NumPy)": float(numpy_settle),
                "y-step reversals": reversals,
                "share of steps reversing": reversals / max(until - 1, 1),
                "x-step reversals": landscapes.sign_changes(path, axis=0, until=until),
                FINAL: float(gradient_norms(points[-1])),
            }
        )
    return pd.DataFrame(rows)


def rates_table(
    paths: Mapping[str, npt.ArrayLike], optimizers: Mapping[str, keras.optimizers.Optimizer], tolerance: float
) -> pd.DataFrame:
    """For each SGD path (momentum or not): the heavy-ball roots along x and y, the predicted and the fitted rate.

    The fit runs until the path settles (over the whole run if it never does).
    """
    rows = []
    for name, points in paths.items():
        config = optimizers[name].get_config()
        if type(optimizers[name]).__name__ != "SGD":
            continue
        lr, momentum = config["learning_rate"], config["momentum"]
        roots = [landscapes.heavy_ball_roots(lr, momentum, h) for h in CURVATURES]
        points = np.asarray(points, np.float64)
        settle = steps_to_settle(gradient_norms(points), tolerance)
        rows.append(
            {
                "optimizer": name,
                "learning rate": lr,
                "momentum": momentum,
                "roots along x": describe_roots(roots[0]),
                "roots along y": describe_roots(roots[1]),
                "predicted rate per step": predicted_rate(lr, momentum),
                "fitted rate per step": fitted_rate(points, int(settle) if np.isfinite(settle) else None),
            }
        )
    return pd.DataFrame(rows)


def plot_paths(paths: Mapping[str, npt.ArrayLike], measured: pd.DataFrame, start: Sequence[float]) -> Figure:
    """One contour panel per path, on the same axes with equal aspect, so the geometry is true."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 10), layout="constrained")
    columns = 2
    rows = -(-len(paths) // columns)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True).ravel()
    xs, ys = np.meshgrid(np.linspace(*XLIM, 161), np.linspace(*YLIM, 71))
    by_name = measured.set_index("optimizer")
    for ax, (name, points) in zip(axes, paths.items()):
        points = np.asarray(points, np.float64)
        row = by_name.loc[name]
        settled = (
            f"settles in {row[SETTLE]:.0f} steps"
            if np.isfinite(row[SETTLE])
            else f"never settles (|grad f| {row[FINAL]:.2g} after the last step)"
        )
        ax.contour(xs, ys, landscapes.anisotropic_bowl(xs, ys), levels=np.geomspace(0.02, 12, 10), colors="lightgrey")
        ax.plot(points[:, 0], points[:, 1], "o-", color="tab:red", markersize=2.5, linewidth=1)
        ax.plot(*start, "s", color="black", markersize=6)
        ax.plot(0, 0, "+", color="black", markersize=14, markeredgewidth=2)
        ax.set(xlim=XLIM, ylim=YLIM, aspect="equal", title=f"{name}: {row['settings']}\n{settled}")
        outside = np.flatnonzero((np.abs(points[:, 0]) > XLIM[1]) | (np.abs(points[:, 1]) > YLIM[1]))
        if len(outside):  # the line runs off the frame there: say where it went
            where = ", ".join(f"step {i} at ({points[i, 0]:.1f}, {points[i, 1]:.1f})" for i in outside[:2])
            more = f" and {len(outside) - 2} more" if len(outside) > 2 else ""
            ax.text(
                0.98, 0.96, f"outside the frame: {where}{more}", transform=ax.transAxes, fontsize="small",
                ha="right", va="top",
                bbox={"facecolor": "white", "alpha": 0.9, "edgecolor": "none"},
            )  # fmt: skip
        ax.tick_params(labelbottom=True, labelleft=True)
    for ax in axes[len(paths) :]:
        ax.set_axis_off()
    for ax in axes[-columns:]:
        ax.set_xlabel("x")
    for ax in axes[::columns]:
        ax.set_ylabel("y")
    fig.suptitle(
        f"f(x, y) = x²/20 + y²: each optimizer at its best learning rate, from the square ({start[0]:g}, {start[1]:g}) "
        f"to the cross (0, 0), one dot per step ({np.shape(next(iter(paths.values())))[0] - 1} steps)"
    )
    return fig


def plot_tuning(grid: pd.DataFrame, theory: HeavyBall, steps: int) -> Figure:
    """Left: steps to settle against the learning rate, one line per optimizer. Right: against its second knob.

    Contenders with one variant go left; those with several (a second knob) go right, each knob value at
    its best learning rate. A cell that never settles has no height: it is marked with an x in a strip
    above the budget line, one row per optimizer.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    variants = grid.groupby("optimizer", sort=False)["variant"].max()
    groups = ((left, list(variants.index[variants == 0])), (right, list(variants.index[variants > 0])))
    row_height = 0.035 * steps
    color = 0
    for ax, names in groups:
        strip = [steps * 1.06 + i * row_height for i in range(len(names))]
        for index, name in enumerate(names):
            cells = grid[grid["optimizer"] == name]
            style = {"color": f"C{color}", "marker": "os^Dv"[index % 5], "markersize": 3 if ax is left else 5}
            color += 1
            if ax is left:
                x, knob = cells["learning rate"], ""
                ys = cells[SETTLE]
            else:
                cells = cells.sort_values(SETTLE).groupby("knob value", sort=True).head(1).sort_values("knob value")
                x, knob = cells["knob value"], f" ({cells['knob'].iloc[0]})"
                ys = cells[SETTLE]
            width = 3.5 - 1.5 * index if ax is right else 1.5  # right: wider lines first, so equal ones stay visible
            if ys.notna().any():
                ax.plot(x, ys, linewidth=max(width, 1), label=f"{name}{knob}", **style)
            missing = ys.isna()
            ax.plot(
                x[missing], np.full(int(missing.sum()), strip[index]), linestyle="none",
                **{**style, "marker": "x", "markersize": 5},
                label=None if ys.notna().any() else f"{name}{knob}: never settles",
            )  # fmt: skip
        ax.axhline(steps, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(0, strip[-1] + row_height)
        ax.set_yticks([*ax.get_yticks()[ax.get_yticks() <= steps], steps, float(np.mean(strip))])
        labels = [f"{t:g}" for t in ax.get_yticks()[:-1]] + ["never\nsettles"]
        ax.set_yticklabels(labels)
    right.axvline(
        theory.best_momentum, color="black", linestyle="--", linewidth=1,
        label=f"heavy-ball theory's best momentum {theory.best_momentum:.2f}",
    )  # fmt: skip
    left.set(
        xscale="log",
        xlabel="learning rate (the same grid for every optimizer)",
        ylabel=f"{SETTLE} (budget {steps})",
        title="Each optimizer's learning rate tuned on the same grid",
    )
    right.set(
        xlabel="second knob: momentum (SGD), rho (RMSprop) or beta_1 (Adam)",
        ylabel=f"{SETTLE} at that value's best learning rate",
        title="A second knob tuned together with the rate",
    )
    left.legend(fontsize="small", loc="lower left")
    right.legend(fontsize="small", loc="center left")
    return fig


def plot_rates(
    paths: Mapping[str, npt.ArrayLike],
    optimizers: Mapping[str, keras.optimizers.Optimizer],
    panels: Mapping[str, Sequence[str]],
) -> Figure:
    """Distance to the minimum per step (log scale) of SGD paths, solid, with the heavy-ball theory's rate dashed.

    Args:
        paths: ``{name: positions}``; optimizers: ``{name: its Keras SGD}``.
        panels: ``{panel title: [path names]}``, one panel each, side by side.
    """
    from cookbook.figures import plain_log_ticks

    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 5.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    for ax, (title, names) in zip(axes, panels.items()):
        for index, name in enumerate(names):
            distance = np.linalg.norm(np.asarray(paths[name], np.float64), axis=-1)
            t = np.arange(len(distance))
            config = optimizers[name].get_config()
            rate = predicted_rate(config["learning_rate"], config["momentum"])
            label = name if "lr" in name else f"{name} ({describe(optimizers[name])})"
            ax.plot(t, np.where(distance >= LOWEST_DISTANCE, distance, np.nan), color=f"C{index}", label=label)
            theory = distance[0] * rate**t
            ax.plot(
                t, np.where(theory >= LOWEST_DISTANCE, theory, np.nan), color=f"C{index}", linestyle="--",
                linewidth=1, label=f"theory: rate {rate:.3f} per step",
            )  # fmt: skip
        ax.set(yscale="log", ylim=(LOWEST_DISTANCE, 30), xlabel="step", title=title)
    axes[0].set_ylabel(f"distance to the minimum\n(log scale; lines end at {LOWEST_DISTANCE:g})")
    plain_log_ticks(axes[0].yaxis)
    for ax in axes:  # under each panel: no line hidden behind a legend
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2)
    return fig


def _steps(value: float) -> str:
    return f"{value:.0f} steps" if np.isfinite(value) else "never settled"


def claims(
    best: pd.DataFrame,
    measured: pd.DataFrame,
    rates: pd.DataFrame,
    theory: HeavyBall,
    *,
    sgd: str,
    momentum: str,
    tuned_momentum: str,
    adaptive: Sequence[str],
    tuned_adam: str,
    tuned_rmsprop: str,
    fixed: Sequence[str],
) -> list[Claim]:
    """The lesson's points to remember, from its tables.

    Args:
        best: ``best_cells`` of the grid.
        measured: ``path_table`` of the Keras paths (the tuned runs and the ``fixed`` three).
        rates: ``rates_table`` of the SGD paths.
        theory: the bowl's ``HeavyBall``.
        sgd, momentum, tuned_momentum: the rows of plain SGD, SGD with momentum 0.9 and SGD with
            momentum tuned with the rate (names in ``best``, ``measured`` and ``rates``).
        adaptive: the rows of Adagrad, RMSprop and Adam at Keras's defaults, in that order.
        tuned_adam, tuned_rmsprop: Adam with ``beta_1``, RMSprop with ``rho`` tuned with the rate.
        fixed: the paths at one untuned rate: plain SGD, SGD with momentum, plain SGD at ``lr / (1 - momentum)``.
    """
    top, walked, fit = best.set_index("optimizer"), measured.set_index("optimizer"), rates.set_index("optimizer")
    steps = {name: float(top.loc[name, SETTLE]) for name in top.index}

    def slower(a: str, b: str) -> bool:  # a settled later than b, or never
        return not np.isfinite(steps[a]) or steps[a] > steps[b]

    lr_only_cells = int(top.loc[sgd, "cells tried"])
    tuned_cells, tuned_value = int(top.loc[tuned_momentum, "cells tried"]), float(top.loc[tuned_momentum, "knob value"])
    tuned_lr = float(top.loc[tuned_momentum, "learning rate"])

    momentum_helps = not slower(momentum, sgd)
    tuned_helps = not slower(tuned_momentum, sgd)
    both = f"SGD(momentum=0.9) took {_steps(steps[momentum])} to settle and plain SGD {_steps(steps[sgd])}"
    if momentum_helps:
        first_words = (
            f"Momentum helped here even at the customary 0.9: with each learning rate tuned on the same "
            f"{lr_only_cells} rates, {both}. Tuned together with the rate ({tuned_cells} cells), momentum "
            f"{tuned_value:g} settled in {_steps(steps[tuned_momentum])}."
        )
    else:
        first_words = (
            "In your own Keras code, do not assume momentum=0.9 helps: tune `momentum` together with "
            "`learning_rate`, and give every optimizer you compare the same learning-rate grid. With each rate tuned "
            f"on the same {lr_only_cells} rates, {both}; "
            + (
                f"tuned together with the rate ({tuned_cells} cells, {tuned_cells // lr_only_cells} times as many), "
                f"momentum {tuned_value:g} at lr {tuned_lr:.3g} settled in {_steps(steps[tuned_momentum])}."
                if tuned_helps
                else f"even tuned with the rate ({tuned_cells} cells) momentum did not beat plain SGD here."
            )
        )
    tune_claim = Claim(
        key="tune_momentum_with_the_rate",
        claim="SGD with momentum beats plain SGD on a stretched bowl, each with its learning rate tuned on the same grid",
        verdict=verdict_of(momentum_helps, partly=tuned_helps),
        numbers={
            "rates_tried": lr_only_cells,
            "sgd_steps": steps[sgd],
            "momentum_0_9_steps": steps[momentum],
            "tuned_cells": tuned_cells,
            "tuned_momentum": tuned_value,
            "tuned_learning_rate": tuned_lr,
            "tuned_momentum_steps": steps[tuned_momentum],
        },
        conclusion=first_words,
    )

    ring_lr, ring_momentum = float(fit.loc[momentum, "learning rate"]), float(fit.loc[momentum, "momentum"])
    floor, fitted = theory.rate_floor(ring_momentum), float(fit.loc[momentum, "fitted rate per step"])
    period = swing_period(ring_lr, ring_momentum, theory.L)
    adam = adaptive[-1]
    rings = slower(momentum, sgd)
    ring_claim = Claim(
        key="momentum_0_9_rings",
        claim="momentum 0.9 speeds up gradient descent on a noise-free stretched bowl",
        verdict=verdict_of(not rings),
        numbers={
            "momentum_0_9_steps": steps[momentum],
            "sgd_steps": steps[sgd],
            "swing_period_across": period,
            "y_step_reversals": int(walked.loc[momentum, "y-step reversals"]),
            "rate_floor": floor,
            "fitted_rate": fitted,
            "sgd_best_rate": theory.sgd_best_rate,
            "adam_default_steps": steps[adam],
        },
        conclusion=(
            f"Momentum 0.9 rings on this noise-free bowl: instead of flipping every step as plain SGD does, it "
            f"swings across the valley in slow waves (one every {period:.0f} steps at its best rate, lr "
            f"{ring_lr:.3g}) that die out by only sqrt(0.9) = {floor:.3f} per step, the heavy-ball floor for every "
            f"learning rate (this path: {fitted:.3f}). So it settled after {_steps(steps[momentum])}, plain SGD after "
            f"{_steps(steps[sgd])} ({theory.sgd_best_rate:.3f} per step at SGD's best rate). Adam's default "
            f"beta_1 = 0.9 averages past gradients the same way and rang too ({_steps(steps[adam])})."
            if rings
            else f"Momentum 0.9 did not ring enough to lose here: {_steps(steps[momentum])} against plain SGD's "
            f"{_steps(steps[sgd])} (its rate per step cannot beat sqrt(0.9) = {floor:.3f})."
        ),
    )

    off_by = abs(tuned_value - theory.best_momentum)
    predicted = predicted_rate(tuned_lr, tuned_value)
    near = off_by <= 0.15 and tuned_helps
    heavy_claim = Claim(
        key="heavy_ball_best_momentum",
        claim=(
            f"the heavy-ball theory's best momentum ((sqrt(k)-1)/(sqrt(k)+1))^2 = {theory.best_momentum:.2f} "
            f"at lr {theory.best_learning_rate:.2f} is where tuning lands"
        ),
        verdict=verdict_of(near, partly=tuned_helps),
        numbers={
            "condition_number": theory.condition_number,
            "theory_momentum": theory.best_momentum,
            "theory_learning_rate": theory.best_learning_rate,
            "theory_rate": theory.best_rate,
            "grid_momentum": tuned_value,
            "grid_learning_rate": tuned_lr,
            "grid_predicted_rate": predicted,
            "grid_steps": steps[tuned_momentum],
        },
        conclusion=(
            f"The theory of momentum on a quadratic predicted where tuning would land: for condition number "
            f"{theory.condition_number:g} the best momentum is {theory.best_momentum:.2f} at lr "
            f"{theory.best_learning_rate:.2f} (rate {theory.best_rate:.3f} per step); the grid's fastest cell is "
            f"momentum {tuned_value:g} at lr {tuned_lr:.3g} (predicted rate {predicted:.3f}, "
            f"{_steps(steps[tuned_momentum])})."
            if near
            else f"Tuning did not land at the theory's best momentum {theory.best_momentum:.2f} (lr "
            f"{theory.best_learning_rate:.2f}): the grid's fastest cell is momentum {tuned_value:g} at lr "
            f"{tuned_lr:.3g} ({_steps(steps[tuned_momentum])}); steps to a tolerance also depend on the start, "
            "not only on the rate per step."
        ),
    )

    adagrad, rmsprop, _ = adaptive
    faster = [name for name in adaptive if not slower(name, sgd)]
    rattles = not np.isfinite(steps[rmsprop]) and not np.isfinite(steps[tuned_rmsprop])
    adaptive_claim = Claim(
        key="per_coordinate_steps_beat_the_stretch",
        claim=(
            "Adagrad, RMSprop and Adam, which scale each coordinate's step by its own gradients, "
            "settle sooner than plain SGD on a stretched bowl"
        ),
        verdict=verdict_of(len(faster) == len(adaptive), partly=bool(faster)),
        numbers={
            "sgd_steps": steps[sgd],
            "adagrad_steps": steps[adagrad],
            "adagrad_learning_rate": float(top.loc[adagrad, "learning rate"]),
            "rmsprop_steps": steps[rmsprop],
            "rmsprop_final_gradient_norm": float(top.loc[rmsprop, FINAL]),
            "tuned_rmsprop_steps": steps[tuned_rmsprop],
            "adam_steps": steps[adam],
            "tuned_adam_steps": steps[tuned_adam],
            "tuned_adam_beta_1": float(top.loc[tuned_adam, "knob value"]),
        },
        conclusion=(
            f"Scaling each coordinate's step by its own gradients undoes a stretch that lies along the axes, as "
            f"this one does, but only Adagrad gained from it at Keras's defaults: {_steps(steps[adagrad])} at lr "
            f"{top.loc[adagrad, 'learning rate']:.3g} (plain SGD {_steps(steps[sgd])}); its first step moves each "
            "coordinate by about lr, far past the minimum, and its growing sum of squares then shrinks the steps. "
            + (
                f"RMSprop never settled at any rate of the grid, nor with rho tuned too "
                f"({int(top.loc[tuned_rmsprop, 'cells tried'])} cells): with a constant rate its steps stay of the "
                f"order of lr near the minimum, so it rattles (best final |grad f| {top.loc[rmsprop, FINAL]:.2g}); it "
                "needs a learning rate that decays (not tried here). "
                if rattles
                else f"RMSprop settled in {_steps(steps[rmsprop])} (with rho tuned too, "
                f"{_steps(steps[tuned_rmsprop])}). "
            )
            + f"Adam at its default beta_1 = 0.9 took {_steps(steps[adam])}; with beta_1 tuned too "
            f"({top.loc[tuned_adam, 'knob value']:g}), {_steps(steps[tuned_adam])}."
        ),
    )

    slow, fast, effective = fixed
    final = {name: float(walked.loc[name, FINAL]) for name in fixed}
    settle = {name: float(walked.loc[name, SETTLE]) for name in fixed}
    momentum_ahead = final[fast] < final[slow]
    matched = final[effective] <= 3 * final[fast] or (
        np.isfinite(settle[effective]) and settle[effective] <= settle[fast]
    )
    fixed_claim = Claim(
        key="fixed_rate_momentum_wins",
        claim=(
            "at one fixed, untuned learning rate momentum 0.9 is ahead of plain SGD (as lesson 12 finds on Digits), "
            "and plain SGD at lr / (1 - momentum) is as good"
        ),
        verdict=verdict_of(momentum_ahead and matched, partly=momentum_ahead),
        numbers={
            "sgd_final_gradient_norm": final[slow],
            "momentum_final_gradient_norm": final[fast],
            "effective_sgd_final_gradient_norm": final[effective],
            "sgd_steps": settle[slow],
            "momentum_steps": settle[fast],
            "effective_sgd_steps": settle[effective],
        },
        conclusion=(
            f"Both lessons are right, because they ask different questions. At one fixed, untuned rate momentum "
            f"0.9 is far ahead here too ({fast}: final |grad f| {final[fast]:.2g}, {_steps(settle[fast])}; {slow}: "
            f"{final[slow]:.2g}, {_steps(settle[slow])}), because its steps are about 1 / (1 - 0.9) = 10 times "
            f"larger: {effective} does as well ({final[effective]:.2g}, {_steps(settle[effective])}). Lesson 12 "
            "compares optimizers at a fixed rate on noisy mini-batch gradients of a real network and finds momentum "
            "0.9 ahead on Digits (and measures how much of that is the larger effective step); this lesson tunes "
            "each rate on a noise-free quadratic, where 0.9 rings."
            if momentum_ahead
            else f"At the fixed rate momentum 0.9 was not ahead here ({fast}: final |grad f| {final[fast]:.2g}; "
            f"{slow}: {final[slow]:.2g}), unlike lesson 12 on Digits."
        ),
    )
    return [tune_claim, ring_claim, heavy_claim, adaptive_claim, fixed_claim]
