"""Lesson 19's evidence: the job folder, the fault, what a backup folder holds, the resume table and the claims.

The real kill (two JAX processes, worker 1 SIGKILLed, the job relaunched) runs
once, in the lesson's ``--quick`` run, read by the last test; everything else
is checked here in-process on tiny inputs.
"""

import json
import os
import signal

import cookbook
from cookbook import claims
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import surviving_a_killed_worker as evidence

import keras
import numpy as np
import pandas as pd
import pytest

LESSON = "19_surviving_a_killed_worker"
TWINS = {"Adam": ("Adam", {"learning_rate": 0.01})}
TOLERANCE = 1e-6


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])


def _job(tmp_path, rows=64, **kwargs):
    X = np.arange(rows * 3, dtype="float32").reshape(rows, 3)
    settings = {"twins": TWINS, "epochs": 4, "batch_size": 8, **kwargs}
    return evidence.save_job(tmp_path / "job", _model(), X, X[:, 0], **settings)


def test_save_job_writes_the_model_the_data_and_the_settings(tmp_path):
    """The start weights, the rows as float32 with a target column, and the settings the program reads."""
    model = _model()
    job = _job(tmp_path, kill={"epoch": 1, "batch": 2, "process": 0}, callback="cookbook")
    settings = json.loads((job / evidence.JOB_FILE).read_text())
    assert settings["kill"] == {"epoch": 1, "batch": 2, "process": 0} and settings["callback"] == "cookbook"
    assert settings["steps_per_epoch"] == 8 and settings["twins"] == {"Adam": ["Adam", {"learning_rate": 0.01}]}
    loaded = keras.models.load_model(job / evidence.MODEL_FILE, compile=False)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
    with np.load(job / evidence.DATA_FILE) as data:
        assert data["X"].dtype == np.float32 and data["y"].shape == (64, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kill": {"epoch": 0, "batch": 2, "process": 0}}, "epoch 0 has no backup yet"),
        ({"kill": {"epoch": 4, "batch": 2, "process": 0}}, "epoch must be 1..3"),
        ({"kill": {"epoch": 1, "batch": 8, "process": 0}}, "batch 0..7"),
        ({"kill": {"epoch": 1, "batch": 2, "process": 2}, "num_processes": 2}, "process 0..1"),
        ({"num_processes": 2, "rows": 63}, "do not split evenly"),
        ({"callback": "tensorflow"}, "callback must be one of"),
    ],
    ids=["epoch_0", "after_the_last_epoch", "past_the_last_batch", "no_such_process", "uneven_rows", "callback"],
)
def test_save_job_refuses_a_kill_point_or_setting_it_cannot_run(tmp_path, kwargs, message):
    """A fault that would never fire, or fire before any backup (so every relaunch would die again), is refused."""
    rows = kwargs.pop("rows", 64)
    with pytest.raises(LessonError, match=message):
        _job(tmp_path, rows=rows, **kwargs)


def test_job_commands_give_each_process_its_id_and_one_coordinator(tmp_path):
    """One process: the bare command; two: ids 0 and 1, the same coordinator address on 127.0.0.1."""
    job = tmp_path / "job"
    (single,) = evidence.job_commands(job)
    assert single[1:] == ["-m", "cookbook.lessons.surviving_a_killed_worker", str(job)]
    first, second = evidence.job_commands(job, 2, port=1234)
    assert first[-6:] == ["--process-id", "0", "--num-processes", "2", "--coordinator", "127.0.0.1:1234"]
    assert second[-6:] == ["--process-id", "1", "--num-processes", "2", "--coordinator", "127.0.0.1:1234"]


def test_the_fault_fires_once_at_its_batch_and_never_in_a_resumed_run(monkeypatch):
    """SIGKILL (intercepted here) after batch 2 of epoch 1 of a run from epoch 0; a run resumed at epoch 1 lives."""
    X = np.ones((32, 3), "float32")
    records, signals = [], []
    monkeypatch.setattr(os, "kill", lambda pid, sig: signals.append((pid, sig)))
    for initial_epoch in (0, 1):  # a run from scratch, then a run resumed at epoch 1 (what a backup does)
        model = _model()
        model.compile(optimizer="sgd", loss="mean_squared_error")
        fault = evidence.Fault(1, 2, lambda *event: records.append(event))
        model.fit(X, X[:, :1], batch_size=8, epochs=3, initial_epoch=initial_epoch, verbose=0, callbacks=[fault])
    assert signals == [(os.getpid(), signal.SIGKILL)]
    assert records == [("start", 0, None), ("kill", 1, 2), ("start", 1, None)]


def test_read_events_skips_a_line_a_kill_cut_short(tmp_path):
    """The last line of an events file may be half written: skipped, every whole line kept."""
    line = {"pid": 7, "process": 0, "twin": "Adam", "run": "with backup", "event": "start", "epoch": 0, "batch": None}
    (tmp_path / "events-p0.jsonl").write_text(json.dumps(line) + "\n" + '{"pid": 7, "proc')
    assert evidence.read_events(tmp_path).to_dict("records") == [line]


def test_describe_backups_tells_a_torn_weights_file_from_a_whole_one(tmp_path):
    """A weights file h5py cannot open is reported as such; the metadata gives the 1-based epoch a resume starts at."""
    folder = evidence.backup_dir(tmp_path, "Adam", 1)
    folder.mkdir(parents=True)
    _model().save_weights(folder / "latest.weights.h5")
    (folder / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')
    torn = folder / "staging" / "latest.weights.h5"
    torn.parent.mkdir()
    torn.write_bytes((folder / "latest.weights.h5").read_bytes()[:96])
    table = evidence.describe_backups(tmp_path).set_index("file")
    assert table.loc["latest.weights.h5", "state"] == "opens"
    assert table.loc["staging/latest.weights.h5", "state"] == "does not open"
    assert table.loc["training_metadata.json", "state"] == "resume at epoch 3"
    assert set(table["twin"]) == {"Adam"} and set(table["process"]) == {1}


def test_folder_table_reads_the_epoch_a_resume_starts_at(tmp_path):
    """After epoch 2 (0-based 1) the metadata's next epoch 2 (0-based) is a resume at epoch 3; no metadata: None."""
    assert evidence.folder_table(tmp_path, 0)["a resume starts at epoch"] is None
    (tmp_path / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')
    row = evidence.folder_table(tmp_path, 1)
    assert row["after epoch"] == 2 and row["a resume starts at epoch"] == 3
    assert row["files"] == "training_metadata.json (24 B)"


def test_standardized_cuts_rows_to_a_multiple_and_standardizes():
    """Five rows over two processes keep four; each column then has mean 0 and standard deviation 1 (ddof=1)."""
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [0.0, 0.0, 1.0, 1.0, 2.0]})
    X_out, y_out = evidence.standardized(X, X["a"] * 10, multiple_of=2)
    assert X_out.shape == (4, 2) and y_out.shape == (4, 1) and X_out.dtype == np.float32
    np.testing.assert_allclose(X_out[:, 0], (np.array([1, 2, 3, 4]) - 3) / np.std([1, 2, 3, 4, 5], ddof=1), 1e-6)


def test_resume_row_measures_both_distances():
    """Final [1, 2] vs reference [1, 2.5] and start [0, 0]: 0.5 from the reference, 2 from the start."""
    row = evidence.resume_row("one process", "Adam", 3, [np.array([1.0, 2.0])], [np.array([1.0, 2.5])],
                              [np.zeros(2)])  # fmt: skip
    assert row["max |w - never killed|"] == 0.5 and row["max |w - start|"] == 2.0 and row["resumed at epoch"] == 3


def test_job_losses_splits_the_backup_run_at_the_epoch_the_last_launch_started(tmp_path):
    """Epochs 0-1 logged by the killed launch are before the stop, epoch 2 on after the resume; the reference stays."""
    (tmp_path / "history").mkdir()
    pd.DataFrame({"epoch": [0, 1, 2], "loss": [3.0, 2.0, 1.0]}).to_csv(tmp_path / "history/Adam-reference-p0.csv")
    pd.DataFrame({"epoch": [0, 1, 2, 3], "loss": [3.0, 2.0, 1.0, 0.5]}).to_csv(
        tmp_path / "history/Adam-with-backup-p0.csv"
    )
    events = [{"pid": p, "process": 0, "twin": "Adam", "run": "with backup", "event": "start", "epoch": e,
               "batch": None} for p, e in ((1, 0), (2, 2))]  # fmt: skip
    (tmp_path / "events-p0.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    runs = evidence.job_losses(tmp_path).groupby("run")["epoch"].apply(list).to_dict()
    assert runs == {"reference": [0, 1, 2], "before the stop": [0, 1], "after the resume": [2, 3]}


def _claims(one=0.0, two=0.0, shuffled=(0.0, 0.03), keras_refused=None):
    table = pd.DataFrame(
        [evidence.resume_row("one process", "Adam", 3, [np.array([one])], [np.zeros(1)], [np.ones(1)]),
         evidence.resume_row("two workers", "Adam", 3, [np.array([two])], [np.zeros(1)], [np.ones(1)], 0),
         evidence.resume_row("two workers", "Adam", 3, [np.array([two])], [np.zeros(1)], [np.ones(1)], 1)]
    )  # fmt: skip
    launches = pd.DataFrame({"launch": [1, 1, 2, 2], "process": [0, 1, 0, 1], "exit status": [1, -9, 0, 0],
                             "killed itself": [False, True, False, False]})  # fmt: skip
    guard = pd.DataFrame({"case": ["same", "same", "other", "other"], "callback": ["keras", "cookbook"] * 2,
                          "same model": [True, True, False, False],
                          "refused": [None, None, keras_refused, "BackupMismatch"],
                          "folder unchanged": [None, None, True if keras_refused else None, True]})  # fmt: skip
    found = evidence.claims(table, launches, dict(zip(("fit(shuffle=True)", "ReshuffledArrays"), shuffled)), guard,
                            kill_epoch=2, tolerance=TOLERANCE, backend="tensorflow")  # fmt: skip
    return claims.by_key(found)


def test_claims_hold_on_exact_resumes_and_name_the_numbers():
    """Exact resumes hold; the job's launches and exit status, the shuffle gaps and the guard counts are recorded."""
    found = _claims()
    assert len(found) == 4
    assert found["resumed_like_never_killed"].verdict == Verdict.HOLDS
    assert found["resumed_like_never_killed"].numbers["resumed_at_epoch"] == 3
    job = found["killed_worker_job_resumed"]
    assert job.verdict == Verdict.HOLDS and job.numbers["launches"] == 2 and job.numbers["killed_exit_status"] == -9
    assert found["shuffled_resume"].verdict == Verdict.PARTLY
    assert found["shuffled_resume"].numbers["reshuffled_arrays_difference"] == 0.03
    guard = found["keras_loads_another_runs_backup"]
    assert guard.verdict == Verdict.FAILS and guard.numbers["keras_resumed_silently"] == 1
    assert guard.numbers["cookbook_refused"] == 1 and guard.numbers["cookbook_folders_unchanged"] == 1


def test_claims_fail_when_a_resume_drifts_and_hold_when_keras_refuses():
    """A resumed run 1e-3 off fails, as does a drifting job; both shuffles off fails; Keras refusing holds."""
    found = _claims(one=1e-3, two=1e-3, shuffled=(0.02, 0.03), keras_refused="ValueError")
    assert found["resumed_like_never_killed"].verdict == Verdict.FAILS
    assert found["killed_worker_job_resumed"].verdict == Verdict.FAILS
    assert found["shuffled_resume"].verdict == Verdict.FAILS
    assert found["keras_loads_another_runs_backup"].verdict == Verdict.HOLDS
    assert _claims(shuffled=(0.0, 0.0))["shuffled_resume"].verdict == Verdict.HOLDS


@pytest.mark.slow
def test_quick_run_resumes_every_run_and_the_killed_job(quick_run):
    """The quick run's claims hold as measured, and its table and launches agree with them."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    table = pd.read_csv(out / f"{LESSON}.csv")
    launches = pd.read_csv(out / f"{LESSON}_launches.csv")
    assert found["resumed_like_never_killed"].verdict == Verdict.HOLDS
    assert found["killed_worker_job_resumed"].verdict == Verdict.HOLDS
    assert found["keras_loads_another_runs_backup"].verdict == Verdict.FAILS
    assert (table["max |w - never killed|"] <= TOLERANCE).all() and (table["max |w - start|"] > 1e-2).all()
    assert sorted(table.loc[table["setting"] == "two workers", "process"]) == [0, 1]
    assert found["killed_worker_job_resumed"].numbers["launches"] == launches["launch"].max() == 2
    killed = launches[launches["killed itself"]]
    assert killed["process"].tolist() == [1] and killed["exit status"].tolist() == [-9]
    assert (launches.loc[launches["launch"] == 2, "exit status"] == 0).all()
    assert isinstance(cookbook.BackupAndRestore, type)
