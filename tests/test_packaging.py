"""The packaging tells the truth: one version, metadata as declared, the Keras we run inside the range, licensed files."""

import importlib.metadata
import pathlib
import sys

import cookbook
from cookbook import processes

import keras
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parents[1]
DISTRIBUTION = "keras-cookbook"
# Files a user copies alone into a project, each of which must carry its own license.
COPIED_ALONE = sorted(p for p in (ROOT / "cookbook" / "optimizers").glob("*.py") if p.name != "__init__.py")
LICENSE_HEADER = ["# SPDX-License-Identifier: Apache-2.0", "# Copyright 2026 the keras-cookbook authors"]


def _pyproject():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _keras_requirement():
    (line,) = [line for line in _pyproject()["project"]["dependencies"] if Requirement(line).name == "keras"]
    return Requirement(line)


def test_the_version_lives_only_in_cookbook_init():
    """pyproject.toml declares the version dynamic, read from ``cookbook.__version__``; setup.cfg holds no metadata."""
    project = _pyproject()
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cookbook.__version__"}
    setup_cfg = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert "[metadata]" not in setup_cfg and "[options" not in setup_cfg


def test_setuptools_reads_the_version_without_importing_tensorflow():
    """A build reads the literal assignment from the source; importing cookbook would need TensorFlow in the build."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('cookbook', 'tensorflow', 'keras'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from setuptools.config.expand import read_attr\n"
        "print(read_attr('cookbook.__version__', root_dir='.'))\n"
    )
    run = processes.run([sys.executable, "-c", blocker], cwd=ROOT, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == cookbook.__version__


def test_installed_version_is_cookbook_version():
    """What pip recorded at install time is the version the package reports."""
    assert importlib.metadata.version(DISTRIBUTION) == cookbook.__version__


def test_installed_metadata_matches_pyproject():
    """The installed requirements are pyproject's; if this fails, the install is stale: run ``pip install -e .``."""
    project = _pyproject()["project"]
    declared = {str(Requirement(line)) for line in project["dependencies"]}
    for extra, lines in project["optional-dependencies"].items():
        declared |= {str(Requirement(f'{line}; extra == "{extra}"')) for line in lines}
    installed = {str(Requirement(line)) for line in importlib.metadata.requires(DISTRIBUTION)}
    assert installed == declared


def test_the_keras_we_test_with_is_inside_the_declared_range():
    """The suite proves the code under this Keras; the metadata must allow it, with a floor and a major-version cap."""
    specifier = _keras_requirement().specifier
    assert Version(keras.__version__) in specifier
    operators = {spec.operator: Version(spec.version) for spec in specifier}
    assert operators.keys() == {">=", "<"}
    assert operators["<"] == Version("4"), "the library reads Keras 3 internals; cap at the next major"
    # Optimizer.add_optimizer_variables, which every optimizer file calls, is absent before Keras 3.10.
    assert operators[">="] >= Version("3.10")


@pytest.mark.parametrize("name", ["jax", "tf_keras"])
def test_what_the_lessons_run_is_a_core_dependency_that_allows_the_installed_version(name):
    """Lessons 17 and 19 run JAX children and lesson 16 runs Keras 2: the README's first command installs both."""
    (line,) = [line for line in _pyproject()["project"]["dependencies"] if Requirement(line).name == name]
    assert Version(importlib.metadata.version(name)) in Requirement(line).specifier


def test_the_test_extra_adds_only_tooling_never_what_the_main_job_imports():
    """The tour passes on the core install alone: no core dependency hides in an extra, none is repeated there."""
    project = _pyproject()["project"]
    core = {Requirement(line).name for line in project["dependencies"]}
    for extra, lines in project["optional-dependencies"].items():
        assert not core & {Requirement(line).name for line in lines}, extra


def test_the_wheel_carries_every_package_and_the_lessons():
    """setuptools' package list is every folder of cookbook/ with an __init__.py, plus recipes/ as cookbook.recipes."""
    setuptools = _pyproject()["tool"]["setuptools"]
    folders = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "cookbook").rglob("__init__.py")}
    assert set(setuptools["packages"]) == folders | {"cookbook.recipes"}
    assert setuptools["package-dir"] == {"cookbook.recipes": "recipes"}


def test_license_file_is_the_apache_license_the_metadata_names():
    """LICENSE holds the Apache 2.0 text and pyproject declares that license and ships the file."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]


@pytest.mark.parametrize("path", COPIED_ALONE, ids=lambda p: p.name)
def test_files_copied_alone_carry_the_license_and_the_keras_range(path):
    """A file that leaves the repository alone takes its license and pyproject's Keras range with it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == LICENSE_HEADER
    assert lines[2].startswith("# Requires keras"), "line 3 states the Keras range the file needs"
    assert Requirement(lines[2].split()[2]).specifier == _keras_requirement().specifier
    assert lines[3].startswith('"""'), "the header sits directly above the module docstring"


def test_changelog_has_an_entry_for_this_version():
    """Every released version is described in CHANGELOG.md."""
    assert f"## [{cookbook.__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
