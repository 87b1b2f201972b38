"""The lesson contract, checked for every lesson in recipes/.

A lesson is a script of top-level ``# %%`` cells (see ``cookbook.settings``
and STYLE.md); lessons not yet rewritten keep the older shape, cells inside
``main(argv)``, and are held to that shape's contract until they are. Each
lesson runs in-process with ``--quick``; two run as real scripts in a
subprocess to prove what only a fresh interpreter shows (a copied lesson
works alone; a bad ``--csv`` prints one clean line and exits 2).
"""

import ast
import pathlib
import re
import shutil
import sys

from cookbook import claims, curriculum, processes

import pandas as pd
import pytest
from _lesson_shape import MAX_LINES, MIN_KERAS_SHARE, keras_share

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECIPES = curriculum.list_recipes()
LESSONS = [r for r in RECIPES if not r.has_main]  # top-level cells
OLD_SHAPE = [r for r in RECIPES if r.has_main]  # cells inside main(argv), until rewritten
MIN_POINTS, MAX_POINTS = 3, 5  # points to remember a lesson ends with
CELL_HEADINGS = ("# ## Setup", "# ## Data", "# ## Model", "# ## Train", "# ## Compare")
LESSON_HEADINGS = ("# ## Data", "# ## Model", "# ## Train", "# ## Compare", "# ## What to remember")
PRIVATE_ATTRIBUTE = re.compile(r"_[A-Za-z]")  # obj._name: Keras internals a copied recipe must not touch


def _ids(recipes):
    return [r.name for r in recipes]


def _slug(recipe):
    return recipe.name.split("_", 1)[1]


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids(LESSONS))
def test_lesson_is_a_script_of_top_level_cells(lesson):
    """Header docstring, top-level cells, no main(), at most 350 lines, a quarter of its code Keras."""
    source = lesson.path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and len(doc.splitlines()) >= 3 and "--quick" in doc, "header: title, what it teaches, how to run it"
    assert not any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    assert "__main__" not in source, "a lesson runs top to bottom; no main() and no guard"
    assert "sys.path" not in source and "plt.show" not in source and "tf.keras" not in source
    lines = len(source.splitlines())
    assert lines <= MAX_LINES, f"{lines} lines; a lesson longer than {MAX_LINES} is two lessons"
    touching, logical = keras_share(source)
    assert touching >= MIN_KERAS_SHARE * logical, f"{touching} of {logical} code lines use Keras"


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids(LESSONS))
def test_lesson_opens_with_its_settings_and_ends_with_what_to_remember(lesson):
    """The first code cell reads the settings (named after the file, notebook defaults); the last remembers."""
    source = lesson.path.read_text(encoding="utf-8")
    cells = [c for c in re.split(r"^# %%", source, flags=re.M)[1:]]
    code = [c for c in cells if not c.startswith(" [markdown]")]
    call = next(
        node
        for node in ast.walk(ast.parse(code[0]))
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("from_command_line")
    )
    assert isinstance(call.args[1], ast.Constant) and call.args[1].value == lesson.name
    given = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in ("quick", "seed", "out")}
    assert given == {"quick": False, "seed": 0, "out": "cookbook-out"}, "defaults a notebook reader edits"
    assert "## What to remember" in cells[-2] and "claims.remember(" in cells[-1]


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids(LESSONS))
def test_lesson_has_its_evidence_module_and_tests(lesson):
    """cookbook/lessons/<slug>.py and tests/test_<slug>.py, or the first cell says why it needs none."""
    evidence = ROOT / "cookbook" / "lessons" / f"{_slug(lesson)}.py"
    tests = ROOT / "tests" / f"test_{_slug(lesson)}.py"
    if not evidence.exists():
        assert "needs no evidence module" in lesson.path.read_text(encoding="utf-8")
    assert tests.exists()


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids(LESSONS))
@pytest.mark.slow
def test_lesson_quick_run_writes_tables_figures_and_claims(lesson, quick_run):
    """``--quick`` writes CSV, Markdown, PNG and 3-5 claim records, every file named after the lesson."""
    _, out = quick_run(lesson.name)
    assert all(p.name.startswith(lesson.name) for p in out.iterdir()), "outputs are named after the lesson"
    assert {".csv", ".md", ".png", ".json"} <= {p.suffix for p in out.iterdir()}
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = claims.load(out / f"{lesson.name}_claims.json")
    assert MIN_POINTS <= len(records) <= MAX_POINTS
    assert len({c.key for c in records}) == len(records)


@pytest.mark.parametrize("recipe", OLD_SHAPE, ids=_ids(OLD_SHAPE))
def test_recipe_follows_the_contract_in_its_source(recipe):
    """Header docstring, percent cells with the lesson headings, main(argv=None), a __main__ guard."""
    source = recipe.path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and len(doc.splitlines()) >= 3, "header docstring: title, what it teaches, how to run it"
    assert "--quick" in doc, "the header says how to run it"
    assert "# %%" in source
    for heading in CELL_HEADINGS:
        assert heading in source, f"missing cell heading {heading!r}"
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains and mains[0].args.args[0].arg == "argv"
    assert "sys.path" not in source and "plt.show" not in source and "tf.keras" not in source
    assert source.rstrip().endswith('if __name__ == "__main__":\n    main()'.rstrip())
    # Module level holds only imports, constants and definitions: nothing trains on import.
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign, ast.If)
    for node in tree.body[1:]:
        assert isinstance(node, allowed) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)), (
            f"line {node.lineno}: only imports and definitions at module level"
        )


def _imports_tensorflow(node):
    return (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tensorflow" for a in node.names)) or (
        isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tensorflow"
    )


@pytest.mark.parametrize("recipe", RECIPES, ids=_ids(RECIPES))
def test_a_recipe_that_imports_tensorflow_says_why_before_it(recipe):
    """TensorFlow code in a lesson: NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow("...") just before the import.

    The reason is a string literal (``cookbook tour`` reads it without importing the recipe), and the check
    comes before ``import tensorflow``, so on another backend the script stops with one line, not an import.
    """
    tree = ast.parse(recipe.path.read_text(encoding="utf-8"))
    imports = [node.lineno for node in tree.body if _imports_tensorflow(node)]  # what importing the recipe runs
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NEEDS_TENSORFLOW" for t in node.targets)
    ]
    if not imports:
        assert not declared and recipe.needs_tensorflow is None, "a lesson without TensorFlow code runs anywhere"
        return
    assert declared, "the recipe imports tensorflow: declare NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow(...)"
    call = declared[0].value
    assert ast.unparse(call.func) in ("needs_tensorflow", "cookbook.recipe.needs_tensorflow"), "it runs the check"
    assert isinstance(call.args[0], ast.Constant) and recipe.needs_tensorflow == call.args[0].value
    assert declared[0].lineno < min(imports), "the check comes before `import tensorflow`"


def _main_source(recipe):
    source = recipe.path.read_text(encoding="utf-8")
    main = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "main")
    return ast.get_source_segment(source, main)


def _markdown_cells(source):
    """The text of every ``# %% [markdown]`` cell: its comment lines up to the next cell or code line."""
    cells, current = [], None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("# %%"):
            if current is not None:
                cells.append(current)
            current = [] if stripped == "# %% [markdown]" else None
        elif current is not None:
            if not stripped.startswith("#"):
                cells.append(current)
                current = None
            else:
                current.append(stripped.lstrip("#").strip())
    if current is not None:
        cells.append(current)
    return cells


@pytest.mark.parametrize("recipe", OLD_SHAPE, ids=_ids(OLD_SHAPE))
def test_recipe_teaches_in_cells_inside_main(recipe):
    """main's body is the lesson: Data, Model, Train, Compare and What to remember cells, in that order."""
    body = _main_source(recipe)
    positions = [body.find(heading) for heading in LESSON_HEADINGS]
    assert all(p >= 0 for p in positions), f"main lacks a cell heading of {LESSON_HEADINGS}"
    assert positions == sorted(positions), "the lesson's cells come in the order Data, Model, Train, Compare"
    assert "cookbook.recipe.remember(" in body, "the lesson ends with what to remember, from measured numbers"


@pytest.mark.parametrize("recipe", RECIPES, ids=_ids(RECIPES))
def test_every_markdown_cell_has_prose(recipe):
    """No empty markdown cell: each says something beyond its heading."""
    for cell in _markdown_cells(recipe.path.read_text(encoding="utf-8")):
        prose = [line for line in cell if line and not line.startswith("#")]
        assert prose, f"a markdown cell with no prose: {cell}"


@pytest.mark.parametrize("recipe", RECIPES, ids=_ids(RECIPES))
def test_recipe_touches_no_private_attribute(recipe):
    """A copied recipe reads as public Keras: no ``obj._private`` access in its code.

    Read from the syntax tree, so a markdown cell may quote Keras 2 code (lesson 15 quotes
    ``self._set_hyper``) while the code itself never reaches past the public API.
    """
    tree = ast.parse(recipe.path.read_text(encoding="utf-8"))
    private = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and PRIVATE_ATTRIBUTE.match(node.attr)
    ]
    assert private == []


@pytest.mark.parametrize("recipe", OLD_SHAPE, ids=_ids(OLD_SHAPE))
@pytest.mark.slow
def test_recipe_quick_run_returns_a_table_and_writes_files(recipe, quick_run):
    """main(["--quick", "--out", tmp]) returns a non-empty DataFrame and writes CSV, Markdown and PNG."""
    table, out = quick_run(recipe.name)
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    written = {p.suffix for p in out.iterdir() if p.name.startswith(recipe.name)}
    assert {".csv", ".md", ".png"} <= written
    assert all(p.name.startswith(recipe.name) for p in out.iterdir()), "outputs are named after the recipe"
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _run_script(args, cwd):
    """Run a recipe as a script: its exit status and stderr, with TensorFlow's logging as a user has it."""
    unset = {"TF_CPP_MIN_LOG_LEVEL": None, "COOKBOOK_RECIPES": None}  # the recipe must quiet TensorFlow itself
    return processes.run([sys.executable, *args], cwd=cwd, env=unset, timeout=300, check=False)


@pytest.mark.slow
def test_recipe_copied_alone_runs(tmp_path):
    """A recipe copied into an empty folder runs with only the installed package (09: the quickest lesson)."""
    first = next(recipe for recipe in RECIPES if recipe.name.endswith("adam_bias_correction"))
    copy = tmp_path / first.path.name
    shutil.copy(first.path, copy)
    result = _run_script([copy.name, "--quick", "--out", "results"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "results").glob("*.png"))
    assert "cuda" not in result.stderr.lower(), "TensorFlow's start-up log reached the user"


@pytest.mark.slow
def test_bad_csv_exits_2_with_one_clean_line(tmp_path):
    """--csv whose target is empty in every row prints one line naming the problem (no traceback, no TF log)."""
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,\n2,\n")
    result = _run_script(
        [str(RECIPES[0].path), "--quick", "--csv", str(bad), "--target", "y", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "every row's target 'y' is missing" in lines[0] and "fill the column in" in lines[0]
    assert not (tmp_path / "out").exists(), "nothing is written for a refused input"
