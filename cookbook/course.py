"""The course page: every lesson of a tour on one self-contained HTML page.

``python -m cookbook tour`` calls ``write_course_page`` when it has run the
recipes. For each lesson, in curriculum order, the page shows its title and
number, its prose and its Keras code (the cells of ``main``, highlighted;
the module's helpers folded away), then what this run produced: its tables
(the CSV files it wrote) as HTML tables, its figures (the PNG files, next to
the page) and its "What to remember" points with this run's numbers. A
lesson that failed says so in its place. The page loads nothing from the
network: styles are inline and figures are relative file paths.
"""

from __future__ import annotations

import datetime
import functools
import html
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cookbook.cells import LessonFormatError, lesson_cells
from cookbook.failures import strip_ansi
from cookbook.parts import part_of

import pandas as pd

if TYPE_CHECKING:  # hints only: curriculum imports Keras
    from cookbook.curriculum import Recipe
    from cookbook.failures import Failure

__all__ = ["write_course_page"]

LOG_TAIL_LINES = 40  # of a failed lesson's log, shown folded under its banner
MAX_TABLE_ROWS = 60  # longer tables are cut, with a note; the CSV next to the page has them all
OPEN_TABLE_ROWS = 25  # longer tables are folded under a "details" line a reader can open

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; }
main { max-width: 1000px; margin: 0 auto; padding: 1rem 2rem 4rem; }
nav { background: #f6f8fa; border-bottom: 1px solid #d0d7de; padding: 0.6rem 2rem; }
nav ol { columns: 2; margin: 0.4rem 0; list-style: none; padding-left: 0.5rem; }
nav li.part { font-weight: 600; margin-top: 0.4rem; break-after: avoid; }
h2.part { font-size: 1.6rem; margin-top: 3rem; color: #0969da; }
section.lesson { border-top: 2px solid #d0d7de; margin-top: 2.5rem; padding-top: 0.5rem; }
h1 { font-size: 1.8rem; } h2 { font-size: 1.45rem; } h3 { font-size: 1.15rem; }
.settings { color: #57606a; font-size: 0.9rem; }
.code { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.2rem 0.8rem;
        overflow-x: auto; font-size: 0.85rem; margin: 0.6rem 0; }
.code pre { margin: 0.4rem 0; }
details { margin: 0.8rem 0; } summary { cursor: pointer; color: #0969da; }
table.dataframe { border-collapse: collapse; font-size: 0.82rem; margin: 0.6rem 0 1.2rem; display: block;
                  overflow-x: auto; }
table.dataframe th, table.dataframe td { border: 1px solid #d0d7de; padding: 0.2rem 0.5rem; text-align: right; }
table.dataframe th { background: #f6f8fa; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.85rem; }
.failed { background: #ffebe9; border: 1px solid #ff8182; padding: 0.6rem 1rem; border-radius: 6px; }
.failed code { white-space: pre-wrap; word-break: break-word; }
nav li.toc-failed a { color: #cf222e; } nav li.toc-skipped a { color: #9a6700; }
.mark { font-size: 0.75rem; font-weight: 600; border-radius: 4px; padding: 0 0.3rem; margin-left: 0.3rem; }
.toc-failed .mark { background: #ffebe9; color: #cf222e; border: 1px solid #ff8182; }
.toc-skipped .mark { background: #fff8c5; color: #9a6700; border: 1px solid #d4a72c; }
.skipped { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 1rem; border-radius: 6px; }
.remember { background: #ddf4ff; border: 1px solid #54aeff; padding: 0.2rem 1rem; border-radius: 6px; }
"""


def write_course_page(
    out: str | os.PathLike[str],
    recipes: Sequence[Recipe],
    statuses: Mapping[str, str],
    settings: Mapping[str, object],
    failures: Mapping[str, Failure] | None = None,
) -> pathlib.Path:
    """Write ``<out>/index.html`` from the recipes' sources and the files the tour wrote.

    Args:
        out: the tour's output folder (tables, figures and logs are there).
        recipes: the ``cookbook.curriculum.Recipe`` list, in curriculum order.
        statuses: ``{recipe name: "ok", "skipped: ..." or "failed: ..."}``.
        settings: ``{label: value}`` shown at the top (mode, seed, versions, date).
        failures: ``{recipe name: cookbook.failures.Failure}`` of the lessons
            that failed: each one's banner gives the cause and the fix, and
            the contents mark it.

    Returns:
        The path of the page.
    """
    out = pathlib.Path(out)
    failures = failures or {}
    sections, toc = [], []
    part = None
    for recipe in recipes:
        if part_of(recipe.number) != part:  # a new part: its heading in the contents and in the page
            part = part_of(recipe.number)
            title = html.escape(part.title if part else "More lessons")
            toc.append(f'<li class="part">{title}</li>')
            sections.append(f'<h2 class="part">{title}</h2>')
        anchor = f"lesson-{recipe.number:02d}"
        status = statuses.get(recipe.name, "not run")
        state = "ok" if status == "ok" else "skipped" if status.startswith("skipped") else "failed"
        mark = "" if state == "ok" else f' <span class="mark">{state}</span>'
        toc.append(
            f'<li class="toc-{state}"><a href="#{anchor}">{recipe.number:02d}. {html.escape(recipe.title)}</a>{mark}</li>'
        )
        sections.append(_lesson_section(out, recipe, status, anchor, failures.get(recipe.name)))
    settings_text = " · ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in settings.items())
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keras-cookbook: loss functions and optimizers in Keras 3</title>
<style>{_CSS}{_code_css()}</style>
</head>
<body>
<nav>
<strong>keras-cookbook</strong> · the course, as run on this machine
<ol>{"".join(toc)}</ol>
</nav>
<main>
<h1>Loss functions and optimizers in Keras 3</h1>
<p class="settings">Built by <code>python -m cookbook tour</code> · {settings_text}</p>
<p>Each lesson shows its prose and the Keras code it teaches, then the tables, figures and
"what to remember" points of this run. Every number on this page was measured by the run that built it.</p>
{"".join(sections)}
</main>
</body>
</html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _lesson_section(out, recipe, status, anchor, failure=None):
    parts = [f'<section class="lesson" id="{anchor}">', f"<h2>{recipe.number:02d}. {html.escape(recipe.title)}</h2>"]
    skipped = status.startswith("skipped")
    if skipped:  # a TensorFlow lesson under another backend: nothing of this run to show
        parts.append(
            f'<p class="skipped"><strong>This lesson was skipped</strong>: '
            f"{html.escape(status.removeprefix('skipped: '))}. Run the tour with "
            "<code>KERAS_BACKEND=tensorflow</code> to see it.</p>"
        )
    elif status != "ok":
        parts.append(_failed_banner(out / f"{recipe.name}.log", status, failure))
    try:
        cells = lesson_cells(recipe.path.read_text(encoding="utf-8"), recipe.path.name)
    except (LessonFormatError, OSError) as exc:
        parts.append(f'<p class="failed">The recipe file cannot be read as a lesson: {html.escape(str(exc))}</p>')
        cells = []
    if cells:
        _, _, summary = cells[0].text.partition("\n")
        parts.append(_markdown(summary))
        helpers = [c for c in cells if c.part == "module"]
        if helpers:
            parts.append(
                "<details><summary>Setup and helpers (imports, constants, measuring and plotting)"
                "</summary>" + "".join(_cell_html(c) for c in helpers) + "</details>"
            )
        parts += [_cell_html(c) for c in cells if c.part == "lesson"]
    if skipped:
        parts.append("</section>")
        return "\n".join(parts)
    parts.append("<h3>This run</h3>")
    parts += _tables_html(out, recipe.name)
    parts += _figures_html(out, recipe.name)
    remember = out / f"{recipe.name}_remember.md"
    if remember.exists():
        text = remember.read_text(encoding="utf-8")
        parts.append(f'<div class="remember">{_markdown(text.replace("## ", "#### ", 1))}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _failed_banner(log, status, failure):
    """The box in a failed lesson's place: what happened, what to do, and the end of what it printed."""
    cause = failure.cause if failure else status.removeprefix("failed: ")
    fix = f"<br>Fix: <code>{html.escape(failure.fix)}</code>" if failure else ""
    try:
        tail = strip_ansi(log.read_text(encoding="utf-8", errors="replace")).splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        tail = []
    printed = (
        f"<details><summary>{'The last line' if len(tail) == 1 else f'The last {len(tail)} lines'} it printed "
        f'(all in <a href="{log.name}">{html.escape(log.name)}</a>)</summary>'
        f'<pre class="code">{html.escape(chr(10).join(tail))}</pre></details>'
        if tail
        else ""
    )
    return (
        '<div class="failed"><p><strong>This lesson failed during the tour</strong>: '
        f"<code>{html.escape(cause)}</code>{fix}</p>"
        f"<p>What it wrote before failing (tables, figures) is shown below.</p>{printed}</div>"
    )


def _cell_html(cell):
    if cell.kind == "markdown":  # a lesson's "## Data" sits one level below the lesson's own title
        return _markdown("\n".join("#" + line if line.startswith("#") else line for line in cell.text.splitlines()))
    return f'<div class="code">{_highlight(cell.text)}</div>'


def _tables_html(out, name):
    parts = []
    for csv in sorted(out.glob(f"{name}*.csv")):
        try:
            table = pd.read_csv(csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            continue
        label = csv.stem[len(name) :].lstrip("_").replace("_", " ") or "main table"
        cut = len(table) > MAX_TABLE_ROWS
        shown = table.head(MAX_TABLE_ROWS) if cut else table
        note = f" (first {MAX_TABLE_ROWS} of {len(table)} rows; all in {csv.name})" if cut else ""
        title = (
            f"<strong>{html.escape(label)}</strong>{html.escape(note)} · "
            f'<a href="{csv.name}">{html.escape(csv.name)}</a>'
        )
        rendered = shown.to_html(index=False, border=0, float_format=lambda v: f"{v:.5g}", na_rep="")
        if len(table) > OPEN_TABLE_ROWS:  # long data (paths, grids): folded, so the lesson stays readable
            parts.append(f"<details><summary>{title}: {len(table)} rows</summary>{rendered}</details>")
        else:
            parts.append(f"<p>{title}</p>{rendered}")
    return parts


def _figures_html(out, name):
    return [
        f'<figure><img src="{png.name}" alt="{html.escape(png.stem.replace("_", " "))}">'
        f"<figcaption>{html.escape(png.name)}</figcaption></figure>"
        for png in sorted(out.glob(f"{name}*.png"))
    ]


def _markdown(text):
    return _markdown_parser().render(text)


@functools.lru_cache(maxsize=1)
def _markdown_parser():
    # Imported on first use, so the CLI starts without them; one parser serves every cell of the page.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _highlight(code):
    from pygments import highlight

    lexer, formatter = _code_highlighter()
    return highlight(code, lexer, formatter)


@functools.lru_cache(maxsize=1)
def _code_highlighter():
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return PythonLexer(), HtmlFormatter(nowrap=False)


def _code_css():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".code .highlight")


def default_settings(quick: bool, seed: int) -> dict[str, object]:
    """The settings line of the page: mode, seed, Keras/TensorFlow/backend versions and the date."""
    import keras

    settings = {
        "mode": "quick" if quick else "default",
        "seed": seed,
        "Keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    try:
        import tensorflow as tf

        settings["TensorFlow"] = tf.__version__
    except ImportError:
        pass
    settings["built"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return settings
