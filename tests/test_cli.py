"""The ``cookbook`` command: list, run, tour, and its one-line errors."""

from cookbook import cli, curriculum

import pandas as pd
import pytest


def test_list_prints_every_recipe_with_its_title(capsys, recipes):
    """`cookbook list` names each recipe and the first line of its header."""
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for recipe in recipes:
        assert recipe.name in out and recipe.title in out


def test_run_unknown_recipe_is_one_line_and_exit_2(capsys):
    """A name that matches nothing lists the choices on one stderr line."""
    assert cli.main(["run", "nonexistent"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "01_regression_mse" in err


@pytest.mark.parametrize("argv", [["bogus"], ["run"], ["tour", "--bad"]])
def test_cli_flag_mistakes_are_one_line_and_exit_2(argv, capsys):
    """An unknown command, a missing recipe name or an unknown flag: one stderr line, no usage block."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "see --help" in err


def test_missing_recipes_folder_says_how_to_fix(tmp_path, capsys):
    """Without a recipes folder the CLI says to install from the checkout or set the path."""
    assert cli.main(["--recipes", str(tmp_path), "list"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e ." in err and "COOKBOOK_RECIPES" in err


@pytest.mark.slow
def test_run_passes_flags_to_the_recipe(tmp_path, capsys):
    """`cookbook run 01 --quick --out DIR` runs recipe 01 with those flags."""
    assert cli.main(["run", "01", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "01_regression_mse.csv").exists()


def test_tour_runs_each_recipe_with_progress_and_summary(tmp_path, capsys, recipes, monkeypatch):
    """`cookbook tour --quick` prints [i/n] progress, writes each recipe's files and a summary table."""
    ran = []
    monkeypatch.setattr(curriculum, "run", lambda recipe, argv, log=None: ran.append((recipe.name, argv)))
    assert cli.main(["tour", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert [name for name, _ in ran] == [r.name for r in recipes]
    assert all("--quick" in argv and str(tmp_path) in argv for _, argv in ran)
    assert f"[1/{len(recipes)}] {recipes[0].name} ... done in" in out
    summary = pd.read_csv(tmp_path / "tour_summary.csv")
    assert summary["recipe"].tolist() == [r.name for r in recipes]
    assert (tmp_path / "index.html").exists() and "The course page:" in out


def test_tour_reports_a_failing_recipe_and_goes_on(tmp_path, capsys, recipes, monkeypatch):
    """A recipe that raises is marked failed, the others still run, and the exit status is 1."""

    def fake_run(recipe, argv, log=None):
        if recipe == recipes[0]:
            raise RuntimeError("boom")

    monkeypatch.setattr(curriculum, "run", fake_run)
    assert cli.main(["tour", "--quick", "--out", str(tmp_path)]) == 1
    summary = pd.read_csv(tmp_path / "tour_summary.csv")
    assert summary["status"].iloc[0].startswith("failed: RuntimeError: boom")
    assert len(summary) == len(recipes)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert page.count("This lesson failed during the tour") == 1 and "RuntimeError: boom" in page


def test_notebooks_refuses_a_file_as_out(tmp_path, capsys):
    """`cookbook notebooks --out FILE` is refused in one line, exit 2, the file untouched."""
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert cli.main(["notebooks", "--out", str(target)]) == 2
    assert target.read_text() == "mine"
    assert "is a file" in capsys.readouterr().err


def test_tour_refuses_a_file_as_out(tmp_path, capsys):
    """--out pointing at an existing file is refused, and the file is left as it was."""
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert cli.main(["tour", "--quick", "--out", str(target)]) == 2
    assert target.read_text() == "mine"
    assert "is a file" in capsys.readouterr().err
