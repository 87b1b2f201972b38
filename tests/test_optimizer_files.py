"""The validation block the optimizer files repeat on purpose stays one block.

Each file in ``cookbook/optimizers/`` must work copied alone, so each carries
its own copy of the hyperparameter checks (``_as_number``,
``_refuse_impossible``) and of the legal ranges they use (``_NON_NEGATIVE``,
``_POSITIVE``, ...). These tests read the files' source (nothing is
imported) and fail when one copy differs from another by a single character.
"""

import ast
import pathlib

import pytest

pytestmark = pytest.mark.backend_agnostic  # runs on any Keras backend (.ci/run: again under JAX)

OPTIMIZER_DIR = pathlib.Path(__file__).resolve().parents[1] / "cookbook" / "optimizers"
FILES = ("sgd.py", "adagrad.py", "rmsprop.py", "adam.py", "adamw.py", "nadam.py", "lion.py")
# Copied alone too (the porting lesson's Yogi): the helpers it shares with the twins must not drift either.
PORTED = OPTIMIZER_DIR.parent / "porting" / "yogi.py"
# The helpers every file must carry (a file that dropped them would validate differently, or not at all).
REQUIRED = ("_as_number", "_refuse_impossible", "_NON_NEGATIVE", "_POSITIVE", "_UNIT_CLOSED")


def _shared_definitions(source):
    """Module-level private functions and constants of one file: ``{name: exact source text}``."""
    definitions = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [target.id for target in node.targets if isinstance(target, ast.Name)]
        else:
            continue
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                definitions[name] = ast.get_source_segment(source, node)
    return definitions


def _drifted(sources):
    """Names defined in two or more files whose copies are not all identical: ``{name: [file, ...]}``."""
    by_name = {}
    for file, source in sources.items():
        for name, text in _shared_definitions(source).items():
            by_name.setdefault(name, {})[file] = text
    return {
        name: sorted(copies) for name, copies in by_name.items() if len(copies) > 1 and len(set(copies.values())) > 1
    }


@pytest.fixture(scope="module")
def sources():
    return {name: (OPTIMIZER_DIR / name).read_text(encoding="utf-8") for name in FILES}


def test_every_file_carries_the_whole_validation_block(sources):
    """Every file defines the two checks and the ranges every optimizer uses."""
    for file, source in sources.items():
        missing = [name for name in REQUIRED if name not in _shared_definitions(source)]
        assert missing == [], f"{file} lacks {missing}"


def test_every_optimizer_file_is_compared():
    """A new twin's file joins FILES, or its copy of the helpers would drift unchecked."""
    on_disk = {path.name for path in OPTIMIZER_DIR.glob("*.py") if path.name != "__init__.py"}
    assert on_disk == set(FILES)


def test_the_validation_copies_are_identical(sources):
    """Every private helper or range defined in several optimizer files is the same text in each."""
    assert _drifted(sources) == {}
    shared = set.intersection(*(set(_shared_definitions(s)) for s in sources.values()))
    assert set(REQUIRED) <= shared


def test_the_ported_yogi_carries_the_same_validation_copies(sources):
    """cookbook/porting/yogi.py's ``_as_number``, ``_refuse_impossible`` and ranges are the twins' text."""
    ported = PORTED.read_text(encoding="utf-8")
    assert {"_as_number", "_refuse_impossible", "_NON_NEGATIVE", "_UNIT_OPEN"} <= set(_shared_definitions(ported))
    assert _drifted(dict(sources, **{"porting/yogi.py": ported})) == {}


@pytest.mark.parametrize(
    "old, new, name",
    [
        ("lambda x: x >= 0)", "lambda x: x > 0)", "_NON_NEGATIVE"),  # a range loosened or tightened
        ("if isinstance(value, bool):", "if value is True:", "_refuse_impossible"),  # a check changed
        ('"""Raise ``ValueError`` naming', '"""Raise ValueError naming', "_refuse_impossible"),  # its docstring
    ],
    ids=["range", "check", "docstring"],
)
def test_a_copy_edited_in_one_file_is_reported(sources, old, new, name):
    """Edit one copy in adam.py's text and the comparison names that helper and the files that differ."""
    assert sources["adam.py"].count(old) == 1, "the edit must hit exactly one place"
    edited = dict(sources, **{"adam.py": sources["adam.py"].replace(old, new)})
    drifted = _drifted(edited)
    assert list(drifted) == [name]
    assert "adam.py" in drifted[name] and len(drifted[name]) >= 2
