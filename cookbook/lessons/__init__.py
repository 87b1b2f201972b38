"""Support code for single lessons, one module per lesson topic.

The library (``cookbook`` itself) is what a user copies into a project; this
package holds what one recipe needs to measure, plot or stage its lesson and
nothing else uses:

==========================  =======  ==================================================
module                      recipe   what it does
==========================  =======  ==================================================
``gradient_descent``        05       batch / stochastic / mini-batch GD: data, exact
                                     solutions, update recorders, gradient noise, memory
``landscapes``              06, 07   2-D test functions and optimizer paths on them
``bias_correction``         09       Adam's step by hand, each bias correction switchable
``race``                    10       a classifier's score, epochs to reach a loss
``agreement``               12-16    the largest gap between two lists of weights (twin vs
                                     built-in, mirrored vs one device, resumed vs never
                                     stopped, Keras 2 vs Keras 3)
``distributed``             12       tf.distribute devices, scope checks, lockstep loop
``cluster``                 12       a MultiWorkerMirroredStrategy job on 127.0.0.1
``worker``                  12       the worker program (``python -m cookbook.lessons.worker``)
``keras_distribution``      12       ``keras.distribution`` on JAX: child environment, joining
                                     processes, the job folder, launching, results
``jax_worker``              12       its program (``python -m cookbook.lessons.jax_worker``)
``fault_tolerance``         13       jobs killed with SIGKILL and relaunched: the job folder,
                                     launching, the program (``python -m
                                     cookbook.lessons.fault_tolerance``), what they left
``weight_decay``            14       pixels grouped by ink, weight RMS per group, Adam's
                                     ``sqrt(v_hat)`` and the L2 term's shrink per step
``schedules``               15       each weight's step per learning rate from weight
                                     snapshots, a loss curve's peak over a step range
``porting``                 16       Digits as ink tokens, Keras 2 (``tf_keras``) on
                                     demand, a float64 Yogi fed a run's gradients, the
                                     per-step difference figure
==========================  =======  ==================================================

Import a module directly (``from cookbook.lessons import landscapes``); this
package imports none of them, so ``import cookbook`` stays light.
"""
