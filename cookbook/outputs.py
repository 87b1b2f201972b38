"""Where a lesson's results go: ``<out>/<lesson>[_name].csv``, ``.md`` and ``.png``.

Each file is named after the lesson (``Settings.lesson``), so one ``--out``
folder holds a whole tour and the course site finds each lesson's files.
"""

from __future__ import annotations

import html
import os
import pathlib
from typing import TYPE_CHECKING

from cookbook import display
from cookbook.settings import Settings, stop

import pandas as pd

if TYPE_CHECKING:  # hints only: a lesson that draws nothing never imports matplotlib
    from matplotlib.figure import Figure

__all__ = ["figure_caption", "output_path", "save_figure", "save_table"]


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
    elif display._publish is not None:  # recorded for the course site: the PNG beside the page, captioned
        caption = figure_caption(fig, name)
        display._publish(
            {"text/html": _figure_html(path.name, caption)},
            f"[figure: {caption} -> {path}]\n",
            {"cookbook": {"figure": path.name}},
        )
    return path


def figure_caption(fig: Figure, name: str) -> str:
    """What a figure shows, in words: its ``suptitle``, else its panels' titles, else its file name's words."""
    suptitle = fig.get_suptitle().strip()  # matplotlib >= 3.8
    if suptitle:
        return suptitle
    titles = [ax.get_title().strip() for ax in fig.axes if ax.get_title().strip()]
    if len(titles) == 1:
        return titles[0]
    if titles:
        return "; ".join(f"({chr(ord('a') + i)}) {t}" for i, t in enumerate(titles))
    return name.replace("_", " ").capitalize()


def _figure_html(filename, caption):
    """A figure as the site shows it: the PNG (a link to itself at full size) over its caption."""
    src, text = html.escape(filename, quote=True), html.escape(caption)
    return (
        f'<figure class="cookbook-figure"><a href="{src}" title="Open the figure at full size">'
        f'<img src="{src}" alt="{html.escape(caption, quote=True)}" loading="lazy"></a>'
        f'<figcaption>{text} <a class="full-size" href="{src}">Open full size</a></figcaption></figure>'
    )
