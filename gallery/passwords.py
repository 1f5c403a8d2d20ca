"""Password hashing that cannot crowd out the rest of the site.

A PBKDF2 check costs about a quarter of a second of CPU by design. Forty
sign-in attempts at once (all but the throttle's ten refused before any
hashing) would still put ten of them on two cores together, and every other
request of the site would wait behind them. One hash at a time per process
(web processes are one per core) keeps a core's worth of time for everyone
else; the attempts queue here instead, each still answered in turn.
"""

from __future__ import annotations

import threading

from django.contrib.auth.hashers import PBKDF2PasswordHasher

_one_at_a_time = threading.BoundedSemaphore(1)


class QueuedPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    # The same algorithm name: existing hashes verify, new ones look the same.
    algorithm = "pbkdf2_sha256"

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        with _one_at_a_time:
            return super().encode(password, salt, iterations)
