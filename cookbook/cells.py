"""Read a lesson file as its cells.

A lesson is a script in jupytext's "percent" format: its header docstring,
then top-level ``# %%`` code cells and ``# %% [markdown]`` prose cells. Its
cells are the header (as markdown, part ``"header"``) and then every cell in
file order (part ``"lesson"``); the ``if __name__ == "__main__"`` guard, if
any, is left out.

Lessons not yet rewritten keep the older shape, whose steps are cells
*inside* ``main(argv=None)``. Their cells are, in reading order:

1. the header docstring, as markdown (its first line is the title);
2. the module-level cells (setup, constants, helpers that measure and plot);
3. the cells of ``main``'s body, dedented, with ``return x`` turned into the
   bare expression ``x`` so a notebook shows the lesson's table last.

The ``if __name__ == "__main__"`` guard and ``main``'s own ``def`` line and
docstring are left out. ``cookbook.notebooks`` writes these cells as a
Jupyter notebook and ``cookbook.course`` as a section of the course page.
"""

import ast
import dataclasses
import re
import textwrap

from cookbook.errors import LessonFormatError

__all__ = ["Cell", "LessonFormatError", "lesson_cells"]

_MARKER = re.compile(r"^(\s*)# %%(.*)$")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell of a lesson.

    Attributes:
        kind: ``"markdown"`` or ``"code"``.
        text: markdown without its ``# `` prefixes, or Python source.
        part: ``"header"``, ``"module"`` (setup and helpers) or ``"lesson"``
            (the body of ``main``).
    """

    kind: str
    text: str
    part: str


def lesson_cells(source, name="recipe"):
    """The cells of a recipe's source, in reading order (see the module docstring).

    Args:
        source: the text of ``recipes/NN_topic.py``.
        name: the file's name, for error messages.

    Raises:
        LessonFormatError: no header docstring, or no markdown cells (in
            ``main``, for a lesson of the older shape).
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
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    if not mains:  # top-level cells
        lesson = _split(lines[module_start:], "lesson")
        if not any(c.kind == "markdown" for c in lesson):
            raise LessonFormatError(f"{name} has no '# %% [markdown]' cells; a lesson's prose is in markdown cells")
        return cells + lesson
    main = mains[0]
    # The module part runs up to main's decorator-free def line (a "# %%" line just above it belongs to main).
    def_line = main.lineno - 1
    while def_line > 0 and (marker := _MARKER.match(lines[def_line - 1])) and not marker.group(1):
        def_line -= 1
    cells += _split(lines[module_start:def_line], "module")

    body = main.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # main's docstring
    if not body:
        raise LessonFormatError(f"{name}: main() has no body")
    body_lines = lines[body[0].lineno - 1 - _leading_comments(lines, body[0].lineno - 1) : main.end_lineno]
    body_text = textwrap.dedent("\n".join(body_lines))
    lesson = _split(body_text.splitlines(), "lesson")
    if not any(c.kind == "markdown" for c in lesson):
        raise LessonFormatError(
            f"{name}: main() has no '# %% [markdown]' cells; the lesson's steps are cells "
            "inside main (see cookbook.recipe)"
        )
    if lesson and lesson[-1].kind == "code":
        last = lesson[-1].text.splitlines()
        if last and last[-1].startswith("return "):
            last[-1] = last[-1][len("return ") :]
            lesson[-1] = Cell("code", "\n".join(last), "lesson")
    return cells + lesson


def _leading_comments(lines, index):
    """How many comment or blank lines sit directly above line ``index`` (0-based) inside a function."""
    count = 0
    while index - count - 1 >= 0:
        above = lines[index - count - 1]
        if above.strip() and not above.lstrip().startswith("#"):
            break
        if above.lstrip().startswith('"""') or above.rstrip().endswith('"""'):
            break
        count += 1
    return count


def _split(lines, part):
    """Split lines at ``# %%`` markers into cells; text before the first marker is a code cell if not blank."""
    cells: list[Cell] = []
    buffer: list[str] = []
    kind = "code"

    def flush():
        text = "\n".join(buffer).strip("\n")
        if kind == "markdown":
            text = "\n".join(_uncomment(line) for line in text.splitlines()).strip()
        if text.strip():
            cells.append(Cell(kind, text, part))

    for line in lines:
        match = _MARKER.match(line)
        if match and not match.group(1):
            flush()
            kind = "markdown" if "[markdown]" in match.group(2) else "code"
            buffer = []
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
