"""Evidence for lesson 09 (momentum and a local minimum): where each run ended, the figures, the claims.

The lesson runs ``keras.optimizers.SGD``, with and without momentum, down the
tilted double well ``f(x) = x**4/4 - x**2/2 - 0.2 x`` from several starts and
records every position. This module says where each run ended (the shallow
minimum, the deep one, diverged, still moving), counts how often it crossed
the hump between the wells, compares each Momentum run with plain SGD at the
same learning rate from the same start, draws the paths and the endings, and
turns the counts into the lesson's claims. Everything is NumPy and pandas on
positions the lesson passes in, so each piece is tested on hand-made paths in
``tests/test_momentum_local_minimum.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.errors import LandscapeError
from cookbook.lessons import landscapes

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DEEP",
    "DEEPER",
    "DIVERGED",
    "DIVERGED_BEYOND",
    "MINIMUM_TOLERANCE",
    "MOVING",
    "SAME",
    "SHALLOW",
    "SHALLOWER",
    "UNSETTLED",
    "Well",
    "against_sgd",
    "claims",
    "effective_rate_pairs",
    "endings_counts",
    "endings_table",
    "hump_crossings",
    "plot_endings",
    "plot_paths",
    "positions_table",
    "velocity_table",
]

MINIMUM_TOLERANCE = 0.05  # |x - minimum| that counts as "in" it
DIVERGED_BEYOND = 10.0  # |x| beyond this (or NaN) counts as diverged
# Where a run ended ("ends in" column):
SHALLOW, DEEP, DIVERGED, MOVING = "shallow minimum", "deep minimum", "diverged", "still moving"
# A Momentum run against plain SGD at the same learning rate and start ("outcome" column):
DEEPER, SAME, SHALLOWER, UNSETTLED = "deeper", "same", "shallower", "unsettled"
_COLOURS = {SHALLOW: "tab:orange", DEEP: "tab:blue", DIVERGED: "black", MOVING: "lightgrey"}
_LETTERS = {SHALLOW: "S", DEEP: "D", DIVERGED: "x", MOVING: "?"}


@dataclasses.dataclass(frozen=True)
class Well:
    """The tilted double well ``f(x) = x**4/4 - x**2/2 - tilt * x`` and its three critical points.

    Attributes:
        shallow: the local minimum (left of the hump).
        hump: the local maximum between the two wells.
        deep: the global minimum (right of the hump).
        tilt: the well's tilt; positive makes the right minimum the deeper one.
    """

    shallow: float
    hump: float
    deep: float
    tilt: float

    @classmethod
    def with_tilt(cls, tilt: float = landscapes.DOUBLE_WELL_TILT) -> Well:
        """The well for ``tilt`` (between 0 and 0.38), its critical points from ``numpy.roots`` of f'."""
        if not 0 < tilt:
            raise LandscapeError(f"tilt={tilt}: pass a tilt between 0 and 0.38, so the right minimum is the deeper one")
        shallow, hump, deep = landscapes.double_well_critical_points(tilt)
        return cls(shallow=shallow, hump=hump, deep=deep, tilt=tilt)

    def f(self, x: float | np.ndarray) -> float | np.ndarray:
        """``f(x)``, in float64."""
        return landscapes.double_well(np.asarray(x, np.float64), self.tilt)

    def first_minimum(self, start: float) -> str:
        """The minimum plain gradient descent slides into from ``start``: ``SHALLOW`` left of the hump, else ``DEEP``."""
        return SHALLOW if start < self.hump else DEEP

    def ending(self, x: float) -> str:
        """``SHALLOW``, ``DEEP``, ``DIVERGED`` (NaN or ``|x| > DIVERGED_BEYOND``) or ``MOVING`` for a final position."""
        if not np.isfinite(x) or abs(x) > DIVERGED_BEYOND:
            return DIVERGED
        if abs(x - self.shallow) < MINIMUM_TOLERANCE:
            return SHALLOW
        if abs(x - self.deep) < MINIMUM_TOLERANCE:
            return DEEP
        return MOVING

    def landmarks(self, starts: Sequence[float]) -> pd.DataFrame:
        """The critical points and the starts: ``x``, ``f(x)``, and for each minimum how far below the hump it lies."""
        points = {"shallow minimum": self.shallow, "hump": self.hump, "deep minimum": self.deep}
        points.update({f"start {i + 1}": float(s) for i, s in enumerate(starts)})
        top = float(self.f(self.hump))
        return pd.DataFrame(
            {
                "point": list(points),
                "x": list(points.values()),
                "f(x)": [float(self.f(x)) for x in points.values()],
                "climb to the hump": [
                    f"{top - float(self.f(x)):.3f}" if name.endswith("minimum") else "" for name, x in points.items()
                ],
            }
        )


def hump_crossings(path: Sequence[float] | np.ndarray, hump: float) -> int:
    """How often a path crossed the top of the hump: sign changes of ``x - hump``, NaN and exact hits skipped."""
    xs = np.asarray(path, np.float64)
    side = np.sign(xs[np.isfinite(xs)] - hump)
    side = side[side != 0]
    return int(np.count_nonzero(side[1:] != side[:-1]))


def _check(positions: Mapping[tuple[float, float], np.ndarray], starts: Sequence[float]) -> None:
    for (lr, momentum), xs in positions.items():
        shape = np.shape(xs)
        if len(shape) != 2 or shape[1] != len(starts) or shape[0] < 1:
            raise LandscapeError(
                f"positions for lr {lr}, momentum {momentum} have shape {shape}: pass one row per step "
                f"(the start first) and one column per start ({len(starts)})"
            )


def endings_table(
    positions: Mapping[tuple[float, float], np.ndarray], starts: Sequence[float], well: Well
) -> pd.DataFrame:
    """One row per (learning rate, momentum, start): where the run ended and how often it crossed the hump.

    Args:
        positions: ``{(learning_rate, momentum): xs}``, ``xs`` of shape
            ``(steps + 1, len(starts))``, the start in row 0; momentum 0 is plain SGD.
        starts: the starting positions, one per column of ``xs``.
        well: the landscape.

    Returns:
        Columns ``optimizer`` ("SGD" or "Momentum"), ``learning rate``,
        ``momentum``, ``start``, ``first minimum`` (where SGD's slope leads
        from the start), ``ends in``, ``final x``, ``final f`` and ``hump crossings``.
    """
    _check(positions, starts)
    rows = []
    for (lr, momentum), xs in positions.items():
        xs = np.asarray(xs, np.float64)
        for column, start in enumerate(starts):
            final = float(xs[-1, column])
            rows.append(
                {
                    "optimizer": "SGD" if momentum == 0 else "Momentum",
                    "learning rate": float(lr),
                    "momentum": float(momentum),
                    "start": float(start),
                    "first minimum": well.first_minimum(start),
                    "ends in": well.ending(final),
                    "final x": final,
                    "final f": float(well.f(final)) if np.isfinite(final) else np.nan,
                    "hump crossings": hump_crossings(xs[:, column], well.hump),
                }
            )
    return pd.DataFrame(rows)


def endings_counts(table: pd.DataFrame) -> pd.DataFrame:
    """How many runs ended where, per momentum and per first minimum (the side of the hump they started on)."""
    counts = table.groupby(["momentum", "first minimum"])["ends in"].value_counts().unstack(fill_value=0)
    return counts.reindex(columns=[SHALLOW, DEEP, DIVERGED, MOVING], fill_value=0).reset_index()


def positions_table(positions: Mapping[tuple[float, float], np.ndarray], starts: Sequence[float]) -> pd.DataFrame:
    """Every recorded position, long format: ``learning rate``, ``momentum``, ``step``, one ``x from <start>`` column each."""
    _check(positions, starts)
    frames = []
    for (lr, momentum), xs in positions.items():
        frame = pd.DataFrame(np.asarray(xs, np.float64), columns=[f"x from {s:g}" for s in starts])
        frame.insert(0, "step", np.arange(len(frame)))
        frame.insert(0, "momentum", float(momentum))
        frame.insert(0, "learning rate", float(lr))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def velocity_table(
    walks: Mapping[float, Sequence[float] | np.ndarray], learning_rate: float, gradient: float
) -> pd.DataFrame:
    """How far each optimizer moved per step under a constant gradient, against plain SGD's ``lr * g``.

    Keras's Momentum keeps ``v = momentum * v - lr * g``: after ``n`` equal
    gradients its step is ``lr * g * (1 - momentum**n) / (1 - momentum)``,
    tending to ``1 / (1 - momentum)`` times SGD's.

    Args:
        walks: ``{momentum: positions}``, the start first, recorded while
            ``apply_gradients`` fed the same gradient at every step.
        learning_rate: the optimizers' learning rate.
        gradient: the constant gradient.
    """
    rows = []
    for momentum, walk in walks.items():
        taken = np.abs(np.diff(np.asarray(walk, np.float64).ravel()))
        n = len(taken)
        if n < 1:
            raise LandscapeError(
                f"the walk for momentum {momentum} has no step: record the start and every step after it"
            )
        rows.append(
            {
                "momentum": float(momentum),
                "steps": n,
                "first step": float(taken[0]),
                "last step": float(taken[-1]),
                "last step / SGD step": float(taken[-1]) / (learning_rate * abs(gradient)),
                "(1 - momentum^n) / (1 - momentum)": (1 - momentum**n) / (1 - momentum),
                "1 / (1 - momentum)": 1 / (1 - momentum),
            }
        )
    return pd.DataFrame(rows)


def against_sgd(table: pd.DataFrame) -> pd.DataFrame:
    """Each Momentum run next to plain SGD at the same learning rate from the same start.

    ``outcome`` is ``DEEPER`` (Momentum in the deep minimum, SGD in the
    shallow one), ``SHALLOWER`` (the reverse), ``SAME``, ``DIVERGED``
    (Momentum diverged) or ``UNSETTLED`` (either run still moving, or SGD diverged).

    Raises:
        LandscapeError: a Momentum run has no SGD run (momentum 0) at its learning rate.
    """
    sgd = table[table["momentum"] == 0].set_index(["learning rate", "start"])["ends in"]
    rows = []
    for row in table[table["momentum"] > 0].to_dict("records"):
        lr, momentum, start, ending = row["learning rate"], row["momentum"], row["start"], row["ends in"]
        if (lr, start) not in sgd.index:
            raise LandscapeError(f"no SGD run (momentum 0) at lr {lr} from {start}: add momentum 0.0 to the grid")
        baseline = sgd.loc[(lr, start)]
        if ending == DIVERGED:
            outcome = DIVERGED
        elif MOVING in (ending, baseline) or baseline == DIVERGED:
            outcome = UNSETTLED
        elif ending == baseline:
            outcome = SAME
        else:
            outcome = DEEPER if ending == DEEP else SHALLOWER
        rows.append(
            {
                "learning rate": lr,
                "momentum": momentum,
                "start": start,
                "SGD ends in": baseline,
                "Momentum ends in": ending,
                "outcome": outcome,
            }
        )
    return pd.DataFrame(rows)


def effective_rate_pairs(table: pd.DataFrame) -> list[tuple[float, float, float]]:
    """``(lr, momentum, lr / (1 - momentum))`` for each Momentum setting whose effective rate SGD also ran."""
    sgd_rates = table.loc[table["momentum"] == 0, "learning rate"].unique()
    pairs = []
    for lr, momentum in table.loc[table["momentum"] > 0, ["learning rate", "momentum"]].drop_duplicates().to_numpy():
        effective = lr / (1 - momentum)
        matches = [r for r in sgd_rates if np.isclose(r, effective)]
        if matches:
            pairs.append((float(lr), float(momentum), float(matches[0])))
    return pairs


def plot_paths(
    positions: Mapping[tuple[float, float], np.ndarray],
    starts: Sequence[float],
    drawn_starts: Sequence[float],
    learning_rate: float,
    well: Well,
    first_steps: int = 150,
) -> Figure:
    """Left: f with its critical points and the starts. Then, per drawn start: x over steps, SGD and each momentum.

    Only the first ``first_steps`` steps are drawn (the runs have settled by
    then; ``plot_endings`` shows where every run ended).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.8), layout="constrained")
    left, *rights = fig.subplots(1, 1 + len(drawn_starts))
    xs = np.linspace(min(*starts, well.shallow) - 0.2, max(*starts, well.deep) + 0.2, 400)
    left.plot(xs, well.f(xs), color="black", linewidth=1)
    for (name, x), marker in zip(
        (("shallow minimum", well.shallow), ("hump", well.hump), ("deep minimum", well.deep)), ("v", "^", "*")
    ):
        left.plot(x, well.f(x), marker, color="dimgrey", markersize=10, linestyle="none", label=f"{name}: x = {x:.3f}")
    left.plot(starts, well.f(np.asarray(starts)), "o", color="tab:green", markersize=6, label="the starts")
    left.set(xlabel="x (position)", ylabel="f(x)", title=f"f(x) = x^4/4 - x^2/2 - {well.tilt:g} x")
    left.legend(fontsize="small", loc="upper center")
    lines = {"shallow minimum": (well.shallow, ":"), "hump": (well.hump, "-"), "deep minimum": (well.deep, "--")}
    for ax, start in zip(rights, drawn_starts):
        column = list(starts).index(start)
        for (lr, momentum), path in positions.items():
            if np.isclose(lr, learning_rate):
                label = "SGD (momentum 0)" if momentum == 0 else f"momentum {momentum:g}"
                drawn = np.asarray(path)[: first_steps + 1, column]
                ax.plot(drawn, linewidth=2.2 if momentum == 0 else 1.4, label=label)
        for name, (x, style) in lines.items():
            ax.axhline(x, color="grey", linestyle=style, linewidth=1)
            ax.annotate(name, (1.0, x), xycoords=("axes fraction", "data"), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize="small", color="dimgrey")  # fmt: skip
        ax.set(
            xlabel="step",
            ylabel="x (position)",
            ylim=(min(starts) - 0.3, max(starts) + 0.3),
            title=f"Start at x = {start:g}, learning rate {learning_rate:g}",
        )
        total = len(next(iter(positions.values()))) - 1
        if total > first_steps:
            ax.set_xlabel(f"step (the first {first_steps} of {total})")
    rights[-1].legend(fontsize="small", loc="lower right", framealpha=0.95)
    return fig


def plot_endings(table: pd.DataFrame, well: Well, steps: int) -> Figure:
    """Where each run ended: one row per (learning rate, momentum), one column per start, coloured by ending."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    kinds = list(_COLOURS)
    starts = sorted(table["start"].unique())
    settings = table[["momentum", "learning rate"]].drop_duplicates().sort_values(["momentum", "learning rate"])
    grid = np.full((len(settings), len(starts)), np.nan)
    fig = Figure(figsize=(1.1 * len(starts) + 3.5, 0.36 * len(settings) + 2.4), layout="constrained")
    ax = fig.subplots()
    for i, (momentum, lr) in enumerate(settings.to_numpy()):
        for j, start in enumerate(starts):
            match = table[(table["momentum"] == momentum) & (table["learning rate"] == lr) & (table["start"] == start)]
            ending = match["ends in"].iloc[0]
            grid[i, j] = kinds.index(ending)
            text_colour = "white" if ending in (DEEP, DIVERGED) else "black"
            ax.text(j, i, _LETTERS[ending], ha="center", va="center", fontsize=9, color=text_colour)
    ax.imshow(grid, cmap=ListedColormap(list(_COLOURS.values())), vmin=-0.5, vmax=len(kinds) - 0.5, aspect="auto")
    between = sum(s < well.hump for s in starts) - 0.5
    hump = ax.axvline(
        between, color="red", linewidth=2.5, label=f"the hump (x = {well.hump:.3f}) lies between these starts"
    )
    for i in range(1, len(settings)):
        if settings["momentum"].iloc[i] != settings["momentum"].iloc[i - 1]:
            ax.axhline(i - 0.5, color="white", linewidth=3)
    ax.set_xticks(range(len(starts)), [f"{s:g}" for s in starts])
    ax.set_yticks(
        range(len(settings)),
        [("SGD" if m == 0 else f"momentum {m:g}") + f", lr {lr:g}" for m, lr in settings.to_numpy()],
    )
    ax.set(xlabel="start x", title=f"Where each run ended after {steps} steps")
    handles = [Patch(color=_COLOURS[k], label=f"{_LETTERS[k]}: {k}") for k in kinds]
    fig.legend(handles=[*handles, hump], loc="outside lower center", ncols=len(kinds) + 1, fontsize="small")
    return fig


def _count(frame: pd.DataFrame, column: str, value: str) -> int:
    return int((frame[column] == value).sum())


def claims(
    table: pd.DataFrame, velocity: pd.DataFrame, well: Well, drawn_learning_rate: float | None = None
) -> list[Claim]:
    """The lesson's points to remember, from its ``endings_table`` and ``velocity_table``.

    ``drawn_learning_rate``: the learning rate of the runs the lesson draws; an
    example setting is taken from it when one fits.
    """
    sgd, momentum_runs = table[table["momentum"] == 0], table[table["momentum"] > 0]
    return [
        _momentum_prefers_no_minimum(against_sgd(table)),
        _batch_gd_stops_first(sgd, well),
        _rolls_out_of_either(momentum_runs, well, drawn_learning_rate),
        _carried_speed(table, velocity),
    ]


def _momentum_prefers_no_minimum(compared: pd.DataFrame) -> Claim:
    runs = len(compared)
    deeper, shallower = _count(compared, "outcome", DEEPER), _count(compared, "outcome", SHALLOWER)
    diverged, same = _count(compared, "outcome", DIVERGED), _count(compared, "outcome", SAME)
    worse = shallower + diverged
    verdict = verdict_of(deeper > 0 and worse == 0, partly=deeper > 0)
    counts = (
        f"momentum ended in a deeper minimum than plain SGD (same learning rate, same start) in {deeper} of {runs} "
        f"runs, in a shallower one in {shallower}, diverged in {diverged}, and ended where SGD did in {same}"
    )
    if verdict is Verdict.PARTLY:
        words = (
            "In your own Keras code, do not add momentum to find a better minimum: when where training ends "
            "matters, train from several seeds (starts) and keep the run with the lowest loss. Here " + counts + ". "
            "Momentum carries the ball over a hump in whichever direction it is moving, which is not always "
            "towards the deeper well."
        )
    elif verdict is Verdict.HOLDS:
        words = (
            "In your own Keras code, momentum helped here, but compare several seeds (starts) anyway: "
            + counts
            + "; nothing in its update rule knows which minimum is deeper."
        )
    else:
        words = "In your own Keras code, do not expect SGD(momentum=...) to find a better minimum: " + counts + "."
    return Claim(
        key="momentum_finds_the_deeper_minimum",
        claim="momentum helps gradient descent find the deeper (global) minimum",
        verdict=verdict,
        numbers={"runs": runs, "deeper": deeper, "same": same, "shallower": shallower, "diverged": diverged},
        conclusion=words,
    )


def _batch_gd_stops_first(sgd: pd.DataFrame, well: Well) -> Claim:
    runs = len(sgd)
    stayed = int(((sgd["ends in"] == sgd["first minimum"]) & (sgd["hump crossings"] == 0)).sum())
    starts = sgd["start"].unique()
    left = int((starts < well.hump).sum())
    shallow, deep = _count(sgd, "ends in", SHALLOW), _count(sgd, "ends in", DEEP)
    rates = sgd["learning rate"].nunique()
    verdict = verdict_of(runs > 0 and stayed == runs, partly=stayed > 0)
    counts = (
        f"plain SGD fed the exact gradient stopped in the first minimum it met in {stayed} of {runs} runs "
        f"({len(starts)} starts x {rates} learning rates): it ended in the shallow minimum in {shallow} runs and in "
        f"the deep one in {deep}"
    )
    if verdict is Verdict.HOLDS:
        words = (
            "This contradicts the study note's 'batch GD can find the global minimum': the exact gradient does not "
            "find the deeper well, the start does. " + counts[0].upper() + counts[1:] + f"; the shallow endings are "
            f"exactly the runs from the {left} starts left of the hump. Batch GD reaches the global minimum only "
            "from a start already in its basin."
        )
    else:
        words = (
            "Batch GD did not always stop in the first minimum it met: " + counts + "; the other "
            f"{runs - stayed} jumped the hump with one large step, diverged or were still moving. Where it ends is set by the start "
            "and the step size, not by which well is deeper, which still contradicts the note's 'batch GD can find "
            "the global minimum'."
        )
    return Claim(
        key="batch_gd_stops_in_the_first_minimum",
        claim="batch gradient descent (the exact gradient, plain SGD) stops in the first minimum it meets",
        verdict=verdict,
        numbers={
            "runs": runs,
            "starts": len(starts),
            "starts_left_of_hump": left,
            "stayed_in_first_minimum": stayed,
            "ended_shallow": shallow,
            "ended_deep": deep,
        },
        conclusion=words,
    )


def _rolls_out_of_either(runs: pd.DataFrame, well: Well, drawn_learning_rate: float | None) -> Claim:
    from_left, from_right = runs[runs["start"] < well.hump], runs[runs["start"] > well.hump]
    out_of_shallow, out_of_deep = _count(from_left, "ends in", DEEP), _count(from_right, "ends in", SHALLOW)
    diverged = _count(runs, "ends in", DIVERGED)
    by_setting = runs.groupby(["learning rate", "momentum"])
    both = sorted(
        (
            setting
            for setting, group in by_setting
            if ((group["start"] < well.hump) & (group["ends in"] == DEEP)).any()
            and ((group["start"] > well.hump) & (group["ends in"] == SHALLOW)).any()
        ),
        key=lambda setting: (drawn_learning_rate is None or not np.isclose(setting[0], drawn_learning_rate), setting),
    )
    verdict = verdict_of(out_of_shallow > 0 and out_of_deep > 0, partly=out_of_shallow > 0 or out_of_deep > 0)
    counts = (
        f"from starts left of the hump {out_of_shallow} of {len(from_left)} Momentum runs crossed it into the deep "
        f"minimum; from starts right of it {out_of_deep} of {len(from_right)} rolled through the deep minimum, over "
        f"the hump, into the shallow one ({diverged} diverged)"
    )
    example = ""
    if both:
        lr, momentum = both[0]
        drawn = drawn_learning_rate is not None and np.isclose(lr, drawn_learning_rate)
        example = (
            f" {len(both)} of {by_setting.ngroups} settings did both, e.g. momentum {momentum:g} at learning rate "
            f"{lr:g}" + (" (drawn in the figure)." if drawn else ".")
        )
    if verdict is Verdict.HOLDS:
        words = (
            "The note is right that momentum can roll out of a local minimum, but it rolls out of the global one "
            "too, depending on the direction it moves: " + counts + "." + example
        )
    elif out_of_shallow > 0:
        words = (
            "The note is right that momentum can roll out of a local minimum: " + counts + ". This grid did not show "
            "it leaving the deep one, though nothing in the rule prevents it."
        )
    else:
        words = "Momentum never left the minimum its start leads to here: " + counts + "."
    return Claim(
        key="momentum_rolls_out_of_either_minimum",
        claim="momentum can roll out of a local minimum (the note), and out of the global one too",
        verdict=verdict,
        numbers={
            "runs_from_left": len(from_left),
            "left_to_deep": out_of_shallow,
            "runs_from_right": len(from_right),
            "right_to_shallow": out_of_deep,
            "diverged": diverged,
            "settings": by_setting.ngroups,
            "settings_both_ways": len(both),
        },
        conclusion=words,
    )


def _carried_speed(table: pd.DataFrame, velocity: pd.DataFrame) -> Claim:
    pairs = effective_rate_pairs(table)
    claim = "momentum crosses humps because it keeps its speed, not because its step is 1/(1 - momentum) larger"
    if not pairs:
        return Claim(
            key="momentum_crosses_by_carried_speed",
            claim=claim,
            verdict=Verdict.NOT_MEASURED,
            numbers={"pairs": 0},
            conclusion="No SGD run at a Momentum setting's effective rate lr / (1 - momentum) in this grid, so this "
            "run cannot separate carried speed from step size.",
        )
    crossed = table["hump crossings"] > 0
    momentum_crossed = sgd_crossed = runs = 0
    for lr, momentum, effective in pairs:
        same = table["learning rate"].sub(lr).abs().lt(1e-12) & (table["momentum"] == momentum)
        sgd = table["learning rate"].sub(effective).abs().lt(1e-12) & (table["momentum"] == 0)
        momentum_crossed += int((same & crossed).sum())
        sgd_crossed += int((sgd & crossed).sum())
        runs += int(same.sum())
    lr, momentum, effective = pairs[0]
    row = velocity.set_index("momentum").loc[momentum]
    ratio, limit = float(row["last step / SGD step"]), float(row["1 / (1 - momentum)"])
    grew = abs(ratio - row["(1 - momentum^n) / (1 - momentum)"]) < 1e-3 * limit
    by_speed = momentum_crossed > sgd_crossed
    verdict = verdict_of(grew and by_speed, partly=grew or by_speed)
    settings = "; ".join(f"momentum {m:g} at lr {r:g} against SGD at lr {e:g}" for r, m, e in pairs)
    counts = (
        f"under a constant gradient Momentum {momentum:g}'s step grew to {ratio:.3g}x SGD's "
        f"(1 / (1 - momentum) = {limit:g}), yet SGD at that effective rate crossed the hump in {sgd_crossed} of {runs} "
        f"runs and Momentum in {momentum_crossed} ({settings})"
    )
    if by_speed:
        words = (
            "A larger step alone does not carry the ball over the hump, the speed it keeps does: " + counts + ". "
            "SGD's step shrinks with the slope at every minimum; Momentum's velocity does not, so it reaches the "
            "bottom moving and climbs whatever comes next."
        )
    else:
        words = "This run cannot separate carried speed from step size: " + counts + "."
    return Claim(
        key="momentum_crosses_by_carried_speed",
        claim=claim,
        verdict=verdict,
        numbers={
            "momentum": momentum,
            "step_ratio": ratio,
            "one_over_one_minus_momentum": limit,
            "runs": runs,
            "momentum_runs_crossed": momentum_crossed,
            "sgd_effective_rate_runs_crossed": sgd_crossed,
        },
        conclusion=words,
    )
