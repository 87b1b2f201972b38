"""Evidence for lesson 18 (``keras.distribution`` on JAX): the job its JAX children run, the tables, the figure, the claims.

The lesson runs on whatever backend the tour uses (TensorFlow), and a
process's Keras backend is fixed when Keras is first imported; so the
lesson's own Keras functions (``fit_on_one_device``, ``fit_data_parallel``)
run in child processes started with ``KERAS_BACKEND=jax``:

- ``save_job`` writes a folder with the model (its starting weights, in a
  ``.keras`` file any backend loads), the rows, the *source* of the lesson's
  functions and the runs each child makes (``run``);
- ``start_on_jax`` starts ``python -m cookbook.lessons.jax_worker`` on it:
  one process with N virtual CPU devices, or N processes joined into one job;
- ``load_results`` reads the weights each process wrote, ``results_table``
  compares them (against the one-device runs, across processes, against the
  start), ``plot_differences`` draws the comparison and ``claims`` turns it
  into the lesson's points to remember.

Everything but the children is pandas and NumPy, tested on tiny inputs in
``tests/test_keras_distribution_on_jax.py``.
"""

from __future__ import annotations

import atexit
import inspect
import json
import math
import os
import pathlib
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cookbook import processes
from cookbook.claims import Claim, Verdict
from cookbook.errors import LessonError
from cookbook.lessons import keras_distribution
from cookbook.lessons.agreement import max_difference
from cookbook.lessons.cluster import LOCALHOST, free_ports

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "DATA_FILE",
    "JOB_FILE",
    "MODEL_FILE",
    "MOVED_AT_LEAST",
    "REFUSED",
    "SHOWN",
    "TRAINED",
    "claims",
    "host_commands",
    "load_job",
    "load_results",
    "plot_differences",
    "results_table",
    "run",
    "run_on_jax",
    "save_job",
    "save_results",
    "start_on_jax",
    "worker_command",
]

JOB_FILE, MODEL_FILE, DATA_FILE = "job.json", "model.keras", "data.npz"
TRAINED, REFUSED = "trained", "refused (ValueError)"
MOVED_AT_LEAST = 1e-3  # a comparison of weights means something only after they moved this far from the start
SHOWN = [  # the columns of results_table a learner reads first
    "run", "process", "devices", "fit batch_size", "global batch", "outcome", "steps", "vs 1 device",
    "vs process 0", "weights moved",
]  # fmt: skip
FAR = 10  # "far from" one device: more than FAR x the tolerance away


# --------------------------------------------------------------------------
# The job folder the JAX children read, and what they write next to it


def run(label: str, function: Callable[..., Any], *, expects_error: bool = False, **kwargs: Any) -> dict[str, Any]:
    """One call a JAX child makes: ``function(model_file, X, y, **kwargs)``, shown as ``label``.

    Args:
        label: the run's name in tables and figures.
        function: one of the lesson's functions given to ``save_job``.
        expects_error: the run shows Keras refusing something: a
            ``ValueError`` it raises is recorded as the outcome instead of
            ending the child. Defaults to `False`.
        **kwargs: the function's keyword arguments (JSON values).
    """
    return {"label": label, "function": function.__name__, "kwargs": kwargs, "expects_error": expects_error}


def save_job(
    folder: str | os.PathLike[str] | None,
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    functions: Sequence[Callable[..., Any]],
    children: Mapping[str, Sequence[Mapping[str, Any]]],
) -> pathlib.Path:
    """Write what ``python -m cookbook.lessons.jax_worker FOLDER CHILD`` needs; return the folder.

    Args:
        folder: where to write (created if missing); ``None``: a new temporary
            folder, removed when this process exits.
        model: a built Keras model; its architecture and current weights are
            saved, so every run of every child starts from these weights.
        X, y: the rows; stored as float32, ``y`` as ``(n, -1)``.
        functions: the lesson's functions the runs call. Their source is
            saved and run by the child, so each may use only its arguments,
            ``keras``, ``np`` and what it imports itself.
        children: ``{child name: [run(...), ...]}``, the runs each child
            makes, in order.

    Raises:
        LessonError: a run calls a function not in ``functions``, a child has
            no runs, or a function's source cannot be read.
    """
    names = [function.__name__ for function in functions]
    unknown = sorted({r["function"] for runs in children.values() for r in runs} - set(names))
    empty = sorted(name for name, runs in children.items() if not runs)
    if unknown or empty or not children:
        raise LessonError(
            f"every child needs runs, each calling one of {names}; unknown functions: {unknown or 'none'}, "
            f"children without runs: {empty or ('none' if children else 'no children at all')}"
        )
    try:
        source = "\n\n".join(textwrap.dedent(inspect.getsource(function)) for function in functions)
    except (OSError, TypeError) as error:
        raise LessonError(f"cannot read the source of {names}: define them in a file or a notebook cell") from error
    if folder is None:
        folder = tempfile.mkdtemp(prefix="cookbook-18-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    X = np.asarray(X, np.float32)
    np.savez(folder / DATA_FILE, X=X, y=np.asarray(y, np.float32).reshape(len(X), -1))
    spec = {"source": source, "children": {name: list(runs) for name, runs in children.items()}}
    (folder / JOB_FILE).write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return folder


def load_job(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """``(spec, X, y)`` of a job folder written by ``save_job``."""
    folder = pathlib.Path(folder)
    if not (folder / JOB_FILE).is_file():
        raise LessonError(f"{folder} has no {JOB_FILE}; write the job with save_job first")
    spec = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    with np.load(folder / DATA_FILE) as data:
        return spec, data["X"], data["y"]


def worker_command(
    folder: str | os.PathLike[str],
    child: str,
    *,
    process_id: int | None = None,
    num_processes: int | None = None,
    coordinator_address: str | None = None,
) -> list[str]:
    """The argv that runs ``cookbook.lessons.jax_worker`` on ``folder`` as ``child``, with this Python.

    With ``coordinator_address`` the worker first joins a job of
    ``num_processes`` processes as ``process_id``.
    """
    command = [sys.executable, "-m", "cookbook.lessons.jax_worker", str(folder), str(child)]
    if coordinator_address is not None:
        keras_distribution.check_job_arguments(process_id, num_processes, coordinator_address)
        command += ["--coordinator", str(coordinator_address)]
        command += ["--num-processes", str(num_processes), "--process-id", str(process_id)]
    return command


def start_on_jax(
    folder: str | os.PathLike[str], child: str, *, devices: int = 1, num_processes: int = 1, timeout: float = 120.0
) -> processes.Workers:
    """Start ``child``'s runs on JAX: one process with ``devices`` CPU devices, or ``num_processes`` joined ones.

    With ``num_processes > 1`` process 0 is the coordinator, on a port of
    127.0.0.1 that was free a moment ago. Use the result as a context
    manager (every child killed on leaving), then ``wait()``: the results, or
    ``WorkerFailed`` naming the process that failed and quoting its stderr.
    """
    if num_processes == 1:
        commands = [worker_command(folder, child)]
    else:
        address = f"{LOCALHOST}:{free_ports(1)[0]}"
        commands = [
            worker_command(folder, child, process_id=i, num_processes=num_processes, coordinator_address=address)
            for i in range(num_processes)
        ]
    envs = [processes.child_env(keras_distribution.child_env(devices)) for _ in commands]
    return processes.Workers(commands, envs, timeout=timeout, what=f"{child} process")


def run_on_jax(
    folder: str | os.PathLike[str], children: Mapping[str, Mapping[str, int]], *, timeout: float = 120.0
) -> dict[str, list[tuple[dict[str, list[np.ndarray]], dict[str, Any]]]]:
    """Start every child at once (``start_on_jax``), wait for all, print what they said; ``{child: load_results}``.

    Args:
        folder: the job, from ``save_job``.
        children: ``{child: {"devices": N}}`` or ``{child: {"num_processes": N}}``.
        timeout: seconds before a child still running is killed.

    Raises:
        cookbook.errors.WorkerFailed: a child failed (its stderr quoted, JAX's chatter left out); every
            other child is stopped.
    """
    started = {name: start_on_jax(folder, name, timeout=timeout, **how) for name, how in children.items()}
    results = {}
    try:
        for name, workers in started.items():
            for result in workers.wait():
                print(keras_distribution.quiet(result.stdout).strip())
            results[name] = load_results(folder, name, len(workers.pids))
    finally:
        for workers in started.values():
            workers.close()  # an error in one child must not leave the others running
    return results


def save_results(
    folder: str | os.PathLike[str],
    child: str,
    process_index: int,
    weights: Mapping[str, Sequence[Any]],
    info: Mapping[str, Any],
) -> None:
    """Write one process's final weights (``{run label: [arrays]}``) and its ``info`` dict next to the job."""
    folder = pathlib.Path(folder)
    labels = list(weights)
    arrays: dict[str, Any] = {
        f"{i}/{j}": np.asarray(w) for i, label in enumerate(labels) for j, w in enumerate(weights[label])
    }
    np.savez(folder / f"{child}_process_{process_index}.npz", **arrays)
    record = {**info, "labels": labels}
    (folder / f"{child}_process_{process_index}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


def load_results(
    folder: str | os.PathLike[str], child: str, num_processes: int = 1
) -> list[tuple[dict[str, list[np.ndarray]], dict[str, Any]]]:
    """Each process's ``(weights, info)``, in process order; weights as ``{run label: [arrays]}``."""
    folder = pathlib.Path(folder)
    results = []
    for index in range(num_processes):
        info = json.loads((folder / f"{child}_process_{index}.json").read_text(encoding="utf-8"))
        by_run: dict[int, dict[int, np.ndarray]] = {}
        with np.load(folder / f"{child}_process_{index}.npz") as saved:
            for key in saved.files:
                i, j = (int(part) for part in key.split("/"))
                by_run.setdefault(i, {})[j] = saved[key]
        weights = {
            label: [by_run.get(i, {})[j] for j in range(len(by_run.get(i, {})))]
            for i, label in enumerate(info["labels"])
        }
        results.append((weights, info))
    return results


def host_commands(child: str, num_processes: int, address: str = "HOST0:1234") -> list[str]:
    """How to start ``child``'s job by hand on real hosts: one line per host, JOB a copy of the job folder."""
    return [
        "KERAS_BACKEND=jax python "
        + " ".join(
            worker_command("JOB", child, process_id=i, num_processes=num_processes, coordinator_address=address)[1:]
        )
        for i in range(num_processes)
    ]


# --------------------------------------------------------------------------
# What the runs show


def results_table(
    children: Mapping[str, Sequence[tuple[Mapping[str, Sequence[Any]], Mapping[str, Any]]]],
    start: Sequence[Any],
    rows: int,
    reference: str,
) -> pd.DataFrame:
    """One row per run and process: its set-up, its outcome, its steps and its distance to the other runs.

    Args:
        children: ``{child: load_results(...)}``.
        start: the weights every run started from.
        rows: training rows in the job (every process reads the same array).
        reference: the name of the function that fits on one device; its one
            run is what every other run is compared with.

    Columns: ``child``, ``run``, ``process``, ``processes``, ``devices``
    (that the fit used: the distribution's mesh, 1 without one), ``fit
    batch_size``, ``global batch`` (``batch_size`` x processes), ``rows per
    process``, ``expects error`` (the run shows a refusal: ``run(...,
    expects_error=True)``), ``outcome``, ``steps`` (the optimizer's step
    count after fit), then the largest ``|weight difference|`` ``vs 1 device``
    (NaN on the reference itself), ``vs process 0`` (NaN in a job of one
    process) and ``weights moved``
    (from ``start``), and the ``message`` of a refused run.

    Raises:
        LessonError: not exactly one trained run of ``reference``.
    """
    records = []
    for child, results in children.items():
        for weights, info in results:
            count = int(info["process_count"])
            for label, details in info["runs"].items():
                batch_size = int(details["kwargs"]["batch_size"])
                records.append(
                    {
                        "child": child,
                        "run": label,
                        "function": details["function"],
                        "process": int(info["process_index"]),
                        "processes": count,
                        "devices": int(details["devices"]),
                        "fit batch_size": batch_size,
                        "global batch": batch_size * count,
                        "rows per process": len(range(int(info["process_index"]), rows, count)),
                        "expects error": bool(details.get("expects_error")),
                        "outcome": REFUSED if details.get("error") else TRAINED,
                        "steps": details.get("steps"),
                        "weights": weights.get(label) or None,
                        "message": details.get("error") or "",
                    }
                )
    references = [r["weights"] for r in records if r["function"] == reference and r["weights"] is not None]
    if len(references) != 1:
        raise LessonError(
            f"{len(references)} trained runs of {reference!r}; give exactly one one-device run to compare with"
        )
    first = {(r["child"], r["run"]): r["weights"] for r in records if r["process"] == 0}

    def gap(weights: Any, other: Any) -> float:
        return math.nan if weights is None or other is None else max_difference(weights, other)

    for r in records:
        r["vs 1 device"] = math.nan if r["function"] == reference else gap(r["weights"], references[0])
        alone = r["processes"] == 1  # no other process to compare with
        r["vs process 0"] = math.nan if alone else gap(r["weights"], first.get((r["child"], r["run"])))
        r["weights moved"] = gap(r["weights"], start)
    columns = [
        "child", "run", "function", "process", "processes", "devices", "fit batch_size", "global batch",
        "rows per process", "expects error", "outcome", "steps", "vs 1 device", "vs process 0", "weights moved",
        "message",
    ]  # fmt: skip
    table = pd.DataFrame(records, columns=columns)
    table["steps"] = table["steps"].astype("Int64")
    return table


def _reference(table: pd.DataFrame) -> pd.Series:
    """The one-device run: the trained row without a distance to itself."""
    trained = table[(table["outcome"] == TRAINED) & (table["processes"] == 1)]
    return trained[trained["vs 1 device"].isna()].iloc[0]


def plot_differences(table: pd.DataFrame, tolerance: float, title: str) -> Figure:
    """Horizontal bars, log axis: each trained distributed run against one device and across processes.

    An exact zero (bit-identical weights) has no place on a log axis: it is
    drawn as no bar with the words "0: bit-identical" at the left edge.
    """
    reference = _reference(table)
    bars: list[tuple[str, float, str]] = []
    for _, row in table[(table["outcome"] == TRAINED) & ~table["vs 1 device"].isna()].iterrows():
        where = f"{row['run']}" + (f", process {row['process']}" if row["processes"] > 1 else "")
        same = row["global batch"] == reference["global batch"]
        bars.append((f"{where}: vs 1 device", row["vs 1 device"], "same" if same else "other"))
        if row["process"] > 0:
            bars.append((f"{where}: vs process 0", row["vs process 0"], "process"))
    moved = table.loc[table["outcome"] == TRAINED, "weights moved"]
    bars.append(("every run: weights moved from the start (at least)", float(moved.min()), "moved"))
    colors = {"same": "tab:blue", "other": "tab:red", "process": "tab:purple", "moved": "tab:gray"}
    names = {
        "same": f"vs one device, same global batch ({reference['global batch']} rows)",
        "other": "vs one device, another global batch (batch_size counted per process)",
        "process": "vs process 0 of the same job",
        "moved": "how far training moved the weights (scale)",
    }
    values = [value for _, value, _ in bars if value > 0]
    floor = 10 ** math.floor(math.log10(min(values + [tolerance]) / 10))
    fig = Figure(figsize=(10, 0.42 * len(bars) + 2.4), layout="constrained")
    ax = fig.subplots()
    for position, (_, value, kind) in enumerate(bars):
        if value > 0:
            ax.barh(position, value - floor, left=floor, color=colors[kind], label=names.pop(kind, None))
        else:
            ax.text(floor * 1.5, position, "0: bit-identical", va="center", fontsize=9, color=colors[kind])
    ax.axvline(tolerance, color="tab:orange", linestyle="--", label=f"tolerance {tolerance:g} (float rounding)")
    ax.set_yticks(range(len(bars)), [label for label, _, _ in bars], fontsize=9)
    ax.set(
        xscale="log",
        xlim=(floor, 1),
        xlabel="largest |weight difference| after training (log scale; exact zeros written as text)",
        title=title,
    )
    ax.invert_yaxis()
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)  # below the axes: it hides no bar
    return fig


def _trained(table: pd.DataFrame, *, processes: int, fit_batch_size: int) -> pd.DataFrame:
    return table[
        (table["outcome"] == TRAINED)
        & ~table["expects error"]
        & ~table["vs 1 device"].isna()
        & (table["processes"] == processes)
        & (table["fit batch_size"] == fit_batch_size)
    ]


def claims(table: pd.DataFrame, *, tolerance: float, global_batch: int, num_processes: int) -> list[Claim]:
    """The lesson's points to remember, from ``results_table``.

    Args:
        table: ``results_table(...)``; its one-device run fits with ``batch_size=global_batch``.
        tolerance: the largest difference that float rounding explains.
        global_batch: the rows per step of the one-device run.
        num_processes: the processes of the multi-process job.
    """
    devices = _trained(table, processes=1, fit_batch_size=global_batch)
    devices = devices[devices["devices"] > 1]
    joined = _trained(table, processes=num_processes, fit_batch_size=global_batch // num_processes)
    habit = _trained(table, processes=num_processes, fit_batch_size=global_batch)
    reference = table[(table["processes"] == 1) & (table["outcome"] == TRAINED) & table["vs 1 device"].isna()]
    steps = int(reference["steps"].iloc[0]) if len(reference) else 0
    tried = table[(table["processes"] == num_processes) & table["expects error"]]
    return [
        _devices_claim(devices, tolerance),
        _processes_claim(joined, tolerance, global_batch, num_processes),
        _batch_size_claim(habit, steps, tolerance, global_batch, num_processes),
        _auto_shard_claim(tried[tried["outcome"] == REFUSED], len(tried), num_processes),
    ]


def _nan_max(series: pd.Series) -> float:
    return float(series.max()) if len(series) and not series.isna().all() else math.nan


def _devices_claim(rows: pd.DataFrame, tolerance: float) -> Claim:
    gap, moved = _nan_max(rows["vs 1 device"]), _nan_max(rows["weights moved"])
    count = int(rows["devices"].max()) if len(rows) else 0
    numbers = {"devices": count, "vs_one_device": gap, "weights_moved": moved, "tolerance": tolerance}
    key, statement = (
        "fit_unchanged_under_data_parallel",
        "model.fit runs unchanged under DataParallel, as on one device",
    )
    if not len(rows) or math.isnan(gap) or not moved > MOVED_AT_LEAST:
        return Claim(key, statement, Verdict.NOT_MEASURED, numbers,
                     "The run has no trained multi-device fit to compare with one device, so this cannot be told.")  # fmt: skip
    if gap <= tolerance:
        conclusion = (
            "On the JAX backend, spread fit over devices by setting keras.distribution.DataParallel before "
            "you build or load the model; compile, fit(batch_size=...) and the model stay as they are. "
            f"Fit on {count} devices ended {gap:.2g} from one device, float rounding (tolerance {tolerance:g}), "
            f"after training moved the weights {moved:.2g}."
        )
        return Claim(key, statement, Verdict.HOLDS, numbers, conclusion)
    conclusion = (
        f"Fit on {count} devices did NOT match one device: {gap:.2g} apart, above the {tolerance:g} of float "
        f"rounding (the weights moved {moved:.2g}); check that every batch splits evenly over the devices."
    )
    return Claim(key, statement, Verdict.FAILS, numbers, conclusion)


def _processes_claim(rows: pd.DataFrame, tolerance: float, batch: int, count: int) -> Claim:
    apart, gap = _nan_max(rows["vs process 0"]), _nan_max(rows["vs 1 device"])
    numbers = {"processes": len(rows), "processes_apart": apart, "vs_one_device": gap, "tolerance": tolerance}
    key = "processes_train_one_model"
    statement = "processes joined by keras.distribution.initialize train one model, the same as one device's"
    if len(rows) < count or math.isnan(gap):
        return Claim(key, statement, Verdict.NOT_MEASURED, numbers,
                     "The multi-process job left no trained weights to compare, so this cannot be told.")  # fmt: skip
    if apart == 0 and gap <= tolerance:
        conclusion = (
            f"{count} processes joined with keras.distribution.initialize, each calling fit(batch_size="
            f"{batch // count}) on its own rows, trained one model: their weights were bit-identical and "
            f"{gap:.2g} from one device with batch_size={batch} (tolerance {tolerance:g})."
        )
        return Claim(key, statement, Verdict.HOLDS, numbers, conclusion)
    conclusion = (
        f"The {count} joined processes did not train one model here: {apart:.2g} apart, {gap:.2g} from one "
        f"device with batch_size={batch} (tolerance {tolerance:g})."
    )
    return Claim(key, statement, Verdict.FAILS, numbers, conclusion)


def _batch_size_claim(rows: pd.DataFrame, steps: int, tolerance: float, batch: int, count: int) -> Claim:
    gap = _nan_max(rows["vs 1 device"])
    taken = int(rows["steps"].max()) if len(rows) else 0
    numbers = {"steps": taken, "steps_one_device": steps, "vs_one_device": gap, "tolerance": tolerance}
    key = "batch_size_counts_own_rows"
    statement = f"fit(batch_size={batch}) takes global batches of {batch} rows, as under tf.distribute (lesson 17)"
    if taken == steps and gap <= tolerance:
        conclusion = (
            f"Here fit(batch_size={batch}) in each of {count} processes took the {steps} steps of one device "
            f"at batch_size={batch} and ended {gap:.2g} from it: the batch size counted the whole job's rows."
        )
        return Claim(key, statement, Verdict.HOLDS, numbers, conclusion)
    if taken and taken * count == steps and gap > FAR * tolerance:
        conclusion = (
            "Not with keras.distribution: in a multi-process job fit's batch_size counts only this process's "
            f"rows, so pass the global batch divided by the number of processes. fit(batch_size={batch}) in "
            f"each of {count} processes made global batches of {batch * count} rows, took {taken} steps instead "
            f"of one device's {steps}, and ended {gap:.2g} from it: the tf.distribute habit trains another model."
        )
        return Claim(key, statement, Verdict.FAILS, numbers, conclusion)
    conclusion = (
        f"fit(batch_size={batch}) in each of {count} processes took {taken} steps (one device: {steps}) and "
        f"ended {gap:.2g} from one device: this run cannot tell what the batch size counted."
    )
    return Claim(key, statement, Verdict.NOT_MEASURED, numbers, conclusion)


def _auto_shard_claim(refused: pd.DataFrame, tried: int, count: int) -> Claim:
    pointed = int(refused["message"].str.contains("auto_shard_dataset", regex=False).sum())
    numbers = {"processes_tried": tried, "processes_refused": len(refused), "messages_naming_the_fix": pointed}
    statement = "in a multi-process job, NumPy rows need distribution.auto_shard_dataset = False"
    if not tried:
        return Claim("numpy_rows_need_auto_shard_off", statement, Verdict.NOT_MEASURED, numbers,
                     "No process tried NumPy rows with auto_shard_dataset=True, so this cannot be told.")  # fmt: skip
    if len(refused) == tried == count:
        conclusion = (
            f"Split the rows yourself and set distribution.auto_shard_dataset = False when you pass NumPy arrays "
            f"to fit in a multi-process job: left at True, Keras refused them in {len(refused)} of {tried} "
            f"processes with a ValueError ({pointed} of them naming that setting as the fix); it shards only a "
            "tf.data.Dataset itself."
        )
        return Claim("numpy_rows_need_auto_shard_off", statement, Verdict.HOLDS, numbers, conclusion)
    conclusion = (
        f"Keras refused NumPy rows with auto_shard_dataset=True in {len(refused)} of {tried} processes only: "
        "this Keras version accepts them."
    )
    return Claim("numpy_rows_need_auto_shard_off", statement, Verdict.FAILS, numbers, conclusion)
