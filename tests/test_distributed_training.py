"""Recipe 16's claims: mirrored, multi-worker and one-device training agree when the batch splits evenly.

TensorFlow's runtime is already started inside pytest, so the recipe's quick
run re-runs the file in a fresh Python (two logical CPUs) that starts two
TensorFlow worker processes and four JAX ones (``keras.distribution``); every
claim below reads the tables that run wrote.
"""

import pathlib

import pandas as pd
import pytest
from _processes import _alive, _running_workers

pytestmark = pytest.mark.slow  # every test reads the recipe's --quick run (two worker processes)

RECIPE = "16_distributed_training"
TWIN_TOLERANCE, DEVICE_TOLERANCE = 1e-6, 1e-5  # twin vs built-in; mirrored or multi-worker vs one device


@pytest.fixture(scope="module")
def run(quick_run):
    return quick_run(RECIPE)


@pytest.fixture(scope="module")
def batches(run):
    _, out = run
    return pd.read_csv(out / f"{RECIPE}_batch_size.csv", keep_default_na=False, na_values=[""])


def test_twins_equal_builtins_and_mirrored_equals_one_device(run):
    """strategy.run step on 2 replicas: twin = built-in (1e-6), mirrored = one device (1e-5), after real training."""
    twins, _ = run
    assert len(twins) >= 1 and (twins["replicas"] == 2).all()
    assert (twins["twin vs built-in (mirrored)"] <= TWIN_TOLERANCE).all()
    assert (twins["mirrored vs one device"] <= DEVICE_TOLERANCE).all()
    assert (twins["weights moved"] > 1e-3).all(), "the comparison must follow real training"


def test_fit_under_the_strategy_matches_one_device_when_every_step_splits_evenly(batches):
    """Both even settings (426 rows, batch 32 and len(X)) stay within 1e-5 of one device."""
    even = batches[batches["every step even"]]
    assert len(even) == 2 and (even["outcome"] == "trains").all()
    assert (even["mirrored vs one device"] <= DEVICE_TOLERANCE).all()


def test_an_uneven_last_step_makes_fit_drift_and_an_odd_full_batch_fails(batches):
    """427 rows: the 6+5 last step drifts over 10x the tolerance; batch_size=len(X) fails before training."""
    odd = batches[batches["rows"] % 2 == 1]
    odd_32 = odd[odd["global batch"] == 32].iloc[0]
    assert odd_32["last step split"] == "6+5" and odd_32["outcome"] == "trains"
    assert odd_32["mirrored vs one device"] > 10 * DEVICE_TOLERANCE
    odd_full = odd[odd["global batch"] == odd["rows"]].iloc[0]
    assert odd_full["outcome"].startswith("fails") and pd.isna(odd_full["mirrored vs one device"])


def test_optimizer_outside_the_scope_is_explained_before_and_inside_fit(run):
    """check_scope and explain_scope_errors both raise StrategyScopeError saying what to move where."""
    _, out = run
    scope = pd.read_csv(out / f"{RECIPE}_scope_errors.csv")
    assert len(scope) == 2 and (scope["error"] == "StrategyScopeError").all()
    assert scope["message"].str.contains("inside `with strategy.scope").all()


def test_two_workers_hold_identical_weights_equal_to_one_device(run):
    """MultiWorkerMirroredStrategy: both workers bit-identical, within 1e-5 of one-device fit on the same rows."""
    _, out = run
    workers = pd.read_csv(out / f"{RECIPE}_multi_worker.csv")
    assert list(workers["worker"]) == [0, 1] and (workers["replicas in sync"] == 2).all()
    assert (workers["vs chief"] == 0.0).all(), "all-reduce gives both workers bit-identical weights"
    assert (workers["vs one device"] <= DEVICE_TOLERANCE).all()
    assert (workers["final loss"] > 0).all()


def test_keras_distribution_data_parallel_fit_matches_the_builtin_and_one_device(run):
    """JAX DataParallel fit on 2 virtual CPUs: twin = built-in (1e-6), = one device (1e-5), after real training."""
    _, out = run
    table = pd.read_csv(out / f"{RECIPE}_keras_distribution.csv")
    assert len(table) >= 1 and table["devices"].str.startswith("2 virtual CPUs").all()
    assert (table["twin vs built-in"] <= TWIN_TOLERANCE).all()
    assert (table["distributed vs one device"] <= DEVICE_TOLERANCE).all()
    assert (table["weights moved"] > 1e-3).all(), "the comparison must follow real training"


def test_two_keras_distribution_processes_end_with_identical_weights(run):
    """2 JAX processes joined by keras.distribution.initialize, fit(batch_size=16) each: identical, = one device."""
    _, out = run
    table = pd.read_csv(out / f"{RECIPE}_jax_processes.csv")
    assert list(table["process"]) == [0, 1] and (table["devices in the job"] == 2).all()
    assert (table["fit batch_size"] * 2 == table["global batch"]).all(), "each process feeds half the global batch"
    assert (table["vs process 0"] == 0.0).all(), "both apply the same all-reduced gradients: identical weights"
    assert (table["vs one device"] <= DEVICE_TOLERANCE).all()
    assert table["final loss"].nunique() == 1 and (table["final loss"] > 0).all(), "one loss over the global batch"


def test_keras_refuses_numpy_rows_with_auto_sharding_in_a_multi_process_run(run):
    """auto_shard_dataset=True with NumPy arrays: each process got Keras's ValueError pointing at the fix."""
    _, out = run
    table = pd.read_csv(out / f"{RECIPE}_jax_processes.csv")
    assert (table["NumPy rows, auto_shard_dataset=True"] == "refused").all()
    assert table["auto-shard message"].str.contains("must be provided as a `tf.data.Dataset`", regex=False).all()
    assert table["auto-shard message"].str.contains("distribution.auto_shard_dataset = False", regex=False).all()


def _running_jax_workers():
    """pids of live ``cookbook.lessons.jax_worker`` processes (``_running_workers`` looks for the TF worker)."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"cookbook.lessons.jax_worker" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return [pid for pid in found if _alive(pid)]


def test_the_run_draws_its_figure_and_leaves_no_worker_running(run):
    """The differences PNG is written and no cookbook.lessons.worker or jax_worker process outlives the run."""
    _, out = run
    assert (out / f"{RECIPE}_differences.png").read_bytes()[:4] == b"\x89PNG"
    assert not _running_workers()
    assert not _running_jax_workers()
