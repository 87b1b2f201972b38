"""The errors the cookbook raises for bad input.

All are ``ValueError`` subclasses, so ``except ValueError`` keeps working in
user code, and each message names the problem and the fix.
"""


class CookbookError(ValueError):
    """Base class of every error the cookbook raises for bad input."""


class DataError(CookbookError):
    """A dataset or CSV file that cannot be used for training as it is."""


class SetupError(CookbookError):
    """An output layer, loss and labels that do not fit together (see ``cookbook.check_setup``)."""
