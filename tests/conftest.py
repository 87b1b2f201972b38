"""Shared fixtures: the recipe list, and Keras state reset between tests."""

from cookbook import curriculum

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
    """``quick_run("04") -> (table, out_dir)``: each recipe's ``--quick`` run, once per session.

    The contract test and the tests of a recipe's own claims read the same run,
    so no recipe trains twice (recipe 16 alone costs about 20 s). ``table`` is
    ``None`` for a lesson of top-level cells: its results are the files in
    ``out_dir`` (read its claims with ``cookbook.claims.load``).
    """
    cache = {}

    def run(name_or_number):
        recipe = curriculum.resolve(curriculum.list_recipes(), name_or_number)
        if recipe.name not in cache:
            out = tmp_path_factory.mktemp(recipe.name)
            keras.utils.set_random_seed(0)
            cache[recipe.name] = (curriculum.run(recipe, ["--quick", "--out", str(out)]), out)
        table, out = cache[recipe.name]
        return (None if table is None else table.copy()), out

    return run
