#!/usr/bin/env python3
"""Run several long-lived processes as one: `procs.py name='cmd …' name2='cmd …'`.

Output lines are prefixed with the process name. When any process exits, or
on Ctrl-C / SIGTERM, every process gets SIGTERM, then its whole process group
SIGKILL after a grace period (or at once if it has exited), so `make run`
never leaves a worker or server behind.

SIGTERM goes to each process itself, not to its group: a supervisor such as
the django-q2 cluster or gunicorn stops its own children in order, and
hangs when they are signalled behind its back (the cluster took 15 s and a
SIGKILL that way; alone it stops in under a second).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time

GRACE_SECONDS = float(os.environ.get("PROCS_GRACE_SECONDS", "10"))


class Group:
    def __init__(self, specs: list[tuple[str, str]]) -> None:
        self.width = max(len(name) for name, _ in specs)
        self.procs: dict[str, subprocess.Popen] = {}
        self.selector = selectors.DefaultSelector()
        for name, cmd in specs:
            proc = subprocess.Popen(  # noqa: S603 - commands come from our own scripts
                shlex.split(cmd),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: we stop its children too
            )
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

    def first_running(self) -> str | None:
        return next((n for n, p in self.procs.items() if p.poll() is None), None)


def main(argv: list[str]) -> int:
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
