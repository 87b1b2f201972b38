"""cookbook.processes: children with a deadline, the failing one named, every one killed and reaped.

The children are tiny Python programs that import nothing heavy, so each test
costs an interpreter start-up, not a TensorFlow import. A child that must
still be running when the launcher acts blocks in ``signal.pause()``.
"""

import os
import select
import time

from cookbook import errors, processes
from cookbook.errors import CookbookError

import pytest
from _processes import _alive, _python

CHILD_TIMEOUT = 240.0  # generous: the machine is shared; a hang still ends


def _all_exit(pids, within=10.0):
    """True once every process in ``pids`` has exited (a zombie counts), False if one still runs after ``within`` s.

    Waits on a pidfd per process (Linux 5.3+), which becomes readable the moment the process exits, so the
    test blocks on that event instead of polling.
    """
    deadline = time.monotonic() + within
    for pid in pids:
        try:
            handle = os.pidfd_open(pid)
        except ProcessLookupError:  # already exited and reaped
            continue
        try:
            exited, _, _ = select.select([handle], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(handle)
        if not exited:
            return False
    return True


def _workers(codes, timeout=CHILD_TIMEOUT):
    return processes.Workers([_python(c) for c in codes], [processes.child_env()] * len(codes), timeout=timeout)


# --- Workers: several children supervised together ------------------------------------------------


def test_workers_return_each_childs_output_in_order():
    """Every child succeeds: one WorkerResult per child, in order, with its stdout, stderr and status."""
    with _workers(["print('zero')", "import sys; print('one'); print('note', file=sys.stderr)"]) as children:
        results = children.wait()
    assert [(r.index, r.returncode, r.stdout, r.stderr) for r in results] == [
        (0, 0, "zero\n", ""),
        (1, 0, "one\n", "note\n"),
    ]
    assert not any(r.stopped_by_launcher for r in results)
    assert not any(_alive(r.pid) for r in results)


def test_a_failing_child_is_named_and_the_survivor_is_stopped():
    """Child 1 exits with an error; child 0 (waiting forever) is killed; the error quotes child 1's stderr."""
    codes = ["import signal; signal.pause()", "import sys; sys.exit('boom: the disk is full')"]
    with pytest.raises(errors.WorkerFailed) as info:
        with _workers(codes) as children:
            children.wait()
    error = info.value
    assert error.worker == 1 and isinstance(error, CookbookError) and not isinstance(error, errors.WorkerTimeout)
    assert "worker 1 of 2 failed (exit status 1)" in str(error)
    assert "boom: the disk is full" in str(error)
    assert "worker 0: stopped by the launcher" in str(error)
    survivor = error.results[0]
    assert survivor.stopped_by_launcher and survivor.returncode == -9
    assert not any(_alive(r.pid) for r in error.results)


@pytest.mark.slow
def test_the_deadline_kills_hanging_children_and_their_own_children(tmp_path):
    """At the deadline every child AND the processes it started are killed; WorkerTimeout says so."""
    pid_file = tmp_path / "grandchild.pid"
    code = f"""
        import signal, subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
        open({str(pid_file)!r} + str(child.pid), "w").close()
        signal.pause()
    """
    with pytest.raises(errors.WorkerTimeout, match="deadline of 3 s") as info:
        with _workers([code, code], timeout=3.0) as children:
            children.wait()
    assert info.value.worker is None and "same cluster in TF_CONFIG" in str(info.value)
    assert all(r.stopped_by_launcher and r.returncode == -9 for r in info.value.results)
    assert not any(_alive(r.pid) for r in info.value.results)
    grandchildren = [int(p.name.removeprefix(pid_file.name)) for p in tmp_path.iterdir()]
    assert grandchildren, "the children started their own before the deadline"
    # SIGKILL went to their process group at once, but only their parents were waited for: each
    # grandchild dies when the kernel next schedules it and is then reaped by init, so wait for its exit.
    assert _all_exit(grandchildren), "a grandchild outlived the deadline"


def test_leaving_the_block_without_wait_kills_and_reaps_every_child():
    """An exception inside ``with Workers(...)`` (here before wait) leaves no child running."""
    with pytest.raises(KeyError):
        with _workers(["import signal; signal.pause()"] * 2) as children:
            pids = children.pids
            raise KeyError("the caller's own error")
    assert len(pids) == 2 and not any(_alive(pid) for pid in pids)


def test_commands_and_envs_of_different_lengths_start_nothing(monkeypatch):
    """Two commands, one environment: a CookbookError naming both counts, before any child is started."""
    started = []
    monkeypatch.setattr(processes.subprocess, "Popen", lambda *args, **kwargs: started.append(args))
    with pytest.raises(CookbookError, match=r"2 commands but 1 environments; give one environment per command"):
        processes.Workers([_python("pass")] * 2, [processes.child_env()], timeout=CHILD_TIMEOUT)
    assert started == []


# --- run: one child ----------------------------------------------------------------------------------


def test_run_returns_output_and_raises_on_failure():
    """One child: its stdout on success, a WorkerFailed naming "subprocess 0" on failure."""
    assert processes.run(_python("print('hello')"), timeout=60).stdout == "hello\n"
    with pytest.raises(errors.WorkerFailed, match="subprocess 0 of 1 failed"):
        processes.run(_python("raise SystemExit(2)"), timeout=60)


def test_run_with_check_false_returns_the_failed_childs_status_and_stderr():
    """check=False gives back the WorkerResult of a failing child: exit status and stderr, no exception."""
    result = processes.run(
        _python("import sys; print('half'); sys.exit('refused: bad input')"), timeout=60, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "half\n", "refused: bad input\n")
    assert result.describe() == "exit status 1" and not result.stopped_by_launcher


def test_run_with_check_false_still_raises_at_the_deadline():
    """A hanging child is killed and reported as WorkerTimeout whatever check says."""
    with pytest.raises(errors.WorkerTimeout, match="subprocess 0 still running") as info:
        processes.run(_python("import signal; signal.pause()"), timeout=1.0, check=False)
    assert "TF_CONFIG" not in str(info.value), "a single child has no peer to wait for"


def test_run_starts_the_child_in_cwd(tmp_path):
    """cwd= is the child's working directory."""
    result = processes.run(_python("import os; print(os.getcwd())"), timeout=60, cwd=tmp_path)
    assert result.stdout.strip() == str(tmp_path)


# --- child_env -----------------------------------------------------------------------------------------


def test_child_env_drops_tf_config_quiets_tensorflow_and_applies_extra(monkeypatch):
    """No inherited TF_CONFIG; TF_CPP_MIN_LOG_LEVEL=3 unless set; extra values set, None values removed."""
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setenv("COOKBOOK_TEST_KEEP", "kept")
    monkeypatch.setenv("COOKBOOK_TEST_DROP", "dropped")
    env = processes.child_env({"COOKBOOK_TEST_NEW": "1", "COOKBOOK_TEST_DROP": None})
    assert "TF_CONFIG" not in env and "COOKBOOK_TEST_DROP" not in env
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert env["COOKBOOK_TEST_KEEP"] == "kept" and env["COOKBOOK_TEST_NEW"] == "1"
    assert env["PATH"] == os.environ["PATH"]
    assert "TF_CPP_MIN_LOG_LEVEL" not in processes.child_env({"TF_CPP_MIN_LOG_LEVEL": None})


def test_run_passes_the_environment_to_the_child():
    """env= reaches the child through child_env: a set variable is seen, a None one is absent."""
    code = "import os; print(os.environ.get('COOKBOOK_TEST_VAR'), 'TF_CPP_MIN_LOG_LEVEL' in os.environ)"
    assert processes.run(_python(code), timeout=60, env={"COOKBOOK_TEST_VAR": "x"}).stdout == "x True\n"
    unset = {"TF_CPP_MIN_LOG_LEVEL": None}
    assert processes.run(_python(code), timeout=60, env=unset).stdout == "None False\n"
