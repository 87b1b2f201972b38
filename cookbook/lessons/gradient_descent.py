"""Measuring batch, stochastic and mini-batch gradient descent run by ``model.fit``.

In Keras the optimizer is only the update rule; how many samples feed one
update is ``batch_size`` in ``model.fit``::

    model.fit(X, y, batch_size=len(X))   # batch gradient descent: 1 update per epoch
    model.fit(X, y, batch_size=1)        # stochastic gradient descent: N updates per epoch
    model.fit(X, y, batch_size=32)       # mini-batch gradient descent: ceil(N / 32)

Recipe 06 writes those calls itself; this module only makes data and
measures. It holds a synthetic linear-regression set (a convex loss whose
minimum ``numpy.linalg.lstsq`` gives), the same quantities computed by hand
in float64 NumPy (the loss, one full-batch step, the Hessian's eigenvalues),
two callbacks that record what ``fit`` does update by update
(``UpdateRecorder``: losses and training time; ``StepTimer``: seconds per
update) with ``warm_up`` to keep compilation off their clocks,
``fit_shuffle_orders`` (which rows each epoch visits), the noise of a
batch's gradient (``gradient_noise`` measures it from any function that
returns batch gradients; ``sampling_noise`` gives sampling theory's value
from ``per_sample_gradients``), ``trajectory_wobble`` (how much the
training loss moves around its trend along a run), and a probe of the peak
memory of ``fit`` in a fresh process.

Symbols: ``X`` is the (N, D) feature matrix, ``w`` the (D,) kernel, ``b`` the
bias, ``y`` the targets, ``lr`` the learning rate, ``B`` the rows of one
batch. The loss of a batch is ``L_B(w, b) = mean over B of (x w + b - y)**2``
and one update is::

    r = X_B w + b - y_B
    w <- w - lr * 2/|B| * X_B^T r
    b <- b - lr * 2/|B| * sum(r)
"""

import math
import sys
import time

from cookbook import processes
from cookbook.errors import LessonError
from cookbook.heads import dense_weights

import keras
import numpy as np

__all__ = [
    "MINIBATCH_SIZE",
    "StepTimer",
    "UpdateRecorder",
    "fit_shuffle_orders",
    "full_batch_step",
    "gradient_noise",
    "hessian_eigenvalues",
    "least_squares",
    "linear_weights",
    "make_linear_data",
    "mse",
    "optimal_learning_rate",
    "peak_fit_memory",
    "per_sample_gradients",
    "sampling_noise",
    "trajectory_wobble",
    "updates_per_epoch",
    "variant_batch_sizes",
    "warm_up",
]

MINIBATCH_SIZE = 32  # the note's mini-batch size, and Keras's default batch_size
DIVERGENCE_FACTOR = 1e3  # UpdateRecorder stops a run whose training loss grew this many times


def updates_per_epoch(n_samples, batch_size):
    """How many optimizer updates one epoch of ``model.fit`` makes: ``ceil(N / batch_size)``.

    The last batch of an epoch is smaller when ``batch_size`` does not
    divide ``n_samples``; it still makes one update.

    Args:
        n_samples: number of training samples N.
        batch_size: samples per update, from 1 to N.

    Raises:
        LessonError: ``batch_size`` is below 1 or not a whole number.
    """
    _check_batch_size(batch_size)
    return math.ceil(n_samples / batch_size)


def variant_batch_sizes(n_samples, minibatch_size=MINIBATCH_SIZE):
    """The three variants of gradient descent as ``{name: batch_size}``, in the note's order.

    Args:
        n_samples: number of training samples N (the batch GD batch size).
        minibatch_size: batch size of the mini-batch variant, capped at N.
            Defaults to `32`.
    """
    return {
        "batch GD": int(n_samples),
        "stochastic GD": 1,
        "mini-batch GD": int(min(minibatch_size, n_samples)),
    }


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise LessonError(
            f"batch_size must be a whole number of at least 1, got {batch_size!r}; "
            "use len(X) for batch GD, 1 for stochastic GD or 32 for mini-batch GD"
        )


# ---------------------------------------------------------------------------
# Data, and the quantities the lesson checks Keras against, in float64 NumPy
# ---------------------------------------------------------------------------


def make_linear_data(n_samples, n_features=5, *, correlation=0.2, noise=0.5, seed=0):
    """A synthetic linear-regression set: ``y = X w_true + 0.3 + noise * N(0, 1)``.

    The features are made exactly standardized: their sample mean is 0,
    every sample variance 1 and every pairwise sample correlation equals
    ``correlation`` (Gaussian draws, whitened, then given that covariance).
    So the MSE's Hessian ``2/N [X 1]^T [X 1]`` has the same eigenvalues for
    any number of rows, ``2 (1 + (D - 1) correlation)``, ``2 (1 - correlation)``
    and 2 (the bias), and batch gradient descent the same speed: condition
    number 2.25 for 5 features at a correlation of 0.2.

    Args:
        n_samples: rows N, at least ``n_features + 1``.
        n_features: features D. Defaults to `5`.
        correlation: correlation between any two features, in [0, 1).
            Defaults to `0.2`.
        noise: standard deviation of the noise; the lowest possible MSE on
            new rows is ``noise**2``. Defaults to `0.5`.
        seed: seed of the generator. Defaults to `0`.

    Returns:
        ``(X, y)``: float32 arrays of shape (N, D) and (N,).

    Raises:
        LessonError: too few rows for the features, or a correlation
            outside [0, 1).
    """
    if n_features < 1 or n_samples <= n_features:
        raise LessonError(f"need more rows than features, got {n_samples} x {n_features}")
    if not 0 <= correlation < 1:
        raise LessonError(f"correlation must be in [0, 1), got {correlation!r}; try 0.2")
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, n_features))
    Z -= Z.mean(axis=0)
    whiten = np.linalg.cholesky(np.linalg.inv(Z.T @ Z / n_samples))  # Z @ whiten has covariance I
    covariance = np.full((n_features, n_features), correlation) + (1 - correlation) * np.eye(n_features)
    X = Z @ whiten @ np.linalg.cholesky(covariance).T
    kernel = 0.6 * np.linspace(1.0, -0.6, n_features)
    y = X @ kernel + 0.3 + noise * rng.standard_normal(n_samples)
    return X.astype("float32"), y.astype("float32")


def mse(X, y, kernel, bias):
    """Mean squared error of the linear model ``X @ kernel + bias``, in float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged run's loss is inf, not a warning
        residual = (
            np.asarray(X, np.float64) @ np.asarray(kernel, np.float64).ravel()
            + float(bias)
            - np.asarray(y, np.float64).ravel()
        )
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
    return (kernel - learning_rate * 2.0 / n * X.T @ residual, float(bias - learning_rate * 2.0 / n * residual.sum()))


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

    Full-batch gradient descent diverges above ``lr = 2 / lambda_max``; the
    ratio ``lambda_max / lambda_min`` (the condition number) sets how many
    full-batch steps it needs: the error shrinks by about
    ``(cond - 1) / (cond + 1)`` per step at the best constant rate.
    """
    X = np.asarray(X, np.float64)
    design = np.hstack([X, np.ones((len(X), 1))])
    return np.linalg.eigvalsh(2.0 / len(X) * design.T @ design)


def optimal_learning_rate(X):
    """Best constant full-batch learning rate ``2 / (lambda_min + lambda_max)`` for MSE.

    This step shrinks the error along the flattest and the steepest
    direction of the quadratic by the same factor.
    """
    eig = hessian_eigenvalues(X)
    return float(2.0 / (eig[0] + eig[-1]))


def linear_weights(model):
    """``(kernel, bias)`` of a linear regression (a model whose only layer is ``Dense(1)``), in float64."""
    dense = model.layers[-1]
    if len(model.layers) != 1 or not isinstance(dense, keras.layers.Dense) or dense.units != 1:
        raise LessonError(
            "UpdateRecorder measures a linear regression: a model whose only layer is "
            "Dense(1); for other models record history.history instead"
        )
    kernel, bias = dense_weights(dense)
    return kernel.ravel(), 0.0 if bias is None else float(bias[0])


# ---------------------------------------------------------------------------
# Callbacks that measure what fit does, update by update
# ---------------------------------------------------------------------------


def warm_up(model, X, y, batch_size):
    """Trace and compile ``model``'s training step before the run that is timed.

    The first call of ``fit`` traces the step into a graph (and compiles
    it with XLA), which takes longer than many updates. This runs ``fit``
    for one call into the compiled step (``steps_per_epoch=1``), then puts
    the weights back and sets ``optimizer.iterations`` to 0, so the next
    ``fit`` starts from the same point and its clock measures training only. For
    optimizers with state (momentum, Adam's moments) use a fresh model
    instead: only the weights and the step counter are restored.
    """
    weights = model.get_weights()
    model.fit(X, y, batch_size=batch_size, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    model.set_weights(weights)
    model.optimizer.iterations.assign(0)


class UpdateRecorder(keras.callbacks.Callback):
    """Records a linear regression's losses and training time after every update.

    At each ``on_train_batch_end`` (after every update with Keras's default
    ``steps_per_execution=1``; after every call into the compiled graph
    otherwise) it stores:

    - ``updates``: ``optimizer.iterations``;
    - ``seconds``: training seconds so far. The clock stops while the
      recorder computes, so measuring is not counted as training, and it
      never runs backward;
    - ``train_loss``: the MSE of the current weights on the whole training
      set (float64 NumPy);
    - ``batch_loss``: the loss of the batch the update was computed on,
      the number the optimizer saw. Keras's ``logs["loss"]`` inside an
      epoch is the running mean of the batches so far, so the recorder
      reads the loss tracker's ``total`` and ``count`` instead and takes
      their increase.

    At each epoch end it also stores ``epoch_updates``, ``epoch_seconds``,
    ``epoch_train_loss`` and ``epoch_val_loss`` (index 0: before training).
    A run whose training loss becomes NaN or grows ``DIVERGENCE_FACTOR``
    times its start is stopped (``model.stop_training``) and marked
    ``diverged``, as ``keras.callbacks.TerminateOnNaN`` does for NaN.

    Args:
        X_train, y_train: the training set passed to ``fit``.
        X_val, y_val: held-out rows for ``epoch_val_loss``. Default to
            `None` (then the validation losses are NaN).
    """

    def __init__(self, X_train, y_train, X_val=None, y_val=None):
        super().__init__()
        self.data = (X_train, y_train, X_val, y_val)
        self.diverged = False
        self.updates, self.seconds, self.train_loss, self.batch_loss = [], [], [], []
        self.epoch_updates, self.epoch_seconds, self.epoch_train_loss, self.epoch_val_loss = [], [], [], []
        self.began = self.paused = 0.0
        self.tracker_before = (0.0, 0.0)
        self.kernel, self.bias = None, None  # final weights (float64), set when fit ends

    def _loss_tracker(self):
        return next(m for m in self.model.metrics if m.name == "loss")

    def _losses(self):
        X_train, y_train, X_val, y_val = self.data
        kernel, bias = linear_weights(self.model)
        val = mse(X_val, y_val, kernel, bias) if X_val is not None else float("nan")
        return mse(X_train, y_train, kernel, bias), val

    def on_train_begin(self, logs=None):
        self.began, self.paused = time.perf_counter(), 0.0
        train, val = self._losses()
        self.updates.append(int(self.model.optimizer.iterations))
        self.seconds.append(0.0)
        self.train_loss.append(train)
        self.epoch_updates.append(self.updates[0])
        self.epoch_seconds.append(0.0)
        self.epoch_train_loss.append(train)
        self.epoch_val_loss.append(val)
        self.began = time.perf_counter()  # the first loss is not training time either

    def on_epoch_begin(self, epoch, logs=None):
        self.tracker_before = (0.0, 0.0)  # fit resets the loss tracker at every epoch start

    def on_train_batch_end(self, batch, logs=None):
        stopped = time.perf_counter()
        tracker = self._loss_tracker()
        total, count = float(tracker.total), float(tracker.count)
        self.batch_loss.append((total - self.tracker_before[0]) / max(count - self.tracker_before[1], 1.0))
        self.tracker_before = (total, count)
        train = mse(self.data[0], self.data[1], *linear_weights(self.model))  # no validation loss per update
        self.updates.append(int(self.model.optimizer.iterations))
        self.seconds.append(stopped - self.began - self.paused)
        self.train_loss.append(train)
        if not np.isfinite(train) or train > DIVERGENCE_FACTOR * self.train_loss[0]:
            self.diverged = True
            self.model.stop_training = True
        self.paused += time.perf_counter() - stopped

    def on_epoch_end(self, epoch, logs=None):
        stopped = time.perf_counter()
        train, val = self._losses()
        self.epoch_updates.append(int(self.model.optimizer.iterations))
        self.epoch_seconds.append(stopped - self.began - self.paused)
        self.epoch_train_loss.append(train)
        self.epoch_val_loss.append(val)
        self.paused += time.perf_counter() - stopped

    def on_train_end(self, logs=None):
        self.kernel, self.bias = linear_weights(self.model)

    def as_arrays(self):
        """Every record as a NumPy array, in a dict keyed by the attribute names."""
        names = (
            "updates",
            "seconds",
            "train_loss",
            "batch_loss",
            "epoch_updates",
            "epoch_seconds",
            "epoch_train_loss",
            "epoch_val_loss",
        )
        return {name: np.asarray(getattr(self, name)) for name in names}


def per_sample_gradients(X, y, kernel, bias):
    """The gradient of each row's squared error ``(x_i w + b - y_i)**2``, in float64.

    Row ``i`` gives ``2 r_i [x_i, 1]`` with ``r_i = x_i w + b - y_i``: the
    gradient with respect to ``(w, b)``, the bias last, as in
    ``model.trainable_weights``. A batch's MSE is the mean of its rows'
    squared errors, so a batch's gradient is the mean of these rows.

    Returns:
        A float64 array of shape (N, D + 1).
    """
    X = np.asarray(X, np.float64)
    residual = X @ np.asarray(kernel, np.float64).ravel() + float(bias) - np.asarray(y, np.float64).ravel()
    return 2.0 * residual[:, None] * np.hstack([X, np.ones((len(X), 1))])


def sampling_noise(X, y, kernel, bias, batch_size):
    """Sampling theory's ``E ||g_B - g||**2`` for batches of ``batch_size`` rows drawn without replacement.

    ``g`` is the full-data gradient of the MSE and ``g_B`` the gradient of a
    batch of ``b`` distinct rows, each batch equally likely (how ``fit``
    with ``shuffle=True`` cuts an epoch). With ``sigma**2``, the mean over
    the N rows of ``||g_i - g||**2`` (``g_i`` from ``per_sample_gradients``),
    the mean of ``b`` rows drawn without replacement has::

        E ||g_B - g||**2 = sigma**2 / b * (N - b) / (N - 1)

    so one row carries ``sigma**2``, 32 rows about 1/32 of it, and all N rows
    none. Computed in float64 at the weights ``(kernel, bias)``.

    Raises:
        LessonError: ``batch_size`` is not a whole number from 1 to N.
    """
    _check_batch_size(batch_size)
    grads = per_sample_gradients(X, y, kernel, bias)
    n = len(grads)
    if batch_size > n:
        raise LessonError(f"batch_size {batch_size} is larger than the {n} rows; use at most len(X)")
    if batch_size == n:
        return 0.0
    sigma2 = float(np.mean(np.sum((grads - grads.mean(axis=0)) ** 2, axis=1)))
    return sigma2 / batch_size * (n - batch_size) / (n - 1)


def gradient_noise(batch_gradients, n_rows, batch_size, *, draws, seed=0):
    """Measured ``E ||g_B - g||**2``: how far batch gradients fall from the full-data gradient.

    Draws ``draws`` batches of ``batch_size`` distinct rows, each batch
    uniformly at random and independently of the others, and asks
    ``batch_gradients`` for their gradients at fixed weights; ``g`` comes
    from one batch of all N rows. A batch of all N rows is the same every
    time, so it is drawn once.

    Args:
        batch_gradients: function from an int array of row indices, shape
            (batches, rows per batch), to the flat gradient of each batch's
            loss, shape (batches, parameters).
        n_rows: rows N of the data.
        batch_size: rows per batch, from 1 to N.
        draws: how many random batches to average over.
        seed: seed of the draws. Defaults to `0`.

    Returns:
        A dict with ``mean``: the mean of ``||g_B - g||**2`` over the draws;
        ``standard_error``: its standard error (the spread of the draws over
        ``sqrt(draws)``; 0 for the full batch); ``draws``.

    Raises:
        LessonError: ``batch_size`` is not a whole number from 1 to N.
    """
    _check_batch_size(batch_size)
    if batch_size > n_rows:
        raise LessonError(f"batch_size {batch_size} is larger than the {n_rows} rows; use at most len(X)")
    rng = np.random.default_rng(seed)
    full = np.asarray(batch_gradients(np.arange(n_rows)[None, :]), np.float64)[0]
    draws = 1 if batch_size == n_rows else int(draws)
    rows = np.argsort(rng.random((draws, n_rows)), axis=1)[:, :batch_size]  # each row a random subset
    squared = np.sum((np.asarray(batch_gradients(rows), np.float64) - full) ** 2, axis=1)
    return {
        "mean": float(squared.mean()),
        "standard_error": float(squared.std(ddof=1) / math.sqrt(draws)) if draws > 1 else 0.0,
        "draws": draws,
    }


def trajectory_wobble(train_loss, last=0.5, rise_tolerance=1e-9):
    """How much the whole training set's loss wobbles along a run, over its last part.

    Args:
        train_loss: the full-data training loss before the first update and
            after each update (``UpdateRecorder.train_loss``).
        last: fraction of the run's updates to use. Defaults to `0.5`.
        rise_tolerance: a rise smaller than this is rounding, not a step
            uphill. Defaults to `1e-9`.

    Returns:
        A dict with ``mean``: the mean loss over the window; ``std_around_trend``:
        the standard deviation of the loss around a straight line fitted to
        it by least squares (so a steady descent or climb is not counted as
        wobble); ``rises``: the share of the window's updates after which
        the loss rose by more than ``rise_tolerance``; ``updates``: how many
        updates the window holds.
    """
    loss = np.asarray(train_loss, np.float64)
    n_updates = len(loss) - 1
    if n_updates < 2:
        raise LessonError(f"need at least 2 updates to measure a wobble, got {n_updates}")
    start = min(int(round(n_updates * (1 - last))), n_updates - 2)  # loss[start] is before update start
    window = loss[start + 1 :]  # the loss after each update of the window
    steps = np.arange(len(window))
    trend = np.polyval(np.polyfit(steps, window, 1), steps)
    return {
        "mean": float(window.mean()),
        "std_around_trend": float(np.std(window - trend)),
        "rises": float(np.mean(np.diff(loss[start:]) > rise_tolerance)),
        "updates": len(window),
    }


def fit_shuffle_orders(n_rows=8, epochs=3, *, seed=0):
    """The order in which ``fit(X, y, batch_size=1, shuffle=True)`` visits the rows, epoch by epoch.

    Row ``i`` gets the target ``i + 1`` and the model predicts 0 and never
    learns (learning rate 0), so the loss of each single-row batch is
    ``(i + 1)**2`` and names the row. ``keras.utils.set_random_seed(seed)``
    runs first, as in a reproducible script. With the TensorFlow backend
    the order is then the same in every epoch of one ``fit`` call: Keras
    draws it with a random op inside its ``tf.data`` pipeline, and every
    epoch's new iterator restarts that op from the same seed
    (tensorflow/tensorflow#35682). Without a global seed the order changes
    from epoch to epoch.

    Returns:
        A list of ``epochs`` lists of row indices.
    """
    keras.utils.set_random_seed(seed)
    X = np.zeros((n_rows, 1), "float32")
    y = np.arange(1, n_rows + 1, dtype="float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mean_squared_error")
    recorder = UpdateRecorder(X, y)
    model.fit(X, y, batch_size=1, epochs=epochs, callbacks=[recorder], verbose=0)
    rows = np.rint(np.sqrt(recorder.batch_loss)).astype(int) - 1
    return rows.reshape(epochs, n_rows).tolist()


class StepTimer(keras.callbacks.Callback):
    """Seconds per update of ``fit``, and the wall time of each epoch.

    Each call into the compiled training step is timed from
    ``on_train_batch_begin`` to ``on_train_batch_end`` (the batch is
    fetched inside the step, so that is included); the updates it made
    come from ``optimizer.iterations``, so ``steps_per_execution`` above 1
    is handled. What ``fit`` does between calls (callbacks, logs) and at each
    epoch (a new pass over the data) is in ``epoch_seconds`` only.
    """

    def __init__(self):
        super().__init__()
        self.call_seconds, self.call_updates, self.epoch_seconds = [], [], []
        self.started = self.epoch_started = 0.0
        self.iterations = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        self.iterations = int(self.model.optimizer.iterations)
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        iterations = int(self.model.optimizer.iterations)  # waits for the step to finish
        self.call_seconds.append(time.perf_counter() - self.started)
        self.call_updates.append(iterations - self.iterations)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self.epoch_started)

    @property
    def seconds_per_update(self):
        """Median over the timed calls of seconds / updates (the median resists a busy machine)."""
        return float(np.median(np.asarray(self.call_seconds) / np.asarray(self.call_updates)))

    @property
    def updates(self):
        """Updates made while timed."""
        return int(np.sum(self.call_updates))


# ---------------------------------------------------------------------------
# Memory: peak resident memory of a few fit updates, in a fresh process
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
    """Run in a fresh interpreter: print RSS before ``fit`` and the peak during it."""
    X, y = make_linear_data(n_samples, n_features, seed=seed)  # the same N rows for every batch size
    model = keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mean_squared_error")
    _reset_peak()
    before = _status_mb("VmRSS")
    model.fit(
        X,
        y,
        batch_size=batch_size,
        epochs=1,
        shuffle=False,
        verbose=0,
        steps_per_epoch=min(steps, updates_per_epoch(n_samples, batch_size)),
    )
    print(f"{before:.3f} {_status_mb('VmHWM'):.3f}")


def peak_fit_memory(batch_size, n_samples, n_features, *, steps=3, seed=0, timeout=300):
    """Peak memory that ``fit`` adds at ``batch_size`` on N rows, measured in a fresh process.

    A new Python process (several seconds to import TensorFlow) builds the
    same ``make_linear_data(n_samples, n_features)`` rows whatever the batch
    size, compiles a linear model with ``keras.optimizers.SGD`` and runs
    ``fit(X, y, batch_size=batch_size, steps_per_epoch=min(steps, ceil(N /
    batch_size)))``. The result is its peak resident memory during ``fit``
    (``VmHWM``, reset just before) minus its resident memory just before
    (``VmRSS``): Keras's copy of the N rows and the tracing of the step are
    the same for every batch size, so what differs is what one update at
    that batch size needs (the batch, its activations and gradients).
    (Not ``ru_maxrss``: on Linux a child inherits its parent's peak.)
    Linux only.

    Args:
        batch_size: samples per update.
        n_samples: rows N of the data, the same for every batch size.
        n_features: features per row.
        steps: updates to run (fewer if an epoch has fewer). Defaults to `3`.
        seed: seed of the data. Defaults to `0`.
        timeout: seconds until the process is killed. Defaults to `300`.

    Returns:
        ``(added_mb, peak_mb)``: memory added by ``fit`` and the process's
        total peak, in MB.

    Raises:
        cookbook.errors.WorkerFailed: the probe process failed (the message
            quotes its last stderr lines).
        cookbook.errors.WorkerTimeout: it was still running after
            ``timeout`` seconds (it was killed).
    """
    _check_batch_size(batch_size)
    code = (
        "import cookbook.lessons.gradient_descent as g; "
        f"g._memory_probe({int(batch_size)}, {int(n_samples)}, {int(n_features)}, "
        f"{int(steps)}, {int(seed)})"
    )
    result = processes.run([sys.executable, "-c", code], timeout=timeout)
    before, peak = map(float, result.stdout.split()[-2:])
    return peak - before, peak
