"""Lesson 06 (imbalanced binary classes): its evidence on tiny inputs, its claims from one quick run."""

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import imbalanced_classes as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "06_imbalanced_classes"
RUNS = ("BCE", "BCE + class_weight", "focal", "focal, alpha 0.25")


def test_one_vs_rest_makes_the_chosen_value_class_1():
    """Digit 8 becomes 1.0 and every other value 0.0, as float32."""
    labels = evidence.one_vs_rest(np.array([8, 1, 8, 3, 8, 8, 2, 0, 5]), 8, "tiny")
    assert labels.dtype == np.float32 and labels.tolist() == [1, 0, 1, 0, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("y", [[1, 2, 3, 4, 5, 6, 7, 9], [8, 8, 8, 1, 2, 3, 4, 5], [8] * 8 + [1, 2, 3]])
def test_one_vs_rest_stops_when_a_class_is_missing_or_too_small(y, capsys):
    """No 8, three 8s, or three others (fewer than 4 rows of a class): one line on stderr, exit status 2."""
    with pytest.raises(SystemExit) as stopped:
        evidence.one_vs_rest(np.array(y), 8, "tiny")
    assert stopped.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_validation_rows_are_stratified_and_disjoint():
    """A quarter of each class goes to validation; together the two parts are every row once."""
    y = np.array([1.0] * 12 + [0.0] * 88)
    train, val = evidence.validation_rows(y, 0.25, seed=0, source="tiny")
    assert sorted(np.r_[train, val].tolist()) == list(range(100))
    assert (y[val].sum(), len(val)) == (3, 25)


def test_class_counts_gives_rows_and_the_class_1_share_per_part():
    """4 rows with one 1 is a share of 0.25."""
    table = evidence.class_counts({"train": [0, 1, 0, 0], "test": [1, 1]})
    assert table.values.tolist() == [["train", 4, 1, 0.25], ["test", 2, 2, 1.0]]


def test_operating_point_counts_rows_above_the_threshold_by_hand():
    """Scores above 0.5: rows 0, 1, 3; class 1: rows 0, 2, 3 -> 2 found, 1 missed, 1 false alarm."""
    point = evidence.operating_point([1, 0, 1, 1, 0], [0.9, 0.6, 0.3, 0.7, 0.5], 0.5)
    assert (point["found"], point["missed"], point["false alarms"]) == (2, 1, 1)
    assert point["precision"] == pytest.approx(2 / 3) and point["recall"] == pytest.approx(2 / 3)
    assert point["F1"] == pytest.approx(2 / 3) and point["accuracy"] == pytest.approx(3 / 5)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.62, 0.95])
def test_operating_point_agrees_with_keras_precision_and_recall(threshold):
    """The same rule as keras.metrics.Precision/Recall(thresholds=t): p > t, and 0 when nothing is called."""
    rng = np.random.default_rng(1)
    y = (rng.random(60) < 0.2).astype("float32")
    p = np.clip(0.4 * y + 0.7 * rng.random(60), 0, 1).astype("float32")
    point = evidence.operating_point(y, p, threshold)
    for metric, key in (
        (keras.metrics.Precision(thresholds=threshold), "precision"),
        (keras.metrics.Recall(thresholds=threshold), "recall"),
    ):
        metric.update_state(y, p)
        assert point[key] == pytest.approx(float(metric.result()), abs=1e-6)


def test_average_precision_is_the_step_sum_written_out():
    """Ranked 1, 0, 1, 0: precision 1 at recall 0.5, 2/3 at recall 1 -> 0.5 * 1 + 0.5 * 2/3."""
    assert evidence.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert evidence.average_precision([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == pytest.approx(1.0)


def test_tied_scores_are_one_step_and_a_constant_score_gets_the_class_1_share():
    """A constant score (always class 0) scores the class-1 share, whatever the rows' order."""
    assert evidence.average_precision([1, 0, 0, 0], np.zeros(4)) == pytest.approx(0.25)
    assert evidence.average_precision([0, 0, 0, 1], np.zeros(4)) == pytest.approx(0.25)
    # 0.9 alone (a 1), then 0.5 twice (a 1 and a 0): precision 1 at recall 0.5, 2/3 at recall 1.
    assert evidence.average_precision([1, 0, 1], [0.9, 0.5, 0.5]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert np.isnan(evidence.average_precision([0, 0], [0.1, 0.2]))


def test_average_precision_is_near_keras_pr_auc_on_many_rows():
    """keras.metrics.AUC(curve="PR") estimates the same area from 200 thresholds: within 0.02 on 2000 rows."""
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype("float32")
    p = 1 / (1 + np.exp(-(2.0 * y - 2.5 + rng.normal(size=2000)))).astype("float32")
    auc = keras.metrics.AUC(curve="PR")
    auc.update_state(y, p)
    assert evidence.average_precision(y, p) == pytest.approx(float(auc.result()), abs=0.02)


def test_pr_curve_lists_recall_and_precision_highest_score_first():
    """Scores 0.9 (1), 0.8 (0), 0.7 (1): recall 0.5, 0.5, 1 and precision 1, 1/2, 2/3."""
    recall, precision = evidence.pr_curve([1, 0, 1], [0.9, 0.8, 0.7])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 3])


@pytest.mark.parametrize("seed", range(5))
def test_best_f1_threshold_matches_a_brute_force_search(seed):
    """No cut between two scores gives a higher F1 than the chosen one, and it never sits on a score."""
    rng = np.random.default_rng(seed)
    y = (rng.random(40) < 0.25).astype("float32")
    y[0] = 1
    p = np.round(np.clip(0.3 * y + 0.8 * rng.random(40), 0, 1), 2)  # rounded: ties happen
    chosen = evidence.best_f1_threshold(y, p)
    values = np.unique(p)
    cuts = np.r_[(values[1:] + values[:-1]) / 2, values[0] - 0.5]
    best = max(evidence.operating_point(y, p, t)["F1"] for t in cuts)
    assert evidence.operating_point(y, p, chosen)["F1"] == pytest.approx(best)
    assert chosen not in set(p.tolist())


def test_best_f1_threshold_prefers_the_higher_cut_on_equal_f1():
    """Calling the top row (1 of 1 right) or the top four (2 of 4) both give F1 2/3: the higher cut, 0.85, wins."""
    y, p = [1, 0, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.1]
    assert evidence.best_f1_threshold(y, p) == pytest.approx(0.85)
    assert evidence.operating_point(y, p, 0.85)["F1"] == pytest.approx(evidence.operating_point(y, p, 0.35)["F1"])


def test_hides_table_puts_always_class_0_next_to_what_evaluate_returned():
    """Always class 0: accuracy the class-0 share, precision and recall 0, PR-AUC the class-1 share."""
    y = np.array([0, 0, 0, 1])
    evaluated = {"accuracy": 0.9, "precision": 0.8, "recall": 0.5, "pr_auc": 0.7, "loss": 0.3}
    table = evidence.hides_table(evaluated, y).set_index("predictor")
    assert table.loc[evidence.ALWAYS_0].tolist() == [0.75, 0.0, 0.0, 0.25]
    assert table.loc["BCE"].tolist() == [0.9, 0.8, 0.5, 0.7]


def _scores(rows=200, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.15).astype("float32")
    p_test = {run: np.clip((0.3 + 0.1 * i) * y + 0.6 * rng.random(rows), 0, 1) for i, run in enumerate(RUNS)}
    return y, p_test, {run: 0.4 + 0.05 * i for i, run in enumerate(RUNS)}


def test_comparison_table_has_every_run_at_0_5_and_at_its_threshold():
    """1 + 2 x runs rows; a run's PR-AUC is the same at both thresholds, its counts add up to the class-1 rows."""
    y, p_test, thresholds = _scores()
    table = evidence.comparison_table(p_test, thresholds, y)
    assert len(table) == 1 + 2 * len(RUNS)
    tuned = table[table["threshold from"] == evidence.TUNED].set_index("run")
    default = table[table["threshold from"] == evidence.DEFAULT].set_index("run")
    assert tuned["threshold"].to_dict() == pytest.approx(thresholds)
    assert (default["threshold"] == 0.5).all()
    np.testing.assert_allclose(tuned["PR-AUC"], default["PR-AUC"])
    assert ((table["found"] + table["missed"]) == int(y.sum())).all()


def test_differences_table_is_zero_for_a_run_against_itself_and_clear_for_a_perfect_one():
    """The same scores differ by 0 in every draw; perfect scores beat noise with an interval above 0."""
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.1).astype("float32")
    p = {"noise": rng.random(300), "perfect": y * 0.5 + 0.25}
    comparisons = [
        ("PR-AUC", ("noise", evidence.DEFAULT), ("noise", evidence.DEFAULT)),
        ("PR-AUC", ("perfect", evidence.DEFAULT), ("noise", evidence.DEFAULT)),
        ("recall", ("perfect", evidence.TUNED), ("noise", evidence.DEFAULT)),
    ]
    table = evidence.differences_table(y, p, {"perfect": 0.5, "noise": 0.5}, comparisons=comparisons, resamples=200)
    same, better, recall = table.to_dict("records")
    assert (same["difference"], same["low"], same["high"], same["interval holds 0"]) == (0.0, 0.0, 0.0, True)
    assert better["first value"] == 1.0 and better["low"] > 0 and not better["interval holds 0"]
    assert better["low"] <= better["difference"] <= better["high"]
    assert recall["first"] == f"perfect, {evidence.TUNED}" and recall["first value"] == 1.0


def test_keras_focal_alpha_weighs_class_1_by_alpha_and_class_0_by_one_minus_alpha():
    """The lesson's reading of apply_class_balancing: alpha=0.25 weighs the rare class down, and alpha = class-0
    share gives the ratio of balanced class weights, n0 / n1."""
    y = np.array([[1.0], [0.0]], "float32")
    p = np.array([[0.3], [0.6]], "float32")
    plain = keras.ops.convert_to_numpy(keras.losses.binary_focal_crossentropy(y, p, gamma=2.0))

    def balanced(alpha):
        loss = keras.losses.binary_focal_crossentropy(y, p, gamma=2.0, apply_class_balancing=True, alpha=alpha)
        return keras.ops.convert_to_numpy(loss)

    np.testing.assert_allclose(balanced(0.25), plain * [0.25, 0.75], rtol=1e-6)
    n0, n1 = 90, 10
    weights = balanced(n0 / (n0 + n1)) / plain
    assert weights[0] / weights[1] == pytest.approx(n0 / n1)


def _results(recall=(0.75, 0.93), precision=(0.82, 0.53), auc=(-0.01, 0.06), f1=(-0.05, 0.08), focal=(0.0, 0.08)):
    """Hand-made comparison table and differences in the shapes the lesson passes to claims."""
    rows = [(evidence.ALWAYS_0, "-", 0, 44, 0, 0.0, 0.0, 0.0, 0.902, 0.098)]
    rows += [
        ("BCE", evidence.DEFAULT, 33, 11, 7, precision[0], recall[0], 0.79, 0.96, 0.76),
        ("BCE + class_weight", evidence.DEFAULT, 41, 3, 36, precision[1], recall[1], 0.68, 0.91, 0.78),
        ("focal", evidence.DEFAULT, 34, 10, 7, 0.83, 0.77, 0.80, 0.96, 0.83),
        ("focal, alpha 0.25", evidence.DEFAULT, 25, 19, 3, 0.89, 0.57, 0.69, 0.95, 0.79),
        ("BCE", evidence.TUNED, 33, 11, 7, 0.82, 0.75, 0.79, 0.96, 0.76),
        ("BCE + class_weight", evidence.TUNED, 37, 7, 12, 0.76, 0.84, 0.80, 0.96, 0.78),
    ]
    columns = [
        "run",
        "threshold from",
        "found",
        "missed",
        "false alarms",
        "precision",
        "recall",
        "F1",
        "accuracy",
        "PR-AUC",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["threshold"] = [np.nan, 0.5, 0.5, 0.5, 0.5, 0.52, 0.79]

    def diff(metric, first, second, low, high, difference=None):
        difference = (low + high) / 2 if difference is None else difference
        return {
            "metric": metric,
            "first": first,
            "second": second,
            "difference": difference,
            "low": low,
            "high": high,
            "interval holds 0": low <= 0 <= high,
        }

    plain, weighted = f"BCE, {evidence.DEFAULT}", f"BCE + class_weight, {evidence.DEFAULT}"
    differences = pd.DataFrame(
        [
            diff("PR-AUC", weighted, plain, *auc),
            diff("recall", weighted, plain, 0, 0, recall[1] - recall[0]),
            diff("precision", weighted, plain, 0, 0, precision[1] - precision[0]),
            diff("F1", f"BCE, {evidence.TUNED}", plain, 0.0, 0.0),
            diff("F1", f"BCE + class_weight, {evidence.TUNED}", f"BCE, {evidence.TUNED}", *f1),
            diff("recall", f"focal, {evidence.DEFAULT}", plain, *focal),
            diff("PR-AUC", f"focal, {evidence.DEFAULT}", plain, -0.02, 0.14),
            diff("recall", f"focal, alpha 0.25, {evidence.DEFAULT}", plain, -0.3, -0.07),
        ]
    )
    return table, differences


CLASS_WEIGHT = {0: 0.554, 1: 5.158}


def test_claims_when_accuracy_hides_and_class_weight_only_moves_the_point():
    """The measured run's shape: the first three hold, focal's recall gain is within noise (fails)."""
    found = claims.by_key(evidence.claims(*_results(), CLASS_WEIGHT, class_0_share=0.903))
    verdicts = [claim.verdict for claim in found.values()]
    assert verdicts == [Verdict.HOLDS, Verdict.HOLDS, Verdict.HOLDS, Verdict.FAILS]
    first = found["accuracy_hides_the_rare_class"].numbers
    assert (first["class_1_rows"], first["miss_rate_class_1"], first["error_rate"]) == pytest.approx((44, 0.25, 0.04))
    assert found["class_weight_moves_the_operating_point"].numbers["class_weight_1"] == 5.158
    assert found["focal_loss_is_not_a_class_weight"].numbers["found_focal"] == 34


@pytest.mark.parametrize(
    "results, key, verdict",
    [
        ({"recall": (0.75, 0.70)}, "class_weight_moves_the_operating_point", Verdict.FAILS),  # recall did not rise
        ({"auc": (0.01, 0.08)}, "class_weight_moves_the_operating_point", Verdict.PARTLY),  # the ranking moved too
        ({"f1": (0.01, 0.1)}, "a_validation_threshold_makes_class_weight_redundant", Verdict.FAILS),
        ({"focal": (0.02, 0.1)}, "focal_loss_is_not_a_class_weight", Verdict.HOLDS),  # focal clearly found more
    ],
)
def test_claim_verdicts_follow_the_intervals(results, key, verdict):
    """Each verdict flips when its numbers say so."""
    found = claims.by_key(evidence.claims(*_results(**results), CLASS_WEIGHT, class_0_share=0.903))
    assert found[key].verdict is verdict


def test_accuracy_claim_fails_when_the_rare_class_is_missed_no_more_than_the_rest():
    """Recall 0.95 at accuracy 0.96: a miss rate of 5% is not 2x the 4% error rate."""
    table, differences = _results()
    table.loc[(table["run"] == "BCE") & (table["threshold from"] == evidence.DEFAULT), "recall"] = 0.95
    found = claims.by_key(evidence.claims(table, differences, CLASS_WEIGHT, class_0_share=0.903))
    assert found["accuracy_hides_the_rare_class"].verdict is Verdict.FAILS


def test_plot_remedies_draws_a_curve_per_run_and_the_histograms_asked_for():
    """Left: the baseline line and one step curve per run; then one histogram panel per named run."""
    y, p_test, thresholds = _scores()
    fig = evidence.plot_remedies(y, p_test, thresholds, ["BCE", "BCE + class_weight"], "tiny")
    curves, *histograms = fig.axes
    assert len(histograms) == 2 and all(ax.get_yscale() == "log" for ax in histograms)
    labels = [line.get_label() for line in curves.get_lines()]
    assert sum(label.startswith(tuple(f"{run}:" for run in RUNS)) for label in labels) == len(RUNS)


@pytest.mark.slow
def test_quick_run_claims_match_its_tables(quick_run):
    """The quick run's claim numbers are its CSV tables' numbers; its class weights are rows / (2 x class rows)."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert list(found) == [
        "accuracy_hides_the_rare_class",
        "class_weight_moves_the_operating_point",
        "a_validation_threshold_makes_class_weight_redundant",
        "focal_loss_is_not_a_class_weight",
    ]
    table = pd.read_csv(out / f"{LESSON}.csv")
    at = {(row["run"], row["threshold from"]): row for row in table.to_dict("records")}
    bce, weighted = at[("BCE", evidence.DEFAULT)], at[("BCE + class_weight", evidence.DEFAULT)]
    counts = pd.read_csv(out / f"{LESSON}_classes.csv").set_index("part")
    rows, class_1 = counts.loc["train", "rows"], counts.loc["train", "class 1 rows"]

    hides = found["accuracy_hides_the_rare_class"].numbers
    assert hides["class_1_rows"] == counts.loc["test", "class 1 rows"] == bce["found"] + bce["missed"]
    assert hides["accuracy_always_0"] == pytest.approx(1 - counts.loc["test", "class 1 share"])
    assert (hides["recall_bce"], hides["miss_rate_class_1"]) == pytest.approx((bce["recall"], 1 - bce["recall"]))

    moved = found["class_weight_moves_the_operating_point"].numbers
    assert moved["class_weight_0"] == pytest.approx(rows / (2 * (rows - class_1)))
    assert moved["class_weight_1"] == pytest.approx(rows / (2 * class_1))
    assert (moved["recall_weighted"], moved["pr_auc_weighted"]) == pytest.approx(
        (weighted["recall"], weighted["PR-AUC"])
    )

    tuned = found["a_validation_threshold_makes_class_weight_redundant"].numbers
    assert tuned["threshold_bce"] == pytest.approx(at[("BCE", evidence.TUNED)]["threshold"])
    assert 0 < tuned["threshold_weighted"] < 1
    differences = pd.read_csv(out / f"{LESSON}_differences.csv")
    f1 = differences[(differences["metric"] == "F1") & differences["first"].str.startswith("BCE + class_weight")]
    assert (tuned["f1_difference_low"], tuned["f1_difference_high"]) == pytest.approx(
        (f1["low"].iloc[0], f1["high"].iloc[0])
    )

    focal = found["focal_loss_is_not_a_class_weight"].numbers
    assert focal["found_focal"] == at[("focal", evidence.DEFAULT)]["found"]
    assert focal["class_0_share"] == pytest.approx(1 - class_1 / rows)
    accuracy = pd.read_csv(out / f"{LESSON}_accuracy.csv").set_index("predictor")
    assert accuracy.loc["BCE", "recall"] == pytest.approx(bce["recall"], abs=1e-6)  # Keras's Recall() = the table's
