"""Write each recipe as a Jupyter notebook, and optionally run it.

The mechanism, in one place: a lesson is a percent-format script of
top-level cells (``cookbook.cells`` reads them), and its notebook is those
cells in reading order, with the values of its settings cell's
``quick=``/``seed=``/``out=`` edited in place (``with_settings``)::

    settings = from_command_line(__doc__, "07_gradient_descent_variants", quick=True, seed=0, out="cookbook-out")

A notebook kernel has no command line of its own to read, so the data cell
shows the data, the model cell the model summary and the training cell
trains and draws, as in a keras-io notebook. The script itself is
unchanged: ``python recipes/NN_x.py`` reads its command line instead.

nbformat writes the files, nbclient and ipykernel execute them (all three
are core dependencies: the course site is built from notebooks too).
"""

from __future__ import annotations

import ast
import os
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cookbook import failures
from cookbook.cells import lesson_cells
from cookbook.errors import CookbookError, NotebookError

if TYPE_CHECKING:  # hints only: curriculum imports Keras
    from cookbook.curriculum import Recipe

    from nbformat import NotebookNode

__all__ = [
    "NotebookError",
    "download_notebook",
    "execute_notebook",
    "install_cell",
    "new_notebook",
    "recipe_notebook",
    "with_settings",
    "write_notebooks",
]

LESSON_OUT = "cookbook-out"  # where an executed notebook's lesson writes its tables and figures
CELL_TIMEOUT = 600  # seconds one cell may run before nbclient stops it
# What the install cell of a downloaded notebook gives to pip: set it when building notebooks for a place
# that knows where the cookbook lives (a git URL of the project, a wheel's address). The project is not
# on PyPI, so by default the cell asks the reader for it rather than guessing a name someone else may own.
INSTALL_ENV = "COOKBOOK_PIP"


def _nbformat():
    import nbformat  # a core dependency, imported on first use so the CLI starts without it

    return nbformat


def recipe_notebook(recipe: Recipe, *, quick: bool = False, seed: int = 0) -> NotebookNode:
    """The notebook of one recipe (a ``nbformat.NotebookNode``), not yet executed.

    Args:
        recipe: a ``cookbook.curriculum.Recipe``.
        quick: put ``--quick`` in the settings cell.
        seed: the ``--seed`` of the settings cell.
    """
    nbformat = _nbformat()
    v4 = nbformat.v4
    cells = lesson_cells(recipe.path.read_text(encoding="utf-8"), recipe.path.name)
    header = cells[0].text
    title, _, rest = header.partition("\n")
    notebook_cells = [
        v4.new_markdown_cell(
            f"# {recipe.number:02d}. {title}\n\n{rest.strip()}\n\n"
            f"*This notebook is made from `recipes/{recipe.path.name}` by "
            "`python -m cookbook notebooks`; run its cells in order.*"
        )
    ]
    for cell in cells[1:]:
        if cell.kind == "markdown":
            notebook_cells.append(v4.new_markdown_cell(cell.text))
            continue
        text = with_settings(cell.text, quick=quick, seed=seed, out=LESSON_OUT)
        # A cell whose last statement is a call (show, save_figure, claims.remember) displays what it shows
        # itself; its return value would only repeat it, or print a path.
        notebook_cells.append(v4.new_code_cell(_quiet_last_call(text)))
    return new_notebook(notebook_cells)


def new_notebook(cells: list) -> NotebookNode:
    """An nbformat 4 notebook of ``cells``, with the kernel metadata Jupyter and Colab read."""
    notebook = _nbformat().v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def install_cell(spec: str | None = None) -> str:
    """The first cell of a downloaded notebook: installs the cookbook where it is missing (Colab, a new venv).

    Args:
        spec: what pip installs (a git URL or a wheel); defaults to ``$COOKBOOK_PIP``, else empty, and
            then the cell stops with a line saying what to set.
    """
    spec = os.environ.get(INSTALL_ENV, "") if spec is None else spec
    return (
        "# Colab, or any Python without the cookbook: this cell installs it (a minute); elsewhere it does\n"
        "# nothing. COOKBOOK_PIP is what pip installs: a git URL of keras-cookbook, or the path of its wheel\n"
        "# uploaded to this session's files. If pip upgraded TensorFlow, restart the session, then go on.\n"
        f"COOKBOOK_PIP = {spec!r}\n"
        "import importlib.util, subprocess, sys\n"
        "\n"
        'if importlib.util.find_spec("cookbook") is None:\n'
        "    if not COOKBOOK_PIP:\n"
        '        raise SystemExit("set COOKBOOK_PIP in this cell to where keras-cookbook is, then run it again")\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COOKBOOK_PIP], check=True)'
    )


def download_notebook(recipe: Recipe, *, quick: bool = False, seed: int = 0, spec: str | None = None) -> NotebookNode:
    """The notebook a reader downloads: ``recipe_notebook``, with a first code cell that installs the cookbook
    where it is missing (``install_cell(spec)``), as Colab needs."""
    notebook = recipe_notebook(recipe, quick=quick, seed=seed)
    notebook.cells.insert(1, _nbformat().v4.new_code_cell(install_cell(spec)))
    return notebook


def with_settings(source: str, *, quick: bool, seed: int, out: str) -> str:
    """A settings cell with ``quick=``, ``seed=`` and ``out=`` set as a notebook reader would edit them.

    The cell is the one that calls ``cookbook.settings.from_command_line(...)``;
    the keyword values are replaced in the source text, so the cell reads as
    before. Any other cell is returned unchanged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    values = {"quick": repr(quick), "seed": repr(seed), "out": repr(out)}
    edits = []  # (start, end, text) in byte offsets: ast's columns count UTF-8 bytes
    encoded = source.encode("utf-8")
    offsets = [0]
    for line in encoded.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("from_command_line"):
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg in values and value.end_lineno is not None and value.end_col_offset is not None:
                    start = offsets[value.lineno - 1] + value.col_offset
                    end = offsets[value.end_lineno - 1] + value.end_col_offset
                    edits.append((start, end, values[keyword.arg].encode("utf-8")))
    for start, end, text in sorted(edits, reverse=True):
        encoded = encoded[:start] + text + encoded[end:]
    return encoded.decode("utf-8")


def _quiet_last_call(source):
    """End a cell whose last statement is a call (``save_figure(...)``) with ``;``, so the notebook shows
    what the call displays, not the path or the list it returns."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    if tree.body and isinstance(tree.body[-1], ast.Expr) and isinstance(tree.body[-1].value, ast.Call):
        return source.rstrip() + ";"
    return source


def execute_notebook(
    notebook: NotebookNode, folder: str | os.PathLike[str], timeout: float = CELL_TIMEOUT
) -> NotebookNode:
    """Run every cell of ``notebook`` in a fresh Python kernel started in ``folder``; outputs are stored in it.

    Raises:
        NotebookError: a cell raised; the message is the error's last line, without
            colour codes (for a ``SystemExit``, the line the lesson printed on
            stderr before it stopped). The notebook keeps the outputs up to and
            including the failing cell.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        # The kernel's own log (ipykernel 7 warns on every start that its local TCP sockets are unencrypted)
        # goes to this terminal, between the progress lines; what the cells print is in the notebook.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        lines = failures.strip_ansi(str(exc)).strip().splitlines()
        message = lines[-1] if lines else f"{exc.ename}: {exc.evalue}"
        if exc.ename == "SystemExit":  # the lesson's own one-line error went to stderr just before
            message = _last_stderr_line(notebook) or message
        raise NotebookError(message) from None
    return notebook


def _last_stderr_line(notebook):
    """The last line saying "error" that a cell wrote to stderr (a recipe's one-line error), or ``None``.

    IPython adds its own warning on ``SystemExit`` ("To exit: use 'exit', ..."), so the last line alone
    would be that.
    """
    found = None
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                for line in failures.strip_ansi(output.get("text", "")).splitlines():
                    if "error" in line.lower():
                        found = line.strip()
    return found


def write_notebooks(
    recipes: Sequence[Recipe],
    out: str | os.PathLike[str],
    *,
    execute: bool = False,
    quick: bool = False,
    seed: int = 0,
    log: Callable[[str], object] = print,
) -> list[dict[str, Any]]:
    """Write ``<out>/<recipe>.ipynb`` for each recipe, executing them if asked.

    Returns:
        A list of dicts (recipe, path, seconds, status, fix), one per recipe;
        a failing notebook is still written, with its error output, its
        status is ``failed: <cause>`` and ``fix`` says what to do
        (``cookbook.failures``); ``fix`` is empty otherwise.
    """
    nbformat = _nbformat()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, recipe in enumerate(recipes, 1):
        path = out / f"{recipe.name}.ipynb"
        tick = time.perf_counter()
        status, fix = "written", ""
        rerun = failures.rerun_command(recipe.number, quick)
        try:
            notebook = download_notebook(recipe, quick=quick, seed=seed)
        except CookbookError as exc:  # one recipe not in the lesson shape must not stop the others
            rows.append({"recipe": recipe.name, "path": "", "seconds": 0.0, "status": f"failed: {exc}", "fix": rerun})
            continue
        if execute:
            log(f"[{i}/{len(recipes)}] running {path.name} ...")
            try:
                execute_notebook(notebook, out)
                status = "executed"
            except NotebookError as exc:
                failure = failures.describe_text(str(exc), rerun=rerun)
                status, fix = f"failed: {failure.cause}", failure.fix
        nbformat.write(notebook, path)
        rows.append(
            {
                "recipe": recipe.name,
                "path": str(path),
                "seconds": round(time.perf_counter() - tick, 1),
                "status": status,
                "fix": fix,
            }
        )
    return rows
