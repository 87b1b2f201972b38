"""Process helpers shared by the process and cluster tests: a tiny child's argv, is a pid alive, which workers run."""

import pathlib
import sys
import textwrap


def _python(code):
    """argv running ``code`` in a fresh interpreter that imports nothing heavy."""
    return [sys.executable, "-c", textwrap.dedent(code)]


def _alive(pid):
    """True if ``pid`` is a running (not zombie) process."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _running_workers():
    """Command lines of live ``cookbook.lessons.worker`` processes on this machine."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "cookbook.lessons.worker" in cmdline and _alive(int(proc.name)):
                found.append(cmdline)
    return found
