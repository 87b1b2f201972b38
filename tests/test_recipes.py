"""The lesson contract, checked for every lesson in recipes/.

A lesson is a script of top-level ``# %%`` cells (see ``cookbook.settings``
and STYLE.md). Each lesson's ``--quick`` run is shared with its own tests
(``quick_run`` in conftest.py); two run as real scripts in a
subprocess to prove what only a fresh interpreter shows (a copied lesson
works alone; a bad ``--csv`` prints one clean line and exits 2).
"""

import ast
import pathlib
import re
import shutil
import sys

from cookbook import claims, curriculum, processes

import pytest
from _lesson_shape import MAX_LINES, MIN_KERAS_SHARE, keras_share

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECIPES = curriculum.list_recipes()
LESSONS = RECIPES  # every lesson is a script of top-level cells
MIN_POINTS, MAX_POINTS = 3, 5  # points to remember a lesson ends with
PRIVATE_ATTRIBUTE = re.compile(r"_[A-Za-z]")  # obj._name: Keras internals a copied recipe must not touch
# ... except how update_step finds a weight's slots: every Keras 3 optimizer calls it, there is no public
# equivalent, and the variable update_step receives is not the keras.Variable on every backend (lesson 15).
ALLOWED_PRIVATE = {"_get_variable_index"}


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
    out = quick_run(lesson.name)
    assert all(p.name.startswith(lesson.name) for p in out.iterdir()), "outputs are named after the lesson"
    assert {".csv", ".md", ".png", ".json"} <= {p.suffix for p in out.iterdir()}
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = claims.load(out / f"{lesson.name}_claims.json")
    assert MIN_POINTS <= len(records) <= MAX_POINTS
    assert len({c.key for c in records}) == len(records)


def _imports_tensorflow(node):
    return (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tensorflow" for a in node.names)) or (
        isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tensorflow"
    )


@pytest.mark.parametrize("recipe", RECIPES, ids=_ids(RECIPES))
def test_a_recipe_that_imports_tensorflow_says_why_before_it(recipe):
    """TensorFlow code in a lesson: NEEDS_TENSORFLOW = needs_tensorflow("...") just before the import.

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
    assert declared, "the lesson imports tensorflow: declare NEEDS_TENSORFLOW = needs_tensorflow(...)"
    call = declared[0].value
    assert ast.unparse(call.func) == "needs_tensorflow", "it runs the check (cookbook.settings.needs_tensorflow)"
    assert isinstance(call.args[0], ast.Constant) and recipe.needs_tensorflow == call.args[0].value
    assert declared[0].lineno < min(imports), "the check comes before `import tensorflow`"


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


@pytest.mark.parametrize("recipe", RECIPES, ids=_ids(RECIPES))
def test_every_markdown_cell_has_prose(recipe):
    """No empty markdown cell: each says something beyond its heading."""
    for cell in _markdown_cells(recipe.path.read_text(encoding="utf-8")):
        prose = [line for line in cell if line and not line.startswith("#")]
        assert prose, f"a markdown cell with no prose: {cell}"


@pytest.mark.parametrize("recipe", RECIPES, ids=_ids(RECIPES))
def test_recipe_touches_no_private_attribute(recipe):
    """A copied recipe reads as public Keras: no ``obj._private`` access in its code.

    Read from the syntax tree, so a markdown cell may quote Keras 2 code (lesson 16 quotes
    ``self._set_hyper``) while the code itself never reaches past the public API.
    """
    tree = ast.parse(recipe.path.read_text(encoding="utf-8"))
    private = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and PRIVATE_ATTRIBUTE.match(node.attr) and node.attr not in ALLOWED_PRIVATE
    ]
    assert private == []


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
