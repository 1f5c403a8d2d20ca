"""Password hashing that cannot crowd out the rest of the site.

A PBKDF2 check costs about a quarter of a second of CPU by design. Forty
sign-in attempts at once (all but the throttle's ten refused before any
hashing) would still put ten hashes on the cores together, and every other
request would wait behind them. So at most half the machine's cores hash at
once, across all web processes: a hash takes one of that many slots (lock
files beside the database; an OS lock is released when its holder dies, so a
killed worker leaves no slot taken) and the rest queue, each answered in turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

SLOTS = max(1, (os.cpu_count() or 2) // 2)


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
        with _hashing_slot():
            return super().encode(password, salt, iterations)
