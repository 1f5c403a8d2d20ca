"""Fixed-window counters in the shared cache (the database, or Redis), so
every web process counts the same attempts."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets


def _slot(key: str, window: int) -> tuple[str, int]:
    now = time.time()
    start = int(now // window) * window
    return f"throttle:{key}:{start}", max(1, math.ceil(start + window - now))


def hit(key: str, *, limit: int, window: int) -> Verdict:
    """Count one attempt; allowed while the window holds at most `limit`."""
    slot, retry_after = _slot(key, window)
    cache.add(slot, 0, window + 5)
    try:
        count = cache.incr(slot)
    except ValueError:  # expired between add and incr
        cache.set(slot, 1, window + 5)
        count = 1
    return Verdict(count <= limit, retry_after)


def peek(key: str, *, limit: int, window: int) -> Verdict:
    """Whether another attempt would be allowed, without counting one."""
    slot, retry_after = _slot(key, window)
    return Verdict((cache.get(slot) or 0) < limit, retry_after)


def reset(key: str, *, window: int) -> None:
    cache.delete(_slot(key, window)[0])
