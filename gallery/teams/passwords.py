"""Password hashing that cannot crowd out the rest of the site.

A PBKDF2 check costs about a quarter of a second of CPU by design. Forty
sign-in attempts at once (all but the throttle's ten refused before any
hashing) would still put ten hashes on the cores together, and every other
request would wait behind them. So at most half the machine's cores hash at
once, across all web processes: a hash takes one of that many slots (lock
files beside the database; an OS lock is released when its holder dies, so a
killed worker leaves no slot taken) and the rest queue, each answered in turn.

A check waiting for a slot still holds a web thread. Served as deployed
(mjweb.asgi), password checks run in a lane of their own threads, as many as
one process may check at once, so a burst waits there and pages keep the main
pool. Elsewhere (a test client, another server) one process lets at most half
its threads check passwords at once; a sign-in beyond that is told to try
again in a moment (`checking()`).

The hash itself runs on a thread of lower CPU priority (nice +10, per thread
on Linux): a core that is hashing still gives way at once to a page or a
health check that needs it, instead of sharing it half and half.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

SLOTS = max(1, (os.cpu_count() or 2) // 2)
NICENESS = 10
T = TypeVar("T")

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


_checks: dict[tuple[int, int], threading.BoundedSemaphore] = {}  # by (process, bound)


@contextlib.contextmanager
def checking() -> Iterator[bool]:
    """Yields whether this thread may check a password now (see the docstring)."""
    bound = settings.MJWEB_PASSWORD_CHECKS_PER_PROCESS
    with _pools_lock:
        gate = _checks.get((os.getpid(), bound))
        if gate is None:
            gate = _checks[os.getpid(), bound] = threading.BoundedSemaphore(bound)
    admitted = gate.acquire(blocking=False)
    try:
        yield admitted
    finally:
        if admitted:
            gate.release()


def _lower_priority() -> None:
    # Linux applies a "process" priority to the one thread whose id is given.
    with contextlib.suppress(OSError, AttributeError):
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, os.getpriority(os.PRIO_PROCESS, me) + NICENESS)


def at_low_priority(work: Callable[[], T]) -> T:
    """Run `work` on this process's low-priority thread and wait for it."""
    # Keyed by process: a pool made before a fork has no thread in the child.
    with _pools_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(
                SLOTS, thread_name_prefix="password-hash", initializer=_lower_priority
            )
    return pool.submit(work).result()


@contextlib.contextmanager
def _hashing_slot() -> Iterator[None]:
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    files = [open(folder / f"password-hash-{n}.lock", "a+b") for n in range(SLOTS)]  # noqa: SIM115
    try:
        held = None
        for f in files:  # a free slot, if there is one
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            held = f
            break
        if held is None:  # all taken: wait for one, spread by process
            held = files[os.getpid() % SLOTS]
            fcntl.flock(held, fcntl.LOCK_EX)
        yield
    finally:
        for f in files:
            f.close()  # closing releases the lock


class QueuedPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    # The same algorithm name: existing hashes verify, new ones look the same.
    algorithm = "pbkdf2_sha256"

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        encode = super().encode
        with _hashing_slot():
            return at_low_priority(lambda: encode(password, salt, iterations))
