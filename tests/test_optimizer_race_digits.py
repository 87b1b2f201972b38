"""Lesson 12 (the optimizer race on Digits): its evidence on tiny inputs, its claims from one quick run."""

import math
import re

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import optimizer_race_digits as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "12_optimizer_race_digits"
TARGET = 0.3
EPOCHS_COLUMN = "epochs to train loss < 0.3"


def _numbers(label):
    """The settings in a label such as 'lr 0.01, momentum 0.9', as {name: number}."""
    return {name: float(value) for name, value in re.findall(r"(\w+) ([-0-9.e]+)", label)}


@pytest.mark.parametrize(
    "optimizer, expected",
    [
        (keras.optimizers.SGD(0.01), {"lr": 0.01}),
        (keras.optimizers.SGD(0.01, momentum=0.9), {"lr": 0.01, "momentum": 0.9}),
        (keras.optimizers.Adagrad(0.01), {"lr": 0.01, "G0": 0.1}),
        (keras.optimizers.RMSprop(0.001), {"lr": 0.001, "rho": 0.9}),
        (keras.optimizers.Adam(0.001), {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999}),
    ],
)
def test_describe_names_each_nonzero_setting_of_get_config(optimizer, expected):
    """The label's numbers are the optimizer's own settings; a zero momentum (plain SGD) is left out."""
    assert _numbers(evidence.describe(optimizer)) == pytest.approx(expected)


def test_epochs_to_reach_is_one_based_and_none_when_never_reached():
    """The first epoch strictly below the target counts from 1; no such epoch gives None."""
    assert evidence.epochs_to_reach([0.9, 0.5, 0.3, 0.2], 0.3) == 4
    assert evidence.epochs_to_reach([0.29], 0.3) == 1
    assert evidence.epochs_to_reach([0.9, 0.5], 0.3) is None


def test_keras_momentum_builds_its_step_up_to_lr_over_one_minus_momentum():
    """A constant gradient of 1: SGD(momentum=0.9) steps lr at first and 1 - 0.9**t of lr / 0.1 after t steps."""
    w = keras.Variable(0.0)
    optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    positions = [0.0]
    for _ in range(60):
        optimizer.apply_gradients([(keras.ops.ones(()), w)])
        positions.append(float(keras.ops.convert_to_numpy(w)))
    steps = -np.diff(positions)
    t = np.arange(1, 61)
    np.testing.assert_allclose(steps, 0.01 * (1 - 0.9**t) / (1 - 0.9), rtol=1e-4)
    assert steps[-1] == pytest.approx(0.1, rel=0.01)


def test_curves_table_starts_every_optimizer_at_the_shared_epoch_0():
    """Epoch 0 is the shared start; epochs 1.. are each history's values in order."""
    histories = {"a": {"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, "b": {"loss": [2.0, 1.5], "accuracy": [0.2, 0.3]}}
    curves = evidence.curves_table({"loss": 2.3, "accuracy": 0.1}, histories)
    assert curves.columns.tolist() == ["optimizer", "epoch", "train loss", "train accuracy"]
    assert curves["epoch"].tolist() == [0, 1, 2, 0, 1, 2]
    assert curves["train loss"].tolist() == [2.3, 1.0, 0.5, 2.3, 2.0, 1.5]
    assert curves["train accuracy"].tolist() == [0.1, 0.5, 0.7, 0.1, 0.2, 0.3]


def test_race_table_reads_the_last_epoch_the_tests_and_each_optimizers_config():
    """Last-epoch train numbers, the evaluate dict, lr and momentum from get_config, <NA> when the target is missed."""
    optimizers = {"m": keras.optimizers.SGD(0.01, momentum=0.9), "a": keras.optimizers.Adam(0.001)}
    histories = {
        "m": {"loss": [0.8, 0.25, 0.2], "accuracy": [0.6, 0.9, 0.95]},
        "a": {"loss": [0.9, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8]},
    }
    tests = {"m": {"loss": 0.31, "accuracy": 0.9}, "a": {"loss": 0.5, "accuracy": 0.85}}
    table = evidence.race_table(optimizers, histories, tests, TARGET)
    assert table["train loss"].tolist() == [0.2, 0.4]
    assert table["train accuracy"].tolist() == [0.95, 0.8]
    assert table["test loss"].tolist() == [0.31, 0.5]
    assert table["test accuracy"].tolist() == [0.9, 0.85]
    assert table["learning rate"].tolist() == pytest.approx([0.01, 0.001])
    assert table["momentum"].iloc[0] == pytest.approx(0.9) and math.isnan(table["momentum"].iloc[1])
    assert table[EPOCHS_COLUMN].iloc[0] == 2 and pd.isna(table[EPOCHS_COLUMN].iloc[1])


def _race(
    sgd=0.75,
    momentum=0.08,
    effective=0.079,
    rmsprop=0.12,
    adam=0.2,
    reach=(None, 5, None, 9, 12, 5),
    test_loss=(0.78, 0.17, 0.44, 0.2, 0.28, 0.16),
    test_accuracy=(0.83, 0.953, 0.91, 0.949, 0.93, 0.956),
):
    """A hand-made race_table: SGD, Momentum, Adagrad, RMSprop, Adam and SGD at lr / (1 - 0.9), in that order."""
    table = pd.DataFrame(
        {
            "optimizer": ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam", "SGD, lr 0.1"],
            "learning rate": [0.01, 0.01, 0.01, 0.001, 0.001, 0.1],
            "momentum": [0.0, 0.9, math.nan, 0.0, math.nan, 0.0],
            "train loss": [sgd, momentum, 0.37, rmsprop, adam, effective],
            "train accuracy": [0.87, 0.99, 0.94, 0.98, 0.96, 0.99],
            "test loss": list(test_loss),
            "test accuracy": list(test_accuracy),
            EPOCHS_COLUMN: pd.array(list(reach), dtype="Int64"),
        }
    )
    return claims.by_key(
        evidence.claims(
            table,
            sgd="SGD",
            momentum="Momentum",
            sgd_at_effective_rate="SGD, lr 0.1",
            adaptive=["RMSprop", "Adam"],
            target=TARGET,
            test_rows=450,
        )
    )


@pytest.mark.parametrize(
    "effective, verdict",
    [(0.079, Verdict.HOLDS), (0.4, Verdict.PARTLY), (0.6, Verdict.FAILS), (math.nan, Verdict.FAILS)],
)
def test_the_effective_rate_explains_momentums_gain_by_the_share_of_the_gap_it_closes(effective, verdict):
    """SGD at lr / (1 - momentum) closing >= 90% of the SGD-Momentum gap holds, >= 50% partly, less (or NaN) fails."""
    found = _race(effective=effective)["momentum_gain_is_its_larger_step"]
    assert found.verdict is verdict
    assert found.numbers["effective_learning_rate"] == pytest.approx(found.numbers["learning_rate"] / (1 - 0.9))
    if math.isfinite(effective):
        assert found.numbers["gap_closed"] == pytest.approx((0.75 - effective) / (0.75 - 0.08))


def test_the_effective_rate_claim_is_not_measured_when_momentum_does_not_lead():
    """No gap between Momentum and SGD at the same lr: nothing to explain."""
    found = _race(sgd=0.07)["momentum_gain_is_its_larger_step"]
    assert found.verdict is Verdict.NOT_MEASURED
    assert math.isnan(found.numbers["gap_closed"])


@pytest.mark.parametrize(
    "momentum, reach, verdict",
    [
        (0.08, (None, 5, None, 9, 12, 5), Verdict.HOLDS),  # lower, and under the target first
        (0.5, (None, None, None, None, None, None), Verdict.PARTLY),  # lower, neither reached the target
        (0.9, (None, None, None, None, None, None), Verdict.FAILS),  # higher than SGD's 0.75
    ],
)
def test_momentum_beats_sgd_at_the_same_rate_by_final_loss_and_epochs_to_target(momentum, reach, verdict):
    """Lower final loss and first to the target holds; lower loss only is partly; a higher loss fails."""
    found = _race(momentum=momentum, reach=reach)["momentum_beats_sgd_at_the_same_rate"]
    assert found.verdict is verdict
    assert found.numbers["train_loss_momentum"] == momentum
    assert found.numbers["epochs_to_target_momentum"] == reach[1]


def test_test_loss_and_accuracy_agree_when_one_optimizer_leads_both():
    """The lowest test cross-entropy with the highest accuracy holds; the pairs ranked alike are counted."""
    found = _race()["test_loss_and_accuracy_agree"]
    assert found.verdict is Verdict.HOLDS
    assert found.numbers["test_loss_best"] == 0.16 and found.numbers["test_accuracy_best"] == 0.956
    assert (found.numbers["pairs"], found.numbers["pairs_ranked_alike"]) == (15, 15)


def test_test_loss_and_accuracy_disagree_when_the_lowest_loss_is_not_the_most_accurate():
    """Lowest loss 0.16 at accuracy 0.95 while another run has 0.96: the claim fails; one pair is ranked apart."""
    found = _race(test_accuracy=(0.83, 0.96, 0.91, 0.949, 0.93, 0.95))["test_loss_and_accuracy_agree"]
    assert found.verdict is Verdict.FAILS
    assert found.numbers["test_accuracy_of_lowest_loss"] == 0.95 and found.numbers["test_accuracy_best"] == 0.96
    assert found.numbers["pairs_ranked_alike"] == 14


@pytest.mark.parametrize(
    "rmsprop, adam, verdict", [(0.12, 0.2, Verdict.HOLDS), (0.12, 0.9, Verdict.PARTLY), (0.8, 0.9, Verdict.FAILS)]
)
def test_adaptive_optimizers_at_a_smaller_rate_are_compared_by_train_loss(rmsprop, adam, verdict):
    """Both adaptive optimizers below SGD's 0.75 holds, one partly, none fails."""
    found = _race(rmsprop=rmsprop, adam=adam)["adaptive_rates_do_not_compare_with_sgd"]
    assert found.verdict is verdict
    assert found.numbers["learning_rate_sgd"] / found.numbers["learning_rate_adaptive"] == pytest.approx(10)
    assert (found.numbers["train_loss_rmsprop"], found.numbers["train_loss_adam"]) == (rmsprop, adam)


def test_plot_race_draws_every_curve_on_a_log_axis_with_the_control_dashed():
    """One line per optimizer plus the target; only the control is dashed; the legend sits outside the axes."""
    histories = {name: {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]} for name in ("a", "b", "control")}
    curves = evidence.curves_table({"loss": 2.3, "accuracy": 0.1}, histories)
    table = pd.DataFrame(
        {
            "optimizer": ["a", "b", "control"],
            "settings": ["lr 0.1", "lr 0.2", "lr 1"],
            "test loss": [0.5, 0.4, 0.3],
            "test accuracy": [0.8, 0.85, 0.9],
        }
    )
    fig = evidence.plot_race(curves, table, TARGET, "Tiny", dashed="control")
    left = fig.axes[0]
    assert left.get_yscale() == "log"
    assert [line.get_linestyle() for line in left.get_lines()] == ["-", "-", "--", ":"]
    assert all((np.asarray(line.get_ydata()) > 0).all() for line in left.get_lines())
    assert left.get_legend() is None and len(fig.legends) == 1


@pytest.mark.slow
def test_quick_run_claims_quote_its_table_and_every_run_shares_one_start(quick_run):
    """The claims' numbers are the table's (rows found by lr and momentum); all curves start at one epoch-0 loss."""
    out = quick_run(LESSON)
    table = pd.read_csv(out / f"{LESSON}.csv")
    curves = pd.read_csv(out / f"{LESSON}_curves.csv")
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert set(found) == {
        "momentum_gain_is_its_larger_step",
        "momentum_beats_sgd_at_the_same_rate",
        "test_loss_and_accuracy_agree",
        "adaptive_rates_do_not_compare_with_sgd",
    }
    step = found["momentum_gain_is_its_larger_step"].numbers
    momentum_row = table[table["momentum"] == 0.9].iloc[0]
    control_row = table[np.isclose(table["learning rate"], step["effective_learning_rate"])].iloc[0]
    assert step["effective_learning_rate"] == pytest.approx(momentum_row["learning rate"] / (1 - 0.9))
    assert step["train_loss_momentum"] == pytest.approx(momentum_row["train loss"])
    assert step["test_loss_sgd_effective_rate"] == pytest.approx(control_row["test loss"])
    start = curves[curves["epoch"] == 0]["train loss"]
    assert len(start) == len(table) and start.nunique() == 1 and 1.5 < start.iloc[0] < 4.0  # about ln 10
    last = curves.groupby("optimizer", sort=False)["train loss"].last()
    np.testing.assert_allclose(last[table["optimizer"]].to_numpy(), table["train loss"].to_numpy())
