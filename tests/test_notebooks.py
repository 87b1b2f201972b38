"""cookbook.notebooks: each recipe as a notebook whose cells show their results.

Writing notebooks is fast and runs in the default suite. Executing all of them
(a kernel per lesson, at --quick settings) takes a few minutes, so those tests
carry the ``notebooks`` marker: ``.ci/run`` runs them as their own step with
``python -m pytest -m notebooks``.
"""

from cookbook import cli, curriculum, notebooks

import nbformat
import pytest

RECIPES = curriculum.list_recipes()


def test_notebook_starts_with_title_then_the_lessons_cells_with_its_settings_edited_in_place():
    """Title markdown, then the lesson's cells in order; the settings cell says quick=True, seed=3 as given."""
    lesson = RECIPES[0]
    notebook = notebooks.recipe_notebook(lesson, quick=True, seed=3)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith(f"# {lesson.number:02d}. ")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    settings = code[0]
    assert "from_command_line(" in settings and "quick=True" in settings and "seed=3" in settings
    assert "out='cookbook-out'" in settings and "argv =" not in settings
    source = lesson.path.read_text(encoding="utf-8")
    assert [c.source.split("\n")[0] for c in notebook.cells[1:] if c.cell_type == "markdown"][:2] == [
        "## Settings",
        "## Data",
    ]
    assert all(line in source for s in code[1:] for line in s.rstrip(";").splitlines()), "cells as in the file"


def test_cells_ending_in_a_call_are_quieted():
    """save_figure(...) cells end in ';' (no PosixPath output); so does the last, claims.remember, which shows
    its points itself."""
    code = [c.source for c in notebooks.recipe_notebook(RECIPES[0]).cells if c.cell_type == "code"]
    assert any("save_figure(" in s and s.rstrip().endswith(";") for s in code)
    assert "claims.remember(" in code[-1] and code[-1].rstrip().endswith(";")


def test_cli_writes_one_notebook_per_recipe(tmp_path, capsys):
    """`cookbook notebooks --out DIR` writes NN_name.ipynb for every recipe, valid nbformat 4."""
    assert cli.main(["notebooks", "--out", str(tmp_path)]) == 0
    written = sorted(p.stem for p in tmp_path.glob("*.ipynb"))
    assert written == [r.name for r in RECIPES]
    for path in tmp_path.glob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every recipe's notebook executed at --quick settings, once for the module."""
    out = tmp_path_factory.mktemp("notebooks")
    rows = notebooks.write_notebooks(RECIPES, out, execute=True, quick=True)
    return {row["recipe"]: row for row in rows}, out


@pytest.mark.notebooks
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
@pytest.mark.slow
def test_executed_notebook_has_no_error_a_figure_and_cells_that_show_results(executed, recipe):
    """No error output; at least one inline PNG; several code cells each show something."""
    rows, out = executed
    assert rows[recipe.name]["status"] == "executed", rows[recipe.name]["status"]
    notebook = nbformat.read(out / f"{recipe.name}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a figure inline"
    assert sum(1 for c in code if c.outputs) >= 4, "several cells show their result"


def _notebook(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])


@pytest.mark.slow  # starts a kernel
def test_a_notebook_that_stops_itself_is_described_by_the_line_it_printed(tmp_path):
    """A lesson ending with SystemExit(2) after its one-line error: that line is the NotebookError, in plain text."""
    notebook = _notebook(
        "import sys\nprint('loading')",
        "print('lesson.py: error: --csv needs --target COLUMN', file=sys.stderr)\nraise SystemExit(2)",
    )
    with pytest.raises(notebooks.NotebookError) as failed:
        notebooks.execute_notebook(notebook, tmp_path, timeout=120)
    assert str(failed.value) == "lesson.py: error: --csv needs --target COLUMN"


@pytest.mark.slow  # starts a kernel
def test_a_notebook_missing_a_module_reports_it_without_colour_codes(tmp_path, capfd):
    """IPython colours the traceback; the NotebookError is its last line, plain; the kernel's log stays quiet."""
    with pytest.raises(notebooks.NotebookError) as failed:
        notebooks.execute_notebook(_notebook("import cookbook_module_nobody_has"), tmp_path, timeout=120)
    assert str(failed.value) == "ModuleNotFoundError: No module named 'cookbook_module_nobody_has'"
    assert "IPKernelApp" not in capfd.readouterr().err


def test_the_notebooks_summary_gives_a_failed_notebooks_cause_and_fix(tmp_path, capsys, monkeypatch):
    """`cookbook notebooks --execute`: a failing notebook's row says the cause, the lines below it the fix."""

    def execute(notebook, folder, timeout=notebooks.CELL_TIMEOUT):
        raise notebooks.NotebookError("ModuleNotFoundError: No module named 'jax'")

    monkeypatch.setattr(notebooks, "execute_notebook", execute)
    assert cli.main(["notebooks", "--out", str(tmp_path), "--execute", "--quick"]) == 1
    printed = capsys.readouterr()
    first = RECIPES[0].name
    assert (
        f"FAILED {first}: ModuleNotFoundError: No module named 'jax'\n  fix: python -m pip install jax" in printed.out
    )
    assert f"{len(RECIPES)} notebook(s) failed" in printed.err
    assert (tmp_path / f"{first}.ipynb").exists(), "a failing notebook is still written"
