"""The ``cookbook`` command: list, run one recipe, or take the whole tour.

::

    python -m cookbook list                      # the curriculum
    python -m cookbook run 3 --quick             # one recipe, with its own flags
    python -m cookbook tour [--quick] [--out DIR] [--jobs N]  # every recipe, and the site: DIR/index.html
    python -m cookbook site [--out DIR]          # the site again, from the tour's run in DIR (no training)
    python -m cookbook notebooks --out DIR [--execute] [--quick]  # one .ipynb per recipe
    python -m cookbook --version

Errors the user can fix end with one line on stderr and exit status 2. A
lesson that fails in the tour or in a notebook is reported with its cause and
the fix (``cookbook.failures``), in the summary and on the course site.
A recipe whose lesson is TensorFlow code (its ``NEEDS_TENSORFLOW``) is
marked in the list; under another Keras backend ``run`` refuses it (exit
status 2) and ``tour`` skips it, saying why.
"""

import argparse
import concurrent.futures
import os
import pathlib
import sys
import time

import cookbook
from cookbook import curriculum, failures, site
from cookbook.display import print_table, to_markdown
from cookbook.errors import CookbookError
from cookbook.settings import DEFAULT_OUT, OneLineErrorParser, out_problem

import pandas as pd

# Two lessons at a time: most of a lesson's time is one busy core (Python around small models), so two
# side by side take about half as long on two cores, and more would crowd the lessons that start child
# processes of their own (17, 18, 19).
DEFAULT_JOBS = min(2, os.cpu_count() or 1)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def _parser():
    parser = OneLineErrorParser(
        prog="cookbook", description="Loss functions and optimizers in Keras 3, as runnable lessons."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {cookbook.__version__}")
    parser.add_argument(
        "--recipes",
        metavar="DIR",
        default=None,
        help=f"recipes folder (default: the checkout's recipes/, or ${curriculum.ENV_VAR})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="print the curriculum: number, recipe, what it teaches")
    run = commands.add_parser(
        "run",
        help="run one recipe; flags after the name go to the recipe",
        epilog="example: python -m cookbook run 01 --quick --out results",
    )
    run.add_argument("recipe", metavar="NAME_OR_NUMBER", help="e.g. 3, 03, or 05_wrong_setups")
    tour = commands.add_parser("tour", help="run every recipe in order and summarise")
    tour.add_argument("--quick", action="store_true", help="each recipe's quick mode (about a minute in all)")
    tour.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path(DEFAULT_OUT),
        help=f"folder for every table and figure (default: {DEFAULT_OUT})",
    )
    tour.add_argument("--seed", type=int, default=0, help="random seed for every recipe (default: 0)")
    tour.add_argument(
        "--jobs",
        type=_positive_int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"lessons run at once, each in a Python process of its own (default: {DEFAULT_JOBS})",
    )
    rebuild = commands.add_parser(
        "site", help="build the course site again from the tour's run in --out (runs no lesson)"
    )
    rebuild.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path(DEFAULT_OUT),
        help=f"the folder a tour wrote (default: {DEFAULT_OUT})",
    )
    notebooks = commands.add_parser(
        "notebooks", help="write each recipe as a Jupyter notebook (its first cell installs the cookbook)"
    )
    notebooks.add_argument("--out", type=pathlib.Path, required=True, help="folder for the .ipynb files")
    notebooks.add_argument(
        "--execute", action="store_true", help="run each notebook top to bottom and store its outputs"
    )
    notebooks.add_argument("--quick", action="store_true", help="notebooks run at each recipe's --quick settings")
    notebooks.add_argument("--seed", type=int, default=0, help="random seed for every recipe (default: 0)")
    return parser


def main(argv=None):
    """Entry point of ``cookbook`` and ``python -m cookbook``; returns the exit status."""
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        recipes = curriculum.list_recipes(args.recipes)
        if args.command == "list":
            return _list(recipes)
        if args.command == "run":
            curriculum.run(curriculum.resolve(recipes, args.recipe), rest)
            return 0
        if args.command == "notebooks":
            return _notebooks(recipes, args)
        if args.command == "site":
            return _site(recipes, args.out, site.read_tour(args.out))
        return _tour(recipes, args)
    except CookbookError as exc:
        print(f"cookbook: error: {exc}", file=sys.stderr)
        return 2


def _list(recipes):
    width = max(len(r.name) for r in recipes)
    for r in recipes:
        print(f"{r.name:<{width}}  {r.title}" + ("  [needs TensorFlow]" if r.needs_tensorflow else ""))
    print(f"\nRun one: python -m cookbook run {recipes[0].number:02d} --quick    All: python -m cookbook tour")
    skipped = [r for r in recipes if curriculum.skip_reason(r)]
    if skipped:
        print(
            f"Keras runs on {curriculum.backend()} here: the tour skips the {len(skipped)} recipes marked "
            f"[needs TensorFlow]; KERAS_BACKEND=tensorflow runs them all"
        )
    return 0


def _notebooks(recipes, args):
    from cookbook import notebooks

    _check_out_folder(args.out)
    # A TensorFlow lesson under another backend is written but not executed: its first cell would stop.
    not_run = {r.name: curriculum.skip_reason(r) for r in recipes} if args.execute else {}
    settings = {"quick": args.quick, "seed": args.seed}
    rows = notebooks.write_notebooks(
        [r for r in recipes if not not_run.get(r.name)], args.out, execute=args.execute, **settings
    ) + notebooks.write_notebooks([r for r in recipes if not_run.get(r.name)], args.out, **settings)
    for row in rows:
        if not_run.get(row["recipe"]) and row["status"] == "written":
            row["status"] = f"written, not run: {not_run[row['recipe']]}"
    names = [r.name for r in recipes]
    rows.sort(key=lambda row: names.index(row["recipe"]))
    summary = pd.DataFrame(rows)
    print_table(summary.drop(columns="fix"), f"{len(rows)} notebooks in {args.out}/")
    failed = {
        row["recipe"]: failures.Failure(row["status"].removeprefix("failed: "), row["fix"])
        for row in rows
        if not row["status"].startswith(("written", "executed"))
    }
    _print_failures(failed)
    if failed:
        print(f"cookbook: error: {len(failed)} notebook(s) failed; open them to see the failing cell", file=sys.stderr)
        return 1
    return 0


def _check_out_folder(out):
    """Refuse an --out a recipe would refuse: a file, or a folder that cannot be written or created."""
    problem = out_problem(out)  # the recipes' own check, so tour, notebooks and one recipe agree
    if problem:
        raise CookbookError(problem)


def _tour(recipes, args):
    _check_out_folder(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    mode = "quick" if args.quick else "full"
    print(
        f"Tour of {len(recipes)} recipes ({mode}, Keras on {curriculum.backend()}), {args.jobs} at a time, each "
        f"in a Python process of its own; tables, figures and logs go to {args.out}/"
    )
    by_name, statuses, failed = {}, {}, {}
    started = time.perf_counter()
    argv = ["--out", str(args.out), "--seed", str(args.seed)] + (["--quick"] if args.quick else [])
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        running = {}
        for i, recipe in enumerate(recipes, 1):
            reason = curriculum.skip_reason(recipe)
            if reason:  # a TensorFlow lesson under another backend: say why, and go on
                print(f"[{i}/{len(recipes)}] skipped {recipe.name}: {reason}", flush=True)
                statuses[recipe.name] = f"skipped: {reason}"  # the site says why; the table, in short
                by_name[recipe.name] = _tour_row(recipe, args.out, 0.0, f"skipped: {reason.partition(' (')[0]}")
                continue
            running[pool.submit(_run_in_tour, recipe, argv, args)] = i, recipe
        try:
            for done in concurrent.futures.as_completed(running):  # in the order they finish
                i, recipe = running[done]
                seconds, failure = done.result()
                log_path = args.out / f"{recipe.name}.log"
                if failure is not None:
                    failed[recipe.name] = failure
                print(
                    f"[{i}/{len(recipes)}] {recipe.name} "
                    + (
                        f"done in {seconds:.1f} s"
                        if failure is None
                        else f"FAILED after {seconds:.1f} s (see {log_path})"
                    ),
                    flush=True,
                )
                statuses[recipe.name] = "ok" if failure is None else f"failed: {failure.cause}"
                by_name[recipe.name] = _tour_row(recipe, args.out, seconds, statuses[recipe.name])
        except KeyboardInterrupt:  # Ctrl-C reached the running lessons too: start no more of them
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    rows = [by_name[recipe.name] for recipe in recipes]  # the summary in curriculum order
    summary = pd.DataFrame(rows)
    print_table(summary, f"Tour finished in {time.perf_counter() - started:.0f} s")
    _print_failures(failed)
    saved = summary.assign(fix=[failed[name].fix if name in failed else "" for name in summary["recipe"]])
    saved.to_csv(args.out / "tour_summary.csv", index=False)
    (args.out / "tour_summary.md").write_text(to_markdown(saved) + "\n", encoding="utf-8")
    lessons = [
        {
            "recipe": row["recipe"],
            "status": statuses[row["recipe"]],
            "cause": failed[row["recipe"]].cause if row["recipe"] in failed else "",
            "fix": failed[row["recipe"]].fix if row["recipe"] in failed else "",
            "seconds": row["seconds"],
            "argv": argv,
        }
        for row in rows
    ]
    tour = site.write_tour(args.out, site.tour_settings(args.quick, args.seed), lessons)
    status = _site(recipes, args.out, tour)
    if failed:
        print(f"cookbook: error: {len(failed)} recipe(s) failed; their logs are in {args.out}/", file=sys.stderr)
        return 1
    return status


def _site(recipes, out, tour):
    """Build the course site from the tour's run in ``out``; say where it is and how long it took."""
    print("Building the course site ...", flush=True)
    built = site.build_site(out, recipes, tour)
    warned = f"; {len(built.warnings)} warning(s) in {out / 'site.log'}" if built.warnings else ""
    print(
        f"The course site: {built.index} ({len(recipes)} lesson pages, built in {built.seconds:.1f} s{warned}); "
        "open it in a browser, it needs no network"
    )
    return 0


def _run_in_tour(recipe, argv, args):
    """Run one lesson as a child process, its output to ``OUT/NN_topic.log``: (seconds, None or its Failure)."""
    tick = time.perf_counter()
    log_path, notebook = args.out / f"{recipe.name}.log", args.out / f"{recipe.name}.ipynb"
    notebook.unlink(missing_ok=True)  # an earlier run's record must not stand in for a lesson killed this time
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            curriculum.run(recipe, argv, log=log, fresh_process=True, notebook=notebook)
    except (Exception, SystemExit) as exc:  # one broken lesson must not stop the tour
        rerun = failures.rerun_command(recipe.number, args.quick)
        return time.perf_counter() - tick, failures.describe(exc, printed=_read(log_path), rerun=rerun)
    return time.perf_counter() - tick, None


def _read(path):
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _print_failures(failed):
    """One block per failed lesson under the summary: what happened, then what to do."""
    for name, failure in failed.items():
        print(f"\nFAILED {name}: {failure.cause}\n  fix: {failure.fix}")


def _tour_row(recipe, out, seconds, status):
    """One row of the tour's summary: the recipe, its time, the files it wrote, ok / skipped: ... / failed: ..."""
    wrote = not status.startswith("skipped")  # a skipped recipe wrote nothing, whatever an earlier tour left
    return {
        "#": f"{recipe.number:02d}",
        "recipe": recipe.name,
        "seconds": round(seconds, 1),
        "tables": len(list(out.glob(f"{recipe.name}*.csv"))) if wrote else 0,
        "figures": len(list(out.glob(f"{recipe.name}*.png"))) if wrote else 0,
        "status": status,
    }
