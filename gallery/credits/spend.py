"""What a team spent: the dashboard's grouped queries and its chart geometry.

Spend is what jobs cost: reservations less what settlements and refunds gave
back (`LedgerQuerySet.spending()`), counted in the month each job was reserved
in, in the team's time zone (`LedgerQuerySet.reserved_in()`). Each figure is
one grouped SQL query, so a page costs the same number of queries for 2
members or 200. The geometry helpers are pure functions of numbers, so the
charts are tested without a browser.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from gallery.catalog.operations import label as operation_label
from gallery.credits.models.credits import (
    DEFAULT_MAX_IN_FLIGHT,
    LedgerEntry,
    first_of_month,
    zone_named,
)
from gallery.net.numbers import FIRST_YEAR, LAST_YEAR
from gallery.teams.models.teams import Membership, Team

# ASCII digits only: `\d` would also read fullwidth digits as a year.
MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
# Characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    # What a month field or `?month=` must hold; the pages show it as the error.
    RULE = f"Enter a month as YYYY-MM from {FIRST_YEAR}-01 to {LAST_YEAR}-12, e.g. 2026-11."

    @classmethod
    def current(cls, zone: str | None = None) -> Month:
        """This month in `zone` (a team's time zone; the site's when None)."""
        now = timezone.localtime(timezone.now(), zone_named(zone))
        return cls(now.year, now.month)

    @classmethod
    def parse(cls, value: str | None) -> Month | None:
        """`2026-11` → Month; None for anything else. The years are bounded so
        that the month's end, the next month's start, is always a date (9999-12
        would end in year 10000)."""
        match = MONTH_RE.fullmatch((value or "")[:16].strip())
        if not match:
            return None
        year, month = int(match[1]), int(match[2])
        if not (1 <= month <= 12 and FIRST_YEAR <= year <= LAST_YEAR):
            return None
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def start(self) -> datetime:
        """Midnight on the 1st in the site's time zone, where the ledger's months start."""
        return timezone.make_aware(datetime(self.year, self.month, 1))

    @property
    def end(self) -> datetime:
        return self.next.start

    def bounds(self, zone: str | None) -> tuple[datetime, datetime]:
        """[start, end) of the month in `zone`, a team's time zone."""
        following = self.next
        return (
            first_of_month(self.year, self.month, zone),
            first_of_month(following.year, following.month, zone),
        )

    @property
    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)


def dollars(credits: int) -> str:
    """Credits as money (1 credit = $0.001), for people: 12345 → "$12.35"."""
    amount = (Decimal(credits) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"-${-amount:,}" if amount < 0 else f"${amount:,}"


def share(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, clamped to 0–100, for a bar's length."""
    if whole <= 0 or part <= 0:
        return 0.0
    return round(min(100.0, 100 * part / whole), 2)


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value`: a chart's top gridline."""
    if value <= 0:
        return 10
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return 10 * magnitude  # pragma: no cover - the loop always returns


# --- queries ---------------------------------------------------------------------------


def team_entries(team: Team, month: Month):
    """The team's ledger for `month` in its time zone: each job's entries in
    the month it was reserved in, grants and adjustments by their own date."""
    entries = LedgerEntry.objects.filter(account__membership__team=team)
    return entries.booked_in(*month.bounds(team.time_zone))


def team_spending(team: Team, month: Month):
    """The entries that make up what the team's jobs reserved in `month` cost."""
    entries = LedgerEntry.objects.filter(account__membership__team=team)
    return entries.reserved_in(*month.bounds(team.time_zone)).spending()


def ledger_months(entries, team: Team) -> list[Month]:
    """The months, newest first, that `entries` belong to (as `team_entries`
    counts them, in the team's time zone): the choices of a month filter."""
    booked = entries.annotate(booked=Coalesce("job__created", "created"))
    found = booked.datetimes("booked", "month", order="DESC", tzinfo=zone_named(team.time_zone))
    return [Month(d.year, d.month) for d in found]


@dataclass
class Row:
    """One line of a breakdown: who or what, and what it cost."""

    label: str
    credits: int
    jobs: int = 0
    percent: float = 0.0  # of the biggest row, for the bar
    key: object = None

    @property
    def dollars(self) -> str:
        return dollars(self.credits)


def _spend_columns() -> dict:
    return {
        "credits": -Sum("amount"),
        "jobs": Count("pk", filter=Q(kind=LedgerEntry.Kind.RESERVE)),
    }


def spent_by_member(team: Team, month: Month) -> dict[int, tuple[int, int]]:
    """{membership id: (credits, jobs)} for the members who spent in `month`."""
    rows = (
        team_spending(team, month)
        .values("account__membership_id")
        .annotate(**_spend_columns())
        .order_by()
    )
    return {r["account__membership_id"]: (r["credits"] or 0, r["jobs"]) for r in rows}


def member_breakdown(
    memberships: Iterable[Membership], spent: dict[int, tuple[int, int]]
) -> list[Row]:
    """Every member, biggest spender first, with bars scaled to the biggest."""
    rows = [
        Row(m.user.username, *spent.get(m.pk, (0, 0)), key=m.pk)
        for m in sorted(memberships, key=lambda m: m.user.username)
    ]
    rows.sort(key=lambda r: -r.credits)
    return _scaled(rows)


@dataclass
class MemberCredit:
    """A member's account as the admins' list shows it, with this month's spend."""

    membership: Membership
    balance: int
    monthly_limit: int | None
    max_in_flight: int
    spent: int  # jobs reserved this month (team's time zone), what the monthly limit counts

    @property
    def left(self) -> int | None:
        return None if self.monthly_limit is None else max(0, self.monthly_limit - self.spent)

    @property
    def percent(self) -> float:
        return share(self.spent, self.monthly_limit or 0)


def member_credits(team: Team, spent_now: dict[int, tuple[int, int]], only: int | None = None):
    """Each member's account (one query), joined to this month's spend.

    A member who was never granted anything may have no account row yet: they
    show a zero balance, and the first action on them creates it.
    """
    # Former members last: their ledger stays, and so may a balance they cannot spend.
    memberships = team.memberships.select_related("user", "account").order_by(
        F("removed_at").asc(nulls_first=True), "user__username"
    )
    if only is not None:
        memberships = memberships.filter(pk=only)
    rows = []
    for m in memberships:
        account = getattr(m, "account", None)
        rows.append(
            MemberCredit(
                membership=m,
                balance=account.balance if account else 0,
                monthly_limit=account.monthly_limit if account else None,
                max_in_flight=account.max_in_flight if account else DEFAULT_MAX_IN_FLIGHT,
                spent=spent_now.get(m.pk, (0, 0))[0],
            )
        )
    return rows


def spent_by_day(team: Team, month: Month) -> list[tuple[date, int]]:
    """One (day, credits) per day of `month`, zeros included: each job on the
    day it was reserved, in the team's time zone."""
    rows = (
        team_spending(team, month)
        .annotate(day=TruncDate("job__created", tzinfo=zone_named(team.time_zone)))
        .values("day")
        .annotate(credits=-Sum("amount"))
        .order_by()
    )
    found = {r["day"]: r["credits"] or 0 for r in rows}
    days = (date(month.year, month.month, d) for d in range(1, month.days + 1))
    return [(d, found.get(d, 0)) for d in days]


def spent_by_operation_and_provider(team: Team, month: Month) -> tuple[list[Row], list[Row]]:
    """Two breakdowns from one grouped query: per operation and per provider."""
    rows = (
        team_spending(team, month)
        .values("job__operation", "job__provider")
        .annotate(**_spend_columns())
        .order_by()
    )
    operations: dict[str, Row] = {}
    providers: dict[str, Row] = {}
    for r in rows:
        operation, provider = r["job__operation"], r["job__provider"]
        # an operation is shown in the catalog's words, keyed by its model id
        for totals, name, shown in (
            (operations, operation, operation_label(operation)),
            (providers, provider, provider),
        ):
            row = totals.setdefault(name, Row(shown, 0, 0, key=name))
            row.credits += r["credits"] or 0
            row.jobs += r["jobs"]
    return (
        _scaled(sorted(operations.values(), key=lambda r: (-r.credits, r.label))),
        _scaled(sorted(providers.values(), key=lambda r: (-r.credits, r.label))),
    )


NO_PROJECT = "No project"


def spent_by_project(team: Team, month: Month) -> list[Row]:
    """The month's spend per project, jobs without one together as "No project"."""
    rows = (
        team_spending(team, month)
        .values("job__project_id", "job__project__name")
        .annotate(**_spend_columns())
        .order_by()
    )
    found = [
        Row(
            r["job__project__name"] or NO_PROJECT,
            r["credits"] or 0,
            r["jobs"],
            key=str(r["job__project_id"] or ""),
        )
        for r in rows
    ]
    return _scaled(sorted(found, key=lambda r: (-r.credits, r.label)))


def _scaled(rows: list[Row]) -> list[Row]:
    top = max((r.credits for r in rows), default=0)
    for row in rows:
        row.percent = share(row.credits, top)
    return rows


# --- the day chart ---------------------------------------------------------------------

# The column chart is drawn in a 100-unit-high box, one 10-unit slot per day,
# and stretched to its CSS size (preserveAspectRatio="none"): rectangles scale
# cleanly, while the labels live in HTML so they never stretch.
CHART_HEIGHT = 100
SLOT = 10
BAR = 7


@dataclass(frozen=True)
class Column:
    day: date
    credits: int
    x: float
    y: float
    width: float
    height: float

    @property
    def dollars(self) -> str:
        return dollars(self.credits)


@dataclass
class DayChart:
    columns: list[Column]
    top: int  # the value of the top gridline
    width: int
    height: int = CHART_HEIGHT
    total: int = 0
    busiest: Column | None = None
    labels: list[str] = field(default_factory=list)  # one per day, most blank

    @property
    def mid(self) -> int:
        return self.top // 2


def day_chart(days: list[tuple[date, int]]) -> DayChart:
    """Columns for a month of daily spend, scaled to a round top value.

    Negative days (more refunded than reserved) draw as empty; a non-zero day
    is at least one unit tall so it stays visible next to a big one.
    """
    top = nice_ceiling(max((c for _, c in days), default=0))
    columns = []
    for i, (day, credits) in enumerate(days):
        height = 0.0
        if credits > 0:
            height = max(1.0, round(CHART_HEIGHT * credits / top, 2))
        columns.append(
            Column(
                day=day,
                credits=credits,
                x=i * SLOT + (SLOT - BAR) / 2,
                y=round(CHART_HEIGHT - height, 2),
                width=BAR,
                height=height,
            )
        )
    busiest = max(columns, key=lambda c: c.credits, default=None)
    last = len(days)
    labels = [
        str(i) if i in (1, 5, 10, 15, 20, 25) or i == last else "" for i in range(1, last + 1)
    ]
    return DayChart(
        columns=columns,
        top=top,
        width=len(days) * SLOT,
        total=sum(c for _, c in days),
        busiest=busiest if busiest and busiest.credits > 0 else None,
        labels=labels,
    )


# --- CSV -------------------------------------------------------------------------------

CSV_HEADER = [
    "created",
    "member",
    "kind",
    "amount",
    "balance_after",
    "job",
    "operation",
    "provider",
    "reason",
    "by",
    "operation_label",  # the operation in the pages' words; `operation` keeps the model id
    "project",
]


def csv_rows(team: Team, month: Month) -> Iterator[list[str | int]]:
    """The month's ledger (see `team_entries`), oldest first, streamed from the
    database in chunks, with times in the team's time zone."""
    zone = zone_named(team.time_zone)
    yield CSV_HEADER
    entries = (
        team_entries(team, month)
        .order_by("created", "pk")
        .values_list(
            "created",
            "account__membership__user__username",
            "kind",
            "amount",
            "balance_after",
            "job_id",
            "job__operation",
            "job__provider",
            "reason",
            "created_by__username",
            "job__project__name",
        )
    )
    for (
        created,
        member,
        kind,
        amount,
        after,
        job,
        operation,
        provider,
        reason,
        by,
        project,
    ) in entries.iterator(chunk_size=500):
        yield [
            timezone.localtime(created, zone).isoformat(),
            _text_cell(member),
            kind,
            amount,
            after,
            job or "",
            operation or "",
            provider or "",
            _text_cell(reason),
            _text_cell(by or ""),
            operation_label(operation) if operation else "",
            _text_cell(project or (NO_PROJECT if job else "")),
        ]


def _text_cell(value: str) -> str:
    """Free text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value
