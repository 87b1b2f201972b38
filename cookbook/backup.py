"""``BackupAndRestore`` that refuses another model's backup and never leaves a torn one.

``keras.callbacks.BackupAndRestore`` saves the training state (weights,
optimizer variables, epoch) at the end of each epoch and, when ``fit`` starts
again after a crash, loads it and continues from the first epoch not
completed. Two things it does not do, measured on Keras 3.15.1 (the callback's
code is the same in 3.10) by ``tests/test_backup.py``:

- **It does not check whose backup it loads.** Resuming with another model
  whose weights have other shapes fails inside ``load_weights`` (``ValueError:
  A total of N objects could not be loaded``). With the same shapes (another
  activation), or with another optimizer that has as many variables
  (``SGD(momentum=0.9)`` then ``RMSprop``, ``Adam`` then ``AdamW``), it loads
  silently: RMSprop starts from the momentum buffers as its mean squares. An
  optimizer with another number of variables only warns ("Skipping variable
  loading for optimizer") and continues from the backup's epoch with fresh
  optimizer state. A changed learning rate is overwritten without a word by
  the backup's (the learning rate is one of the optimizer's variables).
- **It writes the backup in place.** ``save_weights`` truncates
  ``latest.weights.h5`` and rewrites it, then ``training_metadata.json`` (the
  epoch) is rewritten. A ``SIGKILL`` during the weights write leaves a file
  that does not open (``OSError``: the next ``fit`` stops, and the previous
  epoch's backup is gone); a kill between the two files resumes *silently*
  one epoch early, training that epoch twice; a kill during the metadata
  write leaves an empty JSON file (``JSONDecodeError``, which even
  ``double_checkpoint=True`` does not recover from). In a multi-process JAX
  job this happens without anyone planning it: when one worker dies, a
  survivor that ran ahead (JAX dispatches steps without waiting for them)
  opens its backup file at the end of the epoch, then waits in the write for
  values that need the dead peer until it is killed, leaving a 96-byte file
  (lesson 19 shows it).

``cookbook.BackupAndRestore`` takes the same arguments and keeps Keras's own
saving and loading; around them it:

- writes a fingerprint of the model (each layer's class and settings, every
  weight's shape and dtype; not layer names, which Keras numbers per process)
  and of the optimizer (class and ``get_config()``) with every backup, and
  raises ``cookbook.errors.BackupMismatch`` naming what differs when ``fit``
  starts from a backup that another model or optimizer wrote. The backup is
  then neither loaded nor changed nor deleted;
- lets Keras write into ``BACKUP_DIR/staging/`` and commits each completed
  save with one atomic rename to ``BACKUP_DIR/backup-NNNNNN/``; a restore
  loads the newest committed backup and ignores (then removes) a staging
  folder that a kill left half written. A process killed at any instant
  leaves the previous backup whole;
- at the end of a finished ``fit`` (``delete_checkpoint=True``) removes only
  what it wrote, and the folder itself only if nothing else is in it (Keras
  removes the whole folder).

On JAX, the fingerprint (``layer.get_config()``) makes Keras import
TensorFlow when it is installed (its serialization code checks for
TensorFlow types), once per ``fit``: a second or two, quietly after
``import cookbook``.

A local folder only: the commit is a rename, which object stores (``gs://``)
do not do atomically. Like Keras's callback, one folder per process: in a
multi-process job every process writes its own backup.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil
from typing import Any

from cookbook.errors import BackupMismatch, CookbookError

import keras

__all__ = ["BackupAndRestore", "fingerprint"]

STAGING = "staging"  # the folder Keras's own callback writes into, in place
FINGERPRINT_FILE = "fingerprint.json"
KERAS_FILES = ("latest.weights.h5", "training_metadata.json")  # what keras.callbacks.BackupAndRestore writes
_BACKUP = re.compile(r"^backup-(\d{6,})$")
SHOWN_DIFFERENCES = 5  # a message lists this many differences, then counts the rest


def _plain(value: Any) -> Any:
    """``value`` as JSON data, without what does not outlive a restore.

    Left out: the ``name`` entries Keras numbers per process (``dense_3``),
    and initializers (``kernel_initializer`` with its seed): a restore
    overwrites the weights they drew, so a script that seeds them per run
    still resumes.
    """
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "name" and not str(k).endswith("_initializer")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return f"<{type(value).__name__}>"  # a function or object in a config: its type, not its address


def _layer(layer: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"class": keras.saving.get_registered_name(type(layer))}
    if isinstance(layer, keras.Model):  # a model used as a layer: its own layers, not its config (names inside)
        entry["layers"] = [_layer(sub) for sub in layer.layers]
    else:
        entry["dtype"] = layer.dtype_policy.name  # _plain drops the policy's "name": keep it here
        try:
            entry["config"] = _plain(layer.get_config())
        except NotImplementedError:  # a custom layer Keras cannot serialize still trains: its class and weights
            entry["config"] = "<no get_config>"
    return entry


def fingerprint(model: keras.Model) -> dict[str, Any]:
    """What must not change between writing a backup and resuming from it, as JSON data.

    The model's class, each layer's class, dtype policy and settings
    (``get_config()`` without the layer names), every weight's shape and
    dtype in order, and the compiled optimizer's class and ``get_config()``.
    Names are left out because Keras numbers them per process (``dense``,
    ``dense_1``...): the same model built twice in one process differs only
    there. The loss and the data are not part of it.
    """
    optimizer = model.optimizer
    return {
        "model": {
            "class": keras.saving.get_registered_name(type(model)),
            "layers": [_layer(layer) for layer in model.layers],
            "weights": [f"{w.dtype} {tuple(w.shape)}" for w in model.weights],
        },
        "optimizer": None
        if optimizer is None
        else {
            "class": keras.saving.get_registered_name(type(optimizer)),
            "config": _plain(optimizer.get_config()),
        },
    }


def _show(value: Any) -> str:
    return format(value, ".7g") if isinstance(value, float) else repr(value)  # float32 settings read back


def _differences(backup: Any, now: Any, path: str) -> list[str]:
    """``"path: A in the backup, B now"`` for every leaf that differs; only the class where classes differ."""
    if isinstance(backup, dict) and isinstance(now, dict):
        if "class" in backup and "class" in now and backup["class"] != now["class"]:
            return [f"{path}: class {backup['class']} in the backup, {now['class']} now"]
        found = []
        for key in list(backup) + [k for k in now if k not in backup]:
            where = f"{path}.{key}"
            if key not in now:
                found.append(f"{where}: {_show(backup[key])} in the backup, absent now")
            elif key not in backup:
                found.append(f"{where}: absent in the backup, {_show(now[key])} now")
            else:
                found.extend(_differences(backup[key], now[key], where))
        return found
    if isinstance(backup, list) and isinstance(now, list):
        if len(backup) != len(now):
            return [f"{path}: {len(backup)} in the backup, {len(now)} now"]
        found = []
        for i, (b, n) in enumerate(zip(backup, now)):
            label = f"{path}[{i}]" + (f" ({n['class']})" if isinstance(n, dict) and "class" in n else "")
            found.extend(_differences(b, n, label))
        return found
    return [] if backup == now else [f"{path}: {_show(backup)} in the backup, {_show(now)} now"]


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` that refuses another model's backup and commits each one atomically.

    A drop-in replacement: same arguments, same use::

        model.fit(X, y, epochs=10, callbacks=[cookbook.BackupAndRestore("backup")])

    Args:
        backup_dir: a local folder for this run's backups, not shared with
            another run or process. It holds ``staging/`` (Keras's own
            callback writes there) and ``backup-NNNNNN/`` (the committed
            backup, with ``fingerprint.json``).
        save_freq: `"epoch"` or a number of batches, as for Keras's
            callback. Defaults to `"epoch"`.
        double_checkpoint: keep the previous committed backup as well, and
            fall back to it when the newest does not load (a disk error).
            Defaults to `False`.
        delete_checkpoint: remove the backups when ``fit`` finishes (only
            what this callback wrote, and the folder if it is then empty).
            Defaults to `True`.

    Raises:
        cookbook.errors.BackupMismatch: at the start of ``fit``, when the
            folder holds a backup of another model or optimizer, or one
            written by ``keras.callbacks.BackupAndRestore`` (it has no
            fingerprint to check). Nothing is loaded, changed or deleted.
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")  # Keras's own check and message
        if "://" in os.fspath(backup_dir):
            raise CookbookError(
                f"cookbook.BackupAndRestore needs a local folder, got {os.fspath(backup_dir)!r}: it commits a "
                "backup by renaming a folder, which object stores do not do atomically; use "
                "keras.callbacks.BackupAndRestore there, or a local folder"
            )
        self.directory = pathlib.Path(backup_dir)
        super().__init__(
            os.fspath(self.directory / STAGING),
            save_freq=save_freq,
            double_checkpoint=double_checkpoint,
            delete_checkpoint=delete_checkpoint,
        )
        self.keep = 2 if double_checkpoint else 1  # committed backups kept on disk
        self.model_fingerprint: dict[str, Any] | None = None

    # ------------------------------------------------------------ restore

    def backups(self) -> list[pathlib.Path]:
        """The committed backups in the folder, oldest first (normally one; two with ``double_checkpoint``)."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir() if p.is_dir() and _BACKUP.match(p.name)]
        return sorted(found, key=lambda p: int(p.name.split("-")[1]))

    def _refuse(self, backup: pathlib.Path) -> None:
        try:
            written = json.loads((backup / FINGERPRINT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            written = None
        if written is None:
            raise BackupMismatch(
                f"{backup} has no readable {FINGERPRINT_FILE}, so the model and optimizer that wrote it cannot be "
                f"checked; it was not loaded, and nothing in {self.directory} was changed or deleted. Delete "
                f"{self.directory} to start afresh, or pass another backup_dir"
            )
        differences = _differences(written, self.model_fingerprint, "")
        if not differences:
            return
        shown = "; ".join(d.lstrip(".") for d in differences[:SHOWN_DIFFERENCES])
        more = len(differences) - SHOWN_DIFFERENCES
        raise BackupMismatch(
            f"{backup} was written by another model or optimizer: {shown}"
            f"{f' (and {more} more differences)' if more > 0 else ''}. It was not loaded, and nothing in "
            f"{self.directory} was changed or deleted. To resume it, build and compile the model exactly as "
            f"when it was written; to start afresh, delete {self.directory} or pass another backup_dir"
        )

    def _stage(self, backup: pathlib.Path | None) -> None:
        """Put ``backup``'s files where Keras's callback reads them (an empty staging folder for `None`)."""
        staging = self.directory / STAGING
        if staging.exists():
            shutil.rmtree(staging)  # ours: a save that a kill interrupted, or a copy of a committed backup
        if backup is not None:
            shutil.copytree(backup, staging)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Check the newest committed backup against this model and optimizer, then let Keras load it."""
        if not self.model.built:
            return super().on_train_begin(logs)  # Keras's own error: build the model first
        # Before anything is loaded (the model as the user built it), through JSON as it is stored.
        self.model_fingerprint = json.loads(json.dumps(fingerprint(self.model)))
        backups = self.backups()
        if backups:
            self._refuse(backups[-1])
        else:
            keras_files = [name for name in KERAS_FILES if (self.directory / name).exists()]
            if keras_files:
                raise BackupMismatch(
                    f"{self.directory} holds a backup written by keras.callbacks.BackupAndRestore "
                    f"({', '.join(keras_files)}, no {FINGERPRINT_FILE}): the model and optimizer that wrote it cannot "
                    "be checked, so it was not loaded, and nothing was changed or deleted. Resume it with "
                    f"keras.callbacks.BackupAndRestore, or delete {self.directory} or pass another backup_dir to "
                    "start afresh"
                )
        for stale in backups[: -self.keep]:  # left by a kill between a commit and its clean-up
            shutil.rmtree(stale)
        backups = backups[-self.keep :]
        self._stage(backups[-1] if backups else None)
        try:
            super().on_train_begin(logs)
        except OSError:  # the newest backup does not load (a disk error): the one before it, if kept
            if len(backups) < 2:
                raise
            self._stage(backups[-2])
            super().on_train_begin(logs)
        # Loaded: empty staging again, so the next commit is a save Keras has really made, not this copy.
        self._stage(None)

    # ------------------------------------------------------------ save

    def _commit(self) -> None:
        """If Keras has just written a backup into staging, make it the committed backup with one rename."""
        staging = self.directory / STAGING
        if not (staging / KERAS_FILES[1]).exists():  # staging is renamed away after every commit
            return
        (staging / FINGERPRINT_FILE).write_text(json.dumps(self.model_fingerprint, indent=1), encoding="utf-8")
        backups = self.backups()
        number = int(backups[-1].name.split("-")[1]) + 1 if backups else 1
        os.rename(staging, self.directory / f"backup-{number:06d}")  # the commit: atomic on one file system
        for old in backups[: len(backups) + 1 - self.keep]:
            shutil.rmtree(old)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Keras writes the backup (``save_freq="epoch"``), then it is committed."""
        super().on_epoch_end(epoch, logs)
        self._commit()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Keras writes the backup every ``save_freq`` batches, then it is committed."""
        super().on_train_batch_end(batch, logs)
        if self.save_freq != "epoch":
            self._commit()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """With ``delete_checkpoint``: remove what this callback wrote, and the folder if nothing else is in it."""
        super().on_train_end(logs)  # Keras removes its staging folder
        if self.delete_checkpoint:
            for backup in self.backups():
                shutil.rmtree(backup)
            with contextlib.suppress(OSError):
                self.directory.rmdir()  # only when empty: a file the user put there stays
