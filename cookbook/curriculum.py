"""Find the recipe scripts, read their titles, and run them in-process.

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
import importlib.util
import os
import pathlib
import re
import runpy
import sys
import types
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

from cookbook.errors import RecipeNotFound, WrongBackendError

import keras

if TYPE_CHECKING:
    import pandas as pd

RECIPE_FILE = re.compile(r"^(\d\d)_(\w+)\.py$")
ENV_VAR = "COOKBOOK_RECIPES"
# The module-level name a lesson assigns when it is TensorFlow code (see cookbook.settings.needs_tensorflow).
NEEDS_TENSORFLOW = "NEEDS_TENSORFLOW"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One lesson: ``recipes/NN_topic.py``."""

    number: int
    name: str  # the file's stem, e.g. "01_regression_mse"
    path: pathlib.Path
    title: str  # first line of the header docstring
    needs_tensorflow: str | None = None  # why the lesson needs the TensorFlow backend; None: any backend
    has_main: bool = False  # the older shape: the lesson's cells inside main(argv); else top-level cells


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
    """The title, the ``NEEDS_TENSORFLOW`` reason and whether a ``main`` exists, read with ``ast`` (nothing runs)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return "(cannot be read: fix the file's syntax)", None, False
    doc = ast.get_docstring(tree)
    has_main = any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)
    return (doc.strip().splitlines()[0] if doc else "(no header docstring)"), _needs_tensorflow(tree), has_main


def _needs_tensorflow(tree):
    """The reason in ``NEEDS_TENSORFLOW = "..."`` or ``= cookbook.recipe.needs_tensorflow("...")``, else None."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == NEEDS_TENSORFLOW for target in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Call) and value.args:
                value = value.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return f"its {NEEDS_TENSORFLOW} says why"  # not a string literal: readable only by running it
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


def load(recipe: Recipe) -> types.ModuleType:
    """Import a recipe file as a module (its ``main`` is not run).

    Raises:
        WrongBackendError: the recipe needs TensorFlow and Keras runs on
            another backend; the message names the reason and the fix.
    """
    if skip_reason(recipe):
        raise WrongBackendError.needs_tensorflow(recipe.name, str(recipe.needs_tensorflow), backend())
    spec = importlib.util.spec_from_file_location(f"cookbook_recipe_{recipe.name}", recipe.path)
    if spec is None or spec.loader is None:  # a path Python has no loader for (not a .py file)
        raise RecipeNotFound(f"{recipe.path} cannot be imported; a recipe is a .py file with a main(argv) function")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise RecipeNotFound(f"{recipe.path} has no main(argv) function; every recipe needs one")
    return module


def run(recipe: Recipe, argv: Iterable[str], log: TextIO | None = None) -> pd.DataFrame | None:
    """Run a lesson in this process as ``python recipes/NN_topic.py ARGV`` would.

    A lesson of top-level cells runs as a script (``runpy``, ``__name__ ==
    "__main__"``, ``sys.argv`` set to the file and ``argv``) and returns
    ``None``: its results are the files it writes. A lesson in the older
    shape, with its cells inside ``main(argv)``, is imported and its
    ``main`` called; its DataFrame is returned.

    With ``log`` (an open text file), the lesson's printed output goes there
    instead of the terminal. Keras's global state (graph, dtype policy) is
    reset afterwards so one lesson cannot change the next. A lesson that
    needs TensorFlow under another backend raises ``WrongBackendError``
    before it starts. In-process, a lesson costs no second start of
    TensorFlow (about 4 s a lesson as a child process).
    """
    argv = list(argv)
    if skip_reason(recipe):
        raise WrongBackendError.needs_tensorflow(recipe.name, str(recipe.needs_tensorflow), backend())
    redirect = (contextlib.redirect_stdout(log), contextlib.redirect_stderr(log)) if log else ()
    saved_argv = sys.argv
    try:
        with contextlib.ExitStack() as stack:
            for context in redirect:
                stack.enter_context(context)
            sys.argv = [str(recipe.path), *argv]
            if recipe.has_main:
                return load(recipe).main(argv)
            runpy.run_path(str(recipe.path), run_name="__main__")
            return None
    finally:
        sys.argv = saved_argv
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy("float32")
        sys.modules.pop(f"cookbook_recipe_{recipe.name}", None)
