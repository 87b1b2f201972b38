"""Batch, stochastic and mini-batch gradient descent through ``model.fit``.

In Keras the optimizer is only the update rule; how many samples feed one
update is ``batch_size`` in ``model.fit``::

    model.fit(X, y, batch_size=len(X))   # batch gradient descent: 1 update per epoch
    model.fit(X, y, batch_size=1)        # stochastic gradient descent: N updates per epoch
    model.fit(X, y, batch_size=32)       # mini-batch gradient descent: ceil(N / 32)

This module holds what recipe 05 and its tests share: a linear-regression
model trained with ``keras.optimizers.SGD`` (a convex loss, so there is one
minimum to compare with), a trainer that records loss, time and
``optimizer.iterations`` per epoch, the full-batch step and the least-squares
solution computed by hand in float64 NumPy, and a probe of the peak memory
of training at a given batch size.

Symbols: ``X`` is the (N, D) feature matrix, ``w`` the (D,) kernel, ``b`` the
bias, ``y`` the targets, ``lr`` the learning rate. The loss is
``L(w, b) = mean((X w + b - y)**2)`` and one full-batch step is::

    r = X w + b - y
    w <- w - lr * 2/N * X^T r
    b <- b - lr * 2/N * sum(r)
"""

import dataclasses
import math
import subprocess
import sys
import time

import numpy as np

import keras
from cookbook.errors import CookbookError

__all__ = [
    "MINIBATCH_SIZE",
    "VariantRun",
    "batch_gd_to_least_squares",
    "build_linear_model",
    "fit_one_full_batch_step",
    "full_batch_step",
    "hessian_eigenvalues",
    "least_squares",
    "loss_at_time",
    "mse",
    "optimal_learning_rate",
    "peak_fit_memory",
    "train_variant",
    "updates_per_epoch",
    "variant_batch_sizes",
]

MINIBATCH_SIZE = 32  # the note's mini-batch size, and Keras's default batch_size
# Floats of tiled training data handed to one fit call by batch_gd_to_least_squares
# (about 16 MB): enough copies for hundreds of updates on small data, one copy on big data.
_TILE_BUDGET_FLOATS = 4_000_000


def updates_per_epoch(n_samples, batch_size):
    """How many optimizer updates one epoch of ``model.fit`` makes: ``ceil(N / batch_size)``.

    The last batch of an epoch is smaller when ``batch_size`` does not
    divide ``n_samples``; it still makes one update.

    Args:
        n_samples: number of training samples N.
        batch_size: samples per update, from 1 to N.

    Raises:
        CookbookError: ``batch_size`` is below 1.
    """
    _check_batch_size(batch_size)
    return math.ceil(n_samples / batch_size)


def variant_batch_sizes(n_samples, minibatch_size=MINIBATCH_SIZE):
    """The three variants of gradient descent as ``{name: batch_size}``.

    Args:
        n_samples: number of training samples N (the batch GD batch size).
        minibatch_size: batch size of the mini-batch variant, capped at N.
            Defaults to `32`.
    """
    return {
        "batch GD": int(n_samples),
        "SGD": 1,
        "mini-batch GD": int(min(minibatch_size, n_samples)),
    }


def _check_batch_size(batch_size):
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise CookbookError(
            f"batch_size must be a whole number of at least 1, got {batch_size!r}; "
            "use len(X) for batch GD, 1 for SGD or 32 for mini-batch GD"
        )


# ---------------------------------------------------------------------------
# The model, and the same quantities computed by hand in float64 NumPy
# ---------------------------------------------------------------------------

def build_linear_model(num_features, *, learning_rate, seed=0, steps_per_execution=1,
                       jit_compile="auto"):
    """Linear regression ``Dense(1)`` with MSE loss and plain ``keras.optimizers.SGD``.

    A linear model with MSE is a convex problem with a single minimum, the
    least-squares solution, so every variant can be compared with it.

    Args:
        num_features: number of input features D.
        learning_rate: SGD step size.
        seed: seed of the kernel initializer; the same seed gives the same
            starting weights. Defaults to `0`.
        steps_per_execution: training steps run per call into the compiled
            graph; larger values cut Python overhead per step (see
            ``benchmarks/steps_per_execution.py``), the weights do not
            change. Defaults to `1`.
        jit_compile: XLA compilation, passed to ``compile``. Defaults to
            `"auto"` (on for this model with the TensorFlow backend).
    """
    if not learning_rate > 0:
        raise CookbookError(f"learning_rate must be positive, got {learning_rate!r}; try 0.01")
    model = keras.Sequential([
        keras.Input((num_features,)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed)),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mean_squared_error",
                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    return model


def _kernel_and_bias(model):
    kernel, bias = model.layers[-1].get_weights()
    return kernel.astype(np.float64).ravel(), float(bias[0])


def mse(X, y, kernel, bias):
    """Mean squared error of the linear model ``X @ kernel + bias``, in float64."""
    residual = np.asarray(X, np.float64) @ np.asarray(kernel, np.float64) + bias \
        - np.asarray(y, np.float64).ravel()
    return float(np.mean(residual**2))


def full_batch_step(X, y, kernel, bias, learning_rate):
    """One batch-gradient-descent step of linear regression with MSE, by hand.

    ``w - lr * 2/N * X^T (X w + b - y)`` and ``b - lr * 2/N * sum(X w + b - y)``:
    the gradient of ``mean((X w + b - y)**2)``, computed in float64.

    Args:
        X: (N, D) features.
        y: (N,) targets.
        kernel: (D,) weights w before the step.
        bias: bias b before the step.
        learning_rate: step size lr.

    Returns:
        ``(kernel, bias)`` after the step.
    """
    X = np.asarray(X, np.float64)
    kernel = np.asarray(kernel, np.float64).ravel()
    residual = X @ kernel + bias - np.asarray(y, np.float64).ravel()
    n = len(X)
    return (kernel - learning_rate * 2.0 / n * X.T @ residual,
            float(bias - learning_rate * 2.0 / n * residual.sum()))


def fit_one_full_batch_step(X, y, *, learning_rate, seed=0):
    """One ``model.fit(X, y, batch_size=len(X), epochs=1, shuffle=False)`` step.

    Returns:
        ``((kernel, bias) before, (kernel, bias) after)`` in float64, to
        compare with ``full_batch_step`` on the "before" weights.
    """
    X = np.asarray(X, np.float32)
    keras.utils.set_random_seed(seed)
    model = build_linear_model(X.shape[1], learning_rate=learning_rate, seed=seed)
    before = _kernel_and_bias(model)
    model.fit(X, np.asarray(y, np.float32).ravel(), batch_size=len(X), epochs=1,
              shuffle=False, verbose=0)
    return before, _kernel_and_bias(model)


def least_squares(X, y):
    """The minimum of the MSE of a linear model: ``numpy.linalg.lstsq`` with a bias column.

    Returns:
        ``(kernel, bias)`` in float64.
    """
    X = np.asarray(X, np.float64)
    design = np.hstack([X, np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, np.asarray(y, np.float64).ravel(), rcond=None)[0]
    return solution[:-1], float(solution[-1])


def hessian_eigenvalues(X):
    """Eigenvalues of the MSE Hessian ``2/N * [X 1]^T [X 1]``, smallest first.

    Their ratio (the condition number) sets how many full-batch steps
    gradient descent needs: the error shrinks by about ``1 - 2/cond`` per
    step at the best constant learning rate.
    """
    X = np.asarray(X, np.float64)
    design = np.hstack([X, np.ones((len(X), 1))])
    return np.linalg.eigvalsh(2.0 / len(X) * design.T @ design)


def optimal_learning_rate(X):
    """Best constant full-batch learning rate ``2 / (lambda_min + lambda_max)`` for MSE.

    Gradient descent on a quadratic diverges above ``2 / lambda_max``; this
    step contracts the slowest and the fastest direction equally.
    """
    eig = hessian_eigenvalues(X)
    return float(2.0 / (eig[0] + eig[-1]))


# ---------------------------------------------------------------------------
# Training one variant, with loss, time and update count per epoch
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class VariantRun:
    """What one ``model.fit`` run recorded, one entry per epoch boundary.

    Index 0 of ``elapsed``, ``iterations``, ``train_loss`` and ``test_loss``
    is the state before training; index ``e`` is after epoch ``e``.
    """

    name: str
    batch_size: int
    n_samples: int
    epoch_seconds: np.ndarray  # wall-clock seconds of each epoch (no loss evaluation)
    elapsed: np.ndarray  # cumulative training seconds, starting at 0
    iterations: np.ndarray  # optimizer.iterations, starting at 0
    train_loss: np.ndarray  # full training-set MSE with the weights at that moment
    test_loss: np.ndarray  # full test-set MSE (NaN without test data)
    kernel: np.ndarray  # final weights, float64
    bias: float
    # Finer curve for plotting: training loss at time 0 and after every call into the
    # compiled graph (every steps_per_execution updates, and at each epoch's end).
    trace_seconds: np.ndarray = None
    trace_loss: np.ndarray = None

    @property
    def epochs(self):
        """Number of epochs trained."""
        return len(self.epoch_seconds)

    @property
    def updates_per_epoch(self):
        """Updates per epoch, read from ``optimizer.iterations`` (not computed from N)."""
        per_epoch = np.diff(self.iterations)
        if not np.all(per_epoch == per_epoch[0]):
            raise RuntimeError(f"epochs made different numbers of updates: {per_epoch}; "
                               "read run.iterations epoch by epoch instead")
        return int(per_epoch[0])

    @property
    def seconds_per_epoch(self):
        """Median wall-clock seconds of one epoch (the median resists a busy machine)."""
        return float(np.median(self.epoch_seconds))


class _EpochRecorder(keras.callbacks.Callback):
    """Times training, and records the update count and the full-data losses.

    The clock is paused while losses are computed, so measuring does not
    count as training time (as Dive into Deep Learning does for its
    loss-against-time plots). Besides every epoch end, the training loss is
    also recorded at every return from the compiled graph inside an epoch
    (every ``steps_per_execution`` updates), which gives SGD a finer curve
    against time.
    """

    def __init__(self, X_train, y_train, X_test, y_test):
        super().__init__()
        self._data = (X_train, y_train, X_test, y_test)
        self.epoch_seconds, self.iterations, self.train_loss, self.test_loss = [], [], [], []
        self.trace_seconds, self.trace_loss = [0.0], []
        self._clock = 0.0  # training seconds so far
        self._resumed = None
        self._epoch_start = 0.0

    def _losses(self):
        X_train, y_train, X_test, y_test = self._data
        kernel, bias = _kernel_and_bias(self.model)
        test = mse(X_test, y_test, kernel, bias) if X_test is not None else np.nan
        return mse(X_train, y_train, kernel, bias), test

    def record(self):
        train, test = self._losses()
        self.iterations.append(int(self.model.optimizer.iterations))
        self.train_loss.append(train)
        self.test_loss.append(test)
        if not self.trace_loss:
            self.trace_loss.append(train)

    def _pause(self):
        self._clock += time.perf_counter() - self._resumed

    def _resume(self):
        self._resumed = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._clock
        self._resume()

    def on_train_batch_end(self, batch, logs=None):
        self._pause()
        self.trace_seconds.append(self._clock)
        self.trace_loss.append(self._losses()[0])
        self._resume()

    def on_epoch_end(self, epoch, logs=None):
        self._pause()
        self.epoch_seconds.append(self._clock - self._epoch_start)
        self.record()


def train_variant(X_train, y_train, batch_size, *, epochs, learning_rate, seed=0,
                  X_test=None, y_test=None, name=None, steps_per_execution=1,
                  jit_compile="auto", shuffle=True, warm_up=True):
    """Train a fresh linear model with ``model.fit(..., batch_size=batch_size)``.

    Args:
        X_train: (N, D) float32 training features.
        y_train: (N,) float32 training targets.
        batch_size: samples per update: N for batch GD, 1 for SGD, 32 for
            mini-batch GD.
        epochs: passes over the training data.
        learning_rate: SGD step size, the same for every variant.
        seed: seed of the starting weights and of the shuffling; the same
            seed gives the same starting point for every variant.
            Defaults to `0`.
        X_test: optional test features, for the test-loss curve.
            Defaults to `None`.
        y_test: optional test targets. Defaults to `None`.
        name: label of the run. Defaults to `"batch_size=<batch_size>"`.
        steps_per_execution: passed to ``compile``. Defaults to `1`.
        jit_compile: passed to ``compile``. Defaults to `"auto"`.
        shuffle: reshuffle the samples every epoch. Defaults to `True`.
        warm_up: run one untimed epoch first, then restore the starting
            weights and reset ``optimizer.iterations`` to 0, so graph tracing
            and XLA compilation are not counted as training time.
            Defaults to `True`.

    Returns:
        A ``VariantRun``.

    Raises:
        CookbookError: ``batch_size`` is below 1 or above N, or ``epochs``
            is below 1.
    """
    n_samples = len(X_train)
    _check_batch_size(batch_size)
    if batch_size > n_samples:
        raise CookbookError(
            f"batch_size={batch_size} is larger than the {n_samples} training samples; "
            f"use at most len(X) = {n_samples} (that is batch gradient descent)"
        )
    if epochs < 1:
        raise CookbookError(f"epochs must be at least 1, got {epochs}; pass epochs=1 or more")
    keras.utils.set_random_seed(seed)
    model = build_linear_model(X_train.shape[1], learning_rate=learning_rate, seed=seed,
                               steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    fit_kwargs = dict(batch_size=batch_size, shuffle=shuffle, verbose=0)
    if warm_up:
        start = model.get_weights()
        model.fit(X_train, y_train, epochs=1, **fit_kwargs)
        model.set_weights(start)
        model.optimizer.iterations.assign(0)  # plain SGD keeps no other state
        keras.utils.set_random_seed(seed)  # the timed run shuffles as an unwarmed one would
    recorder = _EpochRecorder(X_train, y_train, X_test, y_test)
    recorder.set_model(model)
    recorder.record()  # the starting point: epoch 0, time 0
    model.fit(X_train, y_train, epochs=epochs, callbacks=[recorder], **fit_kwargs)
    kernel, bias = _kernel_and_bias(model)
    epoch_seconds = np.asarray(recorder.epoch_seconds)
    return VariantRun(
        name=name or f"batch_size={batch_size}",
        batch_size=int(batch_size),
        n_samples=int(n_samples),
        epoch_seconds=epoch_seconds,
        elapsed=np.concatenate([[0.0], np.cumsum(epoch_seconds)]),
        iterations=np.asarray(recorder.iterations),
        train_loss=np.asarray(recorder.train_loss),
        test_loss=np.asarray(recorder.test_loss),
        kernel=kernel,
        bias=bias,
        trace_seconds=np.asarray(recorder.trace_seconds),
        trace_loss=np.asarray(recorder.trace_loss),
    )


def loss_at_time(run, seconds):
    """Training loss the run had reached after ``seconds`` of training.

    Losses are recorded at each return from the compiled graph, so this is
    the loss at the last such point within ``seconds`` (the starting loss
    if there was none).
    """
    finished = np.searchsorted(run.trace_seconds, seconds, side="right") - 1
    return float(run.trace_loss[max(finished, 0)])


def batch_gd_to_least_squares(X, y, *, updates, learning_rate=None, seed=0,
                              steps_per_execution=100):
    """Run ``updates`` full-batch gradient-descent steps through ``model.fit``.

    Reaching the minimum of an ill-conditioned problem takes thousands of
    full-batch updates, and each Keras epoch costs tens of milliseconds of
    bookkeeping (a new data iterator, callbacks, logs). So ``fit`` gets
    ``k`` stacked copies of the training set with ``batch_size=len(X)`` and
    ``shuffle=False``: every batch is exactly the whole training set, every
    update is a batch-GD update, and one "epoch" makes ``k`` of them.

    Args:
        X: (N, D) features.
        y: (N,) targets.
        updates: number of full-batch updates.
        learning_rate: step size. Defaults to `None`, meaning
            ``optimal_learning_rate(X)``.
        seed: seed of the starting weights. Defaults to `0`.
        steps_per_execution: passed to ``compile``. Defaults to `100`.

    Returns:
        ``(kernel, bias, iterations)``: final weights in float64 and the
        model's ``optimizer.iterations``.
    """
    X = np.asarray(X, np.float32)
    y = np.asarray(y, np.float32).ravel()
    n = len(X)
    if learning_rate is None:
        learning_rate = optimal_learning_rate(X)
    keras.utils.set_random_seed(seed)
    model = build_linear_model(X.shape[1], learning_rate=learning_rate, seed=seed,
                               steps_per_execution=steps_per_execution)
    copies = int(max(1, min(updates, _TILE_BUDGET_FLOATS // X.size)))
    tiled_X, tiled_y = np.tile(X, (copies, 1)), np.tile(y, copies)
    full_epochs, rest = divmod(updates, copies)
    if full_epochs:
        model.fit(tiled_X, tiled_y, batch_size=n, epochs=full_epochs, shuffle=False, verbose=0)
    if rest:
        model.fit(tiled_X[: rest * n], tiled_y[: rest * n], batch_size=n, epochs=1,
                  shuffle=False, verbose=0)
    kernel, bias = _kernel_and_bias(model)
    return kernel, bias, int(model.optimizer.iterations)


# ---------------------------------------------------------------------------
# Memory: peak resident memory of training at one batch size, in a fresh process
# ---------------------------------------------------------------------------

def _status_mb(field):
    """A memory field of this process from Linux ``/proc/self/status`` (VmRSS, VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # the value is in kB
    raise RuntimeError(f"/proc/self/status has no {field}; peak_fit_memory needs Linux")


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux 4.0+), so the peak is the peak of what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:  # older kernel or restricted /proc: the peak then includes the import
        pass


def _memory_probe(batch_size, n_samples, n_features, steps, seed):
    """Run in a fresh interpreter: print how far RSS peaks above its level before ``fit``."""
    rng = np.random.default_rng(seed)
    rows = min(n_samples, batch_size * steps)  # `steps` full updates, without a long epoch
    X = rng.standard_normal((rows, n_features), dtype=np.float32)
    y = X @ rng.standard_normal(n_features).astype(np.float32)
    model = build_linear_model(n_features, learning_rate=1e-3, seed=seed)
    _reset_peak()
    before = _status_mb("VmRSS")
    model.fit(X, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    print(f"{before:.3f} {_status_mb('VmHWM'):.3f}")


def peak_fit_memory(batch_size, n_samples, n_features, *, steps=3, seed=0, timeout=300):
    """Peak memory a few ``fit`` steps at ``batch_size`` add, measured in a fresh process.

    A new Python process (about 8 s to import TensorFlow) builds random
    data of ``min(n_samples, steps * batch_size)`` rows, compiles the linear
    model and fits one epoch; the result is its peak resident memory during
    ``fit`` (``VmHWM``, reset just before) minus its resident memory just
    before ``fit`` (``VmRSS``). That counts what the steps allocate (the
    batch, the activations and gradients, Keras's copy of the data, graph
    tracing) and nothing a previous run left behind. (Not ``ru_maxrss``:
    on Linux a child process inherits its parent's peak, so a probe started
    from a big process would report the parent's memory.) Linux only.

    Args:
        batch_size: samples per update.
        n_samples: size of the dataset the batch size is taken from.
        n_features: features per sample.
        steps: updates to run. Defaults to `3`.
        seed: seed of the random data. Defaults to `0`.
        timeout: seconds to wait for the process. Defaults to `300`.

    Returns:
        ``(added_mb, peak_mb)``: memory added by ``fit`` and the process's
        total peak, in MB.
    """
    _check_batch_size(batch_size)
    code = ("import cookbook.gd_variants as g; "
            f"g._memory_probe({int(batch_size)}, {int(n_samples)}, {int(n_features)}, "
            f"{int(steps)}, {int(seed)})")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"memory probe failed: {result.stderr.strip()[-500:]}")
    before, peak = map(float, result.stdout.split()[-2:])
    return peak - before, peak
