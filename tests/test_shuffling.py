"""cookbook.shuffling: ReshuffledArrays draws a new order every epoch, the same sequence every run."""

from cookbook import ReshuffledArrays

import numpy as np
import pytest
from _row_orders import recording_model

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run


def _orders(seed, epochs=3, rows=8):
    model, recorder = recording_model()
    X, y = np.arange(rows, dtype="float32")[:, None], np.zeros(rows, "float32")
    model.fit(ReshuffledArrays(X, y, batch_size=1, seed=seed), epochs=epochs, shuffle=False, verbose=0)
    return np.reshape(recorder.seen, (epochs, rows)).tolist()


def test_each_epoch_is_a_new_numpy_permutation_and_each_run_the_same():
    """Epoch e visits default_rng(seed)'s permutation e + 1 (fit calls on_epoch_end once before epoch 1)."""
    rng = np.random.default_rng(7)
    expected = [rng.permutation(8).tolist() for _ in range(4)][1:]
    assert _orders(7) == expected == _orders(7)
    assert len({tuple(order) for order in expected}) == 3


def test_batches_cover_the_rows_and_the_last_one_is_short():
    """ceil(10 / 4) = 3 batches; together they hold every row once."""
    data = ReshuffledArrays(np.arange(10.0)[:, None], np.arange(10.0), batch_size=4, seed=0)
    assert len(data) == 3 and len(data[2][0]) == 2
    rows = np.concatenate([data[i][1] for i in range(len(data))])
    assert sorted(rows.tolist()) == list(range(10))
