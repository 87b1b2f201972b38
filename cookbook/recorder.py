"""Run a lesson cell by cell, as a script, and record what each cell shows: the run's notebook.

The course site shows each cell's output under it, from the same run as the
tour's tables and figures (as the scikit-learn gallery does with
sphinx-gallery, which runs a ``# %%`` script block by block and captures each
block's output). ``run_lesson`` executes ``recipes/NN_topic.py`` exactly as
``python recipes/NN_topic.py ARGV`` would (``__name__ == "__main__"``, the
same ``sys.argv``, one module namespace, errors reported at the file's own
lines), one cell at a time, and:

- passes everything the lesson prints through to this process's output, as a
  script run would (the tour sends it to ``<out>/<lesson>.log``);
- records it too, cell by cell, with what ``cookbook.display.show`` (a table),
  ``show_markdown`` (the points to remember) and
  ``cookbook.outputs.save_figure`` (a figure) display as rich outputs;
- writes the result as a Jupyter notebook with outputs (nbformat 4): the
  lesson's cells in reading order, each code cell with what it showed, and an
  error output under the cell that failed.

``python -m cookbook.recorder NOTEBOOK RECIPE [ARGV...]`` does the same in a
process of its own (what ``cookbook tour`` runs).
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import sys
import time
import traceback
import types
from collections.abc import Mapping, Sequence
from typing import Any

from cookbook import display
from cookbook.cells import Cell, LessonFormatError, lesson_cells

__all__ = ["run_lesson"]


class _Tee(io.TextIOBase):
    """A text stream that writes through to ``target`` and into the recorder's current cell."""

    def __init__(self, recorder: _Recorder, name: str, target: Any) -> None:
        self._recorder, self.name, self._target = recorder, name, target

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._target.write(text)
        self._recorder.stream(self.name, text)
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:  # rich (model.summary) and Keras's progress bars print plain text, no colour codes
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"


class _Recorder:
    """The outputs of the running cell, in the order they appeared (streams merged as Jupyter merges them)."""

    def __init__(self, stdout: Any) -> None:
        self.outputs: list[dict[str, Any]] = []
        self._stdout = stdout

    def start_cell(self) -> list[dict[str, Any]]:
        self.outputs = []
        return self.outputs

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def publish(self, data: Mapping[str, str], text: str, metadata: Mapping[str, Any] | None = None) -> None:
        """A rich output (``{mimetype: content}``); ``text`` goes where the lesson's printed lines go."""
        self._stdout.write(text)
        self.outputs.append(
            {
                "output_type": "display_data",
                "data": {**data, "text/plain": text.strip()},
                "metadata": dict(metadata or {}),
            }
        )

    def error(self, exc: BaseException) -> None:
        """The cell's error output: the traceback from the lesson's own line (the recorder's frame left out)."""
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        lines = traceback.format_exception(type(exc), exc, tb)
        self.outputs.append(
            {"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc), "traceback": lines[-20:]}
        )


def run_lesson(
    path: str | os.PathLike[str], argv: Sequence[str] = (), notebook: str | os.PathLike[str] | None = None
) -> None:
    """Run the lesson at ``path`` as ``python PATH ARGV`` would, one cell at a time; record it in ``notebook``.

    Args:
        path: the lesson file (``recipes/NN_topic.py``).
        argv: its command line (``["--quick", "--out", "D"]``).
        notebook: where to write the run's notebook (``.ipynb``, with each
            cell's outputs and, in its metadata, each cell's seconds); None
            runs the lesson without recording it.

    Raises:
        Whatever the lesson raises (``SystemExit`` from a lesson's one-line
        error too); the notebook is written first, its last cell holding
        the error.
    """
    path = pathlib.Path(path)
    source = path.read_text(encoding="utf-8")
    try:
        cells = lesson_cells(source, path.name)
    except LessonFormatError:  # a script not in the lesson shape (or not Python): one cell, run as it is
        cells = [Cell("markdown", path.stem, "header"), Cell("code", source, "lesson", 1)]
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": str(path), "__doc__": cells[0].text, "__builtins__": __builtins__})
    recorder = _Recorder(sys.stdout)
    ran: list[tuple[Cell, list[dict[str, Any]], float | None]] = []
    saved = sys.argv, sys.modules["__main__"], display._publish, sys.path[0]
    sys.argv, sys.modules["__main__"], display._publish = [str(path), *argv], module, recorder.publish
    sys.path[0] = str(path.parent)  # what `python PATH` puts first: the lesson's own folder
    try:
        with (
            contextlib.redirect_stdout(_Tee(recorder, "stdout", sys.stdout)),
            contextlib.redirect_stderr(_Tee(recorder, "stderr", sys.stderr)),
        ):
            for cell in cells[1:]:
                if cell.kind != "code":
                    ran.append((cell, [], None))
                    continue
                outputs, tick = recorder.start_cell(), time.perf_counter()
                ran.append((cell, outputs, None))
                # Padded with blank lines, the cell compiles at its own line numbers: tracebacks and
                # warnings point into the lesson file.
                code = compile("\n" * (cell.line - 1) + cell.text, str(path), "exec")
                try:
                    exec(code, module.__dict__)
                except SystemExit:  # a lesson's one-line error is already on stderr, recorded above
                    raise
                except BaseException as exc:
                    recorder.error(exc)
                    raise
                finally:
                    ran[-1] = (cell, outputs, time.perf_counter() - tick)
    finally:
        sys.argv, sys.modules["__main__"], display._publish, sys.path[0] = saved
        if notebook is not None:
            _write(pathlib.Path(notebook), path, list(argv), cells[0], ran)


def _write(notebook_path, lesson_path, argv, header, ran):
    from cookbook import notebooks

    import nbformat

    v4 = nbformat.v4
    title, _, rest = header.text.partition("\n")
    cells = [v4.new_markdown_cell(f"# {title}\n\n{rest.strip()}".strip())]
    for cell, outputs, seconds in ran:
        if cell.kind == "markdown":
            cells.append(v4.new_markdown_cell(cell.text))
            continue
        code = v4.new_code_cell(cell.text, outputs=[nbformat.from_dict(o) for o in outputs])
        if seconds is not None:
            code.metadata["cookbook"] = {"seconds": round(seconds, 3)}
        cells.append(code)
    book = notebooks.new_notebook(cells)
    book.metadata["cookbook"] = {"lesson": lesson_path.name, "argv": argv}
    notebook_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, notebook_path)


def _main(argv: Sequence[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m cookbook.recorder NOTEBOOK RECIPE [ARGV...]", file=sys.stderr)
        return 2
    notebook, recipe, *rest = argv
    run_lesson(recipe, rest, notebook)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
