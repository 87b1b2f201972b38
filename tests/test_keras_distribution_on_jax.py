"""Lesson 18 (keras.distribution on JAX): its JAX-process helpers and evidence on tiny inputs, its claims from one quick run.

Only the quick run starts JAX child processes: the job folder, the worker's
loop over runs, the comparison table, the figure and every verdict branch
are checked here on hand-made inputs, in this (TensorFlow) process.
"""

import inspect
import math
import pathlib
import sys

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import jax_worker, keras_distribution
from cookbook.lessons import keras_distribution_on_jax as evidence

import keras
import numpy as np
import pandas as pd
import pytest

LESSON = "18_keras_distribution_on_jax"
ROOT = pathlib.Path(__file__).resolve().parents[1]
TOLERANCE = 1e-5


def _model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu"), keras.layers.Dense(1)])


def returns_ones(model_file, X, y, *, batch_size):
    """A lesson function stand-in: called with the model file, the rows and the run's kwargs; returns (weights, steps)."""
    return [np.full(2, float(len(X) + batch_size)), np.asarray(y).sum(keepdims=True)], 3


def refuses(model_file, X, y, *, batch_size):
    """Stands in for a fit that Keras refuses."""
    raise ValueError(f"refused: set distribution.auto_shard_dataset = False (batch {batch_size})")


# --- the child's environment and its place in a job (shared with lesson 19) ------------------------


def test_jax_env_sets_the_backend_and_the_device_count(monkeypatch):
    """JAX backend on CPU, N virtual devices; an old device-count flag is replaced, other XLA flags kept."""
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=8")
    env = keras_distribution.jax_env(2)
    assert env["KERAS_BACKEND"] == "jax" and env["JAX_PLATFORMS"] == "cpu"
    assert env["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/x", "--xla_force_host_platform_device_count=2"]
    assert str(ROOT) in keras_distribution.child_env(2)["PYTHONPATH"].split(":")


def test_jax_env_refuses_fewer_than_one_device():
    """0 devices is a LessonError (a ValueError) that says what to ask for."""
    with pytest.raises(LessonError, match="at least 1"):
        keras_distribution.jax_env(0)


@pytest.mark.parametrize(
    "process_id, num_processes, address, message",
    [
        (2, 2, "127.0.0.1:1234", "process_id must be an integer from 0 to 1"),
        (-1, 2, "127.0.0.1:1234", "process_id must be"),
        ("1", 2, "127.0.0.1:1234", "process_id must be"),  # read from argv but not converted
        (0, 2.0, "127.0.0.1:1234", "num_processes must be an integer"),
        (0, 0, "127.0.0.1:1234", "num_processes must be an integer >= 1"),
        (0, 2, "127.0.0.1", "coordinator_address must be 'host:port'"),
        (0, 2, "host-a:http", "coordinator_address must be 'host:port'"),
        (0, 2, "127.0.0.1:70000", "coordinator_address must be 'host:port'"),
    ],
)
def test_join_processes_rejects_bad_arguments_before_starting_jax(process_id, num_processes, address, message):
    """Each mistake is a LessonError naming it; JAX's distributed runtime is never started."""
    with pytest.raises(LessonError, match=message):
        keras_distribution.join_processes(process_id, num_processes, address)
    with pytest.raises(LessonError, match=message):
        evidence.worker_command(
            "JOB", "x", process_id=process_id, num_processes=num_processes, coordinator_address=address
        )


def test_worker_command_runs_the_jax_worker_with_the_job_and_its_place_in_it():
    """Alone: JOB CHILD; in a job: the coordinator, the process count and this process's id (a NumPy int is an int)."""
    assert evidence.worker_command("JOB", "devices") == [
        sys.executable,
        "-m",
        "cookbook.lessons.jax_worker",
        "JOB",
        "devices",
    ]
    command = evidence.worker_command("JOB", "p", process_id=np.int64(1), num_processes=2, coordinator_address="h:1234")
    assert command[3:] == ["JOB", "p", "--coordinator", "h:1234", "--num-processes", "2", "--process-id", "1"]
    assert [line.split("--process-id ")[1] for line in evidence.host_commands("p", 2)] == ["0", "1"]


def test_the_lesson_quotes_join_processes_verbatim():
    """The two lines lesson 18 shows for joining processes are join_processes' own lines."""
    code = [line.strip() for line in inspect.getsource(keras_distribution.join_processes).splitlines()]
    lesson = (ROOT / "recipes" / f"{LESSON}.py").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lesson) if 'jax.config.update("jax_cpu_collectives_implementation"' in line)
    quote = [line.removeprefix("# ") for line in lesson[start : start + 2]]  # a ```python fence in the prose
    assert quote[1].startswith("keras.distribution.initialize(")
    for line in quote:
        assert line in code, f"lesson 18 quotes a line join_processes does not have: {line!r}"


class _Ended(Exception):
    """Stands in for os._exit in-process, carrying its status."""


def test_failing_fast_ends_a_failed_process_at_once_with_its_traceback(monkeypatch, capsys):
    """An error: the traceback on stderr, then os._exit(1) (no exit-time work, where JAX's shutdown would wait)."""

    def end(status):
        raise _Ended(status)

    monkeypatch.setattr(keras_distribution.os, "_exit", end)
    with pytest.raises(_Ended) as ended:
        with keras_distribution.failing_fast():
            raise RuntimeError("boom")
    assert ended.value.args == (1,)
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_failing_fast_lets_an_exit_status_and_success_through(monkeypatch):
    """SystemExit (argparse's status 2, a program's own status) passes through; nothing happens on success."""
    monkeypatch.setattr(keras_distribution.os, "_exit", pytest.fail)
    with pytest.raises(SystemExit) as exited:
        with keras_distribution.failing_fast():
            raise SystemExit(2)
    assert exited.value.code == 2
    with keras_distribution.failing_fast():
        pass


def test_quiet_drops_jax_and_gloo_chatter_and_keeps_errors():
    """absl's preamble and info lines and gloo's notice go; a warning and an error line stay."""
    text = "\n".join(
        [
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
            "I0000 00:00:1796093913.888496   26397 port.cc:153] oneDNN custom operations are on.",
            "[Gloo] Rank 0 is connected to 1 peer ranks. Expected number of connected peer ranks is : 1",
            "processes process 0 of 2: 3 run(s) on [CpuDevice(id=0), CpuDevice(id=2048)]",
            "W0000 00:00:1796093913.9 26397 client.cc:70] coordination service: connection refused",
            "ValueError: Input 0 of layer 'dense' is incompatible",
        ]
    )
    assert keras_distribution.quiet(text).splitlines() == text.splitlines()[3:]


# --- the job folder and the worker's loop, in this process ----------------------------------------


def _job(tmp_path, children):
    X, y = np.arange(12, dtype=np.float64).reshape(4, 3), np.array([0, 1, 1, 0])
    return evidence.save_job(tmp_path / "job", _model(), X, y, [returns_ones, refuses], children)


def test_save_job_round_trips_model_rows_functions_and_runs(tmp_path):
    """load_job gives back the runs, X as float32 and y as a column; the model loads with its starting weights."""
    runs = {"a": [evidence.run("ones", returns_ones, batch_size=4)]}
    folder = _job(tmp_path, runs)
    spec, X, y = evidence.load_job(folder)
    assert spec["children"] == {
        "a": [{"label": "ones", "function": "returns_ones", "kwargs": {"batch_size": 4}, "expects_error": False}]
    }
    assert "def returns_ones(" in spec["source"] and "def refuses(" in spec["source"]
    assert X.dtype == np.float32 and X.shape == (4, 3) and y.shape == (4, 1) and y[:, 0].tolist() == [0, 1, 1, 0]
    loaded = keras.models.load_model(folder / evidence.MODEL_FILE, compile=False)
    assert len(loaded.get_weights()) == 4


@pytest.mark.parametrize(
    "children, message",
    [
        ({"a": [{"label": "x", "function": "fit_somehow", "kwargs": {}, "expects_error": False}]}, "fit_somehow"),
        ({"a": []}, "children without runs: \\['a'\\]"),
        ({}, "no children at all"),
    ],
)
def test_save_job_refuses_runs_the_child_could_not_make(tmp_path, children, message):
    """An unknown function, a child without runs, no children: LessonError, and nothing is written."""
    with pytest.raises(LessonError, match=message):
        _job(tmp_path, children)
    assert not (tmp_path / "job").exists()


def test_load_job_says_how_to_write_a_missing_job(tmp_path):
    """A folder without job.json names save_job."""
    with pytest.raises(LessonError, match="save_job"):
        evidence.load_job(tmp_path)


def test_the_worker_runs_the_saved_source_and_records_an_expected_refusal(tmp_path):
    """run_child calls each run's function from the saved source with its kwargs; an expected ValueError is its outcome."""
    runs = {
        "a": [
            evidence.run("ones", returns_ones, batch_size=3),
            evidence.run("refused", refuses, batch_size=3, expects_error=True),
        ]
    }
    weights, details = jax_worker.run_child(_job(tmp_path, runs), "a")
    assert list(weights) == ["ones"] and weights["ones"][0].tolist() == [7.0, 7.0] and weights["ones"][1].item() == 2
    assert details["ones"]["error"] is None and details["ones"]["devices"] == 1 and details["ones"]["steps"] == 3
    assert "auto_shard_dataset = False" in details["refused"]["error"]


def test_the_worker_lets_an_unexpected_error_end_the_child(tmp_path):
    """A ValueError from a run not marked expects_error propagates (failing_fast then ends the process)."""
    folder = _job(tmp_path, {"a": [evidence.run("refused", refuses, batch_size=3)]})
    with pytest.raises(ValueError, match="refused"):
        jax_worker.run_child(folder, "a")


def test_results_round_trip_per_process(tmp_path):
    """save_results / load_results keep each run's weight arrays in order, and the info dict."""
    weights = {"b": [np.ones((3, 2)), np.zeros(2)], "a": [np.full(1, 7.0)]}
    for index in range(2):
        evidence.save_results(tmp_path, "p", index, weights, {"process_index": index})
    results = evidence.load_results(tmp_path, "p", 2)
    assert [info["process_index"] for _, info in results] == [0, 1]
    back = results[1][0]
    assert list(back) == ["b", "a"]
    for label, arrays in weights.items():
        assert len(back[label]) == len(arrays)
        for a, b in zip(back[label], arrays):
            np.testing.assert_array_equal(a, b)


# --- the comparison and the claims, on hand-made results -------------------------------------------


def _info(index, count, runs):
    details = {
        label: {
            "function": function,
            "kwargs": {"batch_size": batch},
            "devices": devices,
            "expects_error": label == "auto",
            "error": error,
            "steps": None if error else 12 * 32 // (batch * count),
        }
        for label, (function, batch, devices, error) in runs.items()
    }
    return {"process_index": index, "process_count": count, "runs": details}


def _results(two_devices=1e-7, joined=(1e-7, 1e-7), habit=0.05, refused=True):
    """Weights as one number each: the start 0, one device 1.0, the distributed runs that far from it."""
    w = lambda value: [np.array([value])]  # noqa: E731
    devices = ({"one": w(1.0), "two": w(1.0 + two_devices)},
               _info(0, 1, {"one": ("one", 32, 1, None), "two": ("dp", 32, 2, None)}))  # fmt: skip
    error = "must be a `tf.data.Dataset` ... set `distribution.auto_shard_dataset = False`" if refused else None
    processes = []
    for index in range(2):
        weights = {"16 each": w(1.0 + joined[index]), "32 each": w(1.0 + habit)}
        if not refused:
            weights["auto"] = w(1.0)
        runs = {"16 each": ("dp", 16, 2, None), "32 each": ("dp", 32, 2, None), "auto": ("dp", 16, 2, error)}
        processes.append((weights, _info(index, 2, runs)))
    return {"devices": [devices], "processes": processes}


def _table(**kwargs):
    return evidence.results_table(_results(**kwargs), [np.array([0.0])], rows=8, reference="one")


def _claims(table):
    return claims.by_key(evidence.claims(table, tolerance=TOLERANCE, global_batch=32, num_processes=2))


def test_results_table_compares_each_run_with_one_device_across_processes_and_with_the_start():
    """Global batch = batch_size x processes; gaps to the one-device run, to process 0 and to the start; steps kept."""
    table = _table(two_devices=3e-7, joined=(1e-7, 2e-7)).set_index(["child", "run", "process"])
    two = table.loc[("devices", "two", 0)]
    assert (two["devices"], two["global batch"], two["steps"]) == (2, 32, 12)
    assert two["vs 1 device"] == pytest.approx(3e-7)
    assert math.isnan(table.loc[("devices", "one", 0), "vs 1 device"]), "no gap to itself"
    joined = table.loc[("processes", "16 each", 1)]
    assert (joined["global batch"], joined["rows per process"], joined["steps"]) == (32, 4, 12)
    assert joined["vs process 0"] == pytest.approx(1e-7) and joined["vs 1 device"] == pytest.approx(2e-7)
    habit = table.loc[("processes", "32 each", 0)]
    assert (habit["global batch"], habit["steps"]) == (64, 6) and habit["vs 1 device"] == pytest.approx(0.05)
    assert table.loc[("processes", "16 each", 0), "weights moved"] == pytest.approx(1.0 + 1e-7)
    auto = table.loc[("processes", "auto", 0)]
    assert auto["outcome"] == evidence.REFUSED and math.isnan(auto["weights moved"]) and "auto_shard" in auto["message"]


def test_results_table_needs_exactly_one_one_device_run():
    """Without a run of the reference function there is nothing to compare with: LessonError."""
    with pytest.raises(LessonError, match="exactly one"):
        evidence.results_table(_results(), [np.array([0.0])], rows=8, reference="fit_elsewhere")


def test_claims_hold_when_distributed_fits_match_one_device_and_numpy_rows_are_refused():
    """Within tolerance, processes identical, the habit at half the steps, both processes refused: the verdicts."""
    found = _claims(_table())
    assert [c.verdict for c in found.values()] == [Verdict.HOLDS, Verdict.HOLDS, Verdict.FAILS, Verdict.HOLDS]
    assert found["fit_unchanged_under_data_parallel"].numbers["vs_one_device"] == pytest.approx(1e-7)
    assert found["processes_train_one_model"].numbers["processes_apart"] == 0
    habit = found["batch_size_counts_own_rows"].numbers
    assert (habit["steps"], habit["steps_one_device"]) == (6, 12) and habit["vs_one_device"] == pytest.approx(0.05)
    assert found["numpy_rows_need_auto_shard_off"].numbers == {
        "processes_tried": 2,
        "processes_refused": 2,
        "messages_naming_the_fix": 2,
    }


def test_claims_fail_when_the_runs_disagree_and_numpy_rows_are_accepted():
    """Devices beyond tolerance, processes apart, NumPy rows accepted: FAILS for each of them."""
    found = _claims(_table(two_devices=1e-3, joined=(1e-7, 3e-7), refused=False))
    assert found["fit_unchanged_under_data_parallel"].verdict is Verdict.FAILS
    assert found["processes_train_one_model"].verdict is Verdict.FAILS
    assert found["processes_train_one_model"].numbers["processes_apart"] == pytest.approx(2e-7)
    assert found["numpy_rows_need_auto_shard_off"].verdict is Verdict.FAILS


def test_batch_size_claim_holds_when_batch_size_is_global_and_is_not_measured_otherwise():
    """The habit run at one device's steps and weights: HOLDS; half the steps but no gap: NOT_MEASURED."""
    table = _table(habit=1e-7)
    table.loc[table["run"] == "32 each", "steps"] = 12
    assert _claims(table)["batch_size_counts_own_rows"].verdict is Verdict.HOLDS
    assert _claims(_table(habit=1e-7))["batch_size_counts_own_rows"].verdict is Verdict.NOT_MEASURED


def test_the_figure_draws_one_bar_per_nonzero_gap_and_no_bar_for_an_exact_zero():
    """Bit-identical processes get no bar on the log axis (a text instead); every other gap is a bar."""
    fig = evidence.plot_differences(_table(), TOLERANCE, "t")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    bars = [p for p in ax.patches if p.get_width() > 0]
    assert len(labels) == len(bars) + 2, "the two 'vs process 0' rows of bit-identical processes have no bar"
    assert ax.get_xscale() == "log" and min(p.get_x() for p in bars) >= ax.get_xlim()[0]
    assert max(p.get_x() + p.get_width() for p in bars) == pytest.approx(1.0 + 1e-7), "the longest: weights moved"


# --- the lesson's quick run -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_quick_run_fits_across_devices_and_processes_as_its_claims_say(quick_run):
    """Four claims; the devices and processes match one device within 1e-5, and the claims quote the CSV."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    table = pd.read_csv(out / f"{LESSON}.csv", keep_default_na=False, na_values=[""])
    assert found["fit_unchanged_under_data_parallel"].verdict is Verdict.HOLDS
    assert found["processes_train_one_model"].verdict is Verdict.HOLDS
    assert found["batch_size_counts_own_rows"].verdict is Verdict.FAILS
    assert found["numpy_rows_need_auto_shard_off"].verdict is Verdict.HOLDS
    two = table[(table["processes"] == 1) & (table["devices"] == 2)]
    assert found["fit_unchanged_under_data_parallel"].numbers["vs_one_device"] == pytest.approx(
        two["vs 1 device"].max()
    )
    joined = table[(table["processes"] == 2) & (table["global batch"] == 32) & (table["outcome"] == evidence.TRAINED)]
    assert list(joined["process"]) == [0, 1] and (joined["vs process 0"] == 0).all()
    assert (joined["devices"] == 2).all() and (joined["vs 1 device"] <= TOLERANCE).all()
    one = table[(table["processes"] == 1) & (table["devices"] == 1)]
    assert (joined["steps"] == one["steps"].iloc[0]).all()
    habit = found["batch_size_counts_own_rows"].numbers
    assert habit["steps"] * 2 == habit["steps_one_device"] == one["steps"].iloc[0]
    assert (table.loc[table["outcome"] == evidence.TRAINED, "weights moved"] > evidence.MOVED_AT_LEAST).all()
