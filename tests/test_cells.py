"""cookbook.cells: a recipe file read as the cells of a lesson, in reading order."""

from cookbook import curriculum
from cookbook.cells import LessonFormatError, lesson_cells

import pytest

SOURCE = '''"""A title.

What it teaches. Run it: ``python x.py --quick``.
"""

# %% [markdown]
# ## Settings
#
# Why the constants.

# %%
import keras

RATE = 0.1

# %% [markdown]
# ## What to remember
#
# Points.

# %%
if RATE:
    y = RATE + 1
y


if __name__ == "__main__":
    print("never a cell")
'''


def test_cells_come_in_reading_order_with_their_parts():
    """The header docstring, then every cell in file order as written; the ``__main__`` guard is left out."""
    cells = lesson_cells(SOURCE)
    assert [(c.kind, c.part) for c in cells] == [
        ("markdown", "header"),
        ("markdown", "lesson"),
        ("code", "lesson"),
        ("markdown", "lesson"),
        ("code", "lesson"),
    ]
    assert cells[0].text.startswith("A title.")
    assert cells[1].text == "## Settings\n\nWhy the constants."
    assert cells[2].text == "import keras\n\nRATE = 0.1"
    assert cells[-1].text == "if RATE:\n    y = RATE + 1\ny"


@pytest.mark.parametrize(
    "source, message",
    [
        ("x = 1\n", "no header docstring"),
        ('"""T.\n\nx\n"""\n\ndef helper():\n    pass\n', "no '# %% \\[markdown\\]' cells"),
        ("def broken(:\n", "cannot be parsed"),
    ],
)
def test_a_file_without_the_lesson_shape_is_refused_with_the_reason(source, message):
    """LessonFormatError (a ValueError) names what is missing."""
    with pytest.raises(LessonFormatError, match=message) as info:
        lesson_cells(source, "x.py")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("recipe", curriculum.list_recipes(), ids=lambda r: r.name)
def test_every_recipe_reads_as_a_lesson_whose_code_compiles(recipe):
    """Each lesson's cells parse and its code compiles; it opens with its settings and ends with what to remember.

    A lesson's sections between those follow its subject.
    """
    cells = lesson_cells(recipe.path.read_text(encoding="utf-8"), recipe.path.name)
    lesson = [c for c in cells if c.part == "lesson"]
    headings = [c.text.splitlines()[0] for c in lesson if c.kind == "markdown" and c.text.startswith("## ")]
    assert headings[0] == "## Settings" and headings[-1] == "## What to remember", headings
    for cell in cells:
        if cell.kind == "code":
            compile(cell.text, recipe.name, "exec")
