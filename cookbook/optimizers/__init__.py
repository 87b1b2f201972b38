"""Keras 3 optimizers written as lessons, each a drop-in twin of a Keras built-in.

``cookbook.optimizers.X(**cfg)`` replaces ``keras.optimizers.X(**cfg)`` for
``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``, ``Nadam`` and
``Lion`` (same name, arguments and defaults, same weights after training,
same variables). ``Momentum`` is ``SGD`` with ``momentum=0.9`` by default. Each file imports only ``keras``
and the standard library, so it can be copied alone into a project; each
class is registered as ``cookbook>Name``, so a saved ``.keras`` model loads
with ``keras.models.load_model`` and no ``custom_objects`` once this package
(or the copied file) is imported.

Unlike the built-ins, they refuse impossible hyperparameters (a negative or
NaN learning rate, ``beta_1=1``, ``clipnorm=0`` ...) with a ``ValueError``
that names the parameter and its legal range:

>>> import cookbook
>>> cookbook.optimizers.Adam(beta_1=1.0)
Traceback (most recent call last):
    ...
ValueError: beta_1=1.0 is impossible: `beta_1` must be in [0, 1). Pass a value in that range.
"""

from cookbook.optimizers.adagrad import Adagrad
from cookbook.optimizers.adam import Adam
from cookbook.optimizers.adamw import AdamW
from cookbook.optimizers.lion import Lion
from cookbook.optimizers.nadam import Nadam
from cookbook.optimizers.rmsprop import RMSprop
from cookbook.optimizers.sgd import SGD, Momentum

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Lion", "Momentum", "Nadam", "RMSprop"]
