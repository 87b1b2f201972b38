"""What went wrong in a lesson, in one line, and the one thing to do about it.

The tour's summary, the course site and ``cookbook notebooks`` report a
failed lesson the same way: its cause (the exception's type and message, or
the one line a recipe printed before it stopped) and its fix (the pip
command for a missing module, or the command that shows the whole
traceback). Saved and printed text never carries terminal colour codes.

>>> describe(ModuleNotFoundError("No module named 'jax'", name="jax"), rerun="python -m cookbook run 12")
Failure(cause="ModuleNotFoundError: No module named 'jax'", fix='python -m pip install jax')
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["Failure", "describe", "describe_text", "rerun_command", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
# A pip command a message already spells out (cookbook.porting.keras2_yogi names the tf_keras of your TensorFlow).
_PIP_COMMAND = re.compile(r"python -m pip install [^`\n]+")
# Import names whose package on PyPI has another name.
_PIP_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow", "cv2": "opencv-python"}


@dataclasses.dataclass(frozen=True)
class Failure:
    """A failed lesson, for a reader: ``cause`` says what happened, ``fix`` what to run or change."""

    cause: str
    fix: str


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


def rerun_command(number: int, quick: bool) -> str:
    """The command that runs lesson ``number`` alone, as the tour or the notebook ran it.

    >>> rerun_command(5, quick=True)
    'python -m cookbook run 05 --quick'
    """
    return f"python -m cookbook run {number:02d}" + (" --quick" if quick else "")


def describe(exc: BaseException, *, printed: str = "", rerun: str) -> Failure:
    """The cause and fix of a lesson that raised ``exc``.

    Args:
        exc: what the lesson raised. A ``SystemExit`` is a recipe ending
            itself with one line on stderr (a bad flag, a CSV it cannot use):
            that line, the last of ``printed``, is the cause.
        printed: what the lesson printed before it failed (its log).
        rerun: the command that runs the lesson alone, showing the whole
            traceback; the fix when nothing more precise is known.
    """
    if isinstance(exc, SystemExit):
        lines = [line.strip() for line in strip_ansi(printed).splitlines() if line.strip()]
        cause = lines[-1] if lines and "error" in lines[-1].lower() else f"SystemExit: exit status {exc.code}"
        return Failure(cause, _fix(cause, rerun))
    text = strip_ansi(str(exc))
    message = text.strip().splitlines()
    cause = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    if isinstance(exc, ModuleNotFoundError) and exc.name and "No module named" not in cause:
        cause += f" (No module named '{exc.name}')"  # so _fix finds the module a custom message may not name
    return Failure(cause, _fix(text + "\n" + cause, rerun))


def describe_text(error: str, *, rerun: str) -> Failure:
    """The cause and fix from an error already turned into text: the last line of a notebook's traceback."""
    lines = [line.strip() for line in strip_ansi(error).splitlines() if line.strip()]
    cause = lines[-1] if lines else "unknown error"
    return Failure(cause, _fix(cause, rerun))


def _fix(text: str, rerun: str) -> str:
    command = _PIP_COMMAND.search(text)
    if command:
        return command.group(0).rstrip(" .,;)")
    missing = _MISSING_MODULE.search(text)
    if missing:
        top = missing.group(1).split(".")[0]
        return f"python -m pip install {_PIP_NAMES.get(top, top)}"
    return f"{rerun} (shows the whole traceback)"
