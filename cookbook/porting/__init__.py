"""Porting a Keras 2 optimizer to Keras 3 (lesson 16).

``yogi.Yogi`` is the Keras 3 optimizer (keras and the standard library only,
copy it alone). ``keras2_yogi.Keras2Yogi`` is the Keras 2 original it was
ported from; it needs ``tf_keras`` (a core dependency), and is imported on
demand, never by ``import cookbook``. ``half_ports`` holds the
four common mistakes of a port, each a one-method change of ``Yogi``.
"""

from cookbook.porting.yogi import Yogi

__all__ = ["Yogi"]
