"""Four half-ports of ``Yogi``: the common mistakes of a Keras 2 to Keras 3 port.

Each class is ``cookbook.porting.yogi.Yogi`` with one method changed the way a
hurried port writes it; lesson 16 measures what each breaks and
``tests/test_porting.py`` shows each fails where ``Yogi`` passes:

- ``SlotsOutsideBuild``: slots are plain ``keras.Variable`` objects made on
  first use (a dict set up in ``__init__``), not
  ``add_variable_from_reference`` in ``build``. Symptom: Keras tracks and
  saves them, but a loaded optimizer has not made them yet when its state is
  restored, so the counts differ and Keras skips every optimizer variable,
  ``iterations`` included, warning only "Skipping variable loading for
  optimizer": the resumed run starts again from fresh slots at step 1. On
  JAX ``fit`` refuses to make a variable inside the step.
- ``VariableAssign``: ``variable.assign(value)`` instead of
  ``self.assign(variable, value)``. Symptom: a sparse gradient's
  ``IndexedSlices`` is made dense: every row outside the batch set to 0, a
  repeated row's values added up (on dense gradients no difference was
  measured, under MirroredStrategy too).
- ``ForgottenHyperparameter``: ``beta_2`` kept as a Python float that
  ``get_config`` leaves out. Symptom: ``.keras`` reloads ``beta_2=0.999`` and
  the resumed run drifts.
- ``StepFromZero``: ``t = iterations``, as if Keras 3 counted the step before
  ``update_step``. Symptom: ``1 - beta_1**0 = 0`` divides by zero, NaN
  weights after the first step.

They are registered under ``package="cookbook_half_ports"`` so the saving
pitfalls can be shown with ``keras.models.load_model`` like the correct port.
Never copy these: copy ``yogi.py``.
"""

from __future__ import annotations

from typing import Any

from cookbook.porting.yogi import Yogi

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="cookbook_half_ports")


@_register
class SlotsOutsideBuild(Yogi):
    """Slots made on first use as plain variables instead of in ``build``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._made_on_first_use: dict[str, tuple[keras.Variable, keras.Variable]] = {}

    def build(self, var_list: list[keras.Variable]) -> None:
        # The mistake: no add_variable_from_reference here.
        keras.optimizers.Optimizer.build(self, var_list)

    def _slots(self, variable):
        if variable.name not in self._made_on_first_use:
            self._made_on_first_use[variable.name] = (
                keras.Variable(ops.zeros(variable.shape, variable.dtype), trainable=False),
                keras.Variable(
                    ops.full(variable.shape, self.initial_accumulator_value, variable.dtype), trainable=False
                ),
            )
        return self._made_on_first_use[variable.name]


@_register
class VariableAssign(Yogi):
    """State written with ``variable.assign`` instead of the optimizer's ``self.assign``."""

    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)


@_register
class ForgottenHyperparameter(Yogi):
    """``get_config`` without ``beta_2``, a hyperparameter stored as a Python float."""

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta_2"]
        return config


@_register
class StepFromZero(Yogi):
    """The bias correction's ``t`` read as ``iterations`` instead of ``iterations + 1``."""

    def _step_number(self, dtype):
        return ops.cast(self.iterations, dtype)
