"""cookbook.errors is the one exceptions module: every class a ValueError, none defined elsewhere.

User code catches the cookbook's refusals with ``except ValueError`` (or
``except cookbook.CookbookError``); a new exception class belongs in
``cookbook/errors.py``, where this test can see it. The other modules are
read with ``ast`` (not imported), so a class cannot hide behind an import.
"""

import ast
import inspect
import pathlib

from cookbook import errors

import pytest

PACKAGE = pathlib.Path(errors.__file__).resolve().parent
ERROR_CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if cls.__module__ == errors.__name__]
# A class whose base is named like one of these is an exception class.
EXCEPTION_SUFFIXES = ("Error", "Exception", "Warning", "Failed", "Timeout", "NotFound", "Interrupt", "Exit")


def _exception_classes(source):
    """Names of the classes in ``source`` that derive from an exception (by their bases' names, transitively)."""
    classes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)]
    found = set()
    changed = True
    while changed:  # a class deriving from one found here is one too
        changed = False
        for node in classes:
            bases = {base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases}
            if node.name not in found and any(b.endswith(EXCEPTION_SUFFIXES) or b in found for b in bases):
                found.add(node.name)
                changed = True
    return sorted(found)


def test_errors_defines_the_cookbooks_exceptions():
    """The module holds the base class and the specific errors (more than a couple)."""
    assert errors.CookbookError in ERROR_CLASSES and len(ERROR_CLASSES) >= 5


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_is_a_cookbook_error_and_a_value_error(cls):
    """``except ValueError`` and ``except CookbookError`` both catch every error the cookbook raises."""
    assert issubclass(cls, errors.CookbookError) and issubclass(cls, ValueError)
    assert cls.__doc__, f"{cls.__name__} says when it is raised"


def test_worker_failed_carries_the_failing_index_and_the_results():
    """WorkerFailed (and WorkerTimeout) keep the message, the failing child and every child's result."""
    error = errors.WorkerTimeout("stopped", None, ["r0", "r1"])
    assert isinstance(error, errors.WorkerFailed)
    assert (str(error), error.worker, error.results) == ("stopped", None, ["r0", "r1"])


def test_no_other_cookbook_module_defines_an_exception_class():
    """Outside errors.py, no module of the package (lessons and optimizers included) defines an exception."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "errors.py":
            found = _exception_classes(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(PACKAGE))] = found
    assert offenders == {}, "move these classes to cookbook/errors.py"


def test_the_scan_finds_exception_classes_however_they_are_written():
    """Direct, dotted and indirect subclasses of an exception are found; other classes are not."""
    source = """
class Plain: pass
class Direct(ValueError): pass
class Dotted(errors.CookbookError): pass
class Indirect(Direct): pass
class Nested:
    class Inner(RuntimeError): pass
class Config(dict): pass
"""
    assert _exception_classes(source) == ["Direct", "Dotted", "Indirect", "Inner"]
