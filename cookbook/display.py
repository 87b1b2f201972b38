"""Show a lesson's results where it runs: text in a terminal, HTML and Markdown in a notebook."""

from __future__ import annotations

import shutil
import sys

import pandas as pd

__all__ = ["in_notebook", "print_table", "show", "show_markdown", "to_markdown"]


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
    else:
        print_table(table, title)
    return table


def show_markdown(text: str, title: str | None = None) -> None:
    """Show Markdown: rendered in a notebook, printed as it is (under an underlined title) in a terminal."""
    if in_notebook():
        from IPython.display import Markdown, display

        display(Markdown((f"**{title}**\n\n" if title else "") + text))
    else:
        if title:
            print(f"\n{title}\n{'-' * len(title)}")
        print(text)


def print_table(table: pd.DataFrame, title: str | None = None) -> None:
    """Print a DataFrame the way a learner reads it: titled, no index, 4-5 digits."""
    if title:
        print(f"\n{title}\n{'-' * len(title)}")
    # to_string ignores display.width: line_width makes a wide table wrap into column blocks
    # that fit the terminal, instead of lines the terminal breaks mid-cell.
    width = max(shutil.get_terminal_size((120, 24)).columns, 80)
    with pd.option_context("display.float_format", "{:.5g}".format):
        print(table.to_string(index=False, line_width=width))


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
