"""A model that notes which rows ``fit`` feeds it, in order: the visit order of a shuffle, read from the batches.

Shared by the tests of ``cookbook.shuffling`` and ``cookbook.fit_check``. With
``x = np.arange(rows)[:, None]`` the first feature of a row is its number.
"""

import keras


class RowRecorder(keras.layers.Layer):
    """A pass-through layer that records the first feature of every row it sees, batch after batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def call(self, x):
        try:
            self.seen.extend(int(v) for v in keras.ops.convert_to_numpy(x)[:, 0])
        except Exception:  # the symbolic call that builds the model has no values
            pass
        return x


def recording_model():
    """``(model, recorder)``: one input feature through a RowRecorder into Dense(1), compiled to run eagerly."""
    recorder = RowRecorder()
    model = keras.Sequential([keras.Input((1,)), recorder, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mean_squared_error", run_eagerly=True)
    return model, recorder
