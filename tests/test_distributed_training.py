"""Lesson 17 (tf.distribute): its evidence on tiny inputs, in this process, and its claims from one quick run.

Everything but the last test runs here, on a one-device ``MirroredStrategy``
(TensorFlow's runtime already started inside pytest, too late for two
logical CPUs). The lesson's quick run starts it in a fresh Python (it
declares ``NEEDS_FRESH_PROCESS``), with two replicas and two worker
processes; the last test reads that run. The cluster launcher and the worker
program are tested in ``test_lessons_cluster.py``.
"""

import json
import math

from cookbook import claims, errors, processes
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import distributed_training as evidence

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from _processes import _running_workers

LESSON = "17_distributed_training"


# --- batch arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, batch, per_replica, steps, last, split, even",
    [
        (427, 32, 16, 14, 11, "6+5", False),  # the odd last step that makes mirrored fit drift
        (426, 32, 16, 14, 10, "5+5", True),
        (426, 426, 213, 1, 426, "213+213", True),  # batch_size=len(X): full batch, halved
        (427, 427, 213.5, 1, 427, "214+213", False),
        (64, 32, 16, 2, 32, "16+16", True),
    ],
)
def test_batch_arithmetic_spells_out_the_split(rows, batch, per_replica, steps, last, split, even):
    """Global batch = per-replica batch x replicas; the last step's split is what fit really sees."""
    plan = evidence.batch_arithmetic(rows, batch, 2)
    assert plan == {
        "global_batch": batch,
        "per_replica": per_replica,
        "steps": steps,
        "last_batch": last,
        "last_split": split,
        "even": even,
    }
    assert (plan["steps"] - 1) * batch + plan["last_batch"] == rows


def test_batch_arithmetic_refuses_zero_counts():
    """A zero batch size is a LessonError (a ValueError) that names the fix."""
    with pytest.raises(LessonError, match="positive"):
        evidence.batch_arithmetic(10, 0, 2)


def test_batch_table_has_one_row_per_plan():
    """Each (rows, batch_size) becomes a row with its per-replica share and last split."""
    table = evidence.batch_table([(426, 32), (427, 427)], 2)
    assert table["rows"].tolist() == [426, 427] and table["per replica"].tolist() == [16, 213.5]
    assert table["last step split"].tolist() == ["5+5", "214+213"]
    assert table["every step even"].tolist() == [True, False]


# --- scope errors (one-device MirroredStrategy: works in this process) ---------------------------


def _tiny_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])


def test_check_scope_names_an_optimizer_created_outside_the_scope():
    """check_scope raises StrategyScopeError (a ValueError) saying to create it inside the scope."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    optimizer = keras.optimizers.Adam()  # outside
    with strategy.scope():
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
    with pytest.raises(errors.StrategyScopeError, match=r"outside strategy\.scope\(\).*inside `with strategy"):
        evidence.check_scope(strategy, model)
    assert issubclass(errors.StrategyScopeError, ValueError)


def test_check_scope_accepts_model_and_optimizer_made_inside_and_names_a_model_made_outside():
    """Everything inside passes; a model built outside is named as the culprit."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        good = _tiny_model()
        good.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    evidence.check_scope(strategy, good)  # no error
    outside = _tiny_model()
    with strategy.scope():
        outside.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    with pytest.raises(errors.StrategyScopeError, match="was built outside"):
        evidence.check_scope(strategy, outside)


def test_explain_scope_errors_translates_the_error_fit_raises():
    """fit's "Mixing different tf.distribute.Strategy objects" becomes a StrategyScopeError with the fix."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    optimizer = keras.optimizers.Adam()  # its slot variables are what fit trips over
    with strategy.scope():
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
    X = np.zeros((8, 3), np.float32)
    with pytest.raises(errors.StrategyScopeError, match="create the model AND the optimizer inside") as info:
        with evidence.explain_scope_errors():
            model.fit(X, X[:, :1], epochs=1, verbose=0)
    assert "Mixing different tf.distribute.Strategy objects" in str(info.value.__cause__)


def test_explain_scope_errors_lets_other_errors_through():
    """An unrelated RuntimeError is re-raised unchanged."""
    with pytest.raises(RuntimeError, match="^something else$"):
        with evidence.explain_scope_errors():
            raise RuntimeError("something else")


# --- optimizers and the lockstep step ------------------------------------------------------------


@pytest.mark.parametrize("name", evidence.OPTIMIZER_NAMES)
def test_make_optimizer_keras_source_is_the_builtin_with_the_same_settings(name):
    """source="keras" gives keras.optimizers.<name> (Momentum: SGD, momentum 0.9); the default a same-named twin."""
    builtin = evidence.make_optimizer(name, 0.05, source="keras")
    expected = "SGD" if name == "Momentum" else name
    assert type(builtin) is getattr(keras.optimizers, expected)
    assert float(builtin.learning_rate) == pytest.approx(0.05)
    if name == "Momentum":
        assert builtin.momentum == 0.9
    twin = evidence.make_optimizer(name, 0.05)
    assert type(twin).__name__ in (name, expected)
    assert float(twin.learning_rate) == pytest.approx(0.05)


def test_make_optimizer_refuses_an_unknown_name():
    """A typo names the legal choices."""
    with pytest.raises(LessonError, match="choose one of SGD"):
        evidence.make_optimizer("Adamm", 0.1)


def test_the_lockstep_step_on_one_device_is_fit_with_the_same_batches():
    """Summed loss / global rows, 10 rows in batches of 4 (a last batch of 2): fit's weights within 1e-6."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        models.append(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")]))
    models[0].compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
    models[0].fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    losses = evidence.train_in_lockstep([(models[1], keras.optimizers.SGD(0.5))], X, y, batch_size=4, epochs=2)
    assert len(losses) == 2 and losses[1] < losses[0]
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


# --- tables -------------------------------------------------------------------------------------


def _w(value):
    """A one-weight 'model' whose only weight is ``value``."""
    return [np.array([value], np.float32)]


def _runs(even_gap=5e-8, odd_gap=5e-4, step_gap=5e-8, full_error="InvalidArgumentError"):
    fits = {("mirrored", 426): _w(even_gap), ("mirrored", 427): _w(odd_gap)}
    fits.update({("one device", rows): _w(0) for rows in (426, 427)})
    return evidence.runs_table(
        fits, full_batch_error=full_error, step=_w(step_gap), even=426, odd=427, batch_size=32, replicas=2
    )


def test_runs_table_measures_each_run_against_one_device_and_keeps_failures_as_nan():
    """The gap is max |w - w_one_device|; a failed run has no gap and says why; the split comes from the rows."""
    table = _runs(even_gap=0.25, odd_gap=0.5)
    assert table["training"].tolist() == [evidence.FIT] * 3 + [evidence.STEP]
    assert table["vs one device"].iloc[[0, 1, 3]].tolist() == [0.25, 0.5, pytest.approx(5e-8)]
    assert math.isnan(table["vs one device"].iloc[2]) and table["outcome"].iloc[2].startswith("fails")
    assert table["last step split"].tolist() == ["5+5", "6+5", "214+213", "6+5"]
    assert _runs(full_error=None)["outcome"].tolist() == ["trains"] * 4


def _workers(tmp_path, weights, one_device, losses=(0.7, 0.4)):
    """workers_table on a job folder holding ``weights`` per worker, as the worker program writes them."""
    for index, own in enumerate(weights):
        np.savez(tmp_path / f"worker_{index}.npz", *own)
    summary = {"replicas": 2, "batch_size": 32, "epoch_losses": list(losses)}
    (tmp_path / "result.json").write_text(json.dumps(summary), encoding="utf-8")
    results = [processes.WorkerResult(i, 100 + i, 0, "", "", 3.0, False) for i in range(len(weights))]
    return evidence.workers_table(results, tmp_path, one_device)


def test_twins_and_workers_tables_compare_the_right_pairs(tmp_path):
    """twin vs built-in and moved-from-start per optimizer; each worker vs the chief and vs one device."""
    twins = evidence.twins_table({("Adam", "cookbook"): _w(1.5), ("Adam", "keras"): _w(1.0)}, _w(0.5), 2, 427)
    assert twins[["twin vs built-in", "weights moved"]].iloc[0].tolist() == [0.5, 0.5]
    workers = _workers(tmp_path, [_w(1.0), _w(1.25)], _w(2.0))
    assert workers["vs chief"].tolist() == [0.0, 0.25] and workers["vs one device"].tolist() == [1.0, 0.75]
    assert workers["rows per worker per step"].tolist() == [16, 16] and workers["final loss"].iloc[0] == 0.4


def test_hand_commands_give_each_host_its_own_tf_config():
    """One line per worker: the same cluster in every TF_CONFIG, its own index, then the worker command."""
    lines = evidence.hand_commands(2, "JOB")
    configs = [json.loads(line.split("'")[1]) for line in lines]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
    assert configs[0]["cluster"] == configs[1]["cluster"] and len(configs[0]["cluster"]["worker"]) == 2
    assert all(line.endswith("' python -m cookbook.lessons.worker JOB") for line in lines)


def test_the_figure_draws_a_bar_per_nonzero_gap_and_no_bar_for_zero_or_failure(tmp_path):
    """Bars only for finite gaps above 0 (log axis); a 0 and a failure are words, not bars at a fake floor."""
    twins = evidence.twins_table({("Adam", "cookbook"): _w(1.0), ("Adam", "keras"): _w(1.0)}, _w(0.0), 2, 427)
    workers = _workers(tmp_path, [_w(1.0), _w(1.0)], _w(1.0 + 2**-20))
    fig = evidence.plot_differences(_runs(), twins, workers)
    ax = fig.axes[0]
    assert len(ax.patches) == 3 + 2  # 3 runs with a gap, 2 workers vs one device; twin and worker gaps of 0: none
    assert ax.get_xscale() == "log" and all(p.get_x() >= ax.get_xlim()[0] for p in ax.patches)
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.startswith("exactly 0") for t in texts) == 2 and sum(t.startswith("failed") for t in texts) == 1


# --- claims -------------------------------------------------------------------------------------


def _claims(tmp_path, runs=None, twin_gap=0.0, moved=0.1, workers_apart=0.0, workers_off=5e-8, scope=None):
    twins = evidence.twins_table({("Adam", "cookbook"): _w(twin_gap), ("Adam", "keras"): _w(0.0)}, _w(moved), 2, 427)
    workers = _workers(tmp_path, [_w(0.0), _w(workers_apart)], _w(workers_off))
    scope = {"check_scope": "named", "fit": "explained"} if scope is None else scope
    return claims.by_key(evidence.claims(_runs() if runs is None else runs, twins, workers, scope, replicas=2))


def test_claims_of_the_expected_run_hold_except_the_belief_about_uneven_batches(tmp_path):
    """Even split matches, odd split drifts (the belief fails), the step and the workers match, twins equal."""
    found = _claims(tmp_path)
    assert list(found)[0] == "mirrored_fit_matches_one_device" and 3 <= len(found) <= 5
    verdicts = {key: claim.verdict for key, claim in found.items()}
    assert verdicts == {
        "mirrored_fit_matches_one_device": Verdict.HOLDS,
        "uneven_batches_change_the_result": Verdict.FAILS,
        "scope_mistake_is_named": Verdict.HOLDS,
        "twins_match_builtins_under_the_strategy": Verdict.HOLDS,
        "workers_match_one_device": Verdict.HOLDS,
    }
    uneven = found["uneven_batches_change_the_result"].numbers
    assert uneven["fit_vs_one_device"] == pytest.approx(5e-4) and uneven["full_batch_failed"] is True
    assert uneven["step_vs_one_device"] == pytest.approx(5e-8)
    first = found["mirrored_fit_matches_one_device"].numbers
    assert (first["rows"], first["batch_size"], first["mirrored_vs_one_device"]) == (426, 32, pytest.approx(5e-8))


def test_claims_turn_when_the_numbers_do(tmp_path):
    """Gaps above the tolerances flip each verdict: even fit, odd fit, twins, workers; still weights: not measured."""
    drifted = _claims(tmp_path, runs=_runs(even_gap=1e-3, odd_gap=1e-6, full_error=None), twin_gap=1e-3)
    assert drifted["mirrored_fit_matches_one_device"].verdict is Verdict.FAILS
    assert drifted["uneven_batches_change_the_result"].verdict is Verdict.HOLDS
    assert drifted["uneven_batches_change_the_result"].numbers["full_batch_failed"] is False
    assert drifted["twins_match_builtins_under_the_strategy"].verdict is Verdict.FAILS
    assert _claims(tmp_path, moved=1e-5)["twins_match_builtins_under_the_strategy"].verdict is Verdict.NOT_MEASURED
    assert _claims(tmp_path, workers_off=1e-3)["workers_match_one_device"].verdict is Verdict.PARTLY
    assert _claims(tmp_path, workers_apart=1e-3)["workers_match_one_device"].verdict is Verdict.FAILS
    assert (
        _claims(tmp_path, scope={"check_scope": "named", "fit": None})["scope_mistake_is_named"].verdict
        is Verdict.PARTLY
    )
    assert (
        _claims(tmp_path, scope={"check_scope": None, "fit": None})["scope_mistake_is_named"].verdict is Verdict.FAILS
    )


# --- the lesson's quick run ---------------------------------------------------------------------


@pytest.mark.slow
def test_quick_run_claims_match_its_tables_and_leave_no_worker(quick_run):
    """Two replicas and two worker processes: the claims hold as expected, their numbers are the CSVs'."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert {key: claim.verdict for key, claim in found.items()} == {
        "mirrored_fit_matches_one_device": Verdict.HOLDS,
        "uneven_batches_change_the_result": Verdict.FAILS,
        "scope_mistake_is_named": Verdict.HOLDS,
        "twins_match_builtins_under_the_strategy": Verdict.HOLDS,
        "workers_match_one_device": Verdict.HOLDS,
    }
    runs = pd.read_csv(out / f"{LESSON}.csv")
    fit = runs[(runs["training"] == evidence.FIT) & (runs["batch_size"] < runs["rows"])]
    assert fit["every step even"].tolist() == [True, False]
    uneven = found["uneven_batches_change_the_result"].numbers
    assert uneven["fit_vs_one_device"] == pytest.approx(fit["vs one device"].iloc[1])
    assert uneven["fit_vs_one_device"] > 10 * evidence.DEVICE_TOLERANCE and uneven["full_batch_failed"]
    workers = pd.read_csv(out / f"{LESSON}_workers.csv")
    assert workers["worker"].tolist() == [0, 1] and (workers["replicas in sync"] == 2).all()
    assert (workers["vs chief"] == 0.0).all(), "the all-reduce gives both workers bit-identical weights"
    assert found["workers_match_one_device"].numbers["vs_one_device"] == pytest.approx(workers["vs one device"].max())
    assert not _running_workers()
