"""Writing the change feed: `emit` is called inside the transaction of the change it
reports, so an event exists exactly when its change committed (a rollback takes
both away) and costs no extra commit.

Lock order: a caller that locks the team's credit account (ledger.lock_team) does so
before its first `emit`, never after, so two transactions never wait on each other
for the team's sequence row and its account.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import F

from gallery.studio.models.live import LiveEvent, LiveSeq

CHANNEL = "mjweb_live"  # PostgreSQL NOTIFY channel and Redis pub/sub channel


def emit(
    team_id: int,
    kind: str,
    *,
    job_id: int | None = None,
    user_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> LiveEvent:
    """Record one change for the team's open pages; returns the event with its seq."""
    if not connection.in_atomic_block:
        raise RuntimeError("emit() belongs inside the transaction of the change it reports")
    if kind not in LiveEvent.Kind.values:
        raise ValueError(f"unknown live event kind {kind!r}")
    seq = _next_seq(team_id)
    event = LiveEvent.objects.create(
        team_id=team_id, seq=seq, kind=kind, job_id=job_id, user_id=user_id, payload=payload or {}
    )
    if connection.vendor == "postgresql":
        # Delivered to listeners only when (and if) this transaction commits.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{team_id}:{seq}"])
    return event


def _next_seq(team_id: int) -> int:
    rows = LiveSeq.objects.filter(team_id=team_id)
    if not rows.update(last=F("last") + 1):
        # The team's first event: make its row (a racing first event gets the same
        # row from get_or_create and then takes its number by the UPDATE below).
        LiveSeq.objects.get_or_create(team_id=team_id)
        rows.update(last=F("last") + 1)
    # Our UPDATE holds the row until commit, so this read is our own number.
    return rows.values_list("last", flat=True).get()


def on_commit_wake(callback) -> None:
    """Run `callback` (a hub's wake-up) after the surrounding transaction commits."""
    transaction.on_commit(callback)
