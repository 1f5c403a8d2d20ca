#!/usr/bin/env python3
"""Run several long-lived processes as one: `procs.py name='cmd …' name2='cmd …'`.

Output lines are prefixed with the process name. When any process exits, or
on Ctrl-C / SIGTERM / SIGHUP, every process gets SIGTERM, then its whole process group
SIGKILL after a grace period (or at once if it has exited), so `make run`
never leaves a worker or server behind.

SIGTERM goes to each process itself, not to its group: a supervisor such as
the django-q2 cluster or gunicorn stops its own children in order, and
hangs when they are signalled behind its back (the cluster took 15 s and a
SIGKILL that way; alone it stops in under a second).

When this supervisor itself dies without a chance to clean up (SIGKILL, an
OOM kill), nothing may outlive it either: each process gets SIGTERM from the
kernel at that moment (PR_SET_PDEATHSIG), and a small watchdog process (the
"reaper", `procs.py --reaper`, outside every group) holds the read end of a
pipe only we write to. Our death closes it; the reaper then waits the grace
period and SIGKILLs every process group it was told of, so grandchildren
(the cluster's workers, gunicorn's, whatever a process started and a
PDEATHSIG does not reach) go too. An orderly stop tells the reaper "done".
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable

GRACE_SECONDS = float(os.environ.get("PROCS_GRACE_SECONDS", "10"))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Reaper:
    """The watchdog that kills our process groups if we die without stopping them."""

    def __init__(self) -> None:
        read, self.pipe = os.pipe()  # both ends non-inheritable: our processes never hold it
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, os.path.abspath(__file__), "--reaper"],
            stdin=read,
            start_new_session=True,  # not in the terminal's group: Ctrl-C is ours to handle
        )
        os.close(read)

    def watch(self, pgid: int) -> None:
        os.write(self.pipe, f"{pgid}\n".encode())

    def release(self) -> None:
        """Every group is stopped: the reaper may exit without killing anything."""
        with contextlib.suppress(OSError):
            os.write(self.pipe, b"done\n")
        os.close(self.pipe)
        self.proc.wait()


def reap() -> int:
    """The reaper's loop: read group ids until "done" (exit) or end of file
    (the supervisor died: give the processes the grace period to stop on the
    SIGTERM their PDEATHSIG sent, then SIGKILL every group)."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    groups: list[int] = []
    for line in sys.stdin:
        if line.strip() == "done":
            return 0
        groups.append(int(line))
    print("procs.py: the supervisor died; stopping what it started", file=sys.stderr, flush=True)
    deadline = time.monotonic() + GRACE_SECONDS
    while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _die_with(parent: int) -> Callable[[], None] | None:
    """A preexec function: SIGTERM this child when `parent` dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # it died before the prctl: the signal will never come
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class Group:
    def __init__(self, specs: list[tuple[str, str]]) -> None:
        self.width = max(len(name) for name, _ in specs)
        self.procs: dict[str, subprocess.Popen] = {}
        self.selector = selectors.DefaultSelector()
        self.reaper = Reaper()
        preexec = _die_with(os.getpid())
        for name, cmd in specs:
            proc = subprocess.Popen(  # noqa: S603 - commands come from our own scripts
                shlex.split(cmd),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: we stop its children too
                preexec_fn=preexec,  # safe: this process starts no threads
            )
            self.reaper.watch(proc.pid)  # the group's id is its leader's pid
            self.procs[name] = proc
            self.selector.register(proc.stdout, selectors.EVENT_READ, name)

    def pump(self, timeout: float) -> None:
        """Forward whatever output is ready, with its process's name."""
        for key, _ in self.selector.select(timeout=timeout):
            line = key.fileobj.readline()
            if line:
                text = line.decode(errors="replace")
                sys.stdout.write(f"{key.data:>{self.width}} | {text}")
                sys.stdout.flush()
            else:
                self.selector.unregister(key.fileobj)

    def first_exited(self) -> str | None:
        return next((n for n, p in self.procs.items() if p.poll() is not None), None)

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while self.first_running() and time.monotonic() < deadline:
            self.pump(0.1)
        for name, proc in self.procs.items():
            if proc.poll() is None:
                print(f"{name} did not stop within {GRACE_SECONDS:g}s; killing it", flush=True)
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            else:
                _signal_group(proc, signal.SIGKILL)  # leftovers of an exited leader
        self.reaper.release()

    def first_running(self) -> str | None:
        return next((n for n, p in self.procs.items() if p.poll() is None), None)


def main(argv: list[str]) -> int:
    if argv == ["--reaper"]:
        return reap()
    specs = [tuple(arg.split("=", 1)) for arg in argv]
    if not specs or any(len(s) != 2 or not s[0] for s in specs):
        print("usage: procs.py name='command' [name='command' …]", file=sys.stderr)
        return 64
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # the terminal closed: stop in order too
    group = Group(specs)
    exit_code = 0
    while not stopping:
        group.pump(0.2)
        exited = group.first_exited()
        if exited:
            code = group.procs[exited].returncode
            print(f"{exited} exited with code {code}; stopping the others", flush=True)
            exit_code = code or 1
            break
    group.stop()
    print("all processes stopped", flush=True)
    return exit_code


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
