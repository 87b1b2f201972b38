"""The layout keeps its promises: import direction, copyable optimizer files, a README that lists every module."""

import ast
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cookbook"
LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if "lessons" not in p.relative_to(PACKAGE).parts)
# The twins, and the porting lesson's Yogi (copied alone the same way).
OPTIMIZER_FILES = [*sorted((PACKAGE / "optimizers").glob("*.py")), PACKAGE / "porting" / "yogi.py"]


def _imported_modules(path):
    """Every module name a file imports, at any depth (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_never_imports_lesson_support_code(path):
    """``cookbook.lessons`` serves single recipes; the library must work without it."""
    lessons = sorted(name for name in _imported_modules(path) if name.startswith("cookbook.lessons"))
    assert lessons == [], f"{path.name} imports {lessons}"


@pytest.mark.parametrize("path", OPTIMIZER_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_optimizer_files_import_only_keras_and_the_standard_library(path):
    """Each optimizer file is copied alone into user projects (the package ``__init__`` may import its siblings)."""
    allowed = set(sys.stdlib_module_names) | {"keras"}
    if path.name == "__init__.py":
        allowed |= {"cookbook"}
    foreign = sorted(name for name in _imported_modules(path) if name.split(".")[0] not in allowed)
    assert foreign == [], f"{path.name} imports {foreign}"


def test_the_readme_layout_names_every_module():
    """The README's layout block is the map of the package: a new module must appear on it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("```")[1]
    missing = []
    for path in PACKAGE.rglob("*.py"):
        if path.name.startswith("_") or path.parent.name == "optimizers":
            continue  # private modules; the optimizer files are listed as a folder
        if not re.search(rf"\b{path.stem}\b", layout):  # a whole word: `race` must not match `trace`
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_the_readme_curriculum_has_one_table_row_per_recipe():
    """The curriculum table lists every recipe in order under its part's row, as one table (no blank line)."""
    from cookbook.parts import PARTS, part_of

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Curriculum", 1)[1]
    table = section[section.index("\n|") + 1 :].split("\n\n", 1)[0].splitlines()
    cells = [row.split("|")[2].strip() for row in table[2:]]  # after the header and |---| rows
    parts = [cell for cell in cells if cell.startswith("**")]
    listed = [cell.strip("`") for cell in cells if not cell.startswith("**")]
    stems = sorted(path.stem for path in (ROOT / "recipes").glob("[0-9][0-9]_*.py"))
    assert listed == stems
    assert parts == [f"**Part {i}. {part.title}**" for i, part in enumerate(PARTS, 1)]
    for stem in stems:  # each lesson sits under its own part's row
        above = [cell for cell in cells[: cells.index(f"`{stem}`")] if cell.startswith("**")]
        assert above[-1] == f"**Part {PARTS.index(part_of(int(stem[:2]))) + 1}. {part_of(int(stem[:2])).title}**"
