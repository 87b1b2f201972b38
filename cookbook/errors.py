"""Every error the cookbook raises, in one place.

All are ``ValueError`` subclasses of ``CookbookError``, so ``except ValueError``
keeps working in user code, and each message names the problem and the fix.
The optimizer files in ``cookbook/optimizers/`` raise plain ``ValueError``
instead: each must work copied alone into a project, without this module.
"""


class CookbookError(ValueError):
    """Base class of every error the cookbook raises: bad input, or a child process it ran that failed."""


# ---------------------------------------------------------------- the library


class DataError(CookbookError):
    """A dataset or CSV file that cannot be used for training as it is."""


class SetupError(CookbookError):
    """An output layer, loss and labels that do not fit together (see ``cookbook.check_setup``)."""


class FitError(CookbookError):
    """``fit`` arguments whose run cannot mean anything, or that ``cookbook.check_fit`` cannot read."""


class HeadConversionError(CookbookError):
    """A model whose last layer is not the head a conversion expects (``cookbook.sigmoid_to_softmax``)."""


class BackupMismatch(CookbookError):
    """A backup folder written by another model or optimizer than the one resuming (``cookbook.BackupAndRestore``)."""


# ---------------------------------------------------------------- the lessons and their tools


class LessonError(CookbookError):
    """An argument a lesson's helper (``cookbook.lessons``) cannot use."""


class LandscapeError(LessonError):
    """A start point, step count or optimizer that ``cookbook.lessons.landscapes.run_path`` cannot use."""


class StrategyScopeError(LessonError):
    """A model or optimizer created outside ``strategy.scope()``, then trained inside it."""


class LessonFormatError(CookbookError):
    """A recipe file that does not have the lesson shape (no ``main``, a marker-less main...)."""


class RecipeNotFound(CookbookError):
    """No recipes folder, or no recipe matching a name or number."""


class NotebookError(CookbookError):
    """A notebook could not be written or executed (missing extra, failing cell)."""


class SiteError(CookbookError):
    """The course site cannot be built from a folder: no tour ran there, or Sphinx stopped with an error."""


class WrongBackendError(CookbookError):
    """TensorFlow code (a recipe's ``NEEDS_TENSORFLOW``, a tf.GradientTape helper) asked to run on another backend."""

    @classmethod
    def needs_tensorflow(cls, what: str, reason: str, backend: str) -> "WrongBackendError":
        """The one wording: ``"<what> needs TensorFlow (<reason>) and Keras runs on <backend> here; run it with ..."``."""
        return cls(
            f"{what} needs TensorFlow ({reason}) and Keras runs on {backend} here; run it with KERAS_BACKEND=tensorflow"
        )


# ---------------------------------------------------------------- child processes


class WorkerFailed(CookbookError):
    """A child process ended with an error; the launcher stopped the others.

    Attributes:
        worker: index of the child that failed first (``None`` for a timeout).
        results: one ``cookbook.processes.WorkerResult`` per child, after every
            process was reaped.
    """

    def __init__(self, message, worker=None, results=()):
        super().__init__(message)
        self.worker = worker
        self.results = list(results)


class WorkerTimeout(WorkerFailed):
    """Children still running at the launcher's deadline; they were killed."""
