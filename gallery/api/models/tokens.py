"""Personal API tokens and what the team API remembers about the tasks it created.

A token belongs to one membership: it acts as that person in that team, with
that person's role, credits, limits and in-flight cap, read fresh on every
request. Only the SHA-256 of a token is stored (a random 256-bit secret needs
no slow hash); the plain token is shown once, when it is made, like the
invite links in `gallery.teams.models.teams`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from gallery.net.digests import secret_digest
from gallery.studio.models.jobs import Job
from gallery.teams import audit
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership

TOKEN_PREFIX = "mjw_"  # noqa: S105 - the visible prefix, not a secret
SHOWN_CHARS = 12  # "mjw_" and 8 random characters: enough to tell tokens apart in a list
# last_used_at is a hint for people, not an audit log: writing it on every
# request would put a database write on every status poll.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(token: str) -> str:
    """An API token as stored (gallery.net.digests, the one way)."""
    return secret_digest(token)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self, now: datetime | None = None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )

    def visible_to(self, membership: Membership) -> ApiTokenQuerySet:
        """A member's own tokens; for a team admin, every token of the team."""
        if membership.is_admin:
            return self.filter(membership__team_id=membership.team_id)
        return self.filter(membership=membership)

    def revoke_all(self, by=None) -> int:
        """Revoke every token here that is not revoked yet; returns how many were.
        Each revocation gets its audit line in the same transaction."""
        with transaction.atomic():
            live = self.filter(revoked_at__isnull=True).select_related("membership__user")
            tokens = list(live.select_for_update(of=("self",)))
            for token in tokens:
                token.audit(audit.AuditAction.TOKEN_REVOKED, by)
            return self.filter(pk__in=[t.pk for t in tokens], revoked_at__isnull=True).update(
                revoked_at=timezone.now(), revoked_by=by
            )


class ApiToken(models.Model):
    membership = models.ForeignKey(Membership, models.CASCADE, related_name="api_tokens")
    # Bound to a project, every job it makes goes there; else, an edit's
    # parent's project, or none.
    project = models.ForeignKey(
        Project, models.PROTECT, null=True, blank=True, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=SHOWN_CHARS, help_text="The first characters, for lists")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls,
        membership: Membership,
        name: str,
        *,
        expires_in: timedelta | None = None,
        project: Project | None = None,
    ) -> tuple[ApiToken, str]:
        """Make a token; returns it with the plain token, which is not stored."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with transaction.atomic():
            token = cls.objects.create(
                membership=membership,
                project=project,
                name=name,
                prefix=plain[:SHOWN_CHARS],
                digest=token_digest(plain),
                expires_at=timezone.now() + expires_in if expires_in else None,
            )
            token.audit(audit.AuditAction.TOKEN_CREATED, membership.user)
        return token, plain

    @classmethod
    def find(cls, plain: str) -> ApiToken | None:
        """The token with this secret, whatever its state (the caller says why
        a revoked or expired one is refused). The lookup is by digest on a
        unique index, so no comparison of secrets leaks timing."""
        return (
            cls.objects.select_related("membership__team", "membership__user", "project")
            .filter(digest=token_digest(plain))
            .first()
        )

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def used_just_now(self) -> bool:
        """Within last_used_at's resolution, where "0 minutes ago" would read oddly."""
        return (
            self.last_used_at is not None
            and timezone.now() - self.last_used_at < LAST_USED_RESOLUTION
        )

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def revoke(self, by=None) -> bool:
        """Revoke once; returns whether this call did it."""
        now = timezone.now()
        with transaction.atomic():
            done = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=now, revoked_by=by
            )
            if done:
                self.audit(audit.AuditAction.TOKEN_REVOKED, by)
        if done:
            self.revoked_at, self.revoked_by = now, by
        return bool(done)

    def audit(self, action: str, by) -> None:
        """The audit line of this token's creation or revocation."""
        member = self.membership
        state = {"expires_at": self.expires_at.isoformat() if self.expires_at else None}
        revoked = action == audit.AuditAction.TOKEN_REVOKED
        audit.record(
            member.team_id,
            by,
            action,
            f"API token “{self.name}” ({self.prefix}…) of {member.user.username}",
            {"active": True} if revoked else {},
            {"active": False} if revoked else {"active": True, **state},
            subject=member.user,
        )

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class CallbackState(models.TextChoices):
    NONE = "", "No callback"
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class ApiTask(models.Model):
    """What the team API adds to a job it created: the token that made it, the
    request's fingerprint (to tell a retry from a reuse of an Idempotency-Key)
    and the client's callback and its delivery. Job itself stays the
    pipeline's; web-made jobs have no ApiTask."""

    CallbackState = CallbackState

    job = models.OneToOneField(Job, models.CASCADE, related_name="api_task")
    token = models.ForeignKey(
        ApiToken, models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    request_digest = models.CharField(max_length=64, blank=True)
    callback_url = models.CharField(max_length=2048, blank=True)
    callback_state = models.CharField(
        max_length=10, choices=CallbackState.choices, blank=True, default=CallbackState.NONE
    )
    callback_attempts = models.PositiveSmallIntegerField(default=0)
    callback_status = models.PositiveSmallIntegerField(null=True, blank=True)
    callback_error = models.CharField(max_length=300, blank=True)
    callback_claimed_at = models.DateTimeField(null=True, blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API task"
        constraints = [
            models.CheckConstraint(
                condition=Q(callback_state__in=CallbackState.values),
                name="api_task_callback_state_is_known",
            ),
        ]

    def __str__(self) -> str:
        return f"API task for job {self.job_id}"
