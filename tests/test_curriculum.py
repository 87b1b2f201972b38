"""cookbook.curriculum: find the recipes, read their titles without importing them, resolve a name, run one.

Most tests build a tiny recipes folder in ``tmp_path`` (lessons that print
their command line), so nothing trains; two read the checkout's real list.
"""

import os
import re
import sys
import textwrap

from cookbook import curriculum
from cookbook.errors import RecipeNotFound, WrongBackendError

import keras
import pytest

RECIPE = '''
"""{title}

More lines of the header.
"""

# %% [markdown]
# ## Settings

# %%
import sys

print("ran with", sys.argv[1:])
'''


@pytest.fixture
def folder(tmp_path):
    """A recipes folder: two lessons, a helper module and a README that are not lessons."""
    (tmp_path / "02_second.py").write_text(RECIPE.format(title="Second lesson: the sequel."))
    (tmp_path / "01_first.py").write_text(RECIPE.format(title="First lesson: the start."))
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "README.md").write_text("# not a recipe\n")
    return tmp_path


# --- the checkout's curriculum --------------------------------------------------------------------


def test_curriculum_numbers_are_unique_and_start_at_01(recipes):
    """Recipes are numbered 01, 02, ... with no number used twice."""
    numbers = [r.number for r in recipes]
    assert numbers[0] == 1
    assert len(numbers) == len(set(numbers))
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("key", ["1", "01", "01_regression_mse", "regression_mse", "01_regression_mse.py"])
def test_resolve_accepts_numbers_and_names(recipes, key):
    """A recipe is found by number, full stem, or a unique part of it."""
    assert curriculum.resolve(recipes, key).name == "01_regression_mse"


# --- finding and listing --------------------------------------------------------------------------


def test_list_recipes_reads_numbers_and_titles_in_order_without_importing(folder):
    """Only NN_topic.py files count, sorted by number; the title is the docstring's first line."""
    found = curriculum.list_recipes(folder)
    assert [(r.number, r.name, r.title) for r in found] == [
        (1, "01_first", "First lesson: the start."),
        (2, "02_second", "Second lesson: the sequel."),
    ]
    assert found[0].path == folder / "01_first.py"


def test_a_recipe_that_cannot_be_parsed_or_has_no_docstring_still_lists(folder):
    """A syntax error or a missing header docstring shows as the title, not as a crash."""
    (folder / "03_broken.py").write_text("print(:\n")
    (folder / "04_bare.py").write_text("print('no docstring')\n")
    titles = {r.name: r.title for r in curriculum.list_recipes(folder)}
    assert titles["03_broken"] == "(cannot be read: fix the file's syntax)"
    assert titles["04_bare"] == "(no header docstring)"


def test_the_recipes_folder_comes_from_the_argument_then_the_environment(folder, tmp_path_factory, monkeypatch):
    """An explicit folder wins over COOKBOOK_RECIPES, which wins over the checkout's recipes/."""
    other = tmp_path_factory.mktemp("other")
    (other / "07_other.py").write_text(RECIPE.format(title="Other."))
    monkeypatch.setenv(curriculum.ENV_VAR, str(other))
    assert curriculum.find_recipes_dir(folder) == folder
    assert curriculum.find_recipes_dir() == other
    monkeypatch.delenv(curriculum.ENV_VAR)
    assert curriculum.find_recipes_dir().name == "recipes"


@pytest.mark.parametrize("source", ["--recipes", "COOKBOOK_RECIPES"])
def test_a_folder_without_recipes_is_refused_with_the_fix(tmp_path, monkeypatch, source):
    """No NN_topic.py file: RecipeNotFound (a ValueError) names the folder, where it came from, and the fix."""
    (tmp_path / "notes.py").write_text("")
    monkeypatch.setenv(curriculum.ENV_VAR, str(tmp_path))
    explicit = tmp_path if source == "--recipes" else None
    with pytest.raises(
        RecipeNotFound, match=rf"no recipes found in {re.escape(str(tmp_path))} \(from {source}\).*pip install -e"
    ) as info:
        curriculum.find_recipes_dir(explicit)
    assert isinstance(info.value, ValueError)


# --- resolving a name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, match",
    [
        ("9", r"'9' matches no recipe; choose one of: 01_first, 02_second"),
        ("s", r"'s' matches several recipes; choose one of: 01_first, 02_second"),
        ("third", r"'third' matches no recipe"),
    ],
)
def test_resolve_refuses_no_match_or_several_listing_the_choices(folder, key, match):
    """A key that matches nothing or several recipes raises RecipeNotFound listing the candidates."""
    with pytest.raises(RecipeNotFound, match=match):
        curriculum.resolve(curriculum.list_recipes(folder), key)


def test_an_exact_name_wins_over_a_partial_match(folder):
    """ "01_first" is exact even if another name contained it."""
    (folder / "03_01_first_again.py").write_text(RECIPE.format(title="Again."))
    assert curriculum.resolve(curriculum.list_recipes(folder), "01_first").number == 1


# --- loading and running --------------------------------------------------------------------------


def test_run_runs_a_lesson_as_a_script_and_resets_keras(folder, capsys):
    """A lesson runs as ``python file.py ARGV``: __main__, sys.argv set, then restored; the dtype policy reset."""
    (folder / "05_script.py").write_text(
        textwrap.dedent(
            '''
            """A script."""
            # %%
            import sys
            import keras
            keras.mixed_precision.set_global_policy("mixed_float16")  # as a lesson on mixed precision would leave it
            print(__name__, sys.argv[0].endswith("05_script.py"), sys.argv[1:])
            '''
        )
    )
    recipe = curriculum.resolve(curriculum.list_recipes(folder), "05")
    argv_before = list(sys.argv)
    assert recipe.needs_fresh_process is None
    assert curriculum.run(recipe, ["--quick", "--seed", "3"]) is None
    assert capsys.readouterr().out == "__main__ True ['--quick', '--seed', '3']\n"
    assert sys.argv == argv_before
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_lesson_that_needs_a_fresh_process_runs_as_a_child(folder, tmp_path):
    """NEEDS_FRESH_PROCESS (read with ast) runs ``python file.py ARGV`` in a child; its exit status is kept.

    The child here is plain Python (no Keras: it starts in a fraction of a second); the declaration's call
    form, ``needs_fresh_process("...")``, is read the same way as lesson 17's.
    """
    (folder / "07_fresh.py").write_text(
        textwrap.dedent(
            '''
            """Configures devices."""
            # %%
            import os, sys
            NEEDS_FRESH_PROCESS = "it configures TensorFlow's devices"
            print("pid", os.getpid(), sys.argv[1:])
            sys.exit(3 if "--fail" in sys.argv else 0)
            '''
        )
    )
    (folder / "08_call.py").write_text('"""Call form."""\nNEEDS_FRESH_PROCESS = needs_fresh_process("why")\n')
    recipes = curriculum.list_recipes(folder)
    recipe = curriculum.resolve(recipes, "07")
    assert recipe.needs_fresh_process == "it configures TensorFlow's devices"
    assert curriculum.resolve(recipes, "08").needs_fresh_process == "why"
    assert curriculum.resolve(recipes, "01").needs_fresh_process is None
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        curriculum.run(recipe, ["--quick"], log=log)
    _, pid, argv = log_path.read_text().split(" ", 2)
    assert int(pid) != os.getpid() and argv == "['--quick']\n"
    with open(log_path, "w") as log, pytest.raises(SystemExit) as info:
        curriculum.run(recipe, ["--fail"], log=log)
    assert info.value.code == 3


def test_run_with_a_log_sends_the_recipes_output_there(folder, tmp_path, capsys):
    """With log=, what the recipe prints goes to the file, not the terminal."""
    recipe = curriculum.resolve(curriculum.list_recipes(folder), "02")
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        curriculum.run(recipe, [], log=log)
    assert log_path.read_text() == "ran with []\n"
    assert capsys.readouterr().out == ""


def test_a_failing_recipe_still_resets_keras(folder):
    """An exception from the lesson propagates, and the Keras state is reset all the same."""
    (folder / "06_fails.py").write_text(
        textwrap.dedent(
            '''
            """Fails."""
            import keras

            keras.mixed_precision.set_global_policy("mixed_float16")
            raise KeyError("inside the recipe")
            '''
        )
    )
    recipe = curriculum.resolve(curriculum.list_recipes(folder), "06")
    with pytest.raises(KeyError, match="inside the recipe"):
        curriculum.run(recipe, [])
    assert keras.mixed_precision.global_policy().name == "float32"


# --- the backend a recipe needs -------------------------------------------------------------------

TENSORFLOW_RECIPE = '''
"""{title}

Its lesson is a tf.GradientTape loop.
"""

from cookbook.settings import needs_tensorflow

NEEDS_TENSORFLOW = needs_tensorflow(
    "its loop is tf.GradientTape"
)
raise RuntimeError("ran")  # never reached by listing, nor by a refused run
'''


@pytest.fixture
def tf_folder(folder):
    """The recipes folder plus two TensorFlow lessons: the declaration as a call and as a plain string."""
    (folder / "03_tape.py").write_text(TENSORFLOW_RECIPE.format(title="A tape."))
    (folder / "04_plain.py").write_text('"""Plain."""\nNEEDS_TENSORFLOW = "it uses tf.distribute"\n')
    return folder


def test_needs_tensorflow_is_read_from_the_source_without_importing(tf_folder):
    """NEEDS_TENSORFLOW's string, in either form, is read with ast; recipes without it need no backend."""
    found = {r.name: r.needs_tensorflow for r in curriculum.list_recipes(tf_folder)}
    assert found == {
        "01_first": None,
        "02_second": None,
        "03_tape": "its loop is tf.GradientTape",
        "04_plain": "it uses tf.distribute",
    }


def test_the_checkout_declares_its_tensorflow_lessons(recipes):
    """16 (Keras 2's tf_keras) and 17 (tf.distribute) teach TensorFlow code and say which; the rest run anywhere.

    Lessons 07-14 write their gradients with keras.ops or by hand and feed apply_gradients, so they run on
    any backend.
    """
    by_number = {r.number: r.needs_tensorflow for r in recipes}
    for number in (16, 17):
        assert by_number[number], f"lesson {number:02d} says which TensorFlow API it teaches"
    assert [r.name for r in recipes if r.needs_tensorflow and r.number not in (16, 17)] == []


@pytest.mark.parametrize("backend, skipped", [("tensorflow", False), ("jax", True), ("torch", True)])
def test_skip_reason_follows_the_backend(tf_folder, monkeypatch, backend, skipped):
    """Only a TensorFlow lesson under another backend is skipped, with its reason; the rest never are."""
    monkeypatch.setattr(curriculum, "backend", lambda: backend)
    reasons = {r.name: curriculum.skip_reason(r) for r in curriculum.list_recipes(tf_folder)}
    assert reasons["01_first"] is None and reasons["02_second"] is None
    assert reasons["03_tape"] == ("needs TensorFlow (its loop is tf.GradientTape)" if skipped else None)


def test_run_refuses_a_tensorflow_lesson_under_another_backend_before_importing_it(tf_folder, monkeypatch):
    """WrongBackendError (a ValueError) names the recipe, the reason, the backend and the fix; nothing runs."""
    monkeypatch.setattr(curriculum, "backend", lambda: "jax")
    recipe = curriculum.resolve(curriculum.list_recipes(tf_folder), "03")
    with pytest.raises(WrongBackendError) as info:
        curriculum.run(recipe, ["--quick"])
    assert str(info.value) == (
        "03_tape needs TensorFlow (its loop is tf.GradientTape) and Keras runs on jax here; "
        "run it with KERAS_BACKEND=tensorflow"
    )
    assert isinstance(info.value, ValueError)
    # On TensorFlow the same lesson runs: its RuntimeError proves the check let it through.
    monkeypatch.setattr(curriculum, "backend", lambda: "tensorflow")
    with pytest.raises(RuntimeError, match="ran"):
        curriculum.run(recipe, ["--quick"])


def test_every_lesson_belongs_to_one_part_and_the_parts_follow_each_other(recipes):
    """The parts' ranges ascend without overlap, and each lesson of the checkout falls in one of them."""
    from cookbook.parts import PARTS, part_of

    bounds = [n for part in PARTS for n in (part.first, part.last)]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds)
    assert [r.name for r in recipes if part_of(r.number) is None] == []
    assert part_of(1) is PARTS[0] and part_of(PARTS[-1].last + 1) is None
