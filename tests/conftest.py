"""Shared fixtures: the recipe list, and Keras state reset between tests."""

import os
import shutil

from cookbook import curriculum

import filelock
import keras
import pytest


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    """Mark the package's docstring examples ``backend_agnostic``, except the lessons' support code.

    They pass on any Keras backend, so ``.ci/run`` runs them again under JAX; ``cookbook/lessons/`` holds
    TensorFlow-only code (``tf.distribute``) and is left to the TensorFlow run.
    """
    for item in items:
        root = item.config.rootpath
        parts = item.path.relative_to(root).parts if item.path.is_relative_to(root) else ()
        if parts[:1] == ("cookbook",) and parts[1:2] != ("lessons",):
            item.add_marker(pytest.mark.backend_agnostic)


@pytest.fixture(autouse=True)
def _fresh_keras():
    """Each test starts from seed 0, a float32 policy and an empty Keras graph."""
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session(free_memory=False)  # gc.collect() would cost 0.2 s a test


@pytest.fixture(scope="session")
def recipes():
    """Every recipe in the checkout, in curriculum order."""
    return curriculum.list_recipes()


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``quick_run("04") -> out_dir``: each lesson's ``--quick`` run, once per test run.

    The contract tests, the course site and each lesson's smoke test read the
    same run, so no lesson trains twice. Its results are the files in
    ``out_dir`` (read its claims with ``cookbook.claims.load``), with the
    run's notebook ``<lesson>.ipynb`` as the tour records it. Under
    pytest-xdist the workers share the runs: the first worker to need a lesson
    runs it while holding a file lock, and the others wait for it and read its
    folder (the pattern pytest-xdist documents for once-only session fixtures).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # every worker's basetemp lives in this run's one folder
    runs = root / "quick_runs"
    runs.mkdir(exist_ok=True)

    def run(name_or_number):
        recipe = curriculum.resolve(curriculum.list_recipes(), name_or_number)
        out, done = runs / recipe.name, runs / f"{recipe.name}.done"
        with filelock.FileLock(runs / f"{recipe.name}.lock"):
            if not done.exists():
                shutil.rmtree(out, ignore_errors=True)  # what a failed attempt left
                out.mkdir()
                keras.utils.set_random_seed(0)
                curriculum.run(recipe, ["--quick", "--out", str(out)], notebook=out / f"{recipe.name}.ipynb")
                done.touch()
        return out

    return run
