"""cookbook.settings: the command line in a script, the written values in a notebook, one-line errors."""

import pathlib

from cookbook import display, settings
from cookbook.settings import Settings, from_command_line, stop

import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

DOC = "A lesson.\n\nWhat it teaches."


def _read(argv, **given):
    return from_command_line(DOC, "01_lesson", argv=argv, **given)


def test_the_values_in_the_call_are_the_defaults_and_the_command_line_overrides_them(tmp_path):
    """No flags: the call's values; flags: theirs. --quick picks quick_epochs unless --epochs is given."""
    assert _read([], epochs=50, quick_epochs=5) == Settings("01_lesson", epochs=50)
    quick = _read(["--quick", "--seed", "3", "--out", str(tmp_path)], epochs=50, quick_epochs=5)
    assert (quick.quick, quick.seed, quick.out, quick.epochs) == (True, 3, tmp_path, 5)
    assert _read(["--quick", "--epochs", "7"], epochs=50, quick_epochs=5).epochs == 7
    assert _read([], quick=True, seed=4, epochs=50, quick_epochs=5) == Settings("01_lesson", True, 4, epochs=5)
    assert _read([], steps=100, quick_steps=10).steps == 100


def test_in_a_notebook_the_kernels_command_line_is_ignored(monkeypatch):
    """A Jupyter kernel's argv (``-f kernel.json``) is not the lesson's: the written values are the settings."""
    monkeypatch.setattr(display, "in_notebook", lambda: True)
    assert _read(["-f", "/tmp/kernel.json"], quick=True, epochs=50, quick_epochs=5).epochs == 5


def test_data_flags_name_the_csv_and_its_target(tmp_path):
    """--csv with --target replaces the bundled data; the data name and source say which."""
    csv = tmp_path / "house.csv"
    read = _read(["--csv", str(csv), "--target", "price", "--drop", "id"], data="diabetes", table=True)
    assert (read.csv, read.target, read.drop, read.data_name) == (csv, "price", ("id",), "house.csv")
    bundled = _read([], data="breast_cancer")
    assert (bundled.data_name, bundled.data_source) == ("Breast cancer", "the bundled breast_cancer data")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--csv", "x.csv"], "--csv needs --target COLUMN"),
        (["--target", "y"], "--target goes with --csv PATH"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_a_bad_flag_exits_2_with_one_line(argv, words, capsys):
    """Each refused flag: exit status 2 and one stderr line that names it."""
    with pytest.raises(SystemExit) as done:
        _read(argv, epochs=5, data="diabetes")
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and err.startswith("01_lesson.py: error: ")


def test_an_out_folder_under_a_file_is_refused_before_anything_is_written(tmp_path, capsys):
    """--out below a file: one line, exit 2, and nothing created."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("mine")
    with pytest.raises(SystemExit):
        _read(["--out", str(blocker / "out")])
    assert "lies under the file" in capsys.readouterr().err
    assert blocker.read_text() == "mine"
    assert settings.out_problem(tmp_path / "new" / "deeper") is None


def test_stop_prints_one_line_naming_the_script_and_exits_2(monkeypatch, capsys):
    """stop(message) is what a lesson does with input it cannot use."""
    monkeypatch.setattr("sys.argv", [str(pathlib.Path("recipes/01_lesson.py"))])
    with pytest.raises(SystemExit) as done:
        stop("the target column is empty; fill it in")
    assert done.value.code == 2
    assert capsys.readouterr().err == "01_lesson.py: error: the target column is empty; fill it in\n"


def test_a_lessons_own_options_become_flags_with_their_values_type(capsys):
    """options={"hidden": (0, ...), "positive": (None, ...)}: --hidden takes an int, --positive text."""
    options = {"hidden": (0, "relu units"), "positive": (None, "class 1"), "learning_rate": (0.01, "rate")}
    assert _read([], options=options).options == {"hidden": 0, "positive": None, "learning_rate": 0.01}
    given = _read(["--hidden", "8", "--positive", "female", "--learning-rate", "0.5"], options=options)
    assert given.options == {"hidden": 8, "positive": "female", "learning_rate": 0.5}
    with pytest.raises(SystemExit):
        _read(["--hidden", "many"], options=options)
    assert "argument --hidden: invalid int value: 'many'" in capsys.readouterr().err
