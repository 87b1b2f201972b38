"""A failed lesson in one line: its cause and the fix, from an exception or from a notebook's traceback."""

import sys

from cookbook import failures
from cookbook.failures import Failure

import pytest

RERUN = "python -m cookbook run 12 --quick"


def _raised(error):
    try:
        raise error
    except BaseException as caught:  # noqa: B036 (the point is to keep any exception)
        return caught


def test_a_missing_module_names_the_pip_command():
    """ModuleNotFoundError: the cause is its type and message, the fix `python -m pip install` of the module."""
    failure = failures.describe(ModuleNotFoundError("No module named 'jax.numpy'", name="jax.numpy"), rerun=RERUN)
    assert failure == Failure("ModuleNotFoundError: No module named 'jax.numpy'", "python -m pip install jax")


def test_a_module_whose_package_has_another_name():
    """`import sklearn` is fixed by installing scikit-learn."""
    failure = failures.describe(ModuleNotFoundError("No module named 'sklearn'", name="sklearn"), rerun=RERUN)
    assert failure.fix == "python -m pip install scikit-learn"


def test_a_message_that_spells_out_its_pip_command_keeps_it():
    """tf_keras must match TensorFlow's X.Y: the message's own command wins over the module's bare name."""
    error = ModuleNotFoundError(
        'needs Keras 2, the tf_keras package: python -m pip install "tf_keras==2.21.*"', name="tf_keras"
    )
    failure = failures.describe(error, rerun=RERUN)
    assert failure.fix == 'python -m pip install "tf_keras==2.21.*"'
    assert (
        failure.cause.startswith("ModuleNotFoundError: needs Keras 2") and "No module named 'tf_keras'" in failure.cause
    )


def test_a_recipe_that_ended_itself_is_described_by_the_line_it_printed():
    """SystemExit(2) after a one-line error: that line is the cause; the fix is to run it alone."""
    printed = "Loading data\n\n05_x.py: error: --csv needs --target COLUMN (see --help)\n"
    failure = failures.describe(_raised(SystemExit(2)), printed=printed, rerun=RERUN)
    assert failure == Failure(
        "05_x.py: error: --csv needs --target COLUMN (see --help)", f"{RERUN} (shows the whole traceback)"
    )


def test_a_silent_exit_still_says_something():
    """SystemExit with nothing printed: the exit status is the cause."""
    assert failures.describe(SystemExit(3), printed="", rerun=RERUN).cause == "SystemExit: exit status 3"


def test_any_other_error_is_its_first_line_and_the_rerun_command():
    """A RuntimeError over several lines: type and first line; the fix runs the lesson alone."""
    failure = failures.describe(RuntimeError("the job failed\nafter 8 launches"), rerun=RERUN)
    assert failure == Failure("RuntimeError: the job failed", f"{RERUN} (shows the whole traceback)")


def test_notebook_tracebacks_lose_their_colour_codes():
    """IPython colours a traceback; the cause read from it is plain text, and names the fix."""
    traceback = "\x1b[0;31m---------\x1b[0m\n\x1b[0;31mModuleNotFoundError\x1b[0m: No module named 'jax'\n"
    failure = failures.describe_text(traceback, rerun=RERUN)
    assert failure == Failure("ModuleNotFoundError: No module named 'jax'", "python -m pip install jax")


@pytest.mark.parametrize("text", ["plain", "\x1b[1;32mgreen\x1b[0m and \x1b[31mred\x1b[39m"])
def test_strip_ansi_leaves_plain_text(text):
    """Colour codes go, the words stay."""
    assert "\x1b" not in failures.strip_ansi(text)
    assert failures.strip_ansi(text).replace(" and ", "") in {"plain", "greenred"}


def test_a_real_failed_import_is_described(monkeypatch):
    """The ModuleNotFoundError Python itself raises for a blocked module gives the same cause and fix."""
    monkeypatch.setitem(sys.modules, "jax_blocked_for_this_test", None)
    with pytest.raises(ModuleNotFoundError) as caught:
        import jax_blocked_for_this_test  # noqa: F401
    failure = failures.describe(caught.value, rerun=RERUN)
    assert failure.fix == "python -m pip install jax_blocked_for_this_test"
