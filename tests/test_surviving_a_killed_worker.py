"""Recipe 18's claims: a fit killed with SIGKILL in mid-epoch and relaunched ends with the weights of a run never killed.

The quick run launches JAX child processes: one process training the five
twins side by side (one SIGKILL for all), and a two-worker
``keras.distribution`` job (Adam) whose worker 1 kills itself. Every claim
below reads the tables that run returned and wrote.
"""

import pandas as pd
import pytest
from _processes import _alive

pytestmark = pytest.mark.slow  # every test reads the recipe's --quick run (child processes, killed and relaunched)

RECIPE = "18_surviving_a_killed_worker"
TOLERANCE = 1e-6
TWINS = ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam"]


@pytest.fixture(scope="module")
def run(quick_run):
    return quick_run(RECIPE)


@pytest.fixture(scope="module")
def launches(run):
    _, out = run
    return pd.read_csv(out / f"{RECIPE}_launches.csv")


def _part(table, part):
    return table[table["part"] == part]


def test_every_twin_killed_in_one_process_resumes_at_the_lost_epoch_and_ends_within_1e_6(run):
    """Five twins, one SIGKILL: each resumed at the epoch it lost (not the first) and ended within 1e-6, after training."""
    table, _ = run
    one = _part(table, "one process")
    assert one["twin"].tolist() == TWINS and (one["process"] == 0).all()
    assert (one["max |w - never killed|"] <= TOLERANCE).all()
    assert (one["max |w - start|"] > 1e-2).all(), "the weights moved: the comparison follows real training"
    assert (one["epochs done at the kill"] >= 1).all()
    assert (one["resumed at epoch"] == one["epochs done at the kill"] + 1).all(), "resumed from the backup, not epoch 1"
    assert (one["launches"] == 2).all() and (one["callback"] == "keras.callbacks.BackupAndRestore").all()


def test_the_one_process_job_died_by_sigkill_and_its_relaunch_finished(launches):
    """Launch 1 ended by signal 9 at the fault; launch 2, the same command, exited 0; no process is left running."""
    one = _part(launches, "one process")
    assert one["exit status"].tolist() == [-9, 0]
    assert one["how it ended"].tolist() == ["killed itself (the fault)", "finished"]
    assert not any(_alive(pid) for pid in launches["pid"])


def test_two_workers_one_killed_resume_together_and_end_within_1e_6(run):
    """Both processes of the two-worker job resumed at the lost epoch and ended within 1e-6 of the job never killed."""
    table, _ = run
    two = _part(table, "two workers")
    assert sorted(two["process"]) == [0, 1] and (two["callback"] == "cookbook.BackupAndRestore").all()
    assert (two["max |w - never killed|"] <= TOLERANCE).all()
    assert (two["max |w - start|"] > 1e-2).all()
    assert (two["resumed at epoch"] == two["epochs done at the kill"] + 1).all()


def test_the_killed_worker_died_by_sigkill_and_the_launcher_reported_it(launches, run):
    """Worker 1 ended by signal 9 at the fault; worker 0 did not finish that launch; the last launch exited 0."""
    table, _ = run
    two = _part(launches, "two workers")
    twins = len(_part(table, "two workers")["twin"].unique())
    assert two["launch"].max() == twins + 1, "one kill per twin, then one launch that finishes"
    killed = two[two["launch"] <= twins]
    worker1, worker0 = killed[killed["process"] == 1], killed[killed["process"] == 0]
    assert (worker1["exit status"] == -9).all() and (worker1["how it ended"] == "killed itself (the fault)").all()
    assert (worker0["exit status"] != 0).all(), "the survivor was stopped (or failed without its peer)"
    assert (two[two["launch"] == twins + 1]["exit status"] == 0).all()


def test_the_guard_refuses_what_keras_loads_silently(run):
    """Keras resumes with another activation, optimizer or learning rate; the cookbook refuses all four, untouched."""
    _, out = run
    guard = pd.read_csv(out / f"{RECIPE}_guard.csv").set_index("comes back with")
    keras_outcomes = guard["keras.callbacks.BackupAndRestore"]
    ours = guard["cookbook.BackupAndRestore"]
    assert keras_outcomes.iloc[0].startswith("resumed") and ours.iloc[0].startswith("resumed")
    assert keras_outcomes.iloc[1:].str.startswith("resumed").sum() == 3  # same shapes: loaded without a word
    assert keras_outcomes.iloc[1] == "refused: ValueError"  # other shapes: load_weights fails
    assert (ours.iloc[1:] == "refused: BackupMismatch").all()
    assert (guard["cookbook's folder after"].iloc[1:] == "unchanged").all()
    changed_rate = guard.loc["Momentum at learning_rate=0.05", "keras.callbacks.BackupAndRestore"]
    assert changed_rate.endswith("lr 0.02"), "Keras runs on with the backup's learning rate, not the one compiled"
