"""Writing the change feed: `emit` is called inside the transaction of the change it
reports, so an event exists exactly when its change committed (a rollback takes
both away) and costs no extra commit.

Lock order: the team's sequence row is the last lock a transaction takes. A caller
that locks the team (ledger.lock_team) or moves credits does so before its first
`emit`, never after (a job's end locks its account first: ledger.lock_account), so
two transactions never wait on each other for the sequence row and a team or
account row (PostgreSQL would abort one as a deadlock).

Retention: `prune` (the poller, hourly) deletes events older than
MJWEB_LIVE_RETENTION_HOURS, but never a team's newest: a stream that reconnects
after that long gets `reset` and reloads its page anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

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
        team_id=team_id,
        seq=seq,
        kind=kind,
        job_id=job_id,
        user_id=user_id,
        payload=payload or {},
        # Read here, not as the field's default (bound when the model loaded), so a
        # test's controlled clock dates the event, which retention counts from.
        created=timezone.now(),
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


def prune(now: datetime | None = None, *, batch: int = 5000) -> int:
    """Delete events older than MJWEB_LIVE_RETENTION_HOURS, `batch` rows per
    statement (each its own short write, so pages' writes are not held up);
    how many went. A team's newest event stays, however old: it is the one
    whose seq equals its counter row's."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.MJWEB_LIVE_RETENTION_HOURS)
    newest = LiveSeq.objects.filter(team_id=OuterRef("team_id")).values("last")
    old = LiveEvent.objects.filter(created__lt=cutoff).exclude(seq=Subquery(newest))
    deleted = 0
    while True:
        ids = list(old.order_by("pk").values_list("pk", flat=True)[:batch])
        if ids:
            deleted += LiveEvent.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch:
            return deleted
