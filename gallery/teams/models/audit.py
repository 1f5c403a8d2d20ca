"""The team's audit log: who changed what about money and people, when, from what to what.

Append-only: an entry is written once by `gallery.teams.audit.record` and
never changed. `save()` refuses an existing row, `delete()` refuses always,
and the queryset's `update()` and `delete()` refuse too, so no code path
through the ORM rewrites history (a team admin reads it, nobody edits it;
the Django admin shows it read-only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AppendOnly(Exception):
    """An attempt to change or delete an audit entry."""


class AuditAction(models.TextChoices):
    # Other parts add their actions here (budgets, approvals): one list of names.
    GRANT = "grant", "Credits granted"
    ADJUST = "adjust", "Balance adjusted"
    MEMBER_LIMITS = "member_limits", "Member limits changed"
    TEAM_LIMIT = "team_limit", "Team limit changed"
    ROLE = "role", "Role changed"
    REMOVE = "remove", "Member removed"
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    BUDGET_SET = "budget_set", "Budget set"
    BUDGET_REMOVED = "budget_removed", "Budget removed"
    APPROVAL_RULES = "approval_rules", "Approval rules changed"
    JOB_APPROVED = "job_approved", "Job approved"
    JOB_DECLINED = "job_declined", "Job declined"
    RAISE_GRANTED = "raise_granted", "Budget raise granted"
    REQUEST_DISMISSED = "request_dismissed", "Budget request dismissed"
    PROJECT_ADDED = "project_added", "Project added"
    PROJECT_ARCHIVED = "project_archived", "Project archived"
    PROVIDER_ORDER = "provider_order", "Provider order changed"


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("Audit entries are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("Audit entries are never deleted")

    def of_action(self, action: str) -> AuditQuerySet:
        return self.filter(action=action) if action else self

    def involving(self, user_id: int | None) -> AuditQuerySet:
        """Entries a person made or that were about them."""
        if not user_id:
            return self
        return self.filter(Q(actor_id=user_id) | Q(subject_id=user_id))

    def between(self, start: datetime | None, end: datetime | None) -> AuditQuerySet:
        qs = self.filter(at__gte=start) if start else self
        return qs.filter(at__lt=end) if end else qs


class AuditEntry(models.Model):
    # By name, not by import: the team's own methods write entries (no import cycle).
    team = models.ForeignKey("gallery.Team", models.PROTECT, related_name="audit_entries")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )  # None: the system or a command line
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    # What it was about: a person (`subject`, for filtering) and words that
    # stay readable whatever later happens to the object (a token's name).
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    target = models.CharField(max_length=200)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["team", "-at", "-id"], name="audit_team_newest_first")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}: {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnly("Audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("Audit entries are never deleted")
