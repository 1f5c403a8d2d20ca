"""Moving a job in a browser test as the site's own write paths do: the row
changes and a live event is written in the same transaction, so open pages
hear of it (their stream, or the poll they fall back to, reads events only)."""

from __future__ import annotations

from django.db import transaction

from gallery.studio.live import events
from gallery.studio.models.jobs import Job
from gallery.studio.models.live import LiveEvent


def move(job: Job, kind: str = LiveEvent.Kind.STATUS, **fields) -> int:
    """Set `fields` on the job's row and announce it as a `kind` event; its seq."""
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(**fields)
        return events.emit(job.team_id, kind, job_id=job.pk).seq
