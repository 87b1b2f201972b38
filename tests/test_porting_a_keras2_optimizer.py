"""Lesson 16 (porting a Keras 2 optimizer): its evidence on tiny inputs, its claims from one quick run.

The port itself (``cookbook/porting/``: Yogi, its Keras 2 original, the half-ports) is tested in
``tests/test_porting.py``; here: the lesson's measures, tables, figure and claim records.
"""

import dataclasses
import re
import sys
import types

from cookbook import claims, curriculum, reference
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import porting_a_keras2_optimizer as evidence

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

LESSON = "16_porting_a_keras2_optimizer"
TOLERANCE, RELATIVE_TOLERANCE = 1e-6, 1e-5
QUOTED = {"Keras 2": "cookbook/porting/keras2_yogi.py", "Keras 3": "cookbook/porting/yogi.py"}


# --- data and Keras 2 ----------------------------------------------------------------------------


def test_ink_tokens_are_pixel_index_times_levels_plus_ink_level():
    """Ink 0, 5, 6, 16 in 3 levels (0-5, 6-11, 12-16) at pixels 0-3 give tokens 0, 3, 7, 11."""
    tokens = evidence.ink_tokens(np.array([[0, 5, 6, 16]]), levels=3)
    assert tokens.dtype == np.int32 and tokens.tolist() == [[0, 3, 7, 11]]


@pytest.mark.parametrize(
    "images, levels, says",
    [
        (np.array([[0.5, -1.0]]), 3, "raw ink values"),  # standardized pixels
        (np.zeros(4), 3, r"\(rows, pixels\)"),
        (np.zeros((1, 4)), 0, "ink levels >= 1"),
    ],
)
def test_ink_tokens_refuse_what_is_not_raw_digits(images, levels, says):
    """Standardized pixels, a flat array or 0 levels: LessonError saying what to pass."""
    with pytest.raises(LessonError, match=says):
        evidence.ink_tokens(images, levels)


def test_digits_as_tokens_gives_every_image_and_its_label():
    """1,797 Digits images of 64 tokens below 64 x levels, and their labels 0-9, both int32."""
    tokens, labels = evidence.digits_as_tokens(2)
    assert tokens.shape == (1797, 64) and labels.shape == (1797,)
    assert tokens.dtype == labels.dtype == np.int32
    assert 0 <= tokens.min() and tokens.max() < 64 * 2 and set(labels) == set(range(10))


def test_load_keras2_without_tf_keras_names_the_pip_command(monkeypatch):
    """With tf_keras not importable: ModuleNotFoundError for tf_keras, naming the pip command of TensorFlow's X.Y."""
    monkeypatch.setitem(sys.modules, "tf_keras", None)  # `import tf_keras` now raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "cookbook.porting.keras2_yogi", raising=False)
    with pytest.raises(ModuleNotFoundError) as missing:
        evidence.load_keras2()
    version = ".".join(tf.__version__.split(".")[:2])
    assert missing.value.name == "tf_keras"
    assert f'python -m pip install "tf_keras=={version}.*"' in str(missing.value)


def test_the_lesson_stops_without_keras2_instead_of_half_running(monkeypatch, tmp_path):
    """No tf_keras: the lesson raises the ModuleNotFoundError naming the pip command and writes no table."""

    def missing():
        raise ModuleNotFoundError('needs tf_keras: python -m pip install "tf_keras==2.21.*"', name="tf_keras")

    monkeypatch.setattr(evidence, "load_keras2", missing)
    lesson = curriculum.resolve(curriculum.list_recipes(), LESSON)
    with pytest.raises(ModuleNotFoundError, match="pip install"):
        curriculum.run(lesson, ["--quick", "--steps", "2", "--out", str(tmp_path)])
    assert not list(tmp_path.glob("*.csv")), "no table claims a proof that did not run"


# --- the float64 reference and the measures --------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5),
        keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=0.05),
    ],
    ids=["ExponentialDecay", "InverseTimeDecay"],
)
def test_rate_at_matches_the_keras_schedule(schedule):
    """rate_at(schedule, i) = the schedule's own float32 value at i = 0, 7, 49; a float is constant."""
    for i in (0, 7, 49):
        assert evidence.rate_at(schedule, i) == pytest.approx(float(schedule(i)), rel=1e-6)
    assert evidence.rate_at(0.01, 12) == 0.01


def test_rate_at_refuses_a_staircase_and_unknown_schedules():
    """A staircase and a CosineDecay have no formula here: LessonError, not a wrong rate."""
    with pytest.raises(LessonError, match="staircase"):
        evidence.rate_at(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True), 3)
    with pytest.raises(LessonError, match="CosineDecay"):
        evidence.rate_at(keras.optimizers.schedules.CosineDecay(0.1, 10), 3)


def test_float64_yogi_sparse_step_sums_repeated_rows_and_leaves_the_others():
    """IndexedSlices rows [1, 1, 3]: = reference.yogi with the dense gradient (row 1 summed); rows 0, 2 unchanged."""
    start = np.arange(8.0).reshape(4, 2) / 10
    values = np.array([[1.0, -2.0], [0.5, 0.5], [3.0, 1.0]])
    sparse = tf.IndexedSlices(tf.constant(values), tf.constant([1, 1, 3]), dense_shape=tf.constant([4, 2]))
    weights = evidence.Float64Yogi([start]).step([sparse], learning_rate=0.1)[0]
    dense = np.zeros((4, 2))
    dense[1], dense[3] = values[0] + values[1], values[2]
    np.testing.assert_allclose(weights, reference.yogi(start, dense, {}, 1, learning_rate=0.1), rtol=1e-12)
    np.testing.assert_array_equal(weights[[0, 2]], start[[0, 2]])
    assert np.all(weights[[1, 3]] != start[[1, 3]])


def test_float64_yogi_refuses_mismatched_lists():
    """Lists of different lengths are a mistake of the caller: LessonError, not a silent zip."""
    with pytest.raises(LessonError, match="one per weight"):
        evidence.Float64Yogi([np.zeros(2)]).step([np.zeros(2), np.zeros(2)], 0.01)


def test_relative_gap_divides_the_largest_difference_by_the_largest_reference_weight():
    """Weights [1, 2], [0.5] against [1, 4], [0.5]: largest |difference| 2 over largest |reference| 4 = 0.5."""
    assert (
        evidence.relative_gap([np.array([1.0, 2.0]), np.array([0.5])], [np.array([1.0, 4.0]), np.array([0.5])]) == 0.5
    )
    with pytest.raises(LessonError, match="not all zeros"):
        evidence.relative_gap([np.ones(2)], [np.zeros(2)])


def test_gaps_is_one_row_of_the_side_by_side_run():
    """Keras 2 [1, 2], Keras 3 [1, 3], float64 [1, 4]: gap 1 between them, 3/4 and 2/4 to float64."""
    row = evidence.gaps("c", 7, [np.array([1.0, 2.0])], [np.array([1.0, 3.0])], [np.array([1.0, 4.0])])
    assert row == {
        "case": "c",
        "step": 7,
        "Keras 2 vs Keras 3": 1.0,
        "Keras 3 vs float64": 0.25,
        "Keras 2 vs float64": 0.5,
    }


def test_not_finite_counts_nan_and_infinity_in_every_weight():
    """[1, NaN, inf] and [0, 0]: 2 entries not finite."""
    assert evidence.not_finite([np.array([1.0, np.nan, np.inf]), np.zeros(2)]) == 2
    assert evidence.not_finite([keras.Variable(np.ones(3))]) == 0


def test_rates_used_reads_each_steps_rate_off_the_positions():
    """Positions 0, -0.01, -0.015 after SGD on a gradient of 1: rates 0.01, then 0.005."""
    np.testing.assert_allclose(evidence.rates_used([0.0, -0.01, -0.015]), [0.01, 0.005])
    with pytest.raises(LessonError, match="2 or more"):
        evidence.rates_used([0.0])


def _model(weights, beta_2=0.9, iterations=4):
    """A stand-in for a Keras model: what ``resumed`` reads (weights, the optimizer's beta_2 and iterations)."""
    optimizer = types.SimpleNamespace(beta_2=beta_2, iterations=iterations)
    return types.SimpleNamespace(get_weights=lambda: weights, optimizer=optimizer)


def test_resumed_measures_the_gap_and_reads_the_reloaded_optimizer():
    """Weights [1, 2] vs [1, 2.5]: gap 0.5; beta_2, iterations and warnings read back; 'Skipping' marks a skip."""
    caught = [types.SimpleNamespace(message="Skipping variable loading for optimizer 'x', because ...")]
    record = evidence.resumed(_model([np.array([1.0, 2.0])]), _model([np.array([1.0, 2.5])], 0.999, 2), caught)
    assert (record.gap, record.beta_2, record.iterations, record.skipped) == (0.5, 0.999, 2, True)
    assert not evidence.resumed(_model([np.zeros(1)]), _model([np.zeros(1)])).skipped


# --- tables and figure --------------------------------------------------------------------------------


def _per_step():
    return pd.DataFrame(
        {
            "case": ["a", "a", "a", "b", "b"],
            "step": [1, 2, 3, 1, 2],
            "Keras 2 vs Keras 3": [0.0, 0.0, 3e-8, 0.0, 0.0],
            "Keras 3 vs float64": [1e-8, 2e-7, 4e-7, 0.0, 3e-7],
            "Keras 2 vs float64": [1e-8, 2e-7, 5e-7, 0.0, 3e-7],
        }
    )


def test_proof_table_has_one_row_per_case_with_its_largest_gaps():
    """Case a: 3 steps, largest gap 3e-8, 2 steps exactly equal, float64 4e-7; case b: 2 steps, all equal."""
    table = evidence.proof_table(_per_step(), {"a": 0.3, "b": 0.2})
    assert table["steps"].tolist() == [3, 2]
    assert table["max |Keras 2 - Keras 3|"].tolist() == [3e-8, 0.0]
    assert table["steps exactly equal"].tolist() == [2, 2]
    assert table["max |Keras 3 - float64| / max |w|"].tolist() == [4e-7, 3e-7]
    assert table["weights moved"].tolist() == [0.3, 0.2]


def _resumes(slots_gap=0.03, forgot_gap=0.02, yogi_gap=0.0):
    skipped = ("Skipping variable loading for optimizer 'slots', because it has 2 variables",)
    return {
        "Yogi": evidence.Resumed(gap=yogi_gap, warnings=(), beta_2=0.9, iterations=4),
        "SlotsOutsideBuild": evidence.Resumed(gap=slots_gap, warnings=skipped, beta_2=0.9, iterations=2),
        "ForgottenHyperparameter": evidence.Resumed(gap=forgot_gap, warnings=(), beta_2=0.999, iterations=4),
    }


def test_half_ports_table_puts_each_half_ports_number_beside_yogis():
    """Each of the four half-ports gets its measured value and Yogi's on the same measure."""
    table = evidence.half_ports_table(
        _resumes(), {"VariableAssign": 12.0, "Yogi": 2e-7}, {"StepFromZero": 99, "Yogi": 0}, saved_beta_2=0.9
    )
    values = table.set_index("half-port")[["half-port value", "Yogi value"]]
    assert list(values.index) == list(evidence.HALF_PORTS)
    assert values.to_numpy().tolist() == [[0.03, 0.0], [12.0, 2e-7], [0.02, 0.0], [99, 0]]


def test_plot_gaps_draws_exact_zeros_on_the_bottom_edge_not_at_a_made_up_height():
    """A relative gap of exactly 0 is a marker in axes units at y = 0; no line on the log axis reaches 0."""
    rates = {"Keras 2 decay=": [0.01, 0.009], "Keras 3 InverseTimeDecay": [0.01, 0.009], "Keras 3 decay=": [0.01] * 2}
    fig = evidence.plot_gaps(_per_step(), [3.0, 50.0], rates, RELATIVE_TOLERANCE, "title")
    left, right = fig.axes
    assert left.get_yscale() == "log" and right.get_ylim()[0] == 0
    on_edge = [line for line in left.get_lines() if line.get_transform() == left.get_xaxis_transform()]
    assert on_edge and all(np.all(np.asarray(line.get_ydata()) == 0) for line in on_edge)
    for line in left.get_lines():
        if line.get_transform() == left.transData:
            ys = np.asarray(line.get_ydata(), dtype=float)
            assert not np.any(ys[np.isfinite(ys)] <= 0)


# --- claims ---------------------------------------------------------------------------------------------


RATES_DROPPED = {  # Keras 2 and the schedule decay; Keras 3 given decay= keeps its first rate
    "Keras 2 decay=": [0.01, 0.005],
    "Keras 3 InverseTimeDecay": [0.01, 0.005],
    "Keras 3 decay=": [0.01, 0.01],
}


def _claims(proof=None, resumes=None, float64_gaps=None, not_finite=None, rates=RATES_DROPPED):
    proof = evidence.proof_table(_per_step(), {"a": 0.3, "b": 0.2}) if proof is None else proof
    return claims.by_key(
        evidence.claims(
            proof,
            resumes or _resumes(),
            float64_gaps or {"VariableAssign": 12.0, "Yogi": 2e-7},
            not_finite or {"StepFromZero": 99, "Yogi": 0},
            rates,
            tolerance=TOLERANCE,
            relative_tolerance=RELATIVE_TOLERANCE,
            fit_steps=4,
            fit_moved=0.07,
        )
    )


def test_claims_when_the_port_is_right_and_every_shortcut_breaks_it():
    """Every check passes and every half-port shows its symptom: four HOLDS, and decay= FAILS in Keras 3."""
    found = _claims()
    assert list(found) == [
        "four_shortcuts_break_a_port",
        "keras2_and_keras3_take_the_same_steps",
        "port_matches_float64_reference",
        "keras_file_resumes_exactly",
        "keras3_honours_keras2_decay",
    ]
    assert [c.verdict for c in found.values()] == [Verdict.HOLDS] * 4 + [Verdict.FAILS]
    assert found["four_shortcuts_break_a_port"].numbers["shortcuts_that_broke"] == 4
    assert found["keras2_and_keras3_take_the_same_steps"].numbers == {
        "max_keras2_keras3_difference": 3e-8,
        "steps_exactly_equal": 4,
        "steps": 5,
        "cases": 2,
        "least_weights_moved": 0.2,
    }
    assert found["port_matches_float64_reference"].numbers["max_relative_float64_gap"] == 4e-7
    assert found["keras_file_resumes_exactly"].numbers["forgotten_beta_2_gap"] == 0.02
    decay = found["keras3_honours_keras2_decay"].numbers
    assert (decay["keras2_last_rate"], decay["keras3_decay_last_rate"]) == (0.005, 0.01)


def test_claims_when_the_port_is_wrong():
    """Keras 2 and 3 part, float64 drifts, the resume misses, two shortcuts do no harm, decay= is honoured."""
    proof = evidence.proof_table(_per_step(), {"a": 0.3, "b": 0.2}).assign(
        **{"max |Keras 2 - Keras 3|": [1e-3, 0.0], "max |Keras 3 - float64| / max |w|": [1e-2, 0.0]}
    )
    honoured = dict(RATES_DROPPED, **{"Keras 3 decay=": [0.01, 0.005]})
    found = _claims(proof, _resumes(slots_gap=0.0, forgot_gap=0.0, yogi_gap=0.5), rates=honoured)
    verdicts = {key: claim.verdict for key, claim in found.items()}
    assert verdicts == {
        "four_shortcuts_break_a_port": Verdict.FAILS,  # Yogi itself failed its resume
        "keras2_and_keras3_take_the_same_steps": Verdict.FAILS,
        "port_matches_float64_reference": Verdict.FAILS,
        "keras_file_resumes_exactly": Verdict.FAILS,
        "keras3_honours_keras2_decay": Verdict.HOLDS,
    }
    assert found["four_shortcuts_break_a_port"].numbers["shortcuts_that_broke"] == 2
    assert found["keras2_and_keras3_take_the_same_steps"].numbers["max_keras2_keras3_difference"] == 1e-3


def test_some_shortcuts_harmless_makes_the_first_claim_partly():
    """A correct Yogi and only 3 of 4 shortcuts breaking it: PARTLY."""
    found = _claims(not_finite={"StepFromZero": 0, "Yogi": 0})
    assert found["four_shortcuts_break_a_port"].verdict is Verdict.PARTLY
    assert found["four_shortcuts_break_a_port"].numbers["shortcuts_that_broke"] == 3


def test_claims_are_json_ready_records():
    """Every claim round-trips through to_dict with finite numbers only."""
    for claim in _claims().values():
        data = claim.to_dict()
        assert data["verdict"] in {v.value for v in Verdict}
        assert all(value is not None for value in data["numbers"].values())
        assert dataclasses.asdict(claim)["key"] == data["key"]


# --- the lesson's Keras 2 -> Keras 3 table quotes both files -------------------------------------------


def _table_quotes():
    """``[(Keras 2 quotes, Keras 3 quotes)]`` per row of the lesson's "The port" table (code spans only)."""
    source = curriculum.resolve(curriculum.list_recipes(), LESSON).path.read_text(encoding="utf-8")
    rows = [line[2:] for line in source.splitlines() if re.match(r"# \| \d+ \|", line)]
    return [tuple(re.findall(r"`([^`]+)`", cell) for cell in row.split(" | ")[1:3]) for row in rows]


def test_the_port_table_quotes_both_files_verbatim():
    """Each row quotes code on both sides, and every quote of a side is in that side's file."""
    root = curriculum.resolve(curriculum.list_recipes(), LESSON).path.parent.parent
    texts = {side: (root / path).read_text(encoding="utf-8") for side, path in QUOTED.items()}
    rows = _table_quotes()
    assert rows
    for keras2_quotes, keras3_quotes in rows:
        assert keras2_quotes and keras3_quotes
        assert all(quote in texts["Keras 2"] for quote in keras2_quotes), keras2_quotes
        assert all(quote in texts["Keras 3"] for quote in keras3_quotes), keras3_quotes


# --- the quick run ----------------------------------------------------------------------------------------


@pytest.mark.slow  # reads or makes the shared --quick run of the lesson
def test_quick_run_proves_the_port_and_its_tables_agree_with_its_claims(quick_run):
    """Quick run: Keras 2 = Keras 3 over >= 50 steps after real training, float64 within 1e-5, exact resume,
    every half-port broke it, Keras 3 dropped decay=; the CSVs hold the claims' numbers."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert {key: c.verdict for key, c in found.items()} == {
        "four_shortcuts_break_a_port": Verdict.HOLDS,
        "keras2_and_keras3_take_the_same_steps": Verdict.HOLDS,
        "port_matches_float64_reference": Verdict.HOLDS,
        "keras_file_resumes_exactly": Verdict.HOLDS,
        "keras3_honours_keras2_decay": Verdict.FAILS,
    }
    same = found["keras2_and_keras3_take_the_same_steps"].numbers
    assert same["steps"] >= 50 and same["max_keras2_keras3_difference"] <= TOLERANCE
    assert same["least_weights_moved"] > 1e-2, "the comparison follows real training"
    proof = pd.read_csv(out / f"{LESSON}.csv")
    per_step = pd.read_csv(out / f"{LESSON}_per_step.csv")
    assert proof["steps"].sum() == same["steps"] == len(per_step)
    assert proof["max |Keras 2 - Keras 3|"].max() == pytest.approx(same["max_keras2_keras3_difference"])
    assert per_step["Keras 3 vs float64"].max() == pytest.approx(
        found["port_matches_float64_reference"].numbers["max_relative_float64_gap"]
    )
    first = found["four_shortcuts_break_a_port"].numbers
    assert first["slots_outside_build_iterations"] < first["yogi_iterations"]  # skipped on load: counted from 0
    assert first["step_from_zero_not_finite"] > 0 and first["yogi_resume_gap"] <= TOLERANCE
    half_ports = pd.read_csv(out / f"{LESSON}_half_ports.csv")
    assert (half_ports["half-port value"] > half_ports["Yogi value"]).all()
