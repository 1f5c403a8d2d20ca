"""Batches: a table of prompts run as jobs under a spending cap.

A batch makes its jobs a few at a time (as many as its member may have in
flight), through pipeline.create like any job: same queue, same limits, same
ledger. `committed` is what its jobs have reserved; a job is made only if its
reservation fits under the cap, decided by a conditional UPDATE inside the
transaction that reserves it, under the team's lock, so no race spends past
the cap (and the database's check refuses it if anything tried).

    running ⇄ paused
       ↓  ↘      ↓
    finished  capped  cancelled
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from gallery.studio.models.jobs import Job
from gallery.studio.models.organise import Collection
from gallery.teams.models.teams import Membership


class BatchStatus(models.TextChoices):
    RUNNING = "running"
    PAUSED = "paused"
    CAPPED = "capped"  # the next job would pass the cap: no more are made
    FINISHED = "finished"
    CANCELLED = "cancelled"


class BatchQuerySet(models.QuerySet["Batch"]):
    def visible_in(self, membership: Membership) -> BatchQuerySet:
        """The member's own batches; an admin sees the team's."""
        batches = self.filter(membership__team_id=membership.team_id)
        return batches if membership.is_admin else batches.filter(membership=membership)


class Batch(models.Model):
    Status = BatchStatus
    # Where no more jobs are made, though those made may still be running.
    STOPPED = (Status.CAPPED, Status.FINISHED, Status.CANCELLED)

    membership = models.ForeignKey(Membership, models.CASCADE, related_name="batches")
    name = models.CharField(max_length=80)
    cap = models.BigIntegerField()  # credits the batch may reserve in all
    committed = models.BigIntegerField(default=0)  # credits its jobs reserved
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    note = models.CharField(max_length=300, blank=True)  # why it stopped or waits
    collection = models.OneToOneField(
        Collection, models.SET_NULL, null=True, blank=True, related_name="batch"
    )
    created = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(cap__gt=0), name="batch_cap_positive"),
            models.CheckConstraint(
                condition=Q(committed__lte=F("cap")), name="batch_never_past_its_cap"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in BatchStatus]),
                name="batch_status_is_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Batch {self.name} ({self.status})"

    def commit(self, credits: int) -> bool:
        """Count a job's reservation against the cap, if it fits and the batch
        still runs; whether it did. Call it in the transaction that reserves."""
        fits = Batch.objects.filter(
            pk=self.pk, status=self.Status.RUNNING, committed__lte=F("cap") - credits
        )
        return bool(fits.update(committed=F("committed") + credits))

    def pause(self, note: str = "") -> bool:
        return self._move((self.Status.RUNNING,), status=self.Status.PAUSED, note=note)

    def resume(self) -> bool:
        return self._move((self.Status.PAUSED,), status=self.Status.RUNNING, note="")

    def stop(self, status: str, note: str = "") -> bool:
        sources = (self.Status.RUNNING, self.Status.PAUSED)
        if status == self.Status.CANCELLED:
            sources = (*sources, self.Status.CAPPED)
        return self._move(sources, status=status, note=note, finished_at=timezone.now())

    def _move(self, sources: tuple[str, ...], **changes) -> bool:
        won = Batch.objects.filter(pk=self.pk, status__in=sources).update(**changes)
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return bool(won)


class BatchRow(models.Model):
    """One row of the table, checked and priced when the batch started."""

    batch = models.ForeignKey(Batch, models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # its line in the table
    name = models.CharField(max_length=120, blank=True)
    prompt = models.TextField()  # as sent: reference and aspect ratio composed in
    provider = models.CharField(max_length=20)
    speed = models.CharField(max_length=10)
    project = models.CharField(max_length=120, blank=True)  # its project's name, checked
    repeat = models.PositiveSmallIntegerField(default=1)
    credits_each = models.BigIntegerField()  # the quote when it started
    made = models.PositiveSmallIntegerField(default=0)  # jobs made of `repeat`
    problem = models.CharField(max_length=300, blank=True)  # why a job was refused

    class Meta:
        ordering = ["batch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="one_row_per_line"),
            models.CheckConstraint(condition=Q(made__lte=F("repeat")), name="row_made_le_repeat"),
        ]

    def __str__(self) -> str:
        return f"Row {self.number} of batch {self.batch_id}"


class BatchJob(models.Model):
    row = models.ForeignKey(BatchRow, models.CASCADE, related_name="links")
    job = models.OneToOneField(Job, models.CASCADE, related_name="batch_link")

    def __str__(self) -> str:
        return f"Job {self.job_id} of row {self.row_id}"
