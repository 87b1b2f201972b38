"""Find the recipe scripts, read their titles, and run them (in-process, or fresh where a lesson says so).

The recipes are plain scripts a learner can open, edit and copy. The
repository keeps them in its top-level ``recipes/`` folder; the package
carries the same files as ``cookbook/recipes/`` (pyproject's package-dir),
so an installed wheel has the whole course. An editable install
(``pip install -e .``) reads the checkout's folder; ``COOKBOOK_RECIPES`` or
``--recipes`` point elsewhere.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from cookbook.errors import RecipeNotFound, WrongBackendError

import keras

RECIPE_FILE = re.compile(r"^(\d\d)_(\w+)\.py$")
ENV_VAR = "COOKBOOK_RECIPES"
# The module-level name a lesson assigns when it is TensorFlow code (see cookbook.settings.needs_tensorflow).
NEEDS_TENSORFLOW = "NEEDS_TENSORFLOW"
# ... and when it must start in a fresh Python process (see cookbook.settings.needs_fresh_process).
NEEDS_FRESH_PROCESS = "NEEDS_FRESH_PROCESS"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One lesson: ``recipes/NN_topic.py``."""

    number: int
    name: str  # the file's stem, e.g. "01_regression_mse"
    path: pathlib.Path
    title: str  # first line of the header docstring
    needs_tensorflow: str | None = None  # why the lesson needs the TensorFlow backend; None: any backend
    needs_fresh_process: str | None = None  # why the lesson runs as its own process; None: in-process


def find_recipes_dir(explicit: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """The folder holding the recipes: ``explicit``, ``$COOKBOOK_RECIPES``, the package's, or the checkout's.

    The package's ``cookbook/recipes/`` exists in an installed wheel; an editable install has the checkout's.
    """
    if explicit:
        source, folder = "--recipes", pathlib.Path(explicit)
    elif os.environ.get(ENV_VAR):
        source, folder = ENV_VAR, pathlib.Path(os.environ[ENV_VAR])
    else:
        package = pathlib.Path(__file__).resolve().parent
        installed = package / "recipes"  # a wheel: cookbook/recipes/
        source, folder = (
            ("the package", installed) if installed.is_dir() else ("the checkout", package.parent / "recipes")
        )
    if folder.is_dir() and any(RECIPE_FILE.match(p.name) for p in folder.iterdir()):
        return folder
    raise RecipeNotFound(
        f"no recipes found in {folder} (from {source}); reinstall the cookbook (`python -m pip install -e .` in "
        f"its checkout, or its wheel), or point {ENV_VAR}=DIR or --recipes DIR at the recipes folder"
    )


def list_recipes(folder: str | os.PathLike[str] | None = None) -> list[Recipe]:
    """Every recipe in curriculum order, titles read without importing them."""
    folder = find_recipes_dir(folder)
    recipes = []
    for path in sorted(folder.iterdir()):
        match = RECIPE_FILE.match(path.name)
        if match:
            recipes.append(Recipe(int(match.group(1)), path.stem, path, *_header(path)))
    return recipes


def _header(path):
    """The title and the ``NEEDS_TENSORFLOW`` and ``NEEDS_FRESH_PROCESS`` reasons, read with ``ast`` (nothing runs)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return "(cannot be read: fix the file's syntax)", None, None
    doc = ast.get_docstring(tree)
    title = doc.strip().splitlines()[0] if doc else "(no header docstring)"
    return title, _declared(tree, NEEDS_TENSORFLOW), _declared(tree, NEEDS_FRESH_PROCESS)


def _declared(tree, name):
    """The reason in ``NAME = "..."`` or ``NAME = needs_...("...")`` at the top level of ``tree``, else None."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Call) and value.args:
                value = value.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return f"its {name} says why"  # not a string literal: readable only by running it
    return None


def resolve(recipes: Sequence[Recipe], key: str) -> Recipe:
    """The recipe that ``key`` names: a number (``3``, ``03``), a file stem, or a unique part of one."""
    key = key.removesuffix(".py")
    if key.isdigit():
        hits = [r for r in recipes if r.number == int(key)]
    else:
        hits = [r for r in recipes if r.name == key] or [r for r in recipes if key in r.name]
    if len(hits) == 1:
        return hits[0]
    names = ", ".join(r.name for r in (hits or recipes))
    problem = "matches several recipes" if hits else "matches no recipe"
    raise RecipeNotFound(f"{key!r} {problem}; choose one of: {names}")


def backend() -> str:
    """The Keras backend of this process (``KERAS_BACKEND``, fixed when keras was first imported)."""
    return keras.backend.backend()


def skip_reason(recipe: Recipe) -> str | None:
    """Why ``recipe`` cannot run on this process's Keras backend (``"needs TensorFlow (...)"``), or None."""
    if recipe.needs_tensorflow is not None and backend() != "tensorflow":
        return f"needs TensorFlow ({recipe.needs_tensorflow})"
    return None


def run(
    recipe: Recipe,
    argv: Iterable[str],
    log: TextIO | None = None,
    *,
    fresh_process: bool = False,
    notebook: str | os.PathLike[str] | None = None,
) -> None:
    """Run a lesson as ``python recipes/NN_topic.py ARGV`` would, in this process or a child.

    The lesson runs as a script (``__name__ == "__main__"``, ``sys.argv`` set
    to the file and ``argv``), one cell at a time (``cookbook.recorder``); its
    results are the files it writes under its ``--out``. With ``notebook`` (a
    path), what each cell printed, showed and drew is also written there as
    the run's notebook, which the course site is built from. With
    ``fresh_process=True`` (what ``cookbook tour`` asks for, so lessons run
    side by side and none inherits another's state) it runs as a child
    process instead.

    With ``log`` (an open text file), the lesson's printed output goes there
    instead of the terminal. Keras's global state (graph, dtype policy) is
    reset afterwards so one lesson cannot change the next. A lesson that
    needs TensorFlow under another backend raises ``WrongBackendError``
    before it starts. In-process, a lesson costs no second start of
    TensorFlow (about 4 s a lesson as a child process); a lesson that
    declares ``NEEDS_FRESH_PROCESS`` (it configures TensorFlow's devices,
    which a process can do only before its runtime starts) always runs as a
    child process. A child that fails raises ``SystemExit`` with its exit
    status; what it printed, the traceback too, is in ``log``.
    """
    argv = list(argv)
    if skip_reason(recipe):
        raise WrongBackendError.needs_tensorflow(recipe.name, str(recipe.needs_tensorflow), backend())
    if fresh_process or recipe.needs_fresh_process:
        _run_in_a_fresh_process(recipe, argv, log, notebook)
        return
    from cookbook import recorder

    redirect = (contextlib.redirect_stdout(log), contextlib.redirect_stderr(log)) if log else ()
    try:
        with contextlib.ExitStack() as stack:
            for context in redirect:
                stack.enter_context(context)
            recorder.run_lesson(recipe.path, argv, notebook)
    finally:
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy("float32")


def _run_in_a_fresh_process(recipe, argv, log, notebook):
    """``python recipes/NN_topic.py ARGV`` as a child (recorded if ``notebook``), its output to ``log``."""
    from cookbook import processes

    # The child imports this very package, wherever the parent found it (a checkout run without install too).
    package_root = str(pathlib.Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    script = [str(recipe.path)] if notebook is None else ["-m", "cookbook.recorder", str(notebook), str(recipe.path)]
    sys.stdout.flush()
    sys.stderr.flush()
    returncode = subprocess.run(
        [sys.executable, *script, *argv],
        env=processes.child_env({"PYTHONPATH": path}),
        stdout=log,
        stderr=log,
        check=False,
    ).returncode
    if returncode:
        raise SystemExit(returncode)
