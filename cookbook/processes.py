"""Child processes with a deadline, killed and reaped on any error: the cookbook's one way to start them.

``Workers`` starts several commands together (a training cluster, a crash test)
and supervises them until they all end: when one fails it stops the others at
once and raises ``WorkerFailed`` naming it and quoting its last stderr lines; at
the deadline it kills them all and raises ``WorkerTimeout``. ``run`` is the
same for one command. Each child runs in its own process group, so a child's
own children die with it, and its output goes to temporary files, so a chatty
child cannot block on a full pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Literal

from cookbook.errors import CookbookError, WorkerFailed, WorkerTimeout

__all__ = ["WorkerResult", "Workers", "child_env", "run"]

STDERR_TAIL_LINES = 12  # how much of a failed child's stderr an error message quotes


@dataclasses.dataclass
class WorkerResult:
    """What one child process did: exit status (negative = killed by that signal) and output."""

    index: int
    pid: int
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    stopped_by_launcher: bool = False

    def describe(self) -> str:
        """``"exit status 1"`` or ``"killed by SIGKILL"``."""
        if self.returncode < 0:
            return f"killed by {signal.Signals(-self.returncode).name}"
        return f"exit status {self.returncode}"


def _tail(text, lines=STDERR_TAIL_LINES):
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n    ".join(kept) or "(no stderr output)"


class Workers:
    """Child processes started together and supervised until they all end.

    Use it as a context manager (``cookbook.lessons.cluster.launch_workers``
    returns one): leaving the block for any reason kills and reaps every
    child that is still running. ``wait()`` returns the results or raises
    ``WorkerFailed``.
    """

    def __init__(
        self,
        commands: Sequence[Sequence[str]],
        envs: Sequence[Mapping[str, str]],
        *,
        timeout: float,
        what: str = "worker",
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        """Start every command now, each in its own process group.

        Args:
            commands: one argv list per child.
            envs: one complete environment per child (see ``child_env``).
            timeout: seconds from now until every child still running is
                killed.
            what: what a child is called in error messages. Defaults to
                `"worker"`.
            cwd: the children's working directory; `None` keeps this
                process's. Defaults to `None`.

        Raises:
            CookbookError: ``commands`` and ``envs`` differ in length
                (nothing is started).
        """
        self.timeout = timeout
        self.what = what
        self._started = time.monotonic()
        self._deadline = self._started + timeout
        self._exits: queue.Queue[tuple[int, float]] = queue.Queue()  # (child index, when it ended)
        self._processes: list[subprocess.Popen[bytes]] = []
        self._outputs: list[tuple[IO[bytes], IO[bytes]]] = []
        self._ended_at: dict[int, float] = {}
        self._stopped: set[int] = set()
        commands, envs = list(commands), list(envs)
        if len(commands) != len(envs):  # zip would silently start only the shorter list's children
            raise CookbookError(
                f"Workers got {len(commands)} commands but {len(envs)} environments; give one environment "
                "per command, in the same order (child_env() for each)"
            )
        try:
            for index, (command, env) in enumerate(zip(commands, envs)):
                out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # files: a pipe could fill and block
                self._outputs.append((out, err))
                process = subprocess.Popen(
                    command,
                    env=env,
                    cwd=cwd,
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # own process group: killed with its children
                )
                self._processes.append(process)
                threading.Thread(target=self._watch, args=(index, process), daemon=True).start()
        except BaseException:
            self.close()
            raise

    @property
    def pids(self) -> list[int]:
        """Process ids of the children, in worker order."""
        return [p.pid for p in self._processes]

    def _watch(self, index, process):
        process.wait()
        self._exits.put((index, time.monotonic()))

    def wait(self) -> list[WorkerResult]:
        """Wait for every child; return their ``WorkerResult`` list in order.

        Raises:
            WorkerFailed: a child ended with an error (the rest were killed).
            WorkerTimeout: children still running at the deadline (all killed).
        """
        failed, timed_out = None, False
        try:
            while len(self._ended_at) < len(self._processes):
                try:
                    index, when = self._exits.get(timeout=max(0.0, self._deadline - time.monotonic()))
                except queue.Empty:
                    timed_out = True
                    break
                self._ended_at[index] = when
                if self._processes[index].returncode != 0:
                    failed = index  # the first to fail is the one to blame; stop the rest now
                    break
        finally:
            self.close()
        results = self._results()
        if failed is not None:
            raise WorkerFailed(self._failure_message(failed, results), failed, results)
        if timed_out:
            running = [r for r in results if r.stopped_by_launcher]
            names = ", ".join(str(r.index) for r in running)
            tails = "".join(f"\n  {self.what} {r.index} stderr:\n    {_tail(r.stderr)}" for r in running)
            peers = (  # several children that hang together usually wait for each other
                f"; if a {self.what} waits for a peer, check that every {self.what} started with the same "
                "cluster in TF_CONFIG"
                if len(results) > 1
                else ""
            )
            raise WorkerTimeout(
                f"{self.what} {names} still running after the launcher's deadline of {self.timeout:g} s and "
                f"were killed. Raise timeout= if the job is just slow{peers}.{tails}",
                None,
                results,
            )
        return results

    def _failure_message(self, failed, results):
        result = results[failed]
        others = []
        for r in results:
            if r.index == failed:
                continue
            state = "stopped by the launcher" if r.stopped_by_launcher else r.describe()
            others.append(f"{self.what} {r.index}: {state}")
        return (
            f"{self.what} {failed} of {len(results)} failed ({result.describe()}) after "
            f"{result.seconds:.1f} s; {'; '.join(others) or 'no other process'}. "
            f"Its last stderr lines:\n    {_tail(result.stderr)}"
        )

    def close(self) -> None:
        """Kill (SIGKILL, whole process group) and reap every child still running."""
        for index, process in enumerate(self._processes):
            if process.poll() is None:
                self._stopped.add(index)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            self._ended_at.setdefault(index, time.monotonic())

    def _results(self):
        results = []
        for index, (process, (out, err)) in enumerate(zip(self._processes, self._outputs)):
            texts = []
            for handle in (out, err):
                handle.seek(0)
                texts.append(handle.read().decode("utf-8", "replace"))
                handle.close()
            results.append(
                WorkerResult(
                    index,
                    process.pid,
                    process.returncode,
                    texts[0],
                    texts[1],
                    self._ended_at[index] - self._started,
                    index in self._stopped,
                )
            )
        return results

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> Literal[False]:
        self.close()
        return False


def child_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This environment without ``TF_CONFIG``, TensorFlow's C++ logging quiet, plus ``extra``.

    Args:
        extra: variables to set; a value of `None` removes that variable
            (e.g. ``{"TF_CPP_MIN_LOG_LEVEL": None}`` to see what a child
            prints with TensorFlow's default logging). Defaults to `None`.
    """
    env: dict[str, str | None] = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def run(
    command: Sequence[str],
    *,
    timeout: float = 120.0,
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
) -> WorkerResult:
    """Run one child with the launcher's guarantees (deadline, killed on error); return its result.

    Args:
        command: argv list.
        timeout: seconds until it is killed. Defaults to `120.0`.
        env: extra environment variables for ``child_env`` (`None` values
            remove one). Defaults to `None`.
        cwd: the child's working directory. Defaults to `None` (this
            process's).
        check: raise ``WorkerFailed`` when the child exits with an error.
            With `False` its ``WorkerResult`` is returned instead, for a
            caller that tests the exit status and stderr itself. A child
            killed at the deadline raises ``WorkerTimeout`` either way.
            Defaults to `True`.

    Returns:
        The child's ``WorkerResult`` (``returncode``, ``stdout``,
        ``stderr``...).

    Raises:
        WorkerFailed: the child ended with an error and ``check`` is true.
        WorkerTimeout: the child was still running at the deadline (it was
            killed, with its own children).
    """
    with Workers([list(command)], [child_env(env)], timeout=timeout, what="subprocess", cwd=cwd) as child:
        try:
            return child.wait()[0]
        except WorkerTimeout:
            raise
        except WorkerFailed as failure:
            if check:
                raise
            return failure.results[0]
