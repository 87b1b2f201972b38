"""cookbook.BackupAndRestore: Keras's callback, refusing another model's backup and never leaving a torn one.

Each test measures Keras's own ``keras.callbacks.BackupAndRestore`` next to
the cookbook's subclass, so the docstring of ``cookbook/backup.py`` (what
Keras does today) stays true: a test fails when Keras changes. A crash is an
exception raised at the start of an epoch (what is on disk then is what a
killed process leaves between two saves); the last test kills child
processes for real, with SIGKILL, in the middle of writing a backup.
"""

import hashlib
import inspect
import json
import pathlib
import sys
import textwrap

import cookbook
from cookbook import backup, processes
from cookbook.errors import BackupMismatch, CookbookError, WorkerFailed

import h5py
import keras
import numpy as np
import pytest

pytestmark = pytest.mark.backend_agnostic

ROOT = pathlib.Path(__file__).resolve().parents[1]
CALLBACKS = {"keras": keras.callbacks.BackupAndRestore, "cookbook": cookbook.BackupAndRestore}
EPOCHS, CRASH_AT = 4, 2  # the crash comes at the start of epoch 2 (0-based): two epochs are backed up
TOLERANCE = 1e-6
X = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
Y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)


def _model(optimizer=None, units=4, activation="relu"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, activation), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.05, momentum=0.9), loss="mean_squared_error")
    return model


class _Crash(keras.callbacks.Callback):
    """Raises at the start of epoch ``epoch``: the run stops between two saves, as a killed process does."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("crash")


class _FirstEpoch(keras.callbacks.Callback):
    """Records the epoch a ``fit`` starts at (0-based) and the weights it starts from."""

    def __init__(self):
        super().__init__()
        self.epoch = self.weights = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.epoch is None:
            self.epoch, self.weights = epoch, self.model.get_weights()


def _fit(model, callback, *extra, epochs=EPOCHS):
    first = _FirstEpoch()
    model.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0, callbacks=[callback, *extra, first])
    return first


def _crashed_backup(kind, folder, model=None, **kwargs):
    """A backup ``folder`` left by a run of ``model`` that crashed at the start of epoch ``CRASH_AT``."""
    with pytest.raises(RuntimeError, match="crash"):
        _fit(model or _model(), CALLBACKS[kind](folder, **kwargs), _Crash(CRASH_AT))
    return folder


def _digest(folder):
    h = hashlib.sha256()
    for path in sorted(p for p in pathlib.Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


def _difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def never_crashed():
    """Final weights of the run never interrupted (the reference)."""
    model = _model()
    model.fit(X, Y, batch_size=8, epochs=EPOCHS, shuffle=False, verbose=0)
    keras.backend.clear_session(free_memory=False)
    return model.get_weights()


def test_is_a_drop_in_subclass_with_keras_arguments(tmp_path):
    """Same parameters and defaults as Keras's callback; Keras's own refusal of an empty folder; a local folder only."""
    ours, theirs = inspect.signature(cookbook.BackupAndRestore), inspect.signature(keras.callbacks.BackupAndRestore)
    assert [(p.name, p.default) for p in ours.parameters.values()] == [
        (p.name, p.default) for p in theirs.parameters.values()
    ]
    assert isinstance(cookbook.BackupAndRestore(tmp_path), keras.callbacks.BackupAndRestore)
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        cookbook.BackupAndRestore("")
    with pytest.raises(CookbookError, match="local folder"):
        cookbook.BackupAndRestore("gs://bucket/backup")


@pytest.mark.parametrize("kind", CALLBACKS)
def test_resumes_at_the_lost_epoch_and_ends_like_a_run_never_interrupted(kind, tmp_path, never_crashed):
    """Both callbacks resume at epoch CRASH_AT and end where the uninterrupted run ends; the folder is then gone."""
    folder = _crashed_backup(kind, tmp_path / "backup")
    model = _model()
    first = _fit(model, CALLBACKS[kind](folder))
    assert first.epoch == CRASH_AT
    assert _difference(model.get_weights(), never_crashed) <= TOLERANCE
    assert not folder.exists(), "a finished fit removes the backup (delete_checkpoint=True)"


@pytest.mark.parametrize(
    "written_by, resumed_by",
    [
        (lambda: keras.optimizers.SGD(0.05, momentum=0.9), lambda: keras.optimizers.RMSprop(0.05)),
        (lambda: keras.optimizers.Adam(0.01), lambda: keras.optimizers.AdamW(0.01)),
    ],
    ids=["momentum_then_rmsprop", "adam_then_adamw"],
)
def test_keras_loads_another_optimizers_state_silently_and_the_cookbook_refuses(written_by, resumed_by, tmp_path):
    """Same number of optimizer variables: Keras resumes from the other optimizer's slots; ours raises, naming both."""
    first_optimizer, second_optimizer = written_by(), resumed_by()
    for optimizer in (first_optimizer, second_optimizer):
        optimizer.build(_model().trainable_variables)
    assert len(first_optimizer.variables) == len(second_optimizer.variables)  # nothing for Keras to notice

    keras_folder = _crashed_backup("keras", tmp_path / "keras", _model(written_by()))
    assert _fit(_model(resumed_by()), keras.callbacks.BackupAndRestore(keras_folder)).epoch == CRASH_AT

    folder = _crashed_backup("cookbook", tmp_path / "cookbook", _model(written_by()))
    before = _digest(folder)
    with pytest.raises(BackupMismatch) as refusal:
        _fit(_model(resumed_by()), cookbook.BackupAndRestore(folder))
    names = (type(first_optimizer).__name__, type(second_optimizer).__name__)
    assert f"optimizer: class {names[0]} in the backup, {names[1]} now" in str(refusal.value)
    assert _digest(folder) == before


@pytest.mark.parametrize(
    "other, keras_outcome, named",
    [
        ({"units": 8}, "ValueError", "config.units: 4 in the backup, 8 now"),
        ({"activation": "tanh"}, "resumed", "config.activation: 'relu' in the backup, 'tanh' now"),
    ],
    ids=["other_shapes", "same_shapes"],
)
def test_another_model_keras_fails_or_resumes_by_shapes_and_the_cookbook_refuses(other, keras_outcome, named, tmp_path):
    """Other weight shapes make Keras's load fail; the same shapes load silently. Ours refuses both, naming the setting."""
    keras_folder = _crashed_backup("keras", tmp_path / "keras")
    try:
        outcome = "resumed" if _fit(_model(**other), keras.callbacks.BackupAndRestore(keras_folder)).epoch else "fresh"
    except ValueError:
        outcome = "ValueError"
    assert outcome == keras_outcome

    folder = _crashed_backup("cookbook", tmp_path / "cookbook")
    with pytest.raises(BackupMismatch, match="another model or optimizer") as refusal:
        _fit(_model(**other), cookbook.BackupAndRestore(folder))
    assert named in str(refusal.value)


def test_a_changed_learning_rate_is_overwritten_by_keras_and_refused_by_the_cookbook(tmp_path):
    """Keras restores the backup's learning rate over the one compiled; ours refuses the change and names it."""
    keras_folder = _crashed_backup("keras", tmp_path / "keras")
    model = _model(keras.optimizers.SGD(0.1, momentum=0.9))
    _fit(model, keras.callbacks.BackupAndRestore(keras_folder))
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.05)

    folder = _crashed_backup("cookbook", tmp_path / "cookbook")
    with pytest.raises(BackupMismatch, match="optimizer.config.learning_rate: 0.05 in the backup, 0.1 now"):
        _fit(_model(keras.optimizers.SGD(0.1, momentum=0.9)), cookbook.BackupAndRestore(folder))


def test_a_refusal_names_the_fix_and_changes_nothing(tmp_path):
    """The message names the folder and both ways out; every file is left as it was (nothing loaded or deleted)."""
    folder = _crashed_backup("cookbook", tmp_path / "backup")
    before = _digest(folder)
    model = _model(units=8)
    weights = model.get_weights()
    with pytest.raises(BackupMismatch) as refusal:
        _fit(model, cookbook.BackupAndRestore(folder))
    message = str(refusal.value)
    assert f"delete {folder}" in message and "pass another backup_dir" in message and "was not loaded" in message
    assert _digest(folder) == before
    assert _difference(model.get_weights(), weights) == 0.0, "nothing was loaded into the model"


def test_refuses_a_backup_written_by_keras_own_callback(tmp_path):
    """Keras's layout has no fingerprint to check: refused, untouched, with the way to resume it."""
    folder = _crashed_backup("keras", tmp_path / "backup")
    before = _digest(folder)
    with pytest.raises(BackupMismatch, match="written by keras.callbacks.BackupAndRestore"):
        _fit(_model(), cookbook.BackupAndRestore(folder))
    assert _digest(folder) == before


def test_the_same_model_built_twice_in_one_process_has_one_fingerprint():
    """Layer names (dense, dense_1, dense_2...) differ between builds and are left out; a real change is not."""
    a, b = _model(), _model()
    assert [layer.name for layer in a.layers] != [layer.name for layer in b.layers]
    assert backup.fingerprint(a) == backup.fingerprint(b)
    assert backup.fingerprint(a) != backup.fingerprint(_model(activation="tanh"))
    json.dumps(backup.fingerprint(a))  # stored as JSON next to every backup


def test_a_save_cut_between_the_weights_and_the_epoch(tmp_path, never_crashed, monkeypatch):
    """Keras's file pair written in place: new weights with the old epoch resume one epoch early; ours commits both."""
    from keras.src.callbacks import backup_and_restore  # the module whose file writes we interrupt

    real_open = backup_and_restore.file_utils.File
    saves = {"count": 0}

    def open_or_die(path, mode, *args, **kwargs):
        if str(path).endswith("training_metadata.json") and mode == "w":
            saves["count"] += 1
            if saves["count"] == CRASH_AT + 1:  # the weights of epoch CRASH_AT are written, its epoch is not
                raise RuntimeError("crash")
        return real_open(path, mode, *args, **kwargs)

    results = {}
    for kind in CALLBACKS:
        saves["count"] = 0
        folder = tmp_path / kind
        monkeypatch.setattr(backup_and_restore.file_utils, "File", open_or_die)
        with pytest.raises(RuntimeError, match="crash"):
            _fit(_model(), CALLBACKS[kind](folder))
        monkeypatch.setattr(backup_and_restore.file_utils, "File", real_open)
        model = _model()
        first = _fit(model, CALLBACKS[kind](folder))
        results[kind] = (first.epoch, _difference(model.get_weights(), never_crashed))
    assert results["keras"][0] == CRASH_AT and results["keras"][1] > 1e-3, "Keras trains epoch CRASH_AT twice"
    assert results["cookbook"] == (CRASH_AT, pytest.approx(0.0, abs=TOLERANCE))


def test_half_written_files_from_a_kill_during_a_save(tmp_path, never_crashed):
    """A truncated weights file: Keras cannot resume at all; ours never has one outside staging/, which it ignores."""
    keras_folder = _crashed_backup("keras", tmp_path / "keras")
    weights_file = keras_folder / "latest.weights.h5"
    weights_file.write_bytes(weights_file.read_bytes()[:96])  # what a SIGKILL in the write left (measured: 96 B)
    with pytest.raises(OSError):
        _fit(_model(), keras.callbacks.BackupAndRestore(keras_folder))

    folder = _crashed_backup("cookbook", tmp_path / "cookbook")
    committed = cookbook.BackupAndRestore(folder).backups()[-1]
    staging = folder / backup.STAGING
    staging.mkdir()
    (staging / "latest.weights.h5").write_bytes((committed / "latest.weights.h5").read_bytes()[:96])
    (staging / "training_metadata.json").write_text("")  # a kill during the metadata write leaves it empty
    model = _model()
    assert _fit(model, cookbook.BackupAndRestore(folder)).epoch == CRASH_AT
    assert _difference(model.get_weights(), never_crashed) <= TOLERANCE


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path, never_crashed):
    """Two committed backups are kept; when the newest does not open, the one before it is resumed."""
    folder = _crashed_backup("cookbook", tmp_path / "backup", double_checkpoint=True)
    backups = cookbook.BackupAndRestore(folder).backups()
    assert len(backups) == 2
    newest = backups[-1] / "latest.weights.h5"
    newest.write_bytes(newest.read_bytes()[:96])  # a disk error
    model = _model()
    assert _fit(model, cookbook.BackupAndRestore(folder, double_checkpoint=True)).epoch == CRASH_AT - 1
    assert _difference(model.get_weights(), never_crashed) <= TOLERANCE


def test_a_finished_fit_removes_only_what_the_callback_wrote(tmp_path):
    """Keras removes the whole backup_dir, with a file the user had put there; ours removes its own files only."""
    for kind in CALLBACKS:
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "notes.txt").write_text("mine")
        _fit(_model(), CALLBACKS[kind](folder))
        kept = sorted(p.name for p in folder.iterdir()) if folder.exists() else None
        assert kept == (None if kind == "keras" else ["notes.txt"])


# A child that trains under one of the callbacks and kills itself (SIGKILL) in the middle of the third
# save's weights write: the file is open and truncated, the first layer written, the second not.
_CHILD = """
    import json, os, pathlib, signal, sys
    import cookbook, keras, numpy as np

    kind, folder, record = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    saves = {"count": 0}

    class DiesWhileSaved(keras.layers.Dense):
        def save_own_variables(self, store):
            if saves["count"] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            super().save_own_variables(store)

    class Record(keras.callbacks.Callback):  # runs before the backup callback: the weights it will save
        def on_epoch_end(self, epoch, logs=None):
            saves["count"] += 1
            np.savez(record / f"epoch-{epoch + 1}.npz", *self.model.get_weights())

    X = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, "relu"), DiesWhileSaved(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
    callback = {"keras": keras.callbacks.BackupAndRestore, "cookbook": cookbook.BackupAndRestore}[kind]
    model.fit(X, X[:, :1], batch_size=8, epochs=5, shuffle=False, verbose=0, callbacks=[Record(), callback(folder)])
"""


@pytest.mark.slow
def test_sigkill_in_the_middle_of_writing_a_backup(tmp_path):
    """Killed for real while the third backup is written: Keras's backup is gone, ours holds epoch 2 intact."""
    found, children = {}, []
    env = processes.child_env({"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})  # starts twice as fast as TF
    for kind in CALLBACKS:  # both children at once, each alone under its launcher (a kill is expected)
        folder, record = tmp_path / kind, tmp_path / f"{kind}-epochs"
        record.mkdir()
        command = [sys.executable, "-c", textwrap.dedent(_CHILD), kind, str(folder), str(record)]
        children.append(processes.Workers([command], [env], timeout=300, what=f"{kind} child", cwd=ROOT))
        found[kind] = (folder, record)
    for child in children:
        with child, pytest.raises(WorkerFailed) as death:
            child.wait()
        assert death.value.results[0].returncode == -9, death.value.results[0].stderr  # SIGKILL, not an error

    folder, _ = found["keras"]
    with pytest.raises(OSError):
        h5py.File(folder / "latest.weights.h5", "r")  # truncated: the backup of epoch 2 was overwritten in place

    folder, record = found["cookbook"]
    committed = cookbook.BackupAndRestore(folder).backups()
    assert [p.name for p in committed] == ["backup-000002"]
    assert json.loads((committed[0] / "training_metadata.json").read_text())["epoch"] == 2
    with h5py.File(committed[0] / "latest.weights.h5", "r"):
        pass
    with pytest.raises(OSError):
        h5py.File(folder / backup.STAGING / "latest.weights.h5", "r")  # the torn write, where ours left it
    with np.load(record / "epoch-2.npz") as saved:
        expected = [saved[f"arr_{i}"] for i in range(len(saved.files))]

    class DiesWhileSaved(keras.layers.Dense):  # the child's layer class: a weights file names layers by class
        pass

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, "relu"), DiesWhileSaved(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
    model.optimizer.build(model.trainable_variables)
    model.load_weights(committed[0] / "latest.weights.h5")
    assert _difference(model.get_weights(), expected) == 0.0, "the committed backup is epoch 2's weights, bit for bit"


def test_a_model_built_with_other_initializer_seeds_still_resumes(tmp_path, never_crashed):
    """Initializers (and their seeds) are overwritten by the restore, so they are not part of the fingerprint."""

    def seeded_model(seed):
        keras.utils.set_random_seed(0)
        dense = keras.layers.Dense(4, "relu", kernel_initializer=keras.initializers.GlorotUniform(seed))
        model = keras.Sequential([keras.Input((3,)), dense, keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mean_squared_error")
        return model

    folder = _crashed_backup("cookbook", tmp_path / "backup", seeded_model(1))
    resumed = seeded_model(2)
    assert _fit(resumed, cookbook.BackupAndRestore(folder)).epoch == CRASH_AT


class _NoConfig(keras.layers.Layer):
    """A custom layer whose constructor argument Keras cannot serialize: get_config raises NotImplementedError."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def call(self, x):
        return x * self.scale


def test_a_custom_layer_without_get_config_trains_and_resumes(tmp_path):
    """Keras's callback accepts such a layer; so does ours (its class and weights are fingerprinted)."""

    def model():
        keras.utils.set_random_seed(0)
        layers = [keras.Input((3,)), _NoConfig(np.float32([1.0, 2.0, 3.0])), keras.layers.Dense(1)]
        built = keras.Sequential(layers)
        built.compile(optimizer=keras.optimizers.SGD(0.05), loss="mean_squared_error")
        return built

    with pytest.raises(NotImplementedError):
        model().layers[0].get_config()
    folder = _crashed_backup("cookbook", tmp_path / "backup", model())
    assert _fit(model(), cookbook.BackupAndRestore(folder)).epoch == CRASH_AT


def test_after_a_restore_a_batch_frequency_commits_only_real_saves(tmp_path):
    """save_freq=N: the restored copy is not committed again as if Keras had saved it."""
    folder = _crashed_backup("cookbook", tmp_path / "backup", save_freq=3, delete_checkpoint=False)
    (committed,) = cookbook.BackupAndRestore(folder).backups()
    callback = cookbook.BackupAndRestore(folder, save_freq=3, delete_checkpoint=False)

    class _Look(keras.callbacks.Callback):
        seen = None

        def on_train_batch_end(self, batch, logs=None):  # after our callback's first batch-end commit check
            if self.seen is None:
                self.seen = [p.name for p in callback.backups()]

    look = _Look()
    with pytest.raises(RuntimeError, match="crash"):
        _fit(_model(), callback, look, _Crash(CRASH_AT + 1))
    assert look.seen == [committed.name], "one batch after the restore, nothing new may be committed yet"
