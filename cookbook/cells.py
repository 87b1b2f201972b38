"""Read a lesson file as its cells.

A lesson is a script in jupytext's "percent" format: its header docstring,
then top-level ``# %%`` code cells and ``# %% [markdown]`` prose cells. Its
cells are the header (as markdown, part ``"header"``) and then every cell in
file order (part ``"lesson"``); the ``if __name__ == "__main__"`` guard, if
any, is left out. ``cookbook.notebooks`` writes these cells as a Jupyter notebook and
``cookbook.recorder`` runs them one at a time for the course site.
"""

import ast
import dataclasses
import re

from cookbook.errors import LessonFormatError

__all__ = ["Cell", "LessonFormatError", "lesson_cells"]

_MARKER = re.compile(r"^(\s*)# %%(.*)$")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell of a lesson.

    Attributes:
        kind: ``"markdown"`` or ``"code"``.
        text: markdown without its ``# `` prefixes, or Python source.
        part: ``"header"`` (the docstring) or ``"lesson"`` (every cell after it).
        line: the file's line number (1-based) of the text's first line, so a
            cell run on its own reports its errors at the file's lines.
    """

    kind: str
    text: str
    part: str
    line: int = 1


def lesson_cells(source, name="recipe"):
    """The cells of a recipe's source, in reading order (see the module docstring).

    Args:
        source: the text of ``recipes/NN_topic.py``.
        name: the file's name, for error messages.

    Raises:
        LessonFormatError: no header docstring, or no markdown cells.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise LessonFormatError(f"{name} cannot be parsed (line {exc.lineno}): fix its syntax") from None
    doc = ast.get_docstring(tree)
    if not doc:
        raise LessonFormatError(f"{name} has no header docstring; a lesson starts with its title and summary")
    lines = source.splitlines()
    cells = [Cell("markdown", doc.strip(), "header")]
    module_start = tree.body[0].end_lineno  # the docstring's last line
    lesson = _split(lines[module_start:], "lesson", first_line=module_start + 1)
    if not any(c.kind == "markdown" for c in lesson):
        raise LessonFormatError(f"{name} has no '# %% [markdown]' cells; a lesson's prose is in markdown cells")
    return cells + lesson


def _split(lines, part, first_line=1):
    """Split lines at ``# %%`` markers into cells; text before the first marker is a code cell if not blank."""
    cells: list[Cell] = []
    buffer: list[str] = []
    kind = "code"
    start = first_line  # the file's line number of buffer[0]

    def flush():
        blank = next((i for i, line in enumerate(buffer) if line.strip()), len(buffer))  # leading blank lines
        text = "\n".join(buffer).strip("\n")
        if kind == "markdown":
            text = "\n".join(_uncomment(line) for line in text.splitlines()).strip()
        if text.strip():
            cells.append(Cell(kind, text, part, start + blank))

    for number, line in enumerate(lines, first_line):
        match = _MARKER.match(line)
        if match and not match.group(1):
            flush()
            kind = "markdown" if "[markdown]" in match.group(2) else "code"
            buffer = []
            start = number + 1
        elif line.startswith("if __name__ == "):
            break
        else:
            buffer.append(line)
    flush()
    return cells


def _uncomment(line):
    stripped = line.strip()
    if stripped == "#":
        return ""
    return stripped[2:] if stripped.startswith("# ") else stripped.lstrip("#")
