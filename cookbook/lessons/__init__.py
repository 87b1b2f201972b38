"""Each lesson's evidence, and the support code several lessons share.

The library (``cookbook`` itself) is what a user copies into a project; this
package holds what a lesson needs to measure, plot or stage its claims and
nothing else uses. A lesson ``recipes/NN_topic.py`` has its evidence
in ``cookbook/lessons/topic.py`` (tables, verdicts, figures, its claim
records), tested in ``tests/test_topic.py``; the other modules are named for
what they are and serve the lessons listed:

====================================  =======  ================================================
module                                lesson   what it does
====================================  =======  ================================================
``regression_mse``                    01       errors in the target's units, the loss curve, claims
``multiclass_categorical_vs_sparse``  02       the four runs compared, the gap on a log axis with
                                               exact zeros marked apart, per-class results, claims
``binary_sigmoid_vs_softmax``         03       the heads table, curve gaps, conversions, claims
``multilabel_sigmoid``                04       labels derived from Digits, per-label and exact-match
                                               results, what a softmax over labels can reach, claims
``wrong_setups``                      05       the cases, what Keras and check_setup do, claims
``imbalanced_classes``                06       the one-vs-rest labels and stratified validation rows,
                                               precision/recall/F1 at a threshold, PR-AUC, the best-F1
                                               threshold, paired bootstrap differences, figure, claims
``gradient_descent_variants``         07       synthetic linear data, least squares, update recorder,
                                               the rate grid's validation noise, stability from the
                                               minimum, the rows a seeded fit visits
``optimizer_paths``                   08       learning-rate grids walked in float64, path measures,
                                               heavy-ball theory, the figures, claims
``momentum_local_minimum``            09       where each double-well run ended, hump crossings,
                                               momentum vs SGD at its effective rate, claims
``landscapes``                        08, 09   2-D test functions and optimizer paths on them
``adagrad_vs_rmsprop``                10       inputs grouped by activity, the rate choice on
                                               validation, per-weight rates over steps, claims
``adam_bias_correction``              11       Adam's steps with and without the correction, the
                                               gradient-size sweep (Keras's eps vs the paper's), claims
``optimizer_race_digits``             12       the race table with SGD at momentum's effective rate,
                                               steps under a constant gradient, claims
``decoupled_weight_decay``            13       pixels grouped by ink, weight RMS per group, Adam's
                                               ``sqrt(v_hat)``, strengths chosen on validation, claims
``learning_rate_warmup``              14       step sizes from weight snapshots, loss-curve landmarks,
                                               the schedules, claims
``custom_optimizers_vs_builtin``      15       the noisy bowl, the walk of the paper's Adam next to
                                               Keras's, the twins' grid, the fit and impossible-setting
                                               tables, the agreement figure, claims
``porting_a_keras2_optimizer``        16       Digits as ink tokens, Keras 2 (``tf_keras``) on
                                               demand, a float64 Yogi fed a run's gradients, the
                                               half-ports table, the rates ``decay=`` gives, claims
``agreement``                         13-19    the largest gap between two lists of weights (twin
                                               vs built-in, mirrored vs one device, resumed vs
                                               never stopped, Keras 2 vs Keras 3)
``distributed_training``              17       batch arithmetic, scope checks, the lockstep step,
                                               the workers' job, tables, figure, claims
``cluster``                           17       a MultiWorkerMirroredStrategy job on 127.0.0.1
``worker``                            17       its worker program (``python -m cookbook.lessons.worker``)
``keras_distribution_on_jax``         18       the JAX job folder holding the lesson's fit functions,
                                               starting the children, the comparison, figure, claims
``jax_worker``                        18       its JAX child program (``python -m cookbook.lessons.jax_worker``)
``keras_distribution``                18, 19   a JAX child's environment, joining processes with
                                               ``keras.distribution.initialize``, failing fast
``surviving_a_killed_worker``         19       runs stopped or killed in mid-epoch and resumed: the
                                               two-worker job (``python -m
                                               cookbook.lessons.surviving_a_killed_worker``), the
                                               guard's outcomes, the figure, claims
====================================  =======  ================================================

Import a module directly (``from cookbook.lessons import landscapes``); this
package imports none of them, so ``import cookbook`` stays light.
"""
