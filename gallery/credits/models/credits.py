"""Credit accounts and the append-only ledger behind them.

One credit is $0.001. Only `gallery.credits.ledger` writes these tables: the cached
balance changes through a conditional UPDATE in the same transaction as the
entry that explains it, and the database refuses what must never happen
(a negative balance, a second reserve or settlement for a job, a repeated key).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, tzinfo

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from gallery.teams import audit
from gallery.teams.models.teams import Membership

DEFAULT_MAX_IN_FLIGHT = 4


def zone_named(name: str | tzinfo | None) -> tzinfo:
    """A team's time zone by its IANA name; the site's for None.

    `Team.time_zone` is validated where it is edited, but a name that tzdata
    no longer knows must not take a credit page down: it reads as UTC.
    """
    if name is None:
        return timezone.get_current_timezone()
    if isinstance(name, tzinfo):
        return name
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def first_of_month(year: int, month: int, zone: str | tzinfo | None = None) -> datetime:
    """Midnight at the start of the 1st of the month, in `zone`."""
    return datetime(year, month, 1, tzinfo=zone_named(zone))


def month_start(now: datetime | None = None, zone: str | tzinfo | None = None) -> datetime:
    """When the month holding `now` (default: the present) began in `zone`, a
    team's time zone (the site's when None): where a monthly limit restarts."""
    local = timezone.localtime(now or timezone.now(), zone_named(zone))
    return first_of_month(local.year, local.month, local.tzinfo)


def month_bounds(
    now: datetime | None = None, zone: str | tzinfo | None = None
) -> tuple[datetime, datetime]:
    """[start, end) of the month holding `now` in `zone`."""
    start = month_start(now, zone)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, first_of_month(year, month, start.tzinfo)


class CreditAccount(models.Model):
    membership = models.OneToOneField(Membership, models.PROTECT, related_name="account")
    balance = models.BigIntegerField(default=0, help_text="Credits available to spend")
    monthly_limit = models.BigIntegerField(
        null=True, blank=True, help_text="Most credits this member may spend in a month"
    )
    max_in_flight = models.PositiveSmallIntegerField(
        default=DEFAULT_MAX_IN_FLIGHT, help_text="Jobs this member may have running at once"
    )
    needs_approval = models.BooleanField(
        default=False, help_text="Every job of this member waits for an admin's approval"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="balance_not_negative"),
            models.CheckConstraint(
                condition=Q(monthly_limit__isnull=True) | Q(monthly_limit__gte=0),
                name="account_limit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership.user} in {self.membership.team}: {self.balance}"

    def set_limits(self, *, monthly_limit: int | None, max_in_flight: int, by=None) -> None:
        """Change the member's limits, with an audit line naming what changed."""
        before = {"monthly_limit": self.monthly_limit, "max_in_flight": self.max_in_flight}
        after = {"monthly_limit": monthly_limit, "max_in_flight": max_in_flight}
        with transaction.atomic():
            self.monthly_limit, self.max_in_flight = monthly_limit, max_in_flight
            # Only these columns: the balance belongs to the ledger's conditional UPDATEs.
            self.save(update_fields=["monthly_limit", "max_in_flight"])
            if before != after:
                member = self.membership
                audit.record(
                    member.team_id,
                    by,
                    audit.AuditAction.MEMBER_LIMITS,
                    f"{member.user.username}'s limits",
                    {k: v for k, v in before.items() if after[k] != v},
                    {k: v for k, v in after.items() if before[k] != v},
                    subject=member.user,
                )


# Entries that make up what jobs cost: reservations less what came back.
SPENDING_KINDS = ("reserve", "reprice", "settle", "refund")


def _reserved_between(start: datetime, end: datetime) -> Q:
    # A job is made and reserved in one transaction (`pipeline.create`), so
    # its `created` is when its credits were reserved. Filtering on it keeps a
    # month's spend one indexed join instead of a lookup of each reserve entry.
    return Q(job__created__gte=start, job__created__lt=end)


class LedgerQuerySet(models.QuerySet["LedgerEntry"]):
    def spending(self) -> LedgerQuerySet:
        return self.filter(kind__in=SPENDING_KINDS)

    def since(self, start: datetime) -> LedgerQuerySet:
        return self.filter(created__gte=start)

    def reserved_in(self, start: datetime, end: datetime) -> LedgerQuerySet:
        """The entries of the jobs reserved in [start, end): their reserve,
        settle and refund, whenever each was written. This is what a month's
        spend counts, so a refund after midnight corrects the month its job
        was reserved in, never the next one."""
        return self.filter(_reserved_between(start, end))

    def booked_in(self, start: datetime, end: datetime) -> LedgerQuerySet:
        """A month's ledger: `reserved_in`, plus the grants and adjustments
        (entries without a job) dated in [start, end)."""
        own_date = Q(job__isnull=True, created__gte=start, created__lt=end)
        return self.filter(own_date | _reserved_between(start, end))

    def spent(self) -> int:
        """Reservations less what came back; grants and adjustments are not spend."""
        return -(self.spending().aggregate(total=Sum("amount"))["total"] or 0)


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        GRANT = "grant"
        RESERVE = "reserve"
        SETTLE = "settle"
        REFUND = "refund"
        ADJUST = "adjust"
        # A job moved to another provider before any took it: its reservation
        # becomes that provider's price (signed: more reserved, or some back).
        REPRICE = "reprice", "Re-priced"

    account = models.ForeignKey(CreditAccount, models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed: what this entry added to the balance")
    balance_after = models.BigIntegerField()
    job = models.ForeignKey(
        "gallery.Job", models.PROTECT, null=True, blank=True, related_name="entries"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=80, unique=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["grant", "reserve", "reprice", "settle", "refund", "adjust"]),
                name="ledger_kind_is_known",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["grant", "adjust"]) | Q(job__isnull=False),
                name="ledger_job_entries_have_a_job",
            ),
            models.CheckConstraint(
                condition=~Q(kind="grant") | Q(amount__gt=0), name="ledger_grant_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind="reserve") | Q(amount__lte=0), name="ledger_reserve_debits"
            ),
            models.CheckConstraint(
                condition=~Q(kind="refund") | Q(amount__gte=0), name="ledger_refund_credits"
            ),
            models.UniqueConstraint(
                fields=["job"], condition=Q(kind="reserve"), name="one_reserve_per_job"
            ),
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(kind__in=["settle", "refund"]),
                name="one_settlement_per_job",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} → {self.balance_after}"
