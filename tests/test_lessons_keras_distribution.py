"""cookbook.lessons.keras_distribution and jax_worker: lesson 16's ``keras.distribution`` children.

Here the parts that need no JAX in this process: the child's environment,
argument checks that run before JAX is touched, the job folder and the
results written next to it, the chatter filter, the recipe's quote of the
worker's code, and ONE real worker that fails (recipe 16's claims, from its
quick run, are in ``test_12_distributed_training.py``).
"""

import ast
import inspect
import pathlib
import sys

from cookbook import errors
from cookbook.errors import LessonError
from cookbook.lessons import keras_distribution

import keras
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 240.0  # generous: the machine is shared; a hang still ends


def _model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu"), keras.layers.Dense(1)])


# --- the child's environment ----------------------------------------------------------------------


def test_jax_env_sets_the_backend_and_the_device_count(monkeypatch):
    """JAX backend on CPU, N virtual devices; an old device-count flag is replaced, other XLA flags kept."""
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=8")
    env = keras_distribution.jax_env(2)
    assert env["KERAS_BACKEND"] == "jax" and env["JAX_PLATFORMS"] == "cpu"
    assert env["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/x", "--xla_force_host_platform_device_count=2"]


def test_jax_env_refuses_fewer_than_one_device():
    """0 devices is a LessonError (a ValueError) that says what to ask for."""
    with pytest.raises(LessonError, match="at least 1"):
        keras_distribution.jax_env(0)


# --- join_processes and worker_command: bad arguments stop before JAX is touched -----------------


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
        (0, 2, ":1234", "coordinator_address must be 'host:port'"),
        (0, 2, "127.0.0.1:70000", "coordinator_address must be 'host:port'"),
    ],
)
def test_join_processes_rejects_bad_arguments_before_starting_jax(process_id, num_processes, address, message):
    """Each mistake is a LessonError naming it; JAX's distributed runtime is never started."""
    with pytest.raises(LessonError, match=message):
        keras_distribution.join_processes(process_id, num_processes, address)
    with pytest.raises(LessonError, match=message):
        keras_distribution.worker_command(
            "JOB", "run", process_id=process_id, num_processes=num_processes, coordinator_address=address
        )


def test_worker_command_runs_the_jax_worker_with_the_job_and_its_place_in_it():
    """Alone: JOB NAME; in a job: the coordinator, the process count and this process's id."""
    assert keras_distribution.worker_command("JOB", "two_devices") == [
        sys.executable,
        "-m",
        "cookbook.lessons.jax_worker",
        "JOB",
        "two_devices",
    ]
    command = keras_distribution.worker_command(
        "JOB", "processes", process_id=1, num_processes=2, coordinator_address="host-a:1234"
    )
    assert (
        keras_distribution.worker_command(
            "JOB", "processes", process_id=np.int64(1), num_processes=2, coordinator_address="host-a:1234"
        )
        == command
    ), "a NumPy integer is an integer"
    assert command[3:] == [
        "JOB",
        "processes",
        "--coordinator",
        "host-a:1234",
        "--num-processes",
        "2",
        "--process-id",
        "1",
    ]


# --- the job folder and the results ---------------------------------------------------------------


def test_save_job_round_trips_model_data_and_settings(tmp_path):
    """load_job gives back the settings, X and y; the saved model loads with the same starting weights."""
    model = _model()
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    y = np.array([0, 1, 1, 0])
    folder = keras_distribution.save_job(
        tmp_path / "job", model, X, y, runs=[("Adam", "cookbook"), ("SGD", "keras")], global_batch=4, epochs=3
    )
    settings, X_back, y_back = keras_distribution.load_job(folder)
    assert settings["runs"] == [("Adam", "cookbook"), ("SGD", "keras")]
    assert (settings["global_batch"], settings["epochs"], settings["learning_rate"]) == (4, 3, 0.01)
    assert X_back.dtype == np.float32 and np.array_equal(X_back, X)
    assert y_back.shape == (4, 1) and np.array_equal(y_back[:, 0], y)
    loaded = keras.models.load_model(folder / keras_distribution.MODEL_FILE, compile=False)
    for saved, original in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(saved, original)


@pytest.mark.parametrize(
    "runs, extra, message",
    [
        ([("Adamax", "cookbook")], {}, "runs must be"),
        ([("Adam", "torch")], {}, "runs must be"),
        ([], {}, "no runs"),
        ([("Adam", "keras")], {"global_batch": 0}, "global_batch and epochs must be >= 1"),
    ],
)
def test_save_job_refuses_what_the_worker_could_not_train(tmp_path, runs, extra, message):
    """An unknown optimizer or source, no runs, or a zero batch: LessonError, and nothing is written."""
    with pytest.raises(LessonError, match=message):
        keras_distribution.save_job(tmp_path / "job", _model(), np.zeros((2, 3)), np.zeros(2), runs=runs, **extra)
    assert not (tmp_path / "job").exists()


def test_load_job_says_how_to_write_a_missing_job(tmp_path):
    """A folder without job.json names save_job."""
    with pytest.raises(LessonError, match="save_job"):
        keras_distribution.load_job(tmp_path)


def test_results_round_trip_per_process(tmp_path):
    """save_results / load_results keep each run's weight arrays in order, and the info dict."""
    weights = {("Adam", "cookbook"): [np.ones((3, 2)), np.zeros(2)], ("Adam", "keras"): [np.full(1, 7.0)]}
    for index in range(2):
        keras_distribution.save_results(tmp_path, "processes", index, weights, {"process_index": index})
    results = keras_distribution.load_results(tmp_path, "processes", 2)
    assert [info["process_index"] for _, info in results] == [0, 1]
    back = results[1][0]
    assert set(back) == set(weights)
    for run, arrays in weights.items():
        assert len(back[run]) == len(arrays)
        for a, b in zip(back[run], arrays):
            np.testing.assert_array_equal(a, b)


# --- what the learner sees ------------------------------------------------------------------------


def test_quiet_drops_jax_and_gloo_chatter_and_keeps_errors():
    """absl's preamble and info lines and gloo's notice go; a warning and a traceback line stay."""
    text = "\n".join(
        [
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
            "I0000 00:00:1796093913.888496   26397 port.cc:153] oneDNN custom operations are on.",
            "[Gloo] Rank 0 is connected to 1 peer ranks. Expected number of connected peer ranks is : 1",
            "process 0 of 2: 1 fit(s) on [CpuDevice(id=0), CpuDevice(id=2048)]",
            "W0000 00:00:1796093913.9 26397 client.cc:70] coordination service: connection refused",
            "ValueError: Input 0 of layer 'dense' is incompatible",
        ]
    )
    assert keras_distribution.quiet(text).splitlines() == [
        "process 0 of 2: 1 fit(s) on [CpuDevice(id=0), CpuDevice(id=2048)]",
        "W0000 00:00:1796093913.9 26397 client.cc:70] coordination service: connection refused",
        "ValueError: Input 0 of layer 'dense' is incompatible",
    ]


def test_the_recipe_quotes_the_workers_code_verbatim():
    """Every line of recipe 16's quote of ``fit_under_data_parallel`` is a line of it, in the same order."""
    worker = (ROOT / "cookbook" / "lessons" / "jax_worker.py").read_text(encoding="utf-8")
    function = next(
        node
        for node in ast.parse(worker).body
        if isinstance(node, ast.FunctionDef) and node.name == "fit_under_data_parallel"
    )
    body = [line[4:] for line in ast.get_source_segment(worker, function).splitlines()[1:]]
    recipe = (ROOT / "recipes" / "16_distributed_training.py").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(recipe) if "distribution = keras.distribution.DataParallel(" in line)
    quote = []
    for line in recipe[start:]:
        if not line.startswith("    #     "):
            break
        quote.append(line[len("    #     ") :])
    assert len(quote) >= 8, "the quote shows the distribution, the data split and the fit loop"
    position = 0
    for line in quote:
        assert line in body[position:], f"quoted line not in fit_under_data_parallel (in order): {line!r}"
        position = body.index(line, position) + 1


def test_the_recipe_quotes_join_processes_verbatim():
    """The two lines recipe 16 shows for joining processes are join_processes' own lines."""
    source = inspect.getsource(keras_distribution.join_processes)
    code = [line.strip() for line in source.splitlines()]
    recipe = (ROOT / "recipes" / "16_distributed_training.py").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(recipe) if 'jax.config.update("jax_cpu_collectives_implementation"' in line)
    quote = [line[len("    #     ") :] for line in recipe[start : start + 2]]
    assert quote[1].startswith("keras.distribution.initialize(")
    for line in quote:
        assert line in code, f"recipe 16 quotes a line join_processes does not have: {line!r}"


# --- one real worker ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_failing_worker_is_reported_as_worker_failed_with_its_error(tmp_path):
    """A job naming an optimizer the worker cannot make: WorkerFailed names the process and quotes the error."""
    folder = keras_distribution.save_job(
        tmp_path / "job", _model(), np.zeros((4, 3)), np.zeros(4), runs=[("Adam", "keras")]
    )
    settings = (folder / keras_distribution.JOB_FILE).read_text(encoding="utf-8")
    (folder / keras_distribution.JOB_FILE).write_text(settings.replace('"Adam"', '"Nadam"'), encoding="utf-8")
    with keras_distribution.launch_devices(folder, "broken", 1, timeout=CHILD_TIMEOUT) as child:
        with pytest.raises(errors.WorkerFailed) as info:
            child.wait()
    assert info.value.worker == 0 and "broken process 0 of 1 failed (exit status 1)" in str(info.value)
    assert "unknown optimizer 'Nadam'" in str(info.value)
    assert info.value.results[0].returncode == 1


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
