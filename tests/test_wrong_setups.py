"""Lesson 05 (wrong setups): its evidence on hand-made outcomes, and its claims from one quick run."""

import math
import warnings

import cookbook
from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import wrong_setups as evidence
from cookbook.lessons.wrong_setups import Case, CheckSetup, KerasDid

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "05_wrong_setups"
TEST_LABELS = {  # four test rows: classes 0..3 of C = 4, "lower half" = classes 0 and 1
    "integer labels": np.array([0, 1, 2, 3]),
    "0/1 labels": np.array([1.0, 1.0, 0.0, 0.0]),
    "multi-hot labels": evidence.multi_hot([0, 1, 2, 3], 4),
}


def _warning(category, text="a message"):
    return warnings.WarningMessage(text, category, "file.py", 1)


def _outcome(key, keras_did, *, correct=False, refused=None, losses=(0.7, 0.3), accuracy=0.9, majority=0.5, **more):
    """A hand-made record: what Keras did, what check_setup said (refuses mistakes unless told), the numbers."""
    refused = not correct if refused is None else refused
    if keras_did is KerasDid.RAISES:
        losses, accuracy = (), math.nan
    return evidence.Outcome(
        Case(key, "0/1 labels", 1, "sigmoid", "binary_crossentropy", correct=correct),
        keras_did,
        CheckSetup.REFUSES if refused else CheckSetup.PASSES,
        check_setup_message="refused" if refused else "",
        losses=tuple(losses),
        test_accuracy=accuracy,
        majority_accuracy=majority,
        test_rows=400,
        **more,
    )


def _lesson_outcomes(*, missed=False, silent=True, zero_losses=(0.0, 0.0, 0.0), one_unit_min=1.0):
    """Outcomes shaped like the lesson's: the cases its claims read, a NaN-label mistake, and controls."""
    return [
        _outcome(evidence.ZERO_LOSS, KerasDid.TRAINS_WITH_WARNING, losses=zero_losses, accuracy=0.5),
        _outcome(
            evidence.ONE_UNIT_SOFTMAX,
            KerasDid.TRAINS_WITH_WARNING,
            losses=(0.9, 0.2),
            accuracy=0.5,
            output_min=one_unit_min,
            output_max=1.0,
        ),
        _outcome("nan_label", KerasDid.TRAINS_SILENTLY if silent else KerasDid.RAISES, losses=(math.nan, math.nan)),
        _outcome("linear1_bce", KerasDid.TRAINS_SILENTLY if silent else KerasDid.RAISES, refused=not missed),
        _outcome("onehot_sparse", KerasDid.RAISES),
        _outcome(evidence.SIGMOID_CONTROL, KerasDid.TRAINS_SILENTLY, correct=True, losses=(0.9, 0.2), accuracy=0.9),
        _outcome("control_multilabel", KerasDid.TRAINS_SILENTLY, correct=True),
    ]


def test_keras_did_tells_raising_warning_and_silence_apart():
    """An error wins; a SyntaxWarning (Keras's for a 1-column softmax loss) counts; a DeprecationWarning does not."""
    assert evidence.keras_did(ValueError("shape"), [_warning(UserWarning)]) is KerasDid.RAISES
    assert evidence.keras_did(None, [_warning(SyntaxWarning)]) is KerasDid.TRAINS_WITH_WARNING
    assert evidence.keras_did(None, [_warning(UserWarning)]) is KerasDid.TRAINS_WITH_WARNING
    assert evidence.keras_did(None, [_warning(DeprecationWarning), _warning(FutureWarning)]) is KerasDid.TRAINS_SILENTLY
    assert evidence.keras_did(None, []) is KerasDid.TRAINS_SILENTLY


def test_multi_hot_answers_three_yes_no_questions_per_class():
    """Columns: class even, class a multiple of 3, class in the top third (3 y >= 2 C)."""
    np.testing.assert_array_equal(
        evidence.multi_hot([0, 1, 3, 4, 7, 9], 10),
        [[1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1]],
    )


@pytest.mark.parametrize(
    ("outputs", "labels", "accuracy"),
    [
        ([[0.9], [0.6], [0.4], [0.1]], "0/1 labels", 1.0),  # one column: P(yes) > 0.5
        ([[0.9], [0.6], [0.4], [0.7]], "0/1 labels", 0.75),
        ([[0.1, 0.9], [0.8, 0.2], [0.1, 0.9], [0.6, 0.4]], "0/1 one-hot labels", 0.5),  # two columns: argmax
        (
            [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]],
            "one-hot labels",
            0.75,
        ),
        ([[0.9], [0.1], [0.9], [0.1]], "integer labels", math.nan),  # one output cannot name one of 4 classes
        ([[math.nan], [0.6], [0.4], [0.1]], "0/1 labels with a NaN", math.nan),  # NaN predictions mean nothing
        (None, "0/1 labels", math.nan),  # fit raised
    ],
)
def test_score_reads_outputs_as_the_labels_task_needs(outputs, labels, accuracy):
    """Accuracy by the task the labels stand for, NaN where it would mean nothing."""
    got, _ = evidence.score(None if outputs is None else np.array(outputs), labels, TEST_LABELS)
    assert got == pytest.approx(accuracy, nan_ok=True)


def test_score_gives_the_majority_class_bar_of_each_task():
    """Majority: the commonest class's share; for multi-label, each question's commoner answer, averaged."""
    truth = TEST_LABELS["multi-hot labels"]  # rows 0..3 of C = 4: even [1,0,1,0], x3 [1,0,0,1], top third [0,0,0,1]
    assert evidence.score(None, "integer labels", TEST_LABELS)[1] == pytest.approx(0.25)
    assert evidence.score(None, "0/1 labels", TEST_LABELS)[1] == pytest.approx(0.5)
    accuracy, majority = evidence.score(np.full((4, 3), 0.2), "multi-hot labels", TEST_LABELS)
    assert majority == pytest.approx((0.5 + 0.5 + 0.75) / 3)
    assert accuracy == pytest.approx(np.mean(truth == 0))


def test_outcome_records_the_error_or_the_losses_and_check_setups_verdict():
    """A raised fit keeps its error's name and no losses; a trained one keeps its losses and output range."""
    case = Case("k", "0/1 labels", 1, "sigmoid", "binary_crossentropy")
    raised = evidence.outcome(case, evidence.Run(error=ValueError("rank\nmore")), [], "bad", TEST_LABELS)
    assert raised.keras is KerasDid.RAISES and raised.keras_message == "ValueError: rank"
    assert raised.check_setup is CheckSetup.REFUSES and math.isnan(raised.last_loss) and not raised.loss_is_nan
    run = evidence.Run([0.8, 0.5, math.nan], np.array([[math.nan], [0.2], [0.9], [0.4]]))
    trained = evidence.outcome(case, run, [_warning(SyntaxWarning, "odd")], None, TEST_LABELS)
    assert trained.keras is KerasDid.TRAINS_WITH_WARNING and trained.keras_message == "odd"
    assert trained.check_setup is CheckSetup.PASSES and trained.loss_is_nan and trained.first_loss == 0.8
    assert (trained.output_min, trained.output_max, trained.test_rows) == (0.2, 0.9, 4)


def test_count_takes_a_silent_nan_loss_as_a_silent_mistake_and_leaves_controls_out():
    """The NaN-label case trained without a word, so it is one of the silent mistakes, and is tallied as such."""
    counts = evidence.count(_lesson_outcomes())
    assert counts == evidence.Counts(
        mistakes=5, silent=2, silent_nan_loss=1, warned=2, raised=1, refused=5, controls=2, controls_passed=2
    )
    assert evidence.count(_lesson_outcomes(missed=True)).refused == 4


def test_results_table_looks_up_by_key_and_states_the_verdicts_as_enum_values():
    """One row per case, a key column, Keras and check_setup values from their enums."""
    table = evidence.results_table(_lesson_outcomes()).set_index("key")
    assert table.loc["nan_label", "Keras"] == KerasDid.TRAINS_SILENTLY.value
    assert bool(table.loc["nan_label", "loss is NaN"])
    assert table.loc[evidence.SIGMOID_CONTROL, "check_setup"] == CheckSetup.PASSES.value
    assert table.loc["onehot_sparse", "check_setup"] == CheckSetup.REFUSES.value
    assert table.loc[evidence.ZERO_LOSS, "last loss"] == 0.0


def test_binary_crossentropy_is_the_textbook_mean_over_every_entry():
    """Mean of -[y log p + (1 - y) log(1 - p)] over all entries; with two one-hot columns it equals the CCE."""
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.8, 0.2], [0.4, 0.6]])
    assert evidence.binary_crossentropy(y, p) == pytest.approx(-(2 * np.log(0.8) + 2 * np.log(0.6)) / 4)
    assert evidence.binary_crossentropy(y, p) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    on_array = float(keras.ops.mean(keras.losses.binary_crossentropy(y, p)))  # a plain array: no logits to find
    assert on_array == pytest.approx(evidence.binary_crossentropy(y, p), rel=1e-5)


def test_claims_hold_when_check_setup_refuses_every_mistake_and_keras_stays_silent_on_some():
    """Every key present; the counts are numbers; the zero-loss and one-unit-softmax claims hold; TF's gap fails."""
    found = claims.by_key(evidence.claims(_lesson_outcomes(), 0.3657, 0.3787, "tensorflow"))
    assert len(found) == 5
    check = found["check_setup_catches_the_mistakes"]
    assert check.verdict is Verdict.HOLDS
    assert check.numbers == {"mistakes": 5, "refused": 5, "controls": 2, "controls_passed": 2}
    silent = found["keras_trains_mistakes_silently"]
    assert silent.verdict is Verdict.HOLDS and silent.numbers["silent"] == 2 and silent.numbers["silent_nan_loss"] == 1
    zero = found["zero_loss_is_not_a_perfect_model"]
    assert zero.verdict is Verdict.HOLDS and zero.numbers["largest_abs_loss"] == 0.0 and zero.numbers["epochs"] == 3
    assert zero.numbers["test_accuracy"] < zero.numbers["sigmoid_control_test_accuracy"]
    assert found["one_unit_softmax_predicts_one"].verdict is Verdict.HOLDS
    reported = found["softmax_bce_loss_is_true"]
    assert reported.verdict is Verdict.FAILS and reported.numbers["keras_reported_loss"] == 0.3657


def test_claims_follow_the_numbers_the_other_way():
    """A missed mistake: partly; no silent mistake, a nonzero loss, outputs below 1: fail; equal losses: hold."""
    outcomes = _lesson_outcomes(missed=True, silent=False, zero_losses=(0.5, 0.0), one_unit_min=0.4)
    found = claims.by_key(evidence.claims(outcomes, 0.38, 0.38, "jax"))
    assert found["check_setup_catches_the_mistakes"].verdict is Verdict.PARTLY
    assert found["check_setup_catches_the_mistakes"].numbers["refused"] == 4
    assert found["keras_trains_mistakes_silently"].verdict is Verdict.FAILS
    zero = found["zero_loss_is_not_a_perfect_model"]
    assert zero.verdict is Verdict.FAILS and zero.numbers["largest_abs_loss"] == 0.5
    assert found["one_unit_softmax_predicts_one"].verdict is Verdict.FAILS
    assert found["softmax_bce_loss_is_true"].verdict is Verdict.HOLDS
    unmeasured = claims.by_key(evidence.claims(outcomes, math.nan, 0.38, "jax"))
    assert unmeasured["softmax_bce_loss_is_true"].verdict is Verdict.NOT_MEASURED


def test_plot_outcomes_draws_one_row_per_case_with_check_setups_verdict():
    """The figure's left ticks name every case; the right ticks say passes or refuses."""
    outcomes = _lesson_outcomes()
    fig = evidence.plot_outcomes(outcomes, epochs=5)
    ax, verdicts = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [evidence.describe(o.case) for o in outcomes]
    assert {t.get_text() for t in verdicts.get_yticklabels()} == {"passes", "refuses"}


def test_a_tiny_model_shows_the_two_silent_loss_numbers():
    """Untrained, on 8 rows: one sigmoid unit scores categorical_crossentropy 0; a softmax's BCE differs on TF."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)).astype("float32"), (rng.random(8) > 0.5).astype("float32")
    sigmoid = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
    sigmoid.compile(loss="categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        assert sigmoid.evaluate(X, y[:, None], verbose=0) == pytest.approx(0.0, abs=1e-7)
    softmax = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, "softmax")])
    softmax.compile(loss="binary_crossentropy")
    y_onehot = keras.utils.to_categorical(y, 2)
    reported = softmax.evaluate(X, y_onehot, verbose=0)
    true = evidence.binary_crossentropy(y_onehot, softmax.predict(X, verbose=0))
    assert (abs(reported - true) > 1e-3) == (keras.backend.backend() == "tensorflow")
    with pytest.raises(cookbook.SetupError):
        cookbook.check_setup(softmax, y_onehot)


@pytest.mark.slow
def test_quick_run_counts_match_its_table_and_check_setup_sorts_every_case(quick_run):
    """The claims' counts are the table's: the NaN-label case is silent and counted; every mistake refused."""
    out = quick_run(LESSON)
    table = pd.read_csv(out / f"{LESSON}.csv").set_index("key")
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    mistakes = table[~table["correct"]]
    check = found["check_setup_catches_the_mistakes"]
    assert check.verdict is Verdict.HOLDS
    assert check.numbers == {"mistakes": len(mistakes), "refused": len(mistakes), "controls": 4, "controls_passed": 4}
    assert table.loc["control_multilabel", "check_setup"] == CheckSetup.PASSES.value
    silent = found["keras_trains_mistakes_silently"]
    assert silent.numbers["silent"] == int((mistakes["Keras"] == KerasDid.TRAINS_SILENTLY.value).sum()) >= 5
    assert table.loc["nan_label", "Keras"] == KerasDid.TRAINS_SILENTLY.value and table.loc["nan_label", "loss is NaN"]
    assert silent.numbers["silent_nan_loss"] == 1
    assert {"softmax1_bce", "softmax2_bce_integer", "softmax2_bce_onehot", "sigmoid1_bce_onehot"} <= set(mistakes.index)
    reported = pd.read_csv(out / f"{LESSON}_reported_loss.csv").iloc[0]
    loss_claim = found["softmax_bce_loss_is_true"]
    of_probabilities = reported["keras.losses.binary_crossentropy on the probabilities"]
    assert loss_claim.numbers["keras_reported_loss"] == pytest.approx(reported["Keras evaluate"])
    assert loss_claim.numbers["bce_of_probabilities"] == pytest.approx(of_probabilities)
    # Two one-hot columns: the BCE of the probabilities is their categorical cross-entropy (float32 clipping aside).
    assert of_probabilities == pytest.approx(reported["NumPy binary cross-entropy"], rel=1e-2)
    assert of_probabilities == pytest.approx(reported["categorical_crossentropy"], rel=1e-2)
