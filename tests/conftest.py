"""Shared fixtures: the recipe list, and Keras state reset between tests."""

import pytest

import cookbook  # first: TensorFlow imported with its start-up noise hidden
from cookbook import curriculum
import keras


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
