"""bin/procs.py is what makes Ctrl-C on `make run` stop every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_it_explains_its_usage():
    result = subprocess.run(
        [sys.executable, str(PROCS), "no-equals-sign"], capture_output=True, text=True
    )
    assert result.returncode == 64
    assert "usage:" in result.stderr
