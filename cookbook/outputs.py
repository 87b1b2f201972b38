"""Where a lesson's results go: ``<out>/<lesson>[_name].csv``, ``.md`` and ``.png``.

Each file is named after the lesson (``Settings.lesson``), so one ``--out``
folder holds a whole tour and the course page finds each lesson's files.
"""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING

from cookbook import display
from cookbook.settings import Settings, stop

import pandas as pd

if TYPE_CHECKING:  # hints only: a lesson that draws nothing never imports matplotlib
    from matplotlib.figure import Figure

__all__ = ["output_path", "save_figure", "save_table"]


def output_path(settings: Settings, name: str | None, suffix: str) -> pathlib.Path:
    """``<out>/<lesson>_<name><suffix>`` (no ``_<name>`` when ``name`` is empty); creates ``out``."""
    try:
        os.makedirs(settings.out, exist_ok=True)
    except OSError as exc:  # checked with the settings, but a path can still refuse (e.g. under /proc)
        stop(f"--out {settings.out} cannot be created ({exc.strerror}); pass a folder you can write to")
    stem = settings.lesson if not name else f"{settings.lesson}_{name}"
    return pathlib.Path(settings.out) / f"{stem}{suffix}"


def save_table(table: pd.DataFrame, settings: Settings, name: str | None = None) -> tuple[pathlib.Path, pathlib.Path]:
    """Write ``table`` as ``<out>/<lesson>[_name].csv`` and ``.md``; return both paths."""
    csv_path = output_path(settings, name, ".csv")
    md_path = csv_path.with_suffix(".md")
    table.to_csv(csv_path, index=False)
    md_path.write_text(display.to_markdown(table) + "\n", encoding="utf-8")
    return csv_path, md_path


def save_figure(fig: Figure, settings: Settings, name: str) -> pathlib.Path:
    """Write a ``matplotlib.figure.Figure`` as ``<out>/<lesson>_<name>.png`` (and show it in a notebook).

    Lessons build figures with ``matplotlib.figure.Figure`` rather than
    ``pyplot``: no GUI backend, no global state, nothing to close, and the
    script never blocks on a window.
    """
    path = output_path(settings, name, ".png")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    if display.in_notebook():  # show the saved PNG: it needs no matplotlib backend in the kernel
        from IPython.display import Image
        from IPython.display import display as show_inline

        show_inline(Image(filename=str(path)))
    return path
