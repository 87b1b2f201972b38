"""The ``cookbook`` command: list, run, tour, and its one-line errors."""

import concurrent.futures
import html
import pathlib
import re
import shutil
import sys
import threading

import cookbook
from cookbook import cli, curriculum, processes, site

import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def no_site_build(monkeypatch):
    """The tour's last step, the Sphinx build (seconds, tested in test_site.py), replaced by a stub page."""

    def build(out, recipes, tour):
        (out / "index.html").write_text("<p>stub</p>", encoding="utf-8")
        return site.Site(out / "index.html", 0.0, [])

    monkeypatch.setattr(site, "build_site", build)


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
    """`cookbook run 11 --quick --out DIR` runs recipe 11 (the quickest lesson) with those flags."""
    assert cli.main(["run", "11", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "11_adam_bias_correction.csv").exists()


def test_tour_runs_each_recipe_with_progress_and_summary(tmp_path, capsys, recipes, monkeypatch, no_site_build):
    """`cookbook tour --quick` prints [i/n] progress, writes each recipe's files and a summary table."""
    ran = []

    def fake_run(recipe, argv, log=None, fresh_process=False, notebook=None):
        ran.append((recipe.name, argv, fresh_process))

    monkeypatch.setattr(curriculum, "run", fake_run)
    stale = tmp_path / f"{recipes[0].name}.ipynb"  # an earlier tour's record of a lesson
    stale.write_text("{}", encoding="utf-8")
    assert cli.main(["tour", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert not stale.exists(), "a lesson that records nothing this time shows nothing of an earlier run"
    assert sorted(name for name, _, _ in ran) == sorted(r.name for r in recipes)
    assert all("--quick" in argv and str(tmp_path) in argv and fresh for _, argv, fresh in ran)
    assert f"[1/{len(recipes)}] {recipes[0].name} done in" in out
    summary = pd.read_csv(tmp_path / "tour_summary.csv")
    assert summary["recipe"].tolist() == [r.name for r in recipes]
    assert (tmp_path / "index.html").exists() and "The course site:" in out


def test_tour_runs_two_lessons_at_once_by_default(tmp_path, recipes, monkeypatch, no_site_build):
    """Two lessons run side by side: each waits at a barrier for the other (it would time out one at a time)."""
    both_running = threading.Barrier(2, timeout=30)
    monkeypatch.setattr(cli, "DEFAULT_JOBS", 2)  # what a machine with two cores or more gets

    def fake_run(recipe, argv, log=None, fresh_process=False, notebook=None):
        if recipe in recipes[:2]:
            both_running.wait()  # raises BrokenBarrierError if the other lesson never starts

    monkeypatch.setattr(curriculum, "run", fake_run)
    assert cli.main(["tour", "--quick", "--out", str(tmp_path)]) == 0
    assert (pd.read_csv(tmp_path / "tour_summary.csv")["status"] == "ok").all()


def test_ctrl_c_stops_the_tour_without_starting_the_lessons_still_queued(tmp_path, recipes, monkeypatch):
    """KeyboardInterrupt in a lesson ends the tour with it; the lessons not yet started are cancelled.

    The second lesson (if the worker picked it up) waits until the tour has cancelled the queue, so the
    fake lessons cannot all finish before the interrupt is handled.
    """
    ran, cancelled = [], threading.Event()
    shutdown = concurrent.futures.ThreadPoolExecutor.shutdown

    def shutdown_and_tell(pool, wait=True, *, cancel_futures=False):
        shutdown(pool, wait=False, cancel_futures=cancel_futures)
        cancelled.set()
        shutdown(pool, wait=wait)

    def fake_run(recipe, argv, log=None, fresh_process=False, notebook=None):
        ran.append(recipe.name)
        if recipe == recipes[0]:
            raise KeyboardInterrupt
        assert cancelled.wait(timeout=30)

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "shutdown", shutdown_and_tell)
    monkeypatch.setattr(curriculum, "run", fake_run)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["tour", "--quick", "--jobs", "1", "--out", str(tmp_path)])
    assert ran in ([recipes[0].name], [recipes[0].name, recipes[1].name])  # the queue's others never started


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_tour_refuses_a_jobs_count_below_one(jobs, capsys):
    """--jobs takes a whole number of at least 1: anything else is one line on stderr and exit status 2."""
    with pytest.raises(SystemExit) as info:
        cli.main(["tour", "--jobs", jobs])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--jobs" in err and "at least 1" in err


def test_tour_reports_a_failing_recipe_and_goes_on(tmp_path, capsys, recipes, monkeypatch, no_site_build):
    """A recipe that raises is marked failed, the others still run, and the exit status is 1."""

    def fake_run(recipe, argv, log=None, fresh_process=False, notebook=None):
        if recipe == recipes[0]:
            raise RuntimeError("boom")

    monkeypatch.setattr(curriculum, "run", fake_run)
    assert cli.main(["tour", "--quick", "--out", str(tmp_path)]) == 1
    summary = pd.read_csv(tmp_path / "tour_summary.csv")
    assert summary["status"].iloc[0].startswith("failed: RuntimeError: boom")
    assert len(summary) == len(recipes)
    lessons = {lesson["recipe"]: lesson for lesson in site.read_tour(tmp_path)["lessons"]}
    assert lessons[recipes[0].name]["cause"] == "RuntimeError: boom" and lessons[recipes[0].name]["fix"]
    assert [lesson["status"] for lesson in lessons.values()].count("ok") == len(recipes) - 1


BREAKING_RECIPE = """\
'''A lesson that breaks on purpose: it writes a table, prints a line, then needs a module nobody has.'''
# %%
import pathlib
import sys

out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
out.mkdir(parents=True, exist_ok=True)
(out / "01_breaks_measured.csv").write_text("step,loss\\n1,0.5\\n")
print("measured before the failure: loss 0.5")
import cookbook_module_nobody_has  # noqa: F401
"""


FINE_RECIPE = """\
'''A lesson that passes: it writes a table (plain Python: the child starts in a fraction of a second).'''
# %% [markdown]
# ## Settings
#
# Where its table goes.

# %%
import pathlib
import sys

out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
(out / "02_fine.csv").write_text("step,loss\\n1,0.25\\n")
"""


def test_a_failed_lesson_shows_its_cause_and_fix_in_the_summary_and_on_its_page(tmp_path, capsys):
    """A real recipe failing on a missing module: summary line, fix line, its page's notice, the index's mark."""
    folder, out = tmp_path / "recipes", tmp_path / "out"
    folder.mkdir()
    (folder / "01_breaks.py").write_text(BREAKING_RECIPE, encoding="utf-8")
    (folder / "02_fine.py").write_text(FINE_RECIPE, encoding="utf-8")  # a lesson that passes
    assert cli.main(["--recipes", str(folder), "tour", "--quick", "--out", str(out)]) == 1
    printed = capsys.readouterr()
    cause = "ModuleNotFoundError: No module named 'cookbook_module_nobody_has'"
    fix = "python -m pip install cookbook_module_nobody_has"
    assert f"FAILED 01_breaks: {cause}\n  fix: {fix}" in printed.out
    assert "1 recipe(s) failed" in printed.err and "\x1b[" not in printed.out + printed.err
    summary = pd.read_csv(out / "tour_summary.csv", keep_default_na=False).set_index("recipe")
    assert summary.loc["01_breaks", "status"] == f"failed: {cause}"
    assert summary.loc["01_breaks", "fix"] == fix
    assert summary.loc["02_fine", ["status", "fix"]].tolist() == ["ok", ""]
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", "", (out / "01_breaks.html").read_text(encoding="utf-8"))).split())
    assert f"This lesson failed during the tour: {cause}" in page and f"Fix: {fix}" in page
    assert "measured before the failure: loss 0.5" in page  # what it printed, under the cell that printed it
    assert "ModuleNotFoundError" in page.split("measured before the failure", 2)[2]  # the error under its cell
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<a class="lesson-card" href="01_breaks.html">' in index and '<span class="mark">failed</span>' in index
    assert index.count('<span class="mark">') == 1, "the lesson that passed is not marked"


def test_version_flag_prints_the_version(capsys):
    """`cookbook --version` prints the package's version and exits 0."""
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cookbook {cookbook.__version__}"


def test_python_dash_m_cookbook_version_in_a_fresh_process():
    """`python -m cookbook --version` prints the version without a TensorFlow log line."""
    run = processes.run([sys.executable, "-m", "cookbook", "--version"], cwd=ROOT, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"cookbook {cookbook.__version__}"


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


# --- TensorFlow lessons under another backend -----------------------------------------------------


@pytest.fixture
def on_jax(monkeypatch):
    """The curriculum sees the JAX backend (this process stays on TensorFlow)."""
    monkeypatch.setattr(curriculum, "backend", lambda: "jax")


def test_tour_skips_tensorflow_lessons_under_another_backend_and_says_why(
    tmp_path, capsys, recipes, monkeypatch, on_jax, no_site_build
):
    """Each skipped lesson gets one line with its reason and a "skipped" row; the rest run; exit status 0."""
    ran = []
    monkeypatch.setattr(
        curriculum, "run", lambda recipe, argv, log=None, fresh_process=False, notebook=None: ran.append(recipe.name)
    )
    assert cli.main(["tour", "--quick", "--jobs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    needs = [r for r in recipes if r.needs_tensorflow]
    assert needs and ran == [r.name for r in recipes if not r.needs_tensorflow]
    for recipe in needs:
        assert f"skipped {recipe.name}: needs TensorFlow ({recipe.needs_tensorflow})\n" in out
    summary = pd.read_csv(tmp_path / "tour_summary.csv").set_index("recipe")
    assert (summary.loc[[r.name for r in needs], "status"] == "skipped: needs TensorFlow").all()
    assert (summary.loc[ran, "status"] == "ok").all()
    statuses = {lesson["recipe"]: lesson["status"] for lesson in site.read_tour(tmp_path)["lessons"]}
    assert all(statuses[r.name] == f"skipped: needs TensorFlow ({r.needs_tensorflow})" for r in needs)


def test_run_refuses_a_tensorflow_lesson_under_another_backend(capsys, recipes, on_jax):
    """`cookbook run NN` of a TensorFlow lesson under JAX: exit status 2 and one line with the reason and the fix."""
    needs = next(r for r in recipes if r.needs_tensorflow)
    assert cli.main(["run", f"{needs.number:02d}", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KERAS_BACKEND=tensorflow" in err
    assert f"{needs.name} needs TensorFlow ({needs.needs_tensorflow})" in err


def test_list_marks_the_tensorflow_lessons(capsys, recipes, on_jax):
    """`cookbook list` marks each TensorFlow lesson and, under another backend, says the tour skips them."""
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for recipe in recipes:
        line = next(line for line in out.splitlines() if line.startswith(recipe.name))
        assert line.endswith("[needs TensorFlow]") == (recipe.needs_tensorflow is not None)
    assert "Keras runs on jax here: the tour skips" in out


@pytest.mark.slow
def test_tour_on_jax_runs_what_it_can_and_skips_the_rest(tmp_path, recipes):
    """A real `KERAS_BACKEND=jax cookbook tour --quick` of 10 and the TensorFlow lessons: 10 runs, they are skipped.

    The whole tour on JAX takes minutes; lesson 11, the quickest, runs its optimizers on JAX in a child process
    of the tour, and the lessons that declare they need TensorFlow are skipped without being imported. (The
    lessons' evidence, and the twins against the built-ins, run under JAX in .ci/run's backend-agnostic step.)
    """
    quickest = next(r for r in recipes if r.name.endswith("adam_bias_correction"))
    chosen = [quickest, *(r for r in recipes if r.needs_tensorflow)]
    folder = tmp_path / "recipes"
    folder.mkdir()
    for recipe in chosen:
        shutil.copy(recipe.path, folder)
    out = tmp_path / "out"
    result = processes.run(
        [sys.executable, "-m", "cookbook", "--recipes", str(folder), "tour", "--quick", "--out", str(out)],
        env={"KERAS_BACKEND": "jax", "COOKBOOK_RECIPES": None},
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(quick, Keras on jax)" in result.stdout
    skipped, ran = [r for r in chosen if r.needs_tensorflow], [r for r in chosen if not r.needs_tensorflow]
    assert len(skipped) == len(chosen) - 1 >= 1
    for recipe in skipped:
        assert f"skipped {recipe.name}: needs TensorFlow ({recipe.needs_tensorflow})" in result.stdout
    summary = pd.read_csv(out / "tour_summary.csv").set_index("recipe")
    assert (summary.loc[[r.name for r in skipped], "status"] == "skipped: needs TensorFlow").all()
    assert (summary.loc[[r.name for r in ran], "status"] == "ok").all()
    assert (summary.loc[[r.name for r in ran], ["tables", "figures"]] >= 1).all(axis=None)
    written = {p.name[:2] for p in out.glob("[0-9][0-9]_*") if p.suffix != ".html"}  # .html: the site's pages
    assert written == {quickest.name[:2]}, "the skipped lessons wrote nothing"
    for recipe in skipped:
        assert "The tour skipped this lesson" in (out / f"{recipe.name}.html").read_text(encoding="utf-8")
