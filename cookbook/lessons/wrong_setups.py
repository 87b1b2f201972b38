"""Evidence for lesson 05 (wrong setups): what Keras did with each case, the counts, the figure, the claims.

The lesson builds, compiles and fits each case and asks ``cookbook.check_setup``
about it; this module turns what happened into records (``Outcome``), counts
them (``count``), tabulates and draws them, and words the claims. Everything
here works on plain values the lesson passes in, so each piece is tested on
hand-made outcomes in ``tests/test_wrong_setups.py``.

What counts as a *silent* mistake: a wrong setup for which ``fit`` returned
without raising an error and without a warning about the setup, whatever
its loss did. A loss of NaN counts as silent: Keras neither stops nor warns
on it (``keras.callbacks.TerminateOnNaN`` would stop, but only if you add it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, Verdict, verdict_of

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "LABEL_TASKS",
    "MULTILABEL_QUESTIONS",
    "ONE_UNIT_SOFTMAX",
    "SIGMOID_CONTROL",
    "ZERO_LOSS",
    "Case",
    "CheckSetup",
    "Counts",
    "KerasDid",
    "Outcome",
    "Run",
    "SHOWN_COLUMNS",
    "binary_crossentropy",
    "claims",
    "count",
    "describe",
    "keras_did",
    "messages_markdown",
    "multi_hot",
    "outcome",
    "plot_outcomes",
    "recorded_warnings",
    "results_table",
    "score",
]

# How each label set of the lesson is stored -> the task it answers (which truth scores its predictions).
LABEL_TASKS = {
    "integer labels": "classes",  # the classes as integers 0..C-1
    "one-hot labels": "classes",  # C columns, one 1 per row
    "0/1 labels": "binary",  # the yes/no question, one float per row
    "0/1 one-hot labels": "binary",  # the same question as two one-hot columns
    "0/1 labels with a NaN": "binary",  # the same, one label missing
    "multi-hot labels": "multilabel",  # several yes/no questions at once
}
# The test labels each task is scored on.
_TRUTH = {"classes": "integer labels", "binary": "0/1 labels", "multilabel": "multi-hot labels"}
MULTILABEL_QUESTIONS = ("class is even", "class is a multiple of 3", "class is in the top third")
# The cases the claims read, by key (the lesson's CASES must hold them).
ZERO_LOSS = "sigmoid1_cce"  # Dense(1, "sigmoid") + categorical_crossentropy
ONE_UNIT_SOFTMAX = "softmax1_bce"  # Dense(1, "softmax") + binary_crossentropy
SIGMOID_CONTROL = "control_binary"  # Dense(1, "sigmoid") + binary_crossentropy
# The columns of results_table the lesson prints (the CSV has them all, with both messages).
SHOWN_COLUMNS = [
    "key",
    "Keras",
    "first loss",
    "last loss",
    "output min",
    "output max",
    "test accuracy",
    "majority-class accuracy",
    "check_setup",
]
_ZERO = 1e-7  # a loss this small is zero (float32 rounding)
_MESSAGE_WIDTH = 100


class KerasDid(str, enum.Enum):
    """What ``fit`` did with a case."""

    TRAINS_SILENTLY = "trains silently"  # returned, no error, no warning (a NaN loss included)
    TRAINS_WITH_WARNING = "trains, warns"  # returned, with a UserWarning
    RAISES = "fit raises"  # stopped with an error


class CheckSetup(str, enum.Enum):
    """What ``cookbook.check_setup`` said before training."""

    PASSES = "passes"
    REFUSES = "refuses"


@dataclasses.dataclass(frozen=True)
class Case:
    """One setup the lesson trains: how the labels are stored, the output layer, the loss.

    Attributes:
        key: a short stable identifier (``"softmax1_bce"``); tables and tests find the case by it.
        labels: a key of ``LABEL_TASKS``.
        units, activation: the last ``Dense`` layer (``activation=None`` is linear).
        loss: what ``compile(loss=...)`` gets: a Keras loss name or a ``keras.losses.Loss``.
        correct: a correct setup (a control), not a mistake.
    """

    key: str
    labels: str
    units: int
    activation: str | None
    loss: Any
    correct: bool = False


def describe(case: Case) -> str:
    """The case in Keras words: ``Dense(1, 'sigmoid') + binary_crossentropy, 0/1 labels``."""
    activation = "" if case.activation is None else f", {case.activation!r}"
    if isinstance(case.loss, str):
        loss = case.loss
    else:
        config = case.loss.get_config() if hasattr(case.loss, "get_config") else {}
        loss = type(case.loss).__name__ + ("(from_logits=True)" if config.get("from_logits") else "()")
    return f"Dense({case.units}{activation}) + {loss}, {case.labels}"


@dataclasses.dataclass(frozen=True)
class Run:
    """What ``fit`` and ``predict`` gave for one case, or the error ``fit`` raised.

    Attributes:
        losses: the training loss per epoch (``History.history["loss"]``).
        outputs: the model's predictions on the test rows.
        error: the exception ``fit`` raised, if it did.
    """

    losses: Sequence[float] = ()
    outputs: Any = None
    error: BaseException | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One row of the lesson's table: a case, what Keras did, what check_setup said."""

    case: Case
    keras: KerasDid
    check_setup: CheckSetup
    keras_message: str = ""
    check_setup_message: str = ""
    losses: tuple[float, ...] = ()  # the training loss per epoch
    output_min: float = math.nan
    output_max: float = math.nan
    test_accuracy: float = math.nan
    majority_accuracy: float = math.nan
    test_rows: int = 0

    @property
    def first_loss(self) -> float:
        return self.losses[0] if self.losses else math.nan

    @property
    def last_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan

    @property
    def loss_is_nan(self) -> bool:
        return self.keras is not KerasDid.RAISES and math.isnan(self.last_loss)

    @property
    def silent_mistake(self) -> bool:
        """A wrong setup that trained without an error or a warning."""
        return not self.case.correct and self.keras is KerasDid.TRAINS_SILENTLY


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record every warning raised in the block, each time it is raised, instead of showing it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def keras_did(error: BaseException | None, caught: Sequence[warnings.WarningMessage]) -> KerasDid:
    """``RAISES`` if ``fit`` raised, else ``TRAINS_WITH_WARNING`` if a warning about the setup was caught, else silent.

    Every warning counts except those about library versions (``DeprecationWarning``,
    ``PendingDeprecationWarning``, ``FutureWarning``): Keras warns about a setup with a
    ``UserWarning`` or, for one sigmoid unit with categorical cross-entropy, a ``SyntaxWarning``.
    """
    if error is not None:
        return KerasDid.RAISES
    return KerasDid.TRAINS_WITH_WARNING if _setup_warnings(caught) else KerasDid.TRAINS_SILENTLY


def _setup_warnings(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    about_versions = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    return sorted({_first_line(str(w.message)) for w in caught if not issubclass(w.category, about_versions)})


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= _MESSAGE_WIDTH else line[: _MESSAGE_WIDTH - 3] + "..."


def multi_hot(y_classes: Sequence[int] | np.ndarray, num_classes: int) -> np.ndarray:
    """Multi-label targets from class numbers: one 0/1 column per ``MULTILABEL_QUESTIONS`` entry."""
    y = np.asarray(y_classes).astype(int)
    columns = [y % 2 == 0, y % 3 == 0, 3 * y >= 2 * num_classes]
    return np.stack(columns, axis=1).astype("float32")


def score(outputs: Any, labels: str, test_labels: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """Test accuracy of ``outputs`` for the task of label set ``labels``, and the majority-class accuracy.

    Binary: one column is P(yes) > 0.5, two columns the argmax. Classes: the
    argmax (NaN for one column, which cannot name one of C classes).
    Multi-label: each entry's P > 0.5 against its 0/1 label. The accuracy is
    NaN where it would mean nothing: no outputs, NaN outputs, a shape that
    does not fit the task. The majority-class accuracy always answers the
    commonest class (for multi-label, each question's commoner answer).
    """
    task = LABEL_TASKS[labels]
    truth = np.asarray(test_labels[_TRUTH[task]])
    if task == "multilabel":
        share = truth.mean(axis=0)
        majority = float(np.mean(np.maximum(share, 1 - share)))
    else:
        majority = float(np.unique(truth, return_counts=True)[1].max() / len(truth))
    if outputs is None:
        return math.nan, majority
    p = np.asarray(outputs, np.float64).reshape(len(outputs), -1)
    if np.isnan(p).any():
        return math.nan, majority
    if task == "multilabel":
        accuracy = float(np.mean((p > 0.5) == truth)) if p.shape == truth.shape else math.nan
    elif task == "binary" and p.shape[1] in (1, 2):
        predicted = (p[:, 0] > 0.5).astype(int) if p.shape[1] == 1 else p.argmax(axis=1)
        accuracy = float(np.mean(predicted == truth))
    elif task == "classes" and p.shape[1] > 1:
        accuracy = float(np.mean(p.argmax(axis=1) == truth))
    else:
        accuracy = math.nan
    return accuracy, majority


def outcome(
    case: Case,
    run: Run,
    caught: Sequence[warnings.WarningMessage],
    refusal: str | None,
    test_labels: Mapping[str, np.ndarray],
) -> Outcome:
    """The record of one case.

    Args:
        case: the setup.
        run: what ``fit``/``predict`` gave, or the error.
        caught: the warnings recorded around ``fit`` and ``predict``.
        refusal: ``check_setup``'s message, or ``None`` if it passed the setup.
        test_labels: the test rows' labels by label set (``"integer labels"``, ``"0/1 labels"``...).
    """
    did = keras_did(run.error, caught)
    accuracy, majority = score(run.outputs, case.labels, test_labels)
    said = [f"{type(run.error).__name__}: {run.error}"] if run.error is not None else _setup_warnings(caught)
    fields: dict[str, Any] = {
        "keras_message": _first_line(said[0]) if said else "",
        "majority_accuracy": majority,
        "test_accuracy": accuracy,
        "test_rows": len(test_labels[_TRUTH[LABEL_TASKS[case.labels]]]),
    }
    if run.error is None and len(run.losses):
        outputs = np.asarray(run.outputs, np.float64)
        finite = not np.all(np.isnan(outputs))
        fields.update(
            losses=tuple(float(v) for v in run.losses),
            output_min=float(np.nanmin(outputs)) if finite else math.nan,
            output_max=float(np.nanmax(outputs)) if finite else math.nan,
        )
    verdict = CheckSetup.PASSES if refusal is None else CheckSetup.REFUSES
    return Outcome(case, did, verdict, check_setup_message=refusal or "", **fields)


def results_table(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One row per case: its key, the setup in words, what Keras did, the numbers, check_setup's verdict."""
    return pd.DataFrame(
        [
            {
                "key": o.case.key,
                "setup": describe(o.case),
                "correct": o.case.correct,
                "Keras": o.keras.value,
                "loss is NaN": o.loss_is_nan,
                "first loss": o.first_loss,
                "last loss": o.last_loss,
                "output min": o.output_min,
                "output max": o.output_max,
                "test accuracy": o.test_accuracy,
                "majority-class accuracy": o.majority_accuracy,
                "check_setup": o.check_setup.value,
                "Keras says": o.keras_message,
                "check_setup says": o.check_setup_message,
            }
            for o in outcomes
        ]
    )


def messages_markdown(outcomes: Sequence[Outcome]) -> str:
    """What Keras said (if anything) and what check_setup said, case by case, as a Markdown list."""
    lines = []
    for o in outcomes:
        keras_says = f"Keras {o.keras.value}" + (f": `{o.keras_message}`" if o.keras_message else "")
        check = o.check_setup_message or "passes (a correct setup)"
        lines.append(f"- **{describe(o.case)}** ({o.case.key})\n  - {keras_says}\n  - check_setup: {check}")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Counts:
    """The lesson's tallies over its cases."""

    mistakes: int
    silent: int  # mistakes that trained without an error or a warning
    silent_nan_loss: int  # ... of which the loss was NaN
    warned: int  # mistakes that trained with a warning
    raised: int  # mistakes that made fit raise
    refused: int  # mistakes check_setup refused
    controls: int
    controls_passed: int  # correct setups check_setup passed


def count(outcomes: Sequence[Outcome]) -> Counts:
    """Tally the outcomes: what Keras did with the mistakes, what check_setup said about every case."""
    mistakes = [o for o in outcomes if not o.case.correct]
    controls = [o for o in outcomes if o.case.correct]
    return Counts(
        mistakes=len(mistakes),
        silent=sum(o.silent_mistake for o in mistakes),
        silent_nan_loss=sum(o.silent_mistake and o.loss_is_nan for o in mistakes),
        warned=sum(o.keras is KerasDid.TRAINS_WITH_WARNING for o in mistakes),
        raised=sum(o.keras is KerasDid.RAISES for o in mistakes),
        refused=sum(o.check_setup is CheckSetup.REFUSES for o in mistakes),
        controls=len(controls),
        controls_passed=sum(o.check_setup is CheckSetup.PASSES for o in controls),
    )


def binary_crossentropy(y_true: Any, probabilities: Any) -> float:
    """Mean binary cross-entropy of probabilities over every entry, in float64 NumPy (clipped as Keras does)."""
    y = np.asarray(y_true, np.float64)
    p = np.clip(np.asarray(probabilities, np.float64).reshape(y.shape), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


_COLOURS = {
    KerasDid.TRAINS_SILENTLY: "tab:red",
    KerasDid.TRAINS_WITH_WARNING: "tab:orange",
    KerasDid.RAISES: "tab:grey",
}


def plot_outcomes(outcomes: Sequence[Outcome], epochs: int) -> Figure:
    """Test accuracy per case, coloured by what Keras did, with check_setup's verdict on the right axis.

    A case with no accuracy (fit raised, NaN predictions, one output for C
    classes) gets a short stub in its colour and says why; the black tick is
    the majority-class accuracy of the case's task. Light lines separate the
    two-class mistakes, the C-class mistakes and the correct setups.
    """
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = Figure(figsize=(10, 0.36 * len(outcomes) + 1.6), layout="constrained")
    ax = fig.subplots()
    rows = np.arange(len(outcomes))[::-1]
    for y, o in zip(rows, outcomes):
        colour = "tab:green" if o.case.correct else _COLOURS[o.keras]
        if not math.isnan(o.test_accuracy):
            ax.barh(y, o.test_accuracy, color=colour, height=0.7)
            ax.plot([o.majority_accuracy] * 2, [y - 0.4, y + 0.4], color="black", linewidth=1.5)
            note = f"{o.test_accuracy:.2f}"
        elif o.keras is KerasDid.RAISES:
            note = f"no accuracy: fit raised {o.keras_message.split(':')[0]}"
        elif o.loss_is_nan:
            note = "no accuracy: loss and predictions NaN"
        else:
            note = "no accuracy: one output cannot name one of C classes"
        ax.barh(y, 0.012, color=colour, height=0.7)  # a stub, so a case with no accuracy still shows its colour
        x = 0.0 if math.isnan(o.test_accuracy) else o.test_accuracy
        ax.text(x + 0.015, y, note, va="center", fontsize=8)
    groups = [(o.case.correct, LABEL_TASKS[o.case.labels]) for o in outcomes]
    for i in range(1, len(outcomes)):
        if groups[i] != groups[i - 1] and not (groups[i][0] and groups[i - 1][0]):
            ax.axhline(rows[i] + 0.5, color="lightgrey", linewidth=0.8)
    ax.set_yticks(rows, [describe(o.case) for o in outcomes], fontsize=8)
    ax.set(xlim=(0, 1.12), ylim=(-0.6, len(outcomes) - 0.4), xticks=np.linspace(0, 1, 6))
    ax.set_xlabel("test accuracy on the task the labels stand for")
    ax.set_title(f"What Keras does with each setup ({epochs} full-batch epochs), and what check_setup says")
    verdicts = ax.twinx()
    wrong = [(o.check_setup is CheckSetup.PASSES) != o.case.correct for o in outcomes]
    labels = [o.check_setup.value + (" (wrong)" if w else "") for o, w in zip(outcomes, wrong)]
    verdicts.set_yticks(rows, labels, fontsize=8)
    for tick, w in zip(verdicts.get_yticklabels(), wrong):
        tick.set_color("tab:red" if w else "black")
    verdicts.set_ylim(ax.get_ylim())
    verdicts.set_ylabel("check_setup, before training")
    handles: list[Artist] = [Patch(color="tab:green", label="correct setup (control)")]
    handles += [Patch(color=c, label=f"mistake: {did.value}") for did, c in _COLOURS.items()]
    handles.append(Line2D([], [], color="black", linewidth=1.5, label="always the commonest class"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def claims(
    outcomes: Sequence[Outcome], reported_loss: float, loss_of_probabilities: float, backend: str
) -> list[Claim]:
    """The lesson's points to remember.

    Args:
        outcomes: every case's record (``outcome``), mistakes and controls.
        reported_loss: the test loss Keras reports (``evaluate``) for ``Dense(2, "softmax")`` +
            ``binary_crossentropy`` on one-hot labels; NaN if it was not measured.
        loss_of_probabilities: ``keras.losses.binary_crossentropy`` of that model's predicted probabilities,
            passed as a plain array (no logits to find); ``binary_crossentropy`` here checks it in float64.
        backend: ``keras.backend.backend()``, named in the conclusions.
    """
    counts = count(outcomes)
    by_key = {o.case.key: o for o in outcomes}
    return [
        _check_setup_claim(outcomes, counts),
        _silent_claim(outcomes, counts, backend),
        _zero_loss_claim(by_key[ZERO_LOSS], by_key[SIGMOID_CONTROL]),
        _one_unit_softmax_claim(by_key[ONE_UNIT_SOFTMAX], by_key[SIGMOID_CONTROL]),
        _reported_loss_claim(reported_loss, loss_of_probabilities, backend),
    ]


def _names(outcomes: Sequence[Outcome]) -> str:
    return "; ".join(describe(o.case) for o in outcomes)


def _check_setup_claim(outcomes: Sequence[Outcome], counts: Counts) -> Claim:
    all_refused, all_passed = counts.refused == counts.mistakes, counts.controls_passed == counts.controls
    if all_refused and all_passed:
        words = (
            "Run cookbook.check_setup(model, y_train) after compile and before fit, or copy a pairing it passes "
            "(Dense(1, 'sigmoid') + binary_crossentropy on 0/1 labels, Dense(C, 'softmax') + "
            "sparse_categorical_crossentropy on integer labels, Dense(k, 'sigmoid') + binary_crossentropy on "
            f"multi-hot labels): it refused all {counts.mistakes} mistakes before a single epoch, each with a message "
            f"naming the fix, and passed all {counts.controls} correct setups, the multi-label one included."
        )
    else:
        missed = [o for o in outcomes if not o.case.correct and o.check_setup is CheckSetup.PASSES]
        refused = [o for o in outcomes if o.case.correct and o.check_setup is CheckSetup.REFUSES]
        words = (
            "Run cookbook.check_setup(model, y_train) before fit, but do not rely on it alone: it refused "
            f"{counts.refused} of {counts.mistakes} mistakes"
            + (f" (it let through: {_names(missed)})" if missed else "")
            + f" and passed {counts.controls_passed} of {counts.controls} correct setups"
            + (f" (it refused: {_names(refused)})" if refused else "")
            + "."
        )
    return Claim(
        key="check_setup_catches_the_mistakes",
        claim="check_setup refuses every mistake before training and passes every correct setup",
        verdict=verdict_of(all_refused and all_passed, partly=counts.refused > 0 and all_passed),
        numbers={
            "mistakes": counts.mistakes,
            "refused": counts.refused,
            "controls": counts.controls,
            "controls_passed": counts.controls_passed,
        },
        conclusion=words,
    )


def _silent_claim(outcomes: Sequence[Outcome], counts: Counts, backend: str) -> Claim:
    silent = [o for o in outcomes if o.silent_mistake]
    others = (
        f"{counts.warned} more trained with only a warning and {counts.raised} made fit raise, with messages about "
        "ranks, shapes or a kernel rather than the fix"
    )
    if silent:
        nan_part = (
            f"; {'the one' if counts.silent_nan_loss == 1 else counts.silent_nan_loss} with a NaN label "
            "counts too: its loss was NaN and Keras neither stopped nor warned"
            if counts.silent_nan_loss
            else ""
        )
        words = (
            f"Keras's silence does not mean the setup is right: {counts.silent} of the {counts.mistakes} mistakes "
            f"trained without an error or a warning ({_names(silent)}){nan_part}. {others[0].upper()}{others[1:]}."
        )
    else:
        words = (
            f"On {backend} every one of the {counts.mistakes} mistakes made Keras warn or raise in this run: {others}."
        )
    return Claim(
        key="keras_trains_mistakes_silently",
        claim="Keras trains a wrong output layer, loss or labels without an error or a warning",
        verdict=verdict_of(bool(silent)),
        numbers={
            "mistakes": counts.mistakes,
            "silent": counts.silent,
            "silent_nan_loss": counts.silent_nan_loss,
            "warned": counts.warned,
            "raised": counts.raised,
        },
        conclusion=words,
    )


def _zero_loss_claim(o: Outcome, control: Outcome) -> Claim:
    """A loss of 0 in every epoch, next to the test accuracy it hides."""
    numbers = {
        "epochs": len(o.losses),
        "largest_abs_loss": max((abs(v) for v in o.losses), default=math.nan),
        "test_accuracy": o.test_accuracy,
        "sigmoid_control_test_accuracy": control.test_accuracy,
        "majority_accuracy": o.majority_accuracy,
    }
    claim = "Dense(1, 'sigmoid') + categorical_crossentropy reports a loss of 0 every epoch, whatever it predicts"
    if o.keras is KerasDid.RAISES:
        return Claim(
            "zero_loss_is_not_a_perfect_model",
            claim,
            Verdict.NOT_MEASURED,
            numbers,
            f"Not measured: fit raised {o.keras_message}",
        )
    zero_loss = numbers["largest_abs_loss"] < _ZERO
    accuracy = (
        f"its test accuracy was {o.test_accuracy:.2f}, against {control.test_accuracy:.2f} for the sigmoid control "
        f"with binary_crossentropy and {o.majority_accuracy:.2f} for always answering the commonest class"
    )
    if zero_loss:
        words = (
            "A loss of 0 is not a perfect model: one sigmoid unit with categorical_crossentropy reported 0"
            + (
                f" (up to float32 rounding: at most {numbers['largest_abs_loss']:.1g})"
                if numbers["largest_abs_loss"]
                else ""
            )
            + f" in every one of its {len(o.losses)} epochs, because Keras rescales the single column to sum to 1 (a softmax "
            f"over one class), so the true class always gets probability 1 whatever the model predicts; {accuracy}. "
            f"What Keras did: {o.keras.value}. One sigmoid unit goes with binary_crossentropy."
        )
    else:
        words = (
            f"One sigmoid unit with categorical_crossentropy reported losses up to {numbers['largest_abs_loss']:.3g} "
            f"in this run, not 0; {accuracy}. One sigmoid unit goes with binary_crossentropy."
        )
    return Claim("zero_loss_is_not_a_perfect_model", claim, verdict_of(zero_loss), numbers, words)


def _one_unit_softmax_claim(o: Outcome, control: Outcome) -> Claim:
    numbers = {
        "output_min": o.output_min,
        "output_max": o.output_max,
        "test_accuracy": o.test_accuracy,
        "majority_accuracy": o.majority_accuracy,
        "first_loss": o.first_loss,
        "last_loss": o.last_loss,
        "sigmoid_control_last_loss": control.last_loss,
    }
    claim = "Dense(1, 'softmax') predicts 1.0 for every row, whatever its training loss shows"
    if o.keras is KerasDid.RAISES:
        return Claim(
            "one_unit_softmax_predicts_one", claim, Verdict.NOT_MEASURED, numbers, f"fit raised: {o.keras_message}"
        )
    ones = abs(o.output_min - 1) < 1e-6 and abs(o.output_max - 1) < 1e-6
    like_control = math.isclose(o.last_loss, control.last_loss, rel_tol=1e-5)
    loss_words = f"its training loss went from {o.first_loss:.3g} to {o.last_loss:.3g}" + (
        ", exactly the sigmoid control's: Keras computed it from the logit under the softmax, not from the 1.0"
        if like_control
        else f" (the sigmoid control's: {control.last_loss:.3g})"
    )
    if ones:
        words = (
            "A softmax over one unit is exp(z) / exp(z) = 1: it predicted 1.0 for every test row, so its test "
            f"accuracy {o.test_accuracy:.2f} is just the share of 'yes' rows (majority class: "
            f"{o.majority_accuracy:.2f}), while {loss_words}. For two classes use Dense(1, 'sigmoid') or "
            "Dense(2, 'softmax') with sparse_categorical_crossentropy (lesson 03)."
        )
    else:
        words = (
            f"Dense(1, 'softmax') predicted from {o.output_min:.3g} to {o.output_max:.3g} in this run, not 1.0 "
            f"everywhere; {loss_words}."
        )
    return Claim("one_unit_softmax_predicts_one", claim, verdict_of(ones), numbers, words)


def _reported_loss_claim(reported: float, of_probabilities: float, backend: str) -> Claim:
    numbers = {"keras_reported_loss": reported, "bce_of_probabilities": of_probabilities}
    claim = (
        "the loss Keras reports for Dense(2, 'softmax') + binary_crossentropy on one-hot labels is the binary "
        "cross-entropy of the probabilities the model predicts"
    )
    if math.isnan(reported) or math.isnan(of_probabilities):
        words = "The loss Keras reports for Dense(2, 'softmax') + binary_crossentropy was not measured in this run."
        return Claim("softmax_bce_loss_is_true", claim, Verdict.NOT_MEASURED, numbers, words)
    same = math.isclose(reported, of_probabilities, rel_tol=1e-3)
    if same:
        words = (
            f"On {backend} Keras reported the binary cross-entropy of the softmax's probabilities ({reported:.4g} vs "
            f"{of_probabilities:.4g}); on TensorFlow it scores the softmax's logits as if they were sigmoid logits "
            "instead, so the same code reports a different loss per backend: give a softmax categorical_crossentropy."
        )
    else:
        words = (
            "Do not read a softmax's loss through binary_crossentropy: for Dense(2, 'softmax') on one-hot labels "
            f"Keras ({backend}) reported a test loss of {reported:.4g} where the binary cross-entropy of the "
            f"probabilities it predicts is {of_probabilities:.4g}. It scores the softmax's logits as if each were a "
            "sigmoid's, and trains on that number too; give a softmax categorical_crossentropy (one-hot labels) or "
            "sparse_categorical_crossentropy (integer labels)."
        )
    return Claim("softmax_bce_loss_is_true", claim, verdict_of(same), numbers, words)
