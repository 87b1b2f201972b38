"""What every recipe shares: its flags, its data, and where its results go.

A recipe is a script ``recipes/NN_topic.py`` with ``main(argv=None)`` that
returns a ``pandas.DataFrame``. This module keeps the common parts out of
the lessons so each one reads as the lesson itself::

    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=200,
                                         quick_epochs=10, dataset="diabetes")
    args = cookbook.recipe.parse_args(parser, argv)
    X, y = cookbook.recipe.load_data(args)          # bundled data or --csv
    ...
    cookbook.recipe.save_table(table, args)          # CSV + Markdown
    cookbook.recipe.save_figure(fig, args, "loss")   # PNG

Flags every recipe has: ``--quick`` (a few seconds, for tests), ``--seed``,
``--out DIR``; ``--epochs`` where it trains; ``--csv PATH --target COLUMN``
where it learns from a table. A bad flag or a bad CSV ends the script with
one line on stderr and exit status 2, as argparse does for a bad flag.

The shape of a lesson (one mechanism for the script, the tests, the tour and
the notebooks)::

    '''Title.

    What it teaches in two sentences; which recipe it builds on; how to run it.
    '''

    # %% [markdown]              module level: imports, named constants, and the
    # ## Setup                   helpers that only measure and plot
    # %%
    import cookbook
    import keras
    LEARNING_RATE = 0.01

    # %%
    def main(argv=None):
        args = cookbook.recipe.parse_args(make_parser(), argv)

        # %% [markdown]          the lesson itself: cells *inside* main,
        # ## Data                indented, each a step a learner runs and sees
        # %%
        X, y = cookbook.recipe.load_data(args)
        cookbook.recipe.show(X.head(), "The first rows")
        ...
        # %% [markdown]
        # ## What to remember
        # %%
        cookbook.recipe.remember([f"... {measured:.3g} ..."])
        return table

    if __name__ == "__main__":
        main()

Importing a recipe trains nothing (the tests and ``cookbook tour`` call
``main(argv)`` and read the DataFrame it returns); running it as a script
runs ``main()``; and a notebook is the module's cells followed by the cells
of ``main``'s body, dedented, with ``argv`` set in a first cell, so every
Keras call the lesson teaches (``compile``, ``fit``, ``apply_gradients``)
sits in its own cell and shows its result. ``show``, ``save_figure`` and
``remember`` print in a terminal and render in a notebook.

A lesson is Keras code, and runs on any Keras backend (``KERAS_BACKEND``),
unless what it teaches is TensorFlow's own API (a ``tf.GradientTape`` loop,
``tf.distribute``). Such a recipe says so at module level, right before
``import tensorflow``, with the reason as a string literal::

    NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow("its training loop is tf.GradientTape")
    import tensorflow as tf  # noqa: E402  (after the check)

``cookbook list`` and ``cookbook tour`` read that reason from the source
without importing the recipe: the tour skips the lesson under another
backend and says why, and the script itself stops there with one line
naming the reason and the fix (``KERAS_BACKEND=tensorflow``), exit status 2.
"""

from __future__ import annotations

import argparse
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NoReturn

from cookbook import display, figures, loading, outputs, tables
from cookbook import settings as settings_module
from cookbook.datasets import Split
from cookbook.settings import DEFAULT_OUT, OneLineErrorParser, Settings, add_data_flags, out_problem

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # hints only: a recipe that draws nothing never imports matplotlib
    from matplotlib.figure import Figure

__all__ = [
    "OneLineErrorParser",
    "class_labels",
    "plain_log_ticks",
    "data_name",
    "fail",
    "load_data",
    "load_table",
    "make_parser",
    "needs_tensorflow",
    "parse_args",
    "print_table",
    "remember",
    "save_figure",
    "save_table",
    "show",
    "split",
    "split_table",
    "to_markdown",
]


def make_parser(
    doc: str | None,
    file: str | os.PathLike[str],
    *,
    epochs: int | None = None,
    quick_epochs: int | None = None,
    steps: int | None = None,
    quick_steps: int | None = None,
    steps_help: str = "optimizer steps",
    dataset: str | None = None,
    table: bool = False,
) -> OneLineErrorParser:
    """Build the recipe's argument parser with the shared flags.

    Args:
        doc: the recipe's module docstring; its first line becomes the
            description shown by ``--help``.
        file: the recipe's ``__file__``; its stem (``01_regression_mse``)
            names the files the recipe writes.
        epochs: default for ``--epochs``; ``None`` for recipes that do not
            train with ``model.fit`` (no ``--epochs`` flag is added).
        quick_epochs: epochs used under ``--quick`` unless ``--epochs`` is
            given too. Defaults to ``epochs``.
        steps, quick_steps, steps_help: the same for ``--steps``, in recipes
            that count optimizer steps instead of epochs; ``steps_help``
            says what one step is.
        dataset: name of the bundled dataset the recipe uses. Setting it
            adds ``--csv PATH --target COLUMN`` for the user's own table.
        table: the recipe reads its data with ``load_table`` (text classes,
            categorical columns, missing values); adds ``--missing`` and
            ``--drop``.
    """
    title, _, rest = (doc or "").strip().partition("\n")
    parser = OneLineErrorParser(
        prog=pathlib.Path(file).name,
        description=title,
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(
        recipe=pathlib.Path(file).stem,
        dataset=dataset,
        _parser=parser,
        _counts={"epochs": (epochs, quick_epochs or epochs), "steps": (steps, quick_steps or steps)},
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny run that finishes in a few seconds (for tests and a first look)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path(DEFAULT_OUT),
        help=f"folder for tables (CSV, Markdown) and figures (PNG) (default: {DEFAULT_OUT})",
    )
    if epochs is not None:
        parser.add_argument(
            "--epochs",
            type=int,
            default=None,
            help=f"training epochs (default: {epochs}; {quick_epochs or epochs} with --quick)",
        )
    if steps is not None:
        parser.add_argument(
            "--steps",
            type=int,
            default=None,
            help=f"{steps_help} (default: {steps}; {quick_steps or steps} with --quick)",
        )
    add_data_flags(parser, dataset, table)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` and check the shared flags; exit 2 on a bad one."""
    args = parser.parse_args(argv)
    for flag, (default, quick_default) in args._counts.items():
        if default is None:
            continue  # this recipe has no such flag
        given = getattr(args, flag)
        if given is None:
            setattr(args, flag, quick_default if args.quick else default)
        elif given < 1:
            parser.error(f"--{flag} must be at least 1, got {given}")
    problem = out_problem(args.out)
    if problem:
        parser.error(problem)
    if getattr(args, "csv", None) is not None and not args.target:
        parser.error("--csv needs --target COLUMN, the name of the column to predict")
    if getattr(args, "target", None) and getattr(args, "csv", None) is None:
        parser.error("--target goes with --csv PATH; without --csv the bundled data is used")
    _LESSON["args"] = args  # where remember() saves the lesson's points
    return args


# The flags of the lesson running now (one at a time, in-process).
_LESSON: dict[str, argparse.Namespace | None] = {"args": None}


needs_tensorflow = settings_module.needs_tensorflow


def fail(args: argparse.Namespace, message: str) -> NoReturn:
    """End the recipe with one line on stderr and exit status 2."""
    parser: argparse.ArgumentParser = args._parser  # set by make_parser; its exit() never returns
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def _settings(args: argparse.Namespace) -> Settings:
    """The lesson settings that ``args`` (from ``parse_args``) stand for."""
    return Settings(
        lesson=getattr(args, "recipe", "recipe"),
        quick=getattr(args, "quick", False),
        seed=getattr(args, "seed", 0),
        out=getattr(args, "out", pathlib.Path(DEFAULT_OUT)),
        epochs=getattr(args, "epochs", None),
        steps=getattr(args, "steps", None),
        data=getattr(args, "dataset", None),
        csv=getattr(args, "csv", None),
        target=getattr(args, "target", None),
        missing=getattr(args, "missing", "drop"),
        drop=tuple(getattr(args, "drop", ())),
    )


def load_data(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.Series]:
    """``cookbook.loading.load_data`` for a recipe's ``args``."""
    return loading.load_data(_settings(args))


def load_table(args: argparse.Namespace, task: str, *, positive: object = None) -> tables.Table:
    """``cookbook.loading.load_table`` for a recipe's ``args``."""
    return loading.load_table(_settings(args), task, positive=positive)


def split_table(args: argparse.Namespace, table: tables.Table, *, stratify: bool = False) -> tables.TableSplit:
    """``cookbook.loading.split_table`` for a recipe's ``args``."""
    return loading.split_table(_settings(args), table, stratify=stratify)


def split(args: argparse.Namespace, X: pd.DataFrame, y: pd.Series, *, stratify: bool = False) -> Split:
    """``cookbook.loading.split`` for a recipe's ``args``."""
    return loading.split(_settings(args), X, y, stratify=stratify)


def data_name(args: argparse.Namespace) -> str:
    """A short name for the data the recipe runs on, for titles: ``Digits`` or ``house.csv``."""
    return _settings(args).data_name


def class_labels(args: argparse.Namespace, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``cookbook.loading.class_labels`` (``args`` kept for the recipes that pass it)."""
    return loading.class_labels(y)


def _out_path(args, name, suffix):
    return outputs.output_path(_settings(args), name, suffix)


def save_table(
    table: pd.DataFrame, args: argparse.Namespace, name: str | None = None
) -> tuple[pathlib.Path, pathlib.Path]:
    """``cookbook.outputs.save_table`` for a recipe's ``args``."""
    return outputs.save_table(table, _settings(args), name)


def save_figure(fig: Figure, args: argparse.Namespace, name: str) -> pathlib.Path:
    """``cookbook.outputs.save_figure`` for a recipe's ``args``."""
    return outputs.save_figure(fig, _settings(args), name)


plain_log_ticks = figures.plain_log_ticks
_in_notebook = display.in_notebook
show = display.show


def remember(points: Iterable[object], title: str = "What to remember") -> list[str]:
    """End a lesson with its 2-4 points, each stating a number this run measured.

    The points are printed (rendered in a notebook) and saved as
    ``<out>/<recipe>_remember.md`` for the course page.

    Args:
        points: sentences, each an f-string with the measured figure in it.
        title: the heading printed above them.

    Returns:
        The points, as a list.
    """
    texts = [str(point) for point in points]
    if _LESSON.get("args") is not None:  # also as <out>/<recipe>_remember.md, for the course page
        path = _out_path(_LESSON["args"], "remember", ".md")
        path.write_text(f"## {title}\n\n" + "".join(f"- {text}\n" for text in texts), encoding="utf-8")
    if _in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(f"**{title}**\n\n" + "\n".join(f"- {text}" for text in texts)))
    else:
        print(f"\n{title}\n{'-' * len(title)}")
        for text in texts:
            print(f"- {text}")
    return texts


print_table = display.print_table
to_markdown = display.to_markdown
