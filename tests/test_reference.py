"""The float64 NumPy update rules agree with hand-worked steps and with each other's algebra.

These tests need no Keras at all: they check the reference against
arithmetic done by hand, so it can serve as the independent answer in
tests/test_optimizers.py.
"""

import math

from cookbook import reference
from cookbook.errors import CookbookError

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs on any Keras backend (.ci/run: again under JAX)

G = np.array([0.5, -2.0])
W = np.array([1.0, 1.0])


def test_sgd_first_steps_by_hand():
    """Plain: w - lr*g. Momentum: v = -lr*g then mu*v - lr*g. Nesterov adds mu*v - lr*g."""
    np.testing.assert_allclose(reference.sgd(W, G, {}, 1, learning_rate=0.1), W - 0.1 * G)
    state = {}
    w1 = reference.sgd(W, G, state, 1, learning_rate=0.1, momentum=0.9)
    np.testing.assert_allclose(w1, W - 0.1 * G)
    w2 = reference.sgd(w1, G, state, 2, learning_rate=0.1, momentum=0.9)
    np.testing.assert_allclose(w2, w1 + (0.9 * (-0.1 * G) - 0.1 * G))
    nesterov = reference.sgd(W, G, {}, 1, learning_rate=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(nesterov, W + 0.9 * (-0.1 * G) - 0.1 * G)


def test_adagrad_keras_convention_versus_textbook():
    """Keras: lr*g/sqrt(0.1 + g^2 + eps). Textbook (G0=0, eps outside): lr*sign(g) at step one."""
    keras_step = W - reference.adagrad(W, G, {}, 1, learning_rate=0.1, epsilon=1e-7)
    np.testing.assert_allclose(keras_step, 0.1 * G / np.sqrt(0.1 + G**2 + 1e-7))
    textbook_step = W - reference.adagrad_textbook(W, G, {}, 1, learning_rate=0.1, epsilon=0.0)
    np.testing.assert_allclose(textbook_step, 0.1 * np.sign(G))
    assert abs(keras_step[0]) < abs(textbook_step[0])  # the 0.1 start damps small gradients


def test_rmsprop_centered_and_momentum_by_hand():
    """Centered divides by sqrt(v - mg^2 + eps); momentum accumulates lr-scaled steps."""
    rho, lr, eps = 0.9, 0.01, 1e-7
    v, mg = (1 - rho) * G**2, (1 - rho) * G
    centered = W - reference.rmsprop(W, G, {}, 1, learning_rate=lr, rho=rho, epsilon=eps, centered=True)
    np.testing.assert_allclose(centered, lr * G / np.sqrt(v - mg**2 + eps))
    state = {}
    w1 = reference.rmsprop(W, G, state, 1, learning_rate=lr, rho=rho, momentum=0.5)
    reference.rmsprop(w1, G, state, 2, learning_rate=lr, rho=rho, momentum=0.5)
    s1 = lr * G / np.sqrt(v + eps)
    s2 = lr * G / np.sqrt(rho * v + (1 - rho) * G**2 + eps)
    np.testing.assert_allclose(state["momentum"], 0.5 * s1 + s2)


def test_rmsprop_textbook_puts_epsilon_outside_the_root():
    """With a zero gradient history and a huge epsilon the two conventions differ as predicted."""
    g, eps = np.array([1e-3]), 1e-2
    inside = 1 - reference.rmsprop(np.ones(1), g, {}, 1, learning_rate=1.0, rho=0.0, epsilon=eps)
    outside = 1 - reference.rmsprop_textbook(np.ones(1), g, {}, 1, learning_rate=1.0, rho=0.0, epsilon=eps)
    np.testing.assert_allclose(inside, g / np.sqrt(g**2 + eps))
    np.testing.assert_allclose(outside, g / (np.abs(g) + eps))


def test_adam_epsilon_hat_equals_algorithm_1_with_a_rescaled_epsilon():
    """Keras's Adam == the paper's Algorithm 1 with eps_1 = eps / sqrt(1 - b2^t), step by step."""
    beta_1, beta_2, eps = 0.9, 0.999, 1e-3  # a large epsilon makes the difference visible
    keras_state, book_state, w_keras, w_book = {}, {}, W.copy(), W.copy()
    rng = np.random.default_rng(0)
    for t in range(1, 6):
        g = rng.normal(size=2)
        w_keras = reference.adam(
            w_keras, g, keras_state, t, learning_rate=0.01, beta_1=beta_1, beta_2=beta_2, epsilon=eps
        )
        w_book = reference.adam_textbook(
            w_book,
            g,
            book_state,
            t,
            learning_rate=0.01,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=eps / math.sqrt(1 - beta_2**t),
        )
        np.testing.assert_allclose(w_keras, w_book, rtol=1e-12)
    same_eps = reference.adam_textbook(W, G, {}, 1, learning_rate=0.01, epsilon=eps)
    assert not np.allclose(reference.adam(W, G, {}, 1, learning_rate=0.01, epsilon=eps), same_eps)


def test_adam_first_step_is_lr_times_sign_and_amsgrad_keeps_the_largest_v():
    """Bias-corrected step one moves every weight by lr; AMSGrad's v never decreases."""
    np.testing.assert_allclose(W - reference.adam(W, G, {}, 1, learning_rate=0.01, epsilon=0.0), 0.01 * np.sign(G))
    state = {}
    reference.adam(W, np.array([10.0]), state, 1, amsgrad=True)
    big = state["velocity_hat"].copy()
    reference.adam(W, np.array([0.0]), state, 2, amsgrad=True)
    assert state["velocity_hat"] == big and state["velocity"] < big


def test_nadam_first_step_by_hand_and_its_product_of_the_schedule():
    """Step 1: u_1 = b1(1 - 0.5*0.96), m_hat mixes m and g; the state keeps u_1 * u_2 * ..."""
    b1, b2, lr = 0.9, 0.999, 0.01
    state = {}
    w1 = reference.nadam(W, G, state, 1, learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=0.0)
    u1, u2 = b1 * (1 - 0.5 * 0.96), b1 * (1 - 0.5 * 0.96**2)
    m = (1 - b1) * G
    m_hat = u2 * m / (1 - u1 * u2) + (1 - u1) * G / (1 - u1)
    v_hat = (1 - b2) * G**2 / (1 - b2)
    np.testing.assert_allclose(w1, W - lr * m_hat / np.sqrt(v_hat))
    for t in range(2, 6):
        reference.nadam(w1, G, state, t, beta_1=b1)
    np.testing.assert_allclose(state["u_product"], np.prod([b1 * (1 - 0.5 * 0.96**t) for t in range(1, 6)]))


def test_nadam_with_beta_1_zero_is_rmsprop_like_with_bias_correction():
    """beta_1=0: u_t = 0 and m_hat = g, so the step is lr * g / (sqrt(v_hat) + eps)."""
    w = reference.nadam(W, G, {}, 1, learning_rate=0.1, beta_1=0.0, beta_2=0.9, epsilon=0.0)
    np.testing.assert_allclose(w, W - 0.1 * np.sign(G))


def test_lion_moves_every_weight_by_lr_and_updates_m_after_the_step():
    """Each entry moves by exactly lr; the direction uses the old m, then m <- b2 m + (1-b2) g."""
    state = {"momentum": np.array([1.0, 1.0])}
    w = reference.lion(W, G, state, 1, learning_rate=0.01, beta_1=0.9, beta_2=0.99)
    # c = 0.9 * 1 + 0.1 * g = [0.95, 0.7]: both positive, although g[1] < 0.
    np.testing.assert_allclose(w, W - 0.01)
    np.testing.assert_allclose(state["momentum"], 0.99 + 0.01 * G)
    signsgd = reference.lion(W, G, {}, 1, learning_rate=0.01, beta_1=0.9, beta_2=1.0)
    np.testing.assert_allclose(signsgd, W - 0.01 * np.sign(G))  # m starts at 0: step one is signSGD


def test_adamw_is_adam_with_the_base_class_decay():
    """from_optimizer(AdamW) uses the adam rule with the decay; its first step decays, then steps."""
    ref = reference.from_optimizer(keras.optimizers.AdamW(0.01, weight_decay=0.5))
    assert ref.rule is reference.adam and ref.weight_decay == pytest.approx(0.5)
    (w,) = ref.apply([G], [W])
    decayed = W - W * 0.5 * ref.learning_rate
    np.testing.assert_allclose(w, reference.adam(decayed, G, {}, 1, learning_rate=ref.learning_rate))
    assert reference.from_optimizer(keras.optimizers.Nadam()).rule is reference.nadam
    assert reference.from_optimizer(keras.optimizers.Lion(beta_2=0.9)).hyperparameters == {
        "beta_1": 0.9,
        "beta_2": 0.9,
    }


def test_reference_optimizer_clips_and_decays_like_keras():
    """clipnorm scales to the norm; global_clipnorm to the joint norm; decay is w*wd*lr first."""
    g = [np.array([3.0, 4.0]), np.array([12.0])]  # norms 5 and 12, joint norm 13
    clipped = reference.ReferenceOptimizer(reference.sgd, clipnorm=1.0).clip(g)
    np.testing.assert_allclose([np.linalg.norm(x) for x in clipped], [1.0, 1.0])
    joint = reference.ReferenceOptimizer(reference.sgd, global_clipnorm=2.6).clip(g)
    np.testing.assert_allclose(joint[1], [2.4])
    by_value = reference.ReferenceOptimizer(reference.sgd, clipvalue=3.5).clip(g)
    np.testing.assert_allclose(by_value[0], [3.0, 3.5])
    decayed = reference.ReferenceOptimizer(reference.sgd, learning_rate=0.1, weight_decay=0.5)
    (w,) = decayed.apply([np.zeros(1)], [np.array([2.0])])
    np.testing.assert_allclose(w, [2.0 - 2.0 * 0.5 * 0.1])


def test_from_optimizer_follows_a_keras_config_and_refuses_what_it_cannot_model():
    """from_optimizer reads class and config; EMA or a schedule is refused with the fix."""
    ref = reference.from_optimizer(keras.optimizers.RMSprop(0.02, rho=0.8, centered=True))
    assert ref.rule is reference.rmsprop and ref.learning_rate == pytest.approx(0.02)
    assert ref.hyperparameters["rho"] == 0.8 and ref.hyperparameters["centered"] is True
    with pytest.raises(CookbookError, match="use_ema.*reference=False"):
        reference.from_optimizer(keras.optimizers.Adam(use_ema=True))
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    with pytest.raises(CookbookError, match="schedule"):
        reference.from_optimizer(keras.optimizers.SGD(schedule))
    with pytest.raises(CookbookError, match="no NumPy reference for optimizer class 'Adamax'"):
        reference.from_optimizer(keras.optimizers.Adamax())
    excluding = keras.optimizers.Adam(weight_decay=0.1)
    excluding.exclude_from_weight_decay(var_names=["bias"])
    with pytest.raises(CookbookError, match="excluded from weight decay"):
        reference.from_optimizer(excluding)
