"""Layered budgets: on the team, on each project, on each member.

A budget caps what the jobs it covers may cost in a period (a month or a
week, beginning at midnight in the team's time zone: the 1st, or Monday).
A job must fit every budget that covers it; `gallery.credits.ledger` checks
them under the team's lock in the transaction that reserves the job, so
concurrent submits cannot overshoot any of them. What a budget has used is
what its jobs reserved in the period less what came back (the ledger's
`reserved_in(...).spent()`): a running job's credits count from the moment
they are reserved.

An admin can raise a budget for a while (a `BudgetRaise`, expiring at a
chosen time), usually answering a member's `BudgetRequest`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from gallery.credits.models.credits import LedgerEntry, month_bounds, zone_named
from gallery.teams import audit
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership, Team

DEFAULT_THRESHOLDS = [80, 100]


class Period(models.TextChoices):
    MONTH = "month", "Monthly"
    WEEK = "week", "Weekly"


def week_bounds(now: datetime | None = None, zone=None) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) around `now`, in `zone`. Arithmetic
    on an aware datetime keeps its wall clock, so a week across a DST change
    still ends at midnight."""
    local = timezone.localtime(now or timezone.now(), zone_named(zone))
    midnight = datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
    start = midnight - timedelta(days=local.weekday())
    return start, start + timedelta(days=7)


def period_bounds(period: str, now: datetime | None = None, zone=None) -> tuple[datetime, datetime]:
    if period == Period.WEEK:
        return week_bounds(now, zone)
    return month_bounds(now, zone)


def default_thresholds() -> list[int]:
    return list(DEFAULT_THRESHOLDS)


class BudgetQuerySet(models.QuerySet["Budget"]):
    def covering(self, team_id: int, project_id: int | None, membership_id: int) -> BudgetQuerySet:
        """The budgets a job of this member, for this project, must fit."""
        scope = Q(project__isnull=True, membership__isnull=True) | Q(membership_id=membership_id)
        if project_id is not None:
            scope |= Q(project_id=project_id)
        return self.filter(scope, team_id=team_id)


class Budget(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="budgets")
    # Neither: the team's own budget. One of them: that project's or member's.
    project = models.ForeignKey(
        Project, models.CASCADE, null=True, blank=True, related_name="budgets"
    )
    membership = models.ForeignKey(
        Membership, models.CASCADE, null=True, blank=True, related_name="budgets"
    )
    period = models.CharField(max_length=5, choices=Period.choices, default=Period.MONTH)
    limit = models.BigIntegerField(help_text="Most credits its jobs may cost in a period")
    thresholds = models.JSONField(
        default=default_thresholds, help_text="Percentages of the limit that send an alert"
    )
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Alerts are also posted here (JSON), if set"
    )
    created = models.DateTimeField(default=timezone.now)

    objects = BudgetQuerySet.as_manager()

    class Meta:
        ordering = ["team", "project", "membership", "period"]
        constraints = [
            models.CheckConstraint(condition=Q(limit__gte=0), name="budget_limit_not_negative"),
            models.CheckConstraint(
                condition=Q(project__isnull=True) | Q(membership__isnull=True),
                name="budget_has_one_scope",
            ),
            models.CheckConstraint(
                condition=Q(period__in=Period.values), name="budget_period_is_known"
            ),
            models.UniqueConstraint(
                fields=["team", "period"],
                condition=Q(project__isnull=True, membership__isnull=True),
                name="one_team_budget_per_period",
            ),
            models.UniqueConstraint(
                fields=["project", "period"],
                condition=Q(project__isnull=False),
                name="one_project_budget_per_period",
            ),
            models.UniqueConstraint(
                fields=["membership", "period"],
                condition=Q(membership__isnull=False),
                name="one_member_budget_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.limit})"

    @property
    def name(self) -> str:
        """The budget in people's words, as a refusal names it."""
        period = self.get_period_display().lower()
        if self.project_id is not None:
            return f"the {period} budget of project {self.project.name}"
        if self.membership_id is not None:
            return f"the {period} budget of {self.membership.user.username}"
        return f"the team's {period} budget"

    @property
    def period_word(self) -> str:
        return "this week" if self.period == Period.WEEK else "this month"

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        return period_bounds(self.period, now, self.team.time_zone)

    def entries(self):
        """Every ledger entry of the jobs this budget covers, in any period."""
        entries = LedgerEntry.objects.filter(account__membership__team_id=self.team_id)
        if self.project_id is not None:
            return entries.filter(job__project_id=self.project_id)
        if self.membership_id is not None:
            return entries.filter(account__membership_id=self.membership_id)
        return entries

    def used(self, now: datetime | None = None) -> int:
        """What its jobs reserved in the period holding `now`, less refunds:
        running jobs count, at what they reserved."""
        return self.entries().reserved_in(*self.bounds(now)).spent()

    def raised_by(self, now: datetime | None = None) -> int:
        """The raises in force at `now`."""
        live = self.raises.in_force(now or timezone.now())
        return live.aggregate(total=Sum("amount"))["total"] or 0

    def limit_at(self, now: datetime | None = None) -> int:
        return self.limit + self.raised_by(now)


class BudgetRaiseQuerySet(models.QuerySet["BudgetRaise"]):
    def in_force(self, now: datetime) -> BudgetRaiseQuerySet:
        return self.filter(created__lte=now, expires_at__gt=now)


class BudgetRaise(models.Model):
    """More room in one budget until `expires_at`."""

    budget = models.ForeignKey(Budget, models.CASCADE, related_name="raises")
    amount = models.BigIntegerField()
    expires_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)

    objects = BudgetRaiseQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="budget_raise_positive"),
        ]

    def __str__(self) -> str:
        return f"+{self.amount} to {self.budget} until {self.expires_at:%Y-%m-%d}"


class BudgetRequestQuerySet(models.QuerySet["BudgetRequest"]):
    def open(self) -> BudgetRequestQuerySet:
        return self.filter(status=BudgetRequest.Status.OPEN)


class BudgetRequest(models.Model):
    """A member who hit a budget asks an admin for more room in it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        GRANTED = "granted", "Granted"
        DISMISSED = "dismissed", "Dismissed"

    budget = models.ForeignKey(Budget, models.CASCADE, related_name="requests")
    membership = models.ForeignKey(Membership, models.CASCADE, related_name="budget_requests")
    amount = models.BigIntegerField()
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted = models.OneToOneField(
        BudgetRaise, models.SET_NULL, null=True, blank=True, related_name="request"
    )

    objects = BudgetRequestQuerySet.as_manager()

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="budget_request_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "granted", "dismissed"]),
                name="budget_request_status_is_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership.user} asks +{self.amount} on {self.budget}"

    def grant(self, *, amount: int, expires_at: datetime, by) -> BudgetRaise | None:
        """Raise the budget by `amount` until `expires_at`, once: a second
        admin granting the same request at the same time finds it decided."""
        now = timezone.now()
        with transaction.atomic():
            claimed = BudgetRequest.objects.open().filter(pk=self.pk)
            if not claimed.update(status=self.Status.GRANTED, decided_at=now, decided_by=by):
                return None
            raised = BudgetRaise.objects.create(
                budget=self.budget,
                amount=amount,
                expires_at=expires_at,
                note=self.note,
                granted_by=by,
                created=now,
            )
            BudgetRequest.objects.filter(pk=self.pk).update(granted=raised)
            self._audit(
                audit.AuditAction.RAISE_GRANTED,
                by,
                {"amount": amount, "expires_at": expires_at.isoformat(), "note": self.note},
            )
        self.status, self.granted = self.Status.GRANTED, raised
        return raised

    def dismiss(self, *, by) -> bool:
        with transaction.atomic():
            done = BudgetRequest.objects.open().filter(pk=self.pk)
            if not done.update(
                status=self.Status.DISMISSED, decided_at=timezone.now(), decided_by=by
            ):
                return False
            self._audit(audit.AuditAction.REQUEST_DISMISSED, by, {"status": "dismissed"})
        return True

    def _audit(self, action: str, by, after: dict) -> None:
        member = self.membership
        audit.record(
            member.team_id,
            by,
            action,
            f"{member.user.username}'s request for {self.amount} more in {self.budget.name}",
            {"status": "open", "asked": self.amount},
            after,
            subject=member.user,
        )


class BudgetAlert(models.Model):
    """A threshold of a budget crossed in one period. The unique row makes
    "each alert once per period" a fact of the database: whoever inserts it
    sends the alert, and a second insert fails."""

    budget = models.ForeignKey(Budget, models.CASCADE, related_name="alerts")
    period_start = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField()
    used = models.BigIntegerField()
    limit = models.BigIntegerField()
    created = models.DateTimeField(default=timezone.now)
    webhook_result = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "threshold"], name="one_alert_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold} % of {self.budget}"


class NoticeQuerySet(models.QuerySet["Notice"]):
    def unread(self) -> NoticeQuerySet:
        return self.filter(read_at__isnull=True)


class Notice(models.Model):
    """A message for one member, shown in the app (a budget alert)."""

    membership = models.ForeignKey(Membership, models.CASCADE, related_name="notices")
    text = models.CharField(max_length=300)
    created = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return self.text
