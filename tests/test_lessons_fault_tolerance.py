"""cookbook.lessons.fault_tolerance: the job folder, its commands, the fault callback, and what the children left.

The jobs themselves (child processes killed and relaunched) run in lesson
18's ``--quick`` run, read by ``tests/test_13_surviving_a_killed_worker.py``;
here the parts are checked in-process, fast.
"""

import json
import threading

from cookbook.errors import LessonError
from cookbook.lessons import fault_tolerance

import keras
import numpy as np
import pytest

TWINS = {"Adam": ("Adam", {"learning_rate": 0.01})}


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])


def _job(tmp_path, rows=64, **kwargs):
    X = np.arange(rows * 3, dtype="float32").reshape(rows, 3)
    settings = {"twins": TWINS, "epochs": 4, "batch_size": 8, **kwargs}
    return fault_tolerance.save_job(tmp_path / "job", _model(), X, X[:, 0], **settings)


def test_save_job_writes_the_model_the_data_and_the_settings(tmp_path):
    """The start weights, the rows as float32 with a target column, and the settings the program reads."""
    model = _model()
    job = _job(tmp_path, kill={"epoch": 1, "batch": 2, "process": 0}, callback="cookbook")
    settings = json.loads((job / fault_tolerance.JOB_FILE).read_text())
    assert settings["kill"] == {"epoch": 1, "batch": 2, "process": 0} and settings["callback"] == "cookbook"
    assert settings["steps_per_epoch"] == 8 and settings["twins"] == {"Adam": ["Adam", {"learning_rate": 0.01}]}
    loaded = keras.models.load_model(job / fault_tolerance.MODEL_FILE, compile=False)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
    with np.load(job / fault_tolerance.DATA_FILE) as data:
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
    (single,) = fault_tolerance.job_commands(job)
    assert single[1:] == ["-m", "cookbook.lessons.fault_tolerance", str(job)]
    first, second = fault_tolerance.job_commands(job, 2, port=1234)
    assert first[-6:] == ["--process-id", "0", "--num-processes", "2", "--coordinator", "127.0.0.1:1234"]
    assert second[-6:] == ["--process-id", "1", "--num-processes", "2", "--coordinator", "127.0.0.1:1234"]


def test_the_fault_fires_once_at_its_batch_and_never_in_a_resumed_run():
    """Through a barrier (its action stands for the SIGKILL): after batch 2 of epoch 1, and not when fit starts later."""
    X = np.ones((32, 3), "float32")
    records, fired = [], threading.Event()

    def record(event, epoch, batch):
        records.append((event, epoch, batch))

    for initial_epoch in (0, 1):  # a run from scratch, then a run resumed at epoch 1 (what a backup does)
        model = _model()
        model.compile(optimizer="sgd", loss="mean_squared_error")
        fault = fault_tolerance.Fault(1, 2, record, threading.Barrier(1, action=fired.set))
        model.fit(X, X[:, :1], batch_size=8, epochs=3, initial_epoch=initial_epoch, verbose=0, callbacks=[fault])
        if initial_epoch == 0:
            assert fired.is_set()
            fired.clear()
    assert not fired.is_set(), "a run that did not start at epoch 0 is never killed"
    assert records == [("start", 0, None), ("kill", 1, 2), ("start", 1, None)]


def test_read_events_skips_a_line_a_kill_cut_short(tmp_path):
    """The last line of an events file may be half written: skipped, every whole line kept."""
    line = {"pid": 7, "process": 0, "twin": "Adam", "run": "with backup", "event": "start", "epoch": 0, "batch": None}
    (tmp_path / "events-p0.jsonl").write_text(json.dumps(line) + "\n" + '{"pid": 7, "proc')
    events = fault_tolerance.read_events(tmp_path)
    assert events.to_dict("records") == [line]


def test_describe_backups_tells_a_torn_weights_file_from_a_whole_one(tmp_path):
    """A weights file h5py cannot open is reported as such; the metadata gives the 1-based epoch a resume starts at."""
    folder = fault_tolerance.backup_dir(tmp_path, "Adam", 1)
    folder.mkdir(parents=True)
    model = _model()
    model.save_weights(folder / "latest.weights.h5")
    (folder / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')
    torn = folder / "staging" / "latest.weights.h5"
    torn.parent.mkdir()
    torn.write_bytes((folder / "latest.weights.h5").read_bytes()[:96])
    table = fault_tolerance.describe_backups(tmp_path).set_index("file")
    assert table.loc["latest.weights.h5", "state"] == "opens"
    assert table.loc["staging/latest.weights.h5", "state"] == "does not open"
    assert table.loc["training_metadata.json", "state"] == "resume at epoch 3"
    assert set(table["twin"]) == {"Adam"} and set(table["process"]) == {1}
