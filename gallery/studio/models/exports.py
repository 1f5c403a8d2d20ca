"""ZIP exports too large to stream at once: built by a worker, kept for a while.

An export is planned when it is asked for (which images, under which names)
and built in that order. The worker writes the entries to a part-built file
and records a checkpoint (entries done, bytes of the ZIP and of the manifest
rows that are safely on disk); a worker killed mid-way leaves the checkpoint,
and the next one cuts the files back to it and carries on from there.

    queued → building → ready → expired
        ↖______↙   ↘ failed

A building export holds a lease: a worker that dies stops renewing it, and
the poller's sweep queues the export again once it runs out.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from gallery.teams.models.teams import Membership

# How long a worker may go without a checkpoint before its export is
# considered abandoned; a checkpoint comes every few entries.
LEASE = timedelta(seconds=60)
# A queued export that no worker took by then is queued again (a lost task).
RECHECK = timedelta(seconds=60)


class ExportStatus(models.TextChoices):
    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class ExportQuerySet(models.QuerySet["Export"]):
    def of_member(self, membership: Membership) -> ExportQuerySet:
        """Only the member who asked sees an export (get_membership has checked
        they still are one)."""
        return self.filter(membership=membership)

    def claim(self, pk: int, now=None) -> bool:
        """A worker takes export `pk`: queued, or building with its lease run
        out. Whether this caller won (a second delivery of the task steps aside)."""
        now = now or timezone.now()
        takeable = Q(status=ExportStatus.QUEUED) | Q(
            status=ExportStatus.BUILDING, lease_until__lt=now
        )
        return bool(
            self.filter(takeable, pk=pk).update(
                status=ExportStatus.BUILDING, lease_until=now + LEASE, runs=F("runs") + 1
            )
        )

    def abandoned(self, now=None) -> ExportQuerySet:
        """Exports whose task was lost or whose worker died: queued and not
        taken for RECHECK, or building with the lease run out."""
        now = now or timezone.now()
        return self.filter(
            Q(status=ExportStatus.QUEUED, queued_at__lt=now - RECHECK)
            | Q(status=ExportStatus.BUILDING, lease_until__lt=now)
        )

    def past_keeping(self, now=None) -> ExportQuerySet:
        return self.filter(status=ExportStatus.READY, expires_at__lt=now or timezone.now())


class Export(models.Model):
    Status = ExportStatus

    membership = models.ForeignKey(Membership, models.CASCADE, related_name="exports")
    label = models.CharField(max_length=120)  # what was asked for, in words
    # [[image id, name in the ZIP], ...] in the order they are written.
    plan = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)  # len(plan), read without the plan
    # Which file of each image: "original" or "small" (exports.SIZES).
    variant = models.CharField(max_length=10, default="original")
    token = models.CharField(max_length=32, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The checkpoint: entries of the plan done (written or skipped), and how
    # far the part-built ZIP and manifest files are good.
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    zip_bytes = models.BigIntegerField(default=0)
    rows_bytes = models.BigIntegerField(default=0)
    runs = models.PositiveSmallIntegerField(default=0)  # worker runs it took
    file = models.CharField(max_length=200, blank=True)  # in media storage, once ready
    size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["status", "lease_until"], name="export_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ExportStatus]),
                name="export_status_is_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.status}, {self.done}/{self.total})"

    def save(self, *args, **kwargs) -> None:
        if not self.token:
            self.token = secrets.token_hex(16)
        super().save(*args, **kwargs)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)

    @property
    def written(self) -> int:
        return self.done - self.skipped

    @property
    def is_building(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.BUILDING)

    @property
    def storage_name(self) -> str:
        return f"exports/export-{self.pk}-{self.token}.zip"

    def part_path(self, suffix: str):
        return settings.MJWEB_EXPORT_DIR / f"export-{self.pk}-{self.token}.{suffix}"

    # --- transitions: each a conditional UPDATE on what the caller holds --------------

    def checkpoint(self, done: int, skipped: int, zip_bytes: int, rows_bytes: int) -> bool:
        """Record progress that is on disk, and renew the lease; False if the
        export was taken from this worker (its lease ran out) or cancelled."""
        now = timezone.now()
        changes = {"done": done, "skipped": skipped, "zip_bytes": zip_bytes}
        changes.update(rows_bytes=rows_bytes, lease_until=now + LEASE)
        return self._move((self.Status.BUILDING,), **changes)

    def pause(self) -> bool:
        """Back in line after a worker's time slice; the next run continues."""
        return self._move((self.Status.BUILDING,), status=self.Status.QUEUED, lease_until=None)

    def requeue(self, now=None) -> bool:
        """An abandoned export back in line (the sweep's), unless a worker took it."""
        now = now or timezone.now()
        won = (
            Export.objects.abandoned(now)
            .filter(pk=self.pk)
            .update(status=self.Status.QUEUED, lease_until=None, queued_at=now)
        )
        return bool(won)

    def mark_ready(self, size: int) -> bool:
        now = timezone.now()
        return self._move(
            (self.Status.BUILDING,),
            status=self.Status.READY,
            file=self.storage_name,
            size=size,
            lease_until=None,
            finished_at=now,
            expires_at=now + timedelta(hours=settings.MJWEB_EXPORT_HOURS),
        )

    def mark_failed(self, error: str) -> bool:
        return self._move(
            (self.Status.QUEUED, self.Status.BUILDING),
            status=self.Status.FAILED,
            error=error,
            lease_until=None,
            finished_at=timezone.now(),
        )

    def mark_expired(self) -> bool:
        return self._move((self.Status.READY,), status=self.Status.EXPIRED, file="")

    def _move(self, sources: tuple[str, ...], **changes) -> bool:
        won = Export.objects.filter(pk=self.pk, status__in=sources).update(**changes)
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return bool(won)
