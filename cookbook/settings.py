"""A lesson's settings: read from the command line in a script, edited in place in a notebook.

Every lesson opens with one settings cell::

    settings = cookbook.settings.from_command_line(
        __doc__, "01_regression_mse", quick=False, seed=0, out="cookbook-out",
        epochs=150, quick_epochs=20, data="diabetes", table=True,
    )

Run as a script (``python recipes/01_regression_mse.py --quick --out D``,
or by ``cookbook tour``), the values in the call are the defaults of the
flags and the command line overrides them. In a notebook the command line
is the kernel's, not the lesson's, so the values in the call are the
settings: a reader edits ``quick=True`` in place.

A bad flag ends a script with one line on stderr and exit status 2, as
argparse does; so does any input the lesson cannot use (``stop``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from cookbook import display
from cookbook.datasets import DATASETS
from cookbook.tables import MISSING_RULES

__all__ = [
    "DEFAULT_OUT",
    "OneLineErrorParser",
    "Settings",
    "from_command_line",
    "needs_fresh_process",
    "needs_tensorflow",
    "out_problem",
    "stop",
]

DEFAULT_OUT = "cookbook-out"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run of a lesson uses.

    Attributes:
        lesson: the lesson's name, ``"01_regression_mse"``; it names every
            file the run writes (``<out>/01_regression_mse_claims.json``).
        quick: a tiny run that finishes in seconds (tests, a first look).
        seed: the random seed.
        out: the folder for tables (CSV, Markdown), figures (PNG) and claims (JSON).
        epochs: training epochs (``quick_epochs`` under ``quick``); ``None``
            in a lesson that does not train with ``fit``.
        steps: optimizer steps, in lessons that count steps instead of epochs.
        data: the bundled dataset (``"diabetes"``), or ``None``.
        csv, target: the user's own table and its target column, instead of ``data``.
        missing: what to do with a row missing a feature: ``"drop"``, or fill with ``"median"``/``"mode"``.
        drop: columns to leave out of ``csv``.
        options: the lesson's own settings by name (``{"hidden": 8}``), from ``options=``.
    """

    lesson: str
    quick: bool = False
    seed: int = 0
    out: pathlib.Path = pathlib.Path(DEFAULT_OUT)
    epochs: int | None = None
    steps: int | None = None
    data: str | None = None
    csv: pathlib.Path | None = None
    target: str | None = None
    missing: str = "drop"
    drop: tuple[str, ...] = ()
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def data_name(self) -> str:
        """A short name of the data for titles: ``Digits`` or ``house.csv``."""
        if self.csv is not None:
            return self.csv.name
        return (self.data or "").replace("_", " ").capitalize()

    @property
    def data_source(self) -> str:
        """Where the rows come from, for messages: ``the bundled diabetes data`` or the CSV's path."""
        return str(self.csv) if self.csv is not None else f"the bundled {self.data} data"


def from_command_line(
    doc: str | None,
    lesson: str,
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | os.PathLike[str] = DEFAULT_OUT,
    epochs: int | None = None,
    quick_epochs: int | None = None,
    steps: int | None = None,
    quick_steps: int | None = None,
    steps_help: str = "optimizer steps",
    data: str | None = None,
    table: bool = False,
    csv: str | os.PathLike[str] | None = None,
    target: str | None = None,
    options: Mapping[str, tuple[Any, str]] | None = None,
    argv: Sequence[str] | None = None,
) -> Settings:
    """The lesson's settings: the values given here, overridden by the command line when run as a script.

    Args:
        doc: the lesson's docstring (``__doc__``); its first line is what ``--help`` says.
        lesson: the lesson's name, e.g. ``"01_regression_mse"``.
        quick, seed, out: the shared settings (flags ``--quick``, ``--seed``, ``--out``).
        epochs: training epochs (flag ``--epochs``); ``None``: the lesson has no such flag.
        quick_epochs: the epochs under ``quick``. Defaults to ``epochs``.
        steps, quick_steps, steps_help: the same for ``--steps``; ``steps_help`` says what one step is.
        data: the bundled dataset the lesson learns from; adds ``--csv PATH --target COLUMN``.
        table: the lesson reads a whole table (``cookbook.loading.load_table``); adds ``--missing`` and ``--drop``.
        csv, target: the user's own table, set in place in a notebook.
        options: the lesson's own settings, ``{name: (value, help)}``: each
            becomes a flag ``--name`` (its type is the value's; ``None``
            takes text) and ``Settings.options[name]``, e.g.
            ``options={"hidden": (0, "relu units of a hidden layer; 0: none")}``.
        argv: the command line to read; defaults to ``sys.argv[1:]``, and is
            ignored in a notebook (a kernel's command line is not the lesson's).

    Returns:
        A frozen ``Settings``.
    """
    parser = _parser(doc, lesson, epochs, quick_epochs, steps, quick_steps, steps_help, data, table)
    options = dict(options or {})
    for name, (value, help_text) in options.items():
        kind = str if value is None else type(value)
        flag = "--" + name.replace("_", "-")
        parser.add_argument(
            flag, dest=f"option_{name}", type=kind, default=value, help=f"{help_text} (default: {value})"
        )
    parser.set_defaults(quick=quick, seed=seed, out=pathlib.Path(out))
    if data is not None:
        parser.set_defaults(csv=pathlib.Path(csv) if csv is not None else None, target=target)
    given = [] if display.in_notebook() else list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(given)
    counts = {"epochs": (epochs, quick_epochs or epochs), "steps": (steps, quick_steps or steps)}
    resolved: dict[str, int | None] = {}
    for flag, (default, quick_default) in counts.items():
        value = getattr(args, flag, None)
        if default is not None and value is None:
            value = quick_default if args.quick else default
        if value is not None and value < 1:
            parser.error(f"--{flag} must be at least 1, got {value}")
        resolved[flag] = value
    problem = out_problem(args.out)
    if problem:
        parser.error(problem)
    if getattr(args, "csv", None) is not None and not args.target:
        parser.error("--csv needs --target COLUMN, the name of the column to predict")
    if getattr(args, "target", None) and getattr(args, "csv", None) is None:
        parser.error("--target goes with --csv PATH; without --csv the bundled data is used")
    return Settings(
        lesson=lesson,
        quick=args.quick,
        seed=args.seed,
        out=args.out,
        data=data,
        csv=getattr(args, "csv", None),
        target=getattr(args, "target", None),
        missing=getattr(args, "missing", "drop"),
        drop=tuple(getattr(args, "drop", ())),
        options={name: getattr(args, f"option_{name}") for name in options},
        **resolved,
    )


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser(doc, lesson, epochs, quick_epochs, steps, quick_steps, steps_help, data, table):
    title, _, rest = (doc or "").strip().partition("\n")
    parser = OneLineErrorParser(
        prog=f"{lesson}.py",
        description=title,
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny run that finishes in a few seconds (for tests and a first look)"
    )
    parser.add_argument("--seed", type=int, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--out", type=pathlib.Path, help="folder for tables (CSV, Markdown), figures (PNG) and claims (JSON)"
    )
    if epochs is not None:
        parser.add_argument(
            "--epochs", type=int, help=f"training epochs (default: {epochs}; {quick_epochs or epochs} with --quick)"
        )
    if steps is not None:
        parser.add_argument(
            "--steps", type=int, help=f"{steps_help} (default: {steps}; {quick_steps or steps} with --quick)"
        )
    _add_data_flags(parser, data, table)
    return parser


def _add_data_flags(parser: argparse.ArgumentParser, data: str | None, table: bool) -> None:
    """Add ``--csv PATH --target COLUMN`` for a lesson on bundled ``data``, and ``--missing``/``--drop`` for a table."""
    if data is None:
        return
    parser.add_argument("--csv", type=pathlib.Path, help=f"train on your own CSV instead of the bundled {data} data")
    parser.add_argument("--target", help=f"target column of --csv (the bundled data uses {DATASETS[data].target!r})")
    if table:
        parser.add_argument(
            "--missing",
            choices=MISSING_RULES,
            default="drop",
            help="rows with a missing feature: drop them (default), or fill the cells with the "
            "training rows' median / most frequent value",
        )
        parser.add_argument(
            "--drop",
            action="append",
            default=[],
            metavar="COLUMN",
            help="leave a column out (an identifier, free text); repeat for several",
        )


def out_problem(out: str | os.PathLike[str]) -> str | None:
    """Why ``out`` cannot hold a lesson's files, or ``None``; nothing is created here."""
    out = pathlib.Path(out)
    if out.exists():
        if not out.is_dir():
            return f"--out {out} is a file; pass a folder (it is created if missing)"
        return None if os.access(out, os.W_OK) else f"--out {out} is not writable; pass a folder you can write to"
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"--out {out} lies under the file {parent}; pass a folder path"
    if not os.access(parent, os.W_OK):
        return f"--out {out} cannot be created: {parent} is not writable; pass a folder you can write to"
    return None


def needs_tensorflow(reason: str) -> str:
    """End the lesson unless Keras runs on TensorFlow; return ``reason``.

    A lesson whose subject is TensorFlow's own API (a ``tf.GradientTape``
    loop, ``tf.distribute``) calls it in its settings cell, right before
    ``import tensorflow``::

        NEEDS_TENSORFLOW = needs_tensorflow("its training loop is tf.GradientTape")
        import tensorflow as tf

    Under ``KERAS_BACKEND=jax`` or ``torch`` the learner gets one line on
    stderr naming the reason and the fix, exit status 2, instead of an
    import error or a traceback from deep inside a TensorFlow call.
    ``cookbook list`` and ``cookbook tour`` read the reason from the source
    without running the lesson, so it must be a string literal.
    """
    from cookbook.errors import WrongBackendError

    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        stop(str(WrongBackendError.needs_tensorflow("this lesson", reason, backend)))
    return reason


def stop(message: str) -> NoReturn:
    """End the lesson with ``<script>: error: <message>`` on stderr and exit status 2.

    For input the lesson cannot use (a bad CSV, a table too small to split):
    the learner reads one line that names the problem and the fix, never a
    traceback. ``cookbook tour`` and the notebooks report that line as the cause.
    """
    prog = pathlib.Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "lesson"
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def needs_fresh_process(reason: str) -> str:
    """Declare that the lesson must start in a Python process of its own; return ``reason``.

    A lesson that configures TensorFlow's devices (two logical CPUs for
    ``MirroredStrategy``) can do so only before TensorFlow's runtime starts,
    so it cannot run after another lesson in the same process. It says so in
    its settings cell, before it imports TensorFlow::

        NEEDS_FRESH_PROCESS = needs_fresh_process("it splits the CPU into two logical devices")

    ``cookbook tour``, ``cookbook run`` and the tests read the reason from the
    source without running the lesson (so it must be a string literal) and
    start the lesson as ``python recipes/NN_topic.py ...`` in a child process.
    A script run and a notebook kernel are fresh processes already.
    """
    return reason
