"""Prove the Keras floor that pyproject.toml declares.

Each file in cookbook/optimizers/ is meant to be copied alone into a project, so the lowest Keras the
metadata allows must run it. This script reads that floor from the ``keras>=X.Y`` dependency, makes a
throwaway venv that sees the packages of the Python running it (TensorFlow is the backend) but holds
exactly that Keras and the dependencies that Keras declares (``make_floor_venv``), and there, for each
optimizer file: copies it ALONE into an empty directory, imports it from there (never the cookbook package),
trains a tiny seeded model with ``model.fit`` under the twin and under the Keras built-in with the same
settings, requires the weights to agree within 1e-6, and saves and reloads the twin's model as ``.keras``.
One line per optimizer. Then it runs the fast tests of LIBRARY_TESTS under that Keras too: the library
modules that read Keras internals (losses, setup_check, fit_check, heads, binary_heads, backup) and the porting
lesson's Yogi beside its Keras 2 original. The exit status is non-zero if anything fails. Needs Python 3.11+
(tomllib), as CI has.

    python .ci/keras_floor.py                 # the declared floor
    python .ci/keras_floor.py --keras 3.9.0   # any other Keras, e.g. to see the floor is tight
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the package supports it, this CI script does not
    sys.exit("keras_floor.py reads pyproject.toml with tomllib: run it with Python 3.11 or newer")

ROOT = Path(__file__).resolve().parent.parent

# Settings away from the defaults where an optimizer has state, so every slot variable is created,
# updated and compared: (file, class, keyword arguments for both the twin and the built-in).
CASES = [
    ("sgd.py", "SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adagrad.py", "Adagrad", {"learning_rate": 0.1}),
    ("rmsprop.py", "RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("adam.py", "Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adamw.py", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("nadam.py", "Nadam", {"learning_rate": 0.01, "beta_1": 0.8}),  # also its private _backend_update_step hook
    ("lion.py", "Lion", {"learning_rate": 0.003, "beta_1": 0.8, "beta_2": 0.95}),
]
TOLERANCE = 1e-6
# The tests of the library modules that read Keras internals, run under the floor as well.
LIBRARY_TESTS = [
    "test_losses.py",
    "test_setup_check.py",
    "test_fit_check.py",
    "test_heads.py",
    "test_binary_heads.py",
    "test_backup.py",
    "test_porting.py",  # cookbook/porting/yogi.py says keras>=3.10 too; its Keras 2 original runs beside it
]
EPOCHS = 5


def declared_floor(pyproject=ROOT / "pyproject.toml"):
    """The X.Y.Z of the ``keras>=X.Y`` requirement in [project] dependencies (X.Y becomes X.Y.0)."""
    from packaging.requirements import Requirement  # comes with pip and with Keras

    for line in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.name == "keras":
            floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
            if len(floors) != 1:
                sys.exit(f"{pyproject}: the keras requirement {line!r} needs exactly one '>=' floor")
            parts = floors[0].split(".")
            return ".".join(parts + ["0"] * (3 - len(parts)))
    sys.exit(f"{pyproject}: no keras requirement in [project] dependencies")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", help="the Keras version to try (default: the floor in pyproject.toml)")
    args = parser.parse_args()
    version = args.keras or declared_floor()
    with tempfile.TemporaryDirectory(prefix="keras-floor-") as tmp:
        env_dir = Path(tmp) / "venv"
        python = make_floor_venv(env_dir, version)
        child_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}
        child = subprocess.run(
            [python, __file__, "--child", version, tmp], cwd=tmp, env=child_env, stderr=subprocess.PIPE, text=True
        )
        if child.returncode != 0:  # TensorFlow's start-up lines fill stderr; show them only when they may help
            sys.stderr.write(child.stderr)
            return child.returncode
        # The library's own reads of Keras internals (_keras_history, _inbound_nodes, _keras_logits,
        # _keras_mask) run in these tests; the cookbook package comes from this checkout (cwd).
        tests = [f"tests/{name}" for name in LIBRARY_TESTS]
        library = subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", "--no-header", *tests],
            cwd=ROOT,
            env=child_env,
            capture_output=True,
            text=True,
        )
        summary = (library.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"keras {version}  library tests ({', '.join(LIBRARY_TESTS)}): {summary}")
        if library.returncode != 0:
            sys.stderr.write(library.stdout + library.stderr)
        return library.returncode


def make_floor_venv(env_dir, version):
    """A venv that holds Keras ``version`` and what that Keras declares it needs, over this interpreter's packages.

    The packages of the interpreter running this script (CI's venv, with TensorFlow and pytest) are added
    behind the venv's own site-packages by a .pth file, so the venv's Keras shadows the installed one.
    (``venv``'s system_site_packages would add the *base* interpreter's packages instead, which in a
    fresh CI venv hold nothing.) Keras is installed without dependencies so nothing of this interpreter
    is touched; then its own declared requirements are installed where they are not met already (Keras
    3.10 needs optree, for one: present here only because Keras 3.15.1 happens to need it too). Returns the
    venv's python.
    """
    import sysconfig

    venv.create(env_dir, with_pip=False)
    python = str(env_dir / "bin" / "python")
    own_site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parents = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    # addsitedir, not a bare path: the parent's own .pth files (editable installs) are read too.
    lines = [f"import site; site.addsitedir({parent!r})" for parent in parents]
    Path(own_site, "_parent_site_packages.pth").write_text("\n".join(lines) + "\n")
    # -qq: errors only (this machine's pip config warns about an absent extra index on every run).
    install = [sys.executable, "-m", "pip", "--python", python, "install", "-qq"]
    subprocess.run([*install, "--no-deps", "--ignore-installed", f"keras=={version}"], check=True)
    requires = subprocess.run(
        [
            python,
            "-c",
            "import importlib.metadata as m; "
            "print('\\n'.join(r for r in m.requires('keras') or [] if 'extra ==' not in r))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    requires = [line.strip() for line in requires if line.strip()]
    if requires:
        subprocess.run([*install, *requires], check=True)
    return python


def check_one(file_name, class_name, settings, expected_version, work):
    """Copy ``file_name`` alone into a fresh directory, train with it and with Keras's own, reload it."""
    import keras
    import numpy as np

    if keras.__version__ != expected_version:
        raise AssertionError(f"venv runs Keras {keras.__version__}, not {expected_version}")
    alone = Path(tempfile.mkdtemp(dir=work))
    shutil.copy(ROOT / "cookbook" / "optimizers" / file_name, alone / file_name)
    sys.path.insert(0, str(alone))
    try:
        module = importlib.import_module(Path(file_name).stem)
    finally:
        sys.path.remove(str(alone))
    if Path(module.__file__).parent != alone or "cookbook" in sys.modules:
        raise AssertionError(f"{file_name} was not imported alone from {alone}")
    twin_class = getattr(module, class_name)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)).astype("float32")
    y = (X @ rng.normal(size=(5, 1)) + 0.1 * rng.normal(size=(64, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    start = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    weights = {}
    for label, optimizer in (
        ("twin", twin_class(**settings)),
        ("keras", getattr(keras.optimizers, class_name)(**settings)),
    ):
        model = keras.models.clone_model(start)
        model.set_weights(start.get_weights())  # both runs start from the same weights
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(X, y, epochs=EPOCHS, batch_size=16, shuffle=False, verbose=0)
        weights[label] = model.get_weights()
        if label == "twin":
            twin_model = model
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(weights["twin"], weights["keras"]))
    if gap > TOLERANCE:
        raise AssertionError(f"weights differ from keras.optimizers.{class_name} by {gap:.2e} > {TOLERANCE:g}")
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(weights["twin"], start.get_weights()))
    if moved == 0:
        raise AssertionError("training did not change the weights, so agreeing proves nothing")

    path = alone / "twin.keras"
    twin_model.save(path)
    loaded = keras.models.load_model(path)  # the class registered itself when its file was imported
    if type(loaded.optimizer) is not twin_class:
        raise AssertionError(f"reloaded optimizer is {type(loaded.optimizer).__name__}, not the copied twin")
    if any(not np.array_equal(a, b) for a, b in zip(loaded.get_weights(), weights["twin"])):
        raise AssertionError("reloaded model's weights differ from the saved ones")
    return f"max |twin - keras| = {gap:.1e} after {EPOCHS} epochs (weights moved {moved:.2f}), .keras reloads"


def child(version, work):
    """Runs inside the venv: one line per optimizer file, exit 1 if any fails."""
    failures = 0
    for file_name, class_name, settings in CASES:
        try:
            result = f"ok    {check_one(file_name, class_name, settings, version, work)}"
        except Exception as error:  # report every file, not just the first failure
            failures += 1
            result = f"FAIL  {type(error).__name__}: {error}"
        print(f"keras {version}  {file_name:<10} {result}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2], sys.argv[3]))
    sys.exit(main())
