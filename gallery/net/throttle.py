"""Fixed-window attempt counters in the database (`ThrottleCounter`), so every
web process counts the same attempts, and counts them atomically.

One row per (key, window start). A hit is one transaction: a conditional
``UPDATE … SET count = count + 1`` (or the row's INSERT when it is the
window's first), then a read of the count the UPDATE left, the same pattern
as the ledger's balance. Our UPDATE holds the row until commit, so the count
read back is our own: N concurrent hits see N different counts and exactly
`limit` of them are allowed. A plain get-then-set (the database cache's
``incr``) lets concurrent hits read the same count.

A secret (a password, a token) is checked only after its attempt took a slot
(`attempt`); a success gives the slot back, so only failures count.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from gallery.net.models.throttle import ThrottleCounter

MAX_KEY = 160  # leaves room for ":<window start>+<length>" in the 200-character column


def wall_clock() -> datetime:
    return timezone.now()


# The clock every window is read from when a caller passes no `now`. The views
# pass none, so a test sets this (to a fixed time) rather than race the wall
# clock: a scene that crosses a window's edge would be counted in two windows.
clock: Callable[[], datetime] = wall_clock


@dataclass
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets
    count: int = 0  # attempts in the window, this one included (for hit)
    slot: str = field(default="", repr=False)  # the counter row a hit went to


def client_address(request: HttpRequest) -> str:
    """The address a request came from: the one place that decides it, for the
    sign-in and API throttles and the access log (gunicorn.conf.py)."""
    return address_in(
        request.META,
        trusted_proxies=getattr(settings, "MJWEB_TRUSTED_PROXIES", 0),
        header=getattr(settings, "MJWEB_PROXY_HEADER", "x-forwarded-for"),
    )


def address_in(meta: Mapping[str, str], *, trusted_proxies: int, header: str) -> str:
    """The client's address in a WSGI environ behind `trusted_proxies` proxies.

    With no proxy it is REMOTE_ADDR, and the forwarded headers are not read at
    all: anyone can send them. Behind N proxies each appends the address it was
    reached from, so the Nth entry from the right was written by the outermost
    one we trust; whatever lies to its left came from the client. When the
    header holds fewer entries than that, or that entry is not an address, the
    request did not come the way the proxies were said to send it: the peer
    (REMOTE_ADDR, a proxy) is the answer, never a value the client wrote.
    """
    peer = meta.get("REMOTE_ADDR", "")
    if trusted_proxies <= 0:
        return peer
    if header == "forwarded":
        entries = _forwarded_for(meta.get("HTTP_FORWARDED", ""))
    else:
        entries = meta.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(entries) < trusted_proxies:
        return peer
    return _address(entries[-trusted_proxies]) or peer


def _forwarded_for(value: str) -> list[str]:
    """The for= of each element of an RFC 7239 Forwarded header, "" where absent.

    Split on every comma, quoted or not: a quote the client leaves open must
    not swallow the elements the proxies append after it.
    """
    found = []
    for element in value.split(","):
        params = (pair.partition("=") for pair in element.split(";"))
        found.append(next((v for k, _, v in params if k.strip().lower() == "for"), ""))
    return found


def _address(entry: str) -> str:
    """An IP address in canonical form, from `1.2.3.4`, `1.2.3.4:80`, `"[::1]:80"`; or ""."""
    text = entry.strip().strip('"').strip()
    if text.startswith("["):
        text, closed, _port = text[1:].partition("]")
        if not closed:
            return ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _slot(key: str, window: int, now: datetime) -> tuple[str, datetime, int]:
    """The row key of the window holding `now`, its end, and the seconds left."""
    if len(key) > MAX_KEY:
        key = f"{key[:64]}…{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"
    seconds = now.timestamp()
    start = int(seconds // window) * window
    ends = datetime.fromtimestamp(start + window, tz=UTC)
    # The window's length too: the same key may be limited over two windows.
    return f"{key}:{start}+{window}", ends, max(1, math.ceil(start + window - seconds))


def hit(key: str, *, limit: int, window: int, now: datetime | None = None) -> Verdict:
    """Count one attempt; allowed while the window holds at most `limit`."""
    now = now or clock()
    slot, ends, retry_after = _slot(key, window, now)
    count = _increment(slot, ends)
    if count == 1:
        # A new window row: a cheap moment to drop the rows whose windows ended.
        ThrottleCounter.objects.filter(expires_at__lte=now).delete()
    return Verdict(count <= limit, retry_after, count, slot)


def _increment(slot: str, ends: datetime) -> int:
    for _ in range(3):
        try:
            with transaction.atomic():
                rows = ThrottleCounter.objects.filter(key=slot)
                if rows.update(count=F("count") + 1):
                    return rows.values_list("count", flat=True).get()
                ThrottleCounter.objects.create(key=slot, count=1, expires_at=ends)
                return 1
        except IntegrityError:
            continue  # another request created the row first: UPDATE it now
    raise RuntimeError(f"could not count an attempt under {slot!r}")


def peek(key: str, *, limit: int, window: int, now: datetime | None = None) -> Verdict:
    """Whether another attempt would be allowed, without counting one."""
    slot, _ends, retry_after = _slot(key, window, now or clock())
    count = ThrottleCounter.objects.filter(key=slot).values_list("count", flat=True).first() or 0
    return Verdict(count < limit, retry_after, count, slot)


def give_back(verdict: Verdict) -> None:
    """Uncount the attempt `hit` returned this verdict for (its own window's row)."""
    if verdict.slot:
        ThrottleCounter.objects.filter(key=verdict.slot, count__gt=0).update(count=F("count") - 1)
        verdict.slot = ""  # once


@dataclass
class Attempt:
    """The slots one attempt took, one per limit it is under."""

    taken: list[Verdict]
    refused: str | None = None  # the name of the first limit it passed
    retry_after: int = 0

    def succeeded(self) -> None:
        """A success gives its slots back, so only failures count against anyone."""
        for verdict in self.taken:
            give_back(verdict)
        self.taken = []


def attempt(
    limits: dict[str, tuple[str, int]], *, window: int, now: datetime | None = None
) -> Attempt:
    """Take a slot under each named (key, limit) before a secret is checked.

    When a limit is passed, the attempt is refused: the secret must not be
    checked, and the slots are given back at once (an unchecked attempt is not
    a failure, so a refused person does not use up their address's limit).
    Giving back cannot let another attempt in: the slots that were counted
    before ours are all still held.
    """
    now = now or clock()  # one reading: the peeks and the hits count in the same windows
    # A limit already reached refuses with one read and no write: in a burst
    # against one account every refused attempt would otherwise queue for the
    # database's write lock (and hold a web thread) only to be refused.
    for name, (key, limit) in limits.items():
        seen = peek(key, limit=limit, window=window, now=now)
        if not seen.allowed:
            return Attempt([], refused=name, retry_after=seen.retry_after)
    taken: list[Verdict] = []
    # One transaction for all the limits: a burst then queues for the write
    # lock once per attempt, not once per limit and again per give-back.
    with transaction.atomic():
        for name, (key, limit) in limits.items():
            verdict = hit(key, limit=limit, window=window, now=now)
            taken.append(verdict)
            if not verdict.allowed:
                for held in taken:
                    give_back(held)
                return Attempt([], refused=name, retry_after=verdict.retry_after)
    return Attempt(taken)


def minutes(seconds: int) -> str:
    """'12 minutes', '1 minute': how long a refusal lasts, for messages."""
    n = max(1, round(seconds / 60))
    return f"{n} minute{'s' if n != 1 else ''}"
