"""Show a lesson's results where it runs: text in a terminal, HTML and Markdown in a notebook.

A third place: while ``cookbook.recorder`` runs a lesson for the tour, what
``show`` and ``show_markdown`` display (and ``cookbook.outputs.save_figure``)
is also recorded as the cell's rich output, so the course site shows the
table as a table under the cell that made it.
"""

from __future__ import annotations

import html
import shutil
import sys
from collections.abc import Callable

import pandas as pd

__all__ = ["in_notebook", "print_table", "show", "show_markdown", "table_html", "to_markdown"]

# Set by cookbook.recorder while it runs a lesson: publish(data, text, metadata=None) records a rich output
# (a {mimetype: str} bundle) under the running cell, and prints ``text`` where the lesson's output goes.
_publish: Callable[..., None] | None = None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), where tables and figures render inline."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def show(table: pd.DataFrame, title: str | None = None) -> pd.DataFrame:
    """Show a DataFrame: printed as text in a terminal, as an HTML table in a notebook.

    Returns ``table`` unchanged, so a lesson can write ``table = show(make_table(), "Title")``.
    """
    if in_notebook():
        from IPython.display import Markdown, display

        if title:
            display(Markdown(f"**{title}**"))
        with pd.option_context("display.float_format", "{:.5g}".format):
            display(table)
    elif _publish is not None:
        _publish({"text/html": table_html(table, title)}, _table_text(table, title))
    else:
        print_table(table, title)
    return table


def show_markdown(text: str, title: str | None = None) -> None:
    """Show Markdown: rendered in a notebook, printed as it is (under an underlined title) in a terminal."""
    markdown = (f"**{title}**\n\n" if title else "") + text
    if in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(markdown))
    elif _publish is not None:
        _publish({"text/markdown": markdown}, _heading(title) + text + "\n")
    else:
        print(_heading(title) + text)


def print_table(table: pd.DataFrame, title: str | None = None) -> None:
    """Print a DataFrame the way a learner reads it: titled, no index, 4-5 digits."""
    print(_table_text(table, title), end="")


def _heading(title):
    """A title as a terminal shows it: after a blank line, underlined."""
    return f"\n{title}\n{'-' * len(title)}\n" if title else ""


def _table_text(table, title):
    # to_string ignores display.width: line_width makes a wide table wrap into column blocks
    # that fit the terminal, instead of lines the terminal breaks mid-cell.
    width = max(shutil.get_terminal_size((120, 24)).columns, 80)
    with pd.option_context("display.float_format", "{:.5g}".format):
        return _heading(title) + table.to_string(index=False, line_width=width) + "\n"


def table_html(table: pd.DataFrame, title: str | None = None) -> str:
    """A DataFrame as the course site shows it: an HTML table in its own scrolling box, titled.

    Numbers are right-aligned with 4-5 significant digits (``class="num"``),
    text is left-aligned, missing values are blank, and a wide table scrolls
    inside its box instead of widening the page.
    """
    numeric = [pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) for dtype in table.dtypes]

    def cell(value, is_number):
        if value is None or (isinstance(value, float) and value != value):
            text = ""
        elif isinstance(value, float):
            text = f"{value:.5g}"
        else:
            text = str(value)
        return f'<td class="num">{html.escape(text)}</td>' if is_number else f"<td>{html.escape(text)}</td>"

    head = "".join(
        f'<th class="num">{html.escape(str(c))}</th>' if n else f"<th>{html.escape(str(c))}</th>"
        for c, n in zip(table.columns, numeric)
    )
    rows = "".join(
        "<tr>" + "".join(cell(v, n) for v, n in zip(row, numeric)) + "</tr>" for row in table.itertuples(index=False)
    )
    caption = f'<p class="table-title">{html.escape(title)}</p>' if title else ""
    return (
        f'<div class="cookbook-table">{caption}<div class="table-scroll"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></div>"
    )


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (pandas' own needs ``tabulate``)."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
