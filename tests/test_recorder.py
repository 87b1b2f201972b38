"""cookbook.recorder: a lesson run cell by cell as a script, each cell's output recorded as a notebook."""

import sys

from cookbook import display, recorder

import nbformat
import pytest

LESSON = '''"""A lesson in three cells.

Summary.
"""

# %% [markdown]
# ## First
#
# Prose.

# %%
import sys

import pandas as pd
from cookbook.display import show, show_markdown

print("argv:", sys.argv[1:], "name:", __name__)

# %%
show(pd.DataFrame({"a": [1, 2]}), "A table")
print("after the table", file=sys.stderr)
show_markdown("- a point", "Remember")

# %%
{last}
'''


def _lesson(tmp_path, last="x = 1"):
    path = tmp_path / "01_three_cells.py"
    path.write_text(LESSON.replace("{last}", last), encoding="utf-8")
    return path


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_each_cells_output_is_recorded_under_it_in_order(tmp_path, capsys):
    """Printed text, a table (HTML and text), stderr and markdown land in the cell that made them, in order."""
    notebook = tmp_path / "run.ipynb"
    recorder.run_lesson(_lesson(tmp_path), ["--quick"], notebook)
    first, second, _ = _code_cells(notebook)
    assert first.outputs[0].text == "argv: ['--quick'] name: __main__\n"
    kinds = [(o.output_type, o.get("name") or sorted(o.data)) for o in second.outputs]
    assert kinds == [
        ("display_data", ["text/html", "text/plain"]),
        ("stream", "stderr"),
        ("display_data", ["text/markdown", "text/plain"]),
    ]
    assert "<table>" in second.outputs[0].data["text/html"] and "A table" in second.outputs[0].data["text/plain"]
    assert all(cell.metadata["cookbook"]["seconds"] >= 0 for cell in (first, second))
    nbformat.validate(nbformat.read(notebook, as_version=4))
    printed = capsys.readouterr()
    assert "argv: ['--quick']" in printed.out and "A table" in printed.out and "after the table" in printed.err


def test_an_error_is_recorded_under_its_cell_at_the_files_line_and_raised(tmp_path):
    """The notebook is written with the error output; the traceback names the lesson file's own line."""
    notebook, path = tmp_path / "run.ipynb", _lesson(tmp_path, "x = 1\nraise ValueError('bad rows')")
    with pytest.raises(ValueError, match="bad rows"):
        recorder.run_lesson(path, [], notebook)
    error = _code_cells(notebook)[-1].outputs[-1]
    line = path.read_text(encoding="utf-8").splitlines().index("raise ValueError('bad rows')") + 1
    assert error.output_type == "error" and error.ename == "ValueError"
    assert f'File "{path}", line {line}' in "".join(error.traceback)
    assert "recorder.py" not in "".join(error.traceback), "the recorder's own frame is left out"


def test_a_lessons_one_line_error_exits_as_the_script_would(tmp_path):
    """SystemExit(2) passes through; the line the lesson printed on stderr is in the notebook."""
    last = "print('lesson: error: --csv needs --target', file=sys.stderr)\nraise SystemExit(2)"
    notebook = tmp_path / "run.ipynb"
    with pytest.raises(SystemExit) as stopped:
        recorder.run_lesson(_lesson(tmp_path, last), [], notebook)
    assert stopped.value.code == 2
    assert _code_cells(notebook)[-1].outputs[-1].text == "lesson: error: --csv needs --target\n"


def test_the_process_is_left_as_it_was(tmp_path):
    """sys.argv, __main__ and the display hook are restored, after an error too."""
    before = sys.argv, sys.modules["__main__"], sys.path[0]
    with pytest.raises(ZeroDivisionError):
        recorder.run_lesson(_lesson(tmp_path, "1 / 0"), ["--x"], None)
    assert (sys.argv, sys.modules["__main__"], sys.path[0]) == before and display._publish is None


def test_a_script_not_in_the_lesson_shape_runs_as_one_cell(tmp_path):
    """No markdown cells: the file still runs (as one cell), its output recorded."""
    path = tmp_path / "01_plain.py"
    path.write_text("print('plain script')\n", encoding="utf-8")
    recorder.run_lesson(path, [], tmp_path / "run.ipynb")
    assert _code_cells(tmp_path / "run.ipynb")[0].outputs[0].text == "plain script\n"
