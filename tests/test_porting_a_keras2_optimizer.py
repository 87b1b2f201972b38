"""Recipe 15's claims: the Keras 3 port of a Keras 2 optimizer takes the same steps, and the half-ports break.

Every number comes from the shared ``--quick`` run (``quick_run("porting_a_keras2_optimizer")``); the
quotes of the ten porting steps are checked against the two files they quote.
"""

import pathlib
import re

from cookbook import curriculum
from cookbook.lessons import porting

import pandas as pd
import pytest

RECIPE = "15_porting_a_keras2_optimizer"
TOLERANCE = 1e-6  # Keras 2 vs Keras 3, the bar
RELATIVE_TOLERANCE = 1e-5  # Keras 3 float32 vs float64 reference, relative to the largest weight
ROOT = pathlib.Path(__file__).resolve().parent.parent
QUOTED = {"Keras 2": ROOT / "cookbook/porting/keras2_yogi.py", "Keras 3": ROOT / "cookbook/porting/yogi.py"}
STEP_TITLES = [
    "Base class and imports",
    "Constructor: name and **kwargs (lr, decay)",
    "Hyperparameters become attributes",
    "get_config and registration",
    "Slots become variables made in build",
    "_prepare_local and apply_state become plain code",
    "_decayed_lr becomes the learning_rate argument",
    "iterations: this step is iterations + 1",
    "The dense path: update_step with self.assign",
    "The sparse path: IndexedSlices",
]


@pytest.fixture(scope="module")
def run(quick_run):
    return quick_run(RECIPE)


@pytest.fixture(scope="module")
def half_ports(run):
    _, out = run
    return pd.read_csv(out / f"{RECIPE}_half_ports.csv").set_index("half-port")


def _proof_rows(table):
    return table[~table["case"].str.startswith("fit")]


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_keras2_and_keras3_take_the_same_steps_dense_sparse_and_scheduled(run):
    """Keras2Yogi vs Yogi over >= 50 steps, defaults and ExponentialDecay: <= 1e-6, after real training."""
    table, _ = run
    proof = _proof_rows(table)
    assert {"defaults", "ExponentialDecay"} <= set(proof["case"])
    assert (proof["steps"] >= 50).all()
    assert (pd.to_numeric(proof["max |Keras 2 - Keras 3|"]) <= TOLERANCE).all()
    assert (proof["weights moved"] > 1e-3).all(), "the comparison must follow real training"


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_every_step_agrees_not_only_the_last(run):
    """The per-step table: one row per step and case, each within 1e-6 (a drift would show before the end)."""
    table, out = run
    curves = pd.read_csv(out / f"{RECIPE}_per_step.csv")
    for case, steps in _proof_rows(table).set_index("case")["steps"].items():
        rows = curves[curves["case"] == case]
        assert list(rows["step"]) == list(range(1, steps + 1))
        assert (rows["Keras 2 vs Keras 3"] <= TOLERANCE).all()


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_keras3_port_matches_the_float64_reference(run):
    """Yogi (float32) vs reference.yogi in float64 on the same gradients, sparse rows included: <= 1e-5 relative."""
    table, _ = run
    assert (_proof_rows(table)["max |Keras 3 - float64| / max |w|"] <= RELATIVE_TOLERANCE).all()


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_keras_file_loads_without_custom_objects_and_resumes_exactly(run):
    """fit, save, load_model (no custom_objects), fit = the model that trained on in memory."""
    table, _ = run
    fit = table[table["case"].str.startswith("fit")].iloc[0]
    assert float(fit["resumed vs uninterrupted"]) <= TOLERANCE
    assert float(fit["weights moved"]) > 1e-3, "the resume must follow real training"


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_slots_outside_build_are_not_restored(half_ports):
    """SlotsOutsideBuild: Keras warns it skips the saved optimizer variables and the resume drifts; Yogi resumes
    exactly."""
    row = half_ports.loc["SlotsOutsideBuild"]
    assert "Skipping variable loading" in row["symptom"] and "Yogi: no warning" in row["symptom"]
    assert row["half-port value"] > 1e-3 and row["Yogi value"] <= TOLERANCE


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_variable_assign_breaks_the_sparse_update(half_ports):
    """VariableAssign on the Embedding: far from the float64 reference; Yogi within float32 rounding."""
    row = half_ports.loc["VariableAssign"]
    assert row["half-port value"] > 1.0 and row["Yogi value"] <= 1e-5


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_a_hyperparameter_missing_from_get_config_comes_back_at_its_default(half_ports):
    """ForgottenHyperparameter reloads beta_2=0.999 instead of 0.9 and drifts; Yogi keeps 0.9 and resumes exactly."""
    row = half_ports.loc["ForgottenHyperparameter"]
    assert "reloaded with beta_2=0.999 (saved 0.9; Yogi reloaded 0.9)" in row["symptom"]
    assert row["half-port value"] > 1e-3 and row["Yogi value"] <= TOLERANCE


@pytest.mark.slow  # reads or makes a --quick run of the recipe
def test_step_from_zero_gives_nan_weights(half_ports):
    """StepFromZero (t = iterations): weights not finite after step 1; none for Yogi."""
    row = half_ports.loc["StepFromZero"]
    assert row["half-port value"] > 0 and row["Yogi value"] == 0


def _quoted_steps():
    """``[(number, title, [(side, quoted line), ...])]`` from the recipe's "The port in ten steps" cell."""
    source = curriculum.resolve(curriculum.list_recipes(), "porting_a_keras2_optimizer").path.read_text(
        encoding="utf-8"
    )
    cell = source[source.index("# ## The port in ten steps") : source.index("# ## Data")]
    steps, side = [], None
    for line in cell.splitlines():
        text = line.strip()[1:]  # drop the comment's "#"
        heading = re.match(r" \*\*Step (\d+)\. (.+)\.\*\* Keras 2:$", text)
        if heading:
            steps.append((int(heading[1]), heading[2].replace("\\*", "*"), []))
            side = "Keras 2"
        elif text == " Keras 3:":
            side = "Keras 3"
        elif text.startswith("     ") and steps:  # an indented code line of a quote
            steps[-1][2].append((side, text[5:]))
    return steps


@pytest.mark.parametrize("side", sorted(QUOTED))
def test_the_ten_steps_quote_both_files_verbatim(side):
    """Ten numbered steps with README's titles, each quoting both files; every quoted line is in its file."""
    steps = _quoted_steps()
    assert [(number, title) for number, title, _ in steps] == list(enumerate(STEP_TITLES, start=1))
    lines = QUOTED[side].read_text(encoding="utf-8").splitlines()
    for number, _, quotes in steps:
        mine = [quote for quote_side, quote in quotes if quote_side == side]
        assert mine, f"step {number} quotes nothing from {side}"
        for quote in mine:
            quote = quote.removesuffix(" ...")  # a cut line: what is left must still be verbatim
            assert any(quote in line for line in lines), f"step {number}: {quote!r} is not in {QUOTED[side].name}"


def test_the_lesson_stops_without_keras2_instead_of_half_running(monkeypatch, tmp_path):
    """No tf_keras: the lesson raises the ModuleNotFoundError naming the pip command; it never "succeeds" half-run."""

    def missing():
        raise ModuleNotFoundError('needs tf_keras: python -m pip install "tf_keras==2.21.*"', name="tf_keras")

    monkeypatch.setattr(porting, "load_keras2", missing)
    recipe = curriculum.resolve(curriculum.list_recipes(), "porting_a_keras2_optimizer")
    with pytest.raises(ModuleNotFoundError, match="pip install"):
        curriculum.run(recipe, ["--quick", "--steps", "2", "--out", str(tmp_path)])
    assert not list(tmp_path.glob("*.csv")), "no table claims a proof that did not run"
