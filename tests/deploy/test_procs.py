"""bin/procs.py is what makes Ctrl-C on `make run` stop every process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.stack import database_url

PROCS = Path(__file__).resolve().parents[2] / "bin" / "procs.py"


def start(*specs: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PROCS), *specs],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PROCS_GRACE_SECONDS": "2"},
    )


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for an init that may never reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def wait_for_line(proc: subprocess.Popen, text: str) -> list[str]:
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never printed: {lines}")


def test_ctrl_c_stops_every_process_and_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    child = f"sh -c 'sleep 60 & echo $! > {pidfile}; echo ready; wait'"
    proc = start(f"one={child}", "two=sleep 60")
    wait_for_line(proc, "one | ready")
    grandchild = int(pidfile.read_text())
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert "all processes stopped" in out
    assert proc.returncode == 0
    time.sleep(0.2)
    assert not alive(grandchild)


def test_a_closed_terminal_stops_every_process_in_order(tmp_path):
    pidfile = tmp_path / "child.pid"
    child = f"sh -c 'sleep 60 & echo $! > {pidfile}; echo ready; wait'"
    proc = start(f"one={child}")
    wait_for_line(proc, "one | ready")
    grandchild = int(pidfile.read_text())
    proc.send_signal(signal.SIGHUP)
    out, _ = proc.communicate(timeout=15)
    assert "all processes stopped" in out
    assert not still_alive({grandchild}, within=5)


def test_sigterm_goes_to_the_process_not_behind_it_to_its_children(tmp_path):
    """A supervisor stops its own children; signalled directly they can hang
    its shutdown (the django-q2 cluster does). Leftovers are killed after."""
    marker = tmp_path / "child-got-sigterm"
    script = tmp_path / "child.py"
    script.write_text(
        "import pathlib, signal, sys, time\n"
        f"mark = pathlib.Path({str(marker)!r})\n"
        "signal.signal(signal.SIGTERM, lambda *_: (mark.touch(), sys.exit()))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = start(f"boss=sh -c '{sys.executable} {script} & wait'")
    wait_for_line(proc, "boss | ready")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert "all processes stopped" in out
    assert not marker.exists()


def test_when_one_process_dies_the_others_are_stopped():
    proc = start("web=sleep 60", "worker=sh -c 'echo boom; exit 3'")
    out, _ = proc.communicate(timeout=15)
    assert "worker | boom" in out
    assert "worker exited with code 3; stopping the others" in out
    assert proc.returncode == 3


def test_it_kills_a_process_that_ignores_sigterm():
    stubborn = "sh -c 'trap \"\" TERM; echo ready; sleep 60 & wait; sleep 60'"
    proc = start(f"stubborn={stubborn}")
    wait_for_line(proc, "ready")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert "stubborn did not stop within 2s; killing it" in out
    assert time.monotonic() - started < 10


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def still_alive(pids: set[int], within: float) -> set[int]:
    """The pids still running after waiting up to `within` seconds for them to go."""
    deadline = time.monotonic() + within
    while (running := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running


SLEEPER = """
import signal, subprocess, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL stops it
grandchild = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print("ready", grandchild.pid, flush=True)
time.sleep(600)
"""


def test_a_killed_supervisor_takes_every_process_and_grandchild_with_it(tmp_path):
    """SIGKILL (an OOM kill, `kill -9`) gives the supervisor no chance to stop
    anything: its processes, and the processes they started, must still go."""
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    proc = start(
        f"web={sys.executable} {script} polite", f"worker={sys.executable} {script} stubborn"
    )
    lines = wait_for_line(proc, "ready")
    if not any("ready" in line for line in lines[:-1]):
        wait_for_line(proc, "ready")
    family = descendants(proc.pid)
    assert len(family) >= 4  # two processes, each with a grandchild
    proc.kill()
    proc.wait()
    left = still_alive(family, within=10)
    for pid in left:  # do not leave them to the next test
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the supervisor was killed: {sorted(left)}"


def test_it_explains_its_usage():
    result = subprocess.run(
        [sys.executable, str(PROCS), "no-equals-sign"], capture_output=True, text=True
    )
    assert result.returncode == 64
    assert "usage:" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_killed_supervisor_takes_the_real_cluster_and_its_workers_with_it(tmp_path):
    """The django-q2 cluster is three levels deep (qcluster, its sentinel, the
    workers, pusher and monitor), and the poller runs beside it."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PROCS_GRACE_SECONDS": "2",
    }
    manage = f"{sys.executable} manage.py"
    proc = subprocess.Popen(
        [sys.executable, str(PROCS), f"worker={manage} qcluster", f"poller={manage} poller"],
        cwd=PROCS.parents[1],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_line(proc, "running.")  # the cluster's last start-up line
    family = descendants(proc.pid)
    assert len(family) >= 6, family  # reaper, poller, qcluster, sentinel, workers…
    proc.kill()
    proc.wait()
    left = still_alive(family, within=10)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the supervisor was killed: {sorted(left)}"
