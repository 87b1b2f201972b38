"""The recipe toolkit: shared flags, data loading, and writing results."""

import pathlib

from cookbook import recipe

import keras
import pandas as pd
import pytest
from matplotlib.figure import Figure

DOC = """A title line.

What it teaches.
"""


def _parser(**kwargs):
    return recipe.make_parser(DOC, "/somewhere/07_example.py", **kwargs)


def test_quick_uses_quick_epochs_unless_epochs_given():
    """--quick picks the quick epoch count; an explicit --epochs wins."""
    parser = _parser(epochs=100, quick_epochs=5, dataset="diabetes")
    assert recipe.parse_args(parser, []).epochs == 100
    assert recipe.parse_args(parser, ["--quick"]).epochs == 5
    assert recipe.parse_args(parser, ["--quick", "--epochs", "7"]).epochs == 7


def test_steps_follow_the_same_rules_as_epochs(capsys):
    """--steps: its default, the quick default, an explicit value, and a refusal of 0."""
    parser = _parser(steps=150, quick_steps=20)
    assert recipe.parse_args(parser, []).steps == 150
    assert recipe.parse_args(parser, ["--quick"]).steps == 20
    assert recipe.parse_args(parser, ["--quick", "--steps", "7"]).steps == 7
    with pytest.raises(SystemExit) as info:
        recipe.parse_args(parser, ["--steps", "0"])
    assert info.value.code == 2 and "--steps must be at least 1" in capsys.readouterr().err


def test_recipe_name_comes_from_the_file():
    """Files a recipe writes are named after its own file, wherever it is copied."""
    args = recipe.parse_args(_parser(), ["--out", "x"])
    assert args.recipe == "07_example" and args.out == pathlib.Path("x")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--csv", "a.csv"], "--csv needs --target"),
        (["--target", "y"], "--target goes with --csv"),
        (["--epochs", "x"], "invalid int value"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2_with_one_line_and_a_reason(argv, words, capsys):
    """Flag mistakes end with exit status 2 and ONE stderr line naming the fix (no usage block)."""
    with pytest.raises(SystemExit) as info:
        recipe.parse_args(_parser(epochs=10, dataset="diabetes"), argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_out_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    """--out inside a regular file exits 2 at parse time, and nothing is created."""
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    with pytest.raises(SystemExit) as info:
        recipe.parse_args(_parser(), ["--out", str(afile / "results")])
    assert info.value.code == 2 and "lies under the file" in capsys.readouterr().err
    assert afile.read_text() == "keep me"


def test_split_of_a_table_too_small_exits_2_with_one_line(capsys):
    """Two rows cannot be split: recipe.split ends the recipe with one line naming the data."""
    args = recipe.parse_args(_parser(dataset="diabetes"), [])
    with pytest.raises(SystemExit) as info:
        recipe.split(args, pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1], name="y"), stratify=True)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the bundled diabetes data" in err and "cannot be split" in err


def test_load_data_bad_csv_exits_2_with_one_line(tmp_path, capsys):
    """A bad --csv ends the recipe with one stderr line and status 2."""
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n")
    args = recipe.parse_args(_parser(dataset="diabetes"), ["--csv", str(bad), "--target", "y"])
    with pytest.raises(SystemExit) as info:
        recipe.load_data(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no data rows" in err


def test_class_labels_number_any_classes_from_0():
    """Text or gappy numeric classes become 0..C-1 in sorted order."""
    args = recipe.parse_args(_parser(), [])
    labels, classes = recipe.class_labels(args, pd.Series(["b", "a", "c", "a", "b", "c"], name="kind"))
    assert labels.tolist() == [1, 0, 2, 0, 1, 2] and classes.tolist() == ["a", "b", "c"]
    labels, classes = recipe.class_labels(args, pd.Series([3.0, 7.0, 3.0, 7.0], name="grade"))
    assert labels.tolist() == [0, 1, 0, 1] and classes.tolist() == [3.0, 7.0]


@pytest.mark.parametrize(
    "values, words",
    [
        ([0.5, 1.0, 2.0], "fractional values"),
        ([1, 1, 1], "a single class"),
        ([101, 150, 87, 101, 230], "looks like a number to predict"),
    ],
)
def test_class_labels_refuse_a_target_that_is_not_classes(values, words, capsys):
    """A regression target or a single class ends the recipe with one line and status 2."""
    args = recipe.parse_args(_parser(), [])
    with pytest.raises(SystemExit) as info:
        recipe.class_labels(args, pd.Series(values, name="y"))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_load_data_defaults_to_the_bundled_set():
    """Without --csv the recipe gets its bundled dataset."""
    X, y = recipe.load_data(recipe.parse_args(_parser(dataset="diabetes"), []))
    assert X.shape == (442, 10) and y.name == "progression"


def test_save_table_and_figure_write_named_files(tmp_path):
    """Tables go out as CSV and Markdown, figures as PNG, named after the recipe."""
    args = recipe.parse_args(_parser(), ["--out", str(tmp_path / "new")])
    table = pd.DataFrame({"model": ["a|b"], "loss": [0.123456789]})
    csv_path, md_path = recipe.save_table(table, args, "losses")
    assert csv_path.name == "07_example_losses.csv"
    pd.testing.assert_frame_equal(pd.read_csv(csv_path), table)
    assert md_path.read_text() == "| model | loss |\n|---|---|\n| a\\|b | 0.123457 |\n"
    fig = Figure()
    fig.subplots().plot([0, 1])
    png = recipe.save_figure(fig, args, "curve")
    assert png.name == "07_example_curve.png" and png.read_bytes()[:4] == b"\x89PNG"


def test_needs_tensorflow_returns_its_reason_on_tensorflow(monkeypatch):
    """On the TensorFlow backend the check lets the recipe go on and keeps the reason as its constant."""
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    assert recipe.needs_tensorflow("its loop is tf.GradientTape") == "its loop is tf.GradientTape"


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_needs_tensorflow_exits_2_with_one_line_under_another_backend(monkeypatch, capsys, backend):
    """Under another backend: exit status 2, one stderr line with the reason, the backend and the fix."""
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    monkeypatch.setattr("sys.argv", ["recipes/06_paths.py", "--quick"])
    with pytest.raises(SystemExit) as info:
        recipe.needs_tensorflow("its loop is tf.GradientTape")
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"06_paths.py: error: this lesson needs TensorFlow (its loop is tf.GradientTape) and Keras runs on "
        f"{backend} here; run it with KERAS_BACKEND=tensorflow\n"
    )


def test_plain_log_ticks_label_a_short_log_range_in_plain_numbers():
    """A loss axis from 0.1 to 3: labels 0.1 and 1 plus 0.2, 0.3, 0.5, 2 and 3 (matplotlib alone labels 0.1 and 1)."""
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    ax.set_yscale("log")
    ax.set_ylim(0.1, 3)
    recipe.plain_log_ticks(ax.yaxis)
    ax.figure.canvas.draw()
    labels = {t.get_text() for t in ax.yaxis.get_majorticklabels() + ax.yaxis.get_minorticklabels()}
    assert {"0.1", "0.2", "0.3", "0.5", "1", "2", "3"} <= labels
    assert "4" not in labels and "0.7" not in labels, "only 2, 3 and 5 per decade: no colliding labels"
