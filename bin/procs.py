#!/usr/bin/env python3
"""Run several long-lived processes as one: `procs.py name='cmd …' name2='cmd …'`.

Output lines are prefixed with the process name. When any process exits, or
on Ctrl-C / SIGTERM, every process gets SIGTERM, then SIGKILL after a grace
period, so `make run` never leaves a worker or server behind.
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

GRACE_SECONDS = 10


def main(argv: list[str]) -> int:
    specs = [arg.split("=", 1) for arg in argv]
    if not specs or any(len(s) != 2 for s in specs):
        print("usage: procs.py name='command' [name='command' …]", file=sys.stderr)
        return 64
    width = max(len(name) for name, _ in specs)
    procs: dict[str, subprocess.Popen] = {}
    sel = selectors.DefaultSelector()
    for name, cmd in specs:
        proc = subprocess.Popen(  # noqa: S603 - commands come from our own Makefile
            shlex.split(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so we can stop its children too
        )
        procs[name] = proc
        sel.register(proc.stdout, selectors.EVENT_READ, name)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for key, _ in sel.select(timeout=0.5):
            line = key.fileobj.readline()
            if line:
                sys.stdout.write(f"{key.data:>{width}} | {line.decode(errors='replace')}")
                sys.stdout.flush()
            else:
                sel.unregister(key.fileobj)
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping the others", flush=True)
                exit_code = proc.returncode or 1
                stopping = True
                break
    return shutdown(procs) or exit_code


def shutdown(procs: dict[str, subprocess.Popen]) -> int:
    for proc in procs.values():
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    print("all processes stopped", flush=True)
    return 0


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
