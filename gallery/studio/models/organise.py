"""Stars, collections and public share links: how a team organises its work."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from gallery.studio.live.events import emit
from gallery.studio.models.jobs import Image, Job
from gallery.studio.models.live import LiveEvent
from gallery.teams.models.teams import Team


class Star(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="stars")
    job = models.ForeignKey(Job, models.CASCADE, related_name="stars")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "job"], name="one_star_per_job")]

    def __str__(self) -> str:
        return f"{self.user} ★ job {self.job_id}"

    @classmethod
    def toggle(cls, user, job: Job) -> bool:
        """Star the job for this user, or take their star off; whether it is
        starred now. Their open pages hear of it (a `starred` event for them)."""
        with transaction.atomic():
            star, starred = cls.objects.get_or_create(user=user, job=job)
            if not starred:
                star.delete()
            _starred(user, job, starred)
        return starred

    @classmethod
    def star_all(cls, user, jobs: list[Job]) -> int:
        """Star every one of `jobs` for this user (a starred one stays starred,
        once); how many were newly starred, each told to the user's open pages."""
        with transaction.atomic():
            have = set(cls.objects.filter(user=user, job__in=jobs).values_list("job_id", flat=True))
            new = sorted((job for job in jobs if job.pk not in have), key=lambda job: job.pk)
            cls.objects.bulk_create([cls(user=user, job=job) for job in new], ignore_conflicts=True)
            for job in new:
                _starred(user, job, True)
        return len(new)


def _starred(user, job: Job, starred: bool) -> None:
    emit(
        job.team_id,
        LiveEvent.Kind.STARRED,
        job_id=job.pk,
        user_id=user.pk,
        payload={"starred": starred},
    )


class CollectionQuerySet(models.QuerySet["Collection"]):
    def visible_to(self, user, team: Team) -> CollectionQuerySet:
        """The team's boards and the user's own private ones."""
        return self.filter(team=team).filter(Q(private=False) | Q(owner=user))


class Collection(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="collections")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    private = models.BooleanField(default=False, help_text="Only its owner sees it")
    jobs = models.ManyToManyField(Job, through="CollectionItem", related_name="collections")
    created = models.DateTimeField(default=timezone.now)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, models.CASCADE, related_name="items")
    job = models.ForeignKey(Job, models.CASCADE, related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    added = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "job"], name="job_once_per_collection")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} in {self.collection_id}"


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def active(self) -> ShareLinkQuerySet:
        """Links that open: not revoked, of a job neither deleted nor private.
        Making a job private revokes its links too; the private filter is for a
        link made in the instant between a share's check and the switch."""
        return self.filter(
            revoked_at__isnull=True,
            image__job__deleted_at__isnull=True,
            image__job__private=False,
        )

    def revoke(self) -> int:
        """Revoke those not revoked yet; how many that was."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class ShareLink(models.Model):
    """A public, read-only link to one image, until someone on the team revokes it."""

    image = models.ForeignKey(Image, models.CASCADE, related_name="share_links")
    slug = models.CharField(max_length=32, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Share link for image {self.image_id}"

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = secrets.token_urlsafe(16)
        super().save(*args, **kwargs)

    def revoke(self) -> None:
        ShareLink.objects.filter(pk=self.pk).revoke()
