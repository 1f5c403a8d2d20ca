"""The only code that moves credits.

Every function is one transaction that (1) changes the cached balance with a
conditional UPDATE — never read-then-save — and (2) appends the entry that
explains it, carrying a unique key. A retried task that applies the same
(job, kind) twice hits that key: the transaction rolls back whole and the
first entry is returned, so each reserve, settle and refund happens once.

Call these module-qualified: `ledger.reserve(job=job, account=account)`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from gallery.credits.models.budgets import Budget
from gallery.credits.models.credits import CreditAccount, LedgerEntry, month_bounds
from gallery.credits.signals import balance_changed
from gallery.teams import audit
from gallery.teams.models.teams import Membership, Team

if TYPE_CHECKING:  # the ledger takes a Job only as an annotation
    from gallery.studio.models.jobs import Job

log = logging.getLogger(__name__)
Kind = LedgerEntry.Kind


class LedgerError(Exception):
    """A credit movement that must not happen; the message is for people."""


class InsufficientCredits(LedgerError):
    def __init__(self, needed: int, available: int) -> None:
        self.needed, self.available = needed, available
        super().__init__(
            f"This costs {needed} credits and you have {available}. Ask a team admin for more."
        )


class LimitExceeded(LedgerError):
    def __init__(
        self,
        which: str,
        limit: int,
        left: int,
        needed: int,
        *,
        period: str = "this month",
        budget: Budget | None = None,
    ) -> None:
        self.which, self.limit, self.left, self.needed = which, limit, left, needed
        # The budget that refused, when it is one (a member may ask to raise it).
        self.budget = budget
        super().__init__(
            f"This costs {needed} credits, but {which} of {limit} credits has "
            f"{max(left, 0)} left {period}."
        )


class AlreadySettled(LedgerError):
    """A refund after a settle (or the other way round) is refused."""


def account_for(membership: Membership) -> CreditAccount:
    """The member's account, made on first use: for code about to move
    credits. A page that only shows the balance reads `balance_of`."""
    account, _ = CreditAccount.objects.get_or_create(membership=membership)
    return account


# --- reading the balance -------------------------------------------------------------
# The one read of a balance, for the header and every page that shows it: it
# never writes (a GET makes no account; the first credit moved does), and a
# member without an account yet has 0.


def balance_of(membership: Membership) -> int:
    """The member's balance: from the account fetched with the membership
    (get_membership(…, "account")) when there is one, else one query."""
    try:
        return membership.account.balance
    except CreditAccount.DoesNotExist:
        return 0


def balance_in(user, slug: str) -> int | None:
    """The user's balance in the team `slug`, in one query; None when they
    are not (or no longer) a member of it."""
    found = list(
        Membership.objects.for_user(user)
        .filter(team__slug=slug)
        .values_list("account__balance", flat=True)
    )
    if not found:
        return None
    return found[0] or 0


# --- moving credits ----------------------------------------------------------------


def grant(
    *, account: CreditAccount, amount: int, by, reason: str = "", key: str = ""
) -> LedgerEntry:
    """Add credits (an admin's grant)."""
    if not isinstance(amount, int) or amount <= 0:
        raise LedgerError("A grant must be a positive whole number of credits")
    return _apply(
        account=account,
        kind=Kind.GRANT,
        amount=amount,
        key=key or _fresh_key("grant", account),
        created_by=by,
        reason=reason or "Granted",
        then=lambda entry: _audit(audit.AuditAction.GRANT, account, entry, by),
    )


def adjust(*, account: CreditAccount, amount: int, by, reason: str, key: str = "") -> LedgerEntry:
    """Correct a balance up or down; a reason is required, and it cannot go below zero."""
    if not isinstance(amount, int) or amount == 0:
        raise LedgerError("An adjustment must be a non-zero whole number of credits")
    if not reason.strip():
        raise LedgerError("An adjustment needs a reason")
    return _apply(
        account=account,
        kind=Kind.ADJUST,
        amount=amount,
        key=key or _fresh_key("adjust", account),
        created_by=by,
        reason=reason.strip(),
        then=lambda entry: _audit(audit.AuditAction.ADJUST, account, entry, by),
    )


def _audit(action: str, account: CreditAccount, entry: LedgerEntry, by) -> None:
    member = account.membership
    audit.record(
        member.team_id,
        by,
        action,
        f"{member.user.username}'s balance",
        {"balance": entry.balance_after - entry.amount},
        {"balance": entry.balance_after, "amount": entry.amount, "reason": entry.reason},
        subject=member.user,
    )


def reserve(*, job: Job, account: CreditAccount) -> LedgerEntry:
    """Take the job's price out of the balance before anything is sent.

    Call it in the transaction that creates the job: the job's `created` is
    its reservation time, the month its spend counts in. Checks the member's
    and the team's limits for that month (in the team's time zone) in the same
    transaction; on PostgreSQL the team row is locked so concurrent
    reservations of one team queue behind each other (SQLite's IMMEDIATE
    transactions already do).
    """
    cost = job.credits_reserved
    if cost < 0:
        raise LedgerError("A reservation cannot be negative")
    with transaction.atomic():
        team = lock_team(job.team_id)
        _check_limits(account, team, cost, when=job.created)
        _check_budgets(account, team, cost, when=job.created, project_id=job.project_id)
        return _apply(
            account=account,
            kind=Kind.RESERVE,
            amount=-cost,
            key=f"reserve:job:{job.pk}",
            job=job,
            created_by=job.user,
            reason=f"{job.operation} · reserved",
        )


def reprice(*, job: Job, account: CreditAccount, credits: int, provider: str) -> LedgerEntry | None:
    """A job not yet taken by any provider moves to `provider`, whose price is
    `credits`: reserve the difference, or give it back. Once per (job,
    provider), by its key; None when the price is the same. Call it in the
    transaction that moves the job, before its `credits_reserved` changes
    (a settle or refund then closes the new figure). A dearer provider is
    checked against the balance and the month's limits like a reservation."""
    difference = job.credits_reserved - credits
    if credits < 0:
        raise LedgerError("A reservation cannot be negative")
    if difference == 0:
        return None
    with transaction.atomic():
        if difference < 0:
            team = lock_team(job.team_id)
            _check_limits(account, team, -difference, when=job.created)
        return _apply(
            account=account,
            kind=Kind.REPRICE,
            amount=difference,
            key=f"reprice:job:{job.pk}:{provider}",
            job=job,
            created_by=job.user,
            reason=f"{job.operation} · moved to {provider}: {job.credits_reserved} → {credits}",
        )


def settle(*, job: Job, account: CreditAccount) -> LedgerEntry:
    """Close a completed job's reservation: what it reserved is what it cost.

    The settle entry moves nothing (amount 0); it marks the reservation as spent,
    once, so the job can no longer be refunded.
    """
    entry = _settle_or_refund(
        job, account, Kind.SETTLE, 0, f"{job.operation} · settled at {job.credits_reserved}"
    )
    assert entry is not None  # a zero amount needs no balance
    return entry


def refund(*, job: Job, account: CreditAccount, reason: str = "") -> LedgerEntry:
    """Give a failed or cancelled job's reservation back."""
    entry = _settle_or_refund(
        job, account, Kind.REFUND, job.credits_reserved, reason or f"{job.operation} · refunded"
    )
    assert entry is not None  # a refund adds credits, so it cannot lack balance
    return entry


# --- reading --------------------------------------------------------------------------


def reserved_total(account: CreditAccount) -> int:
    """Credits held by jobs that have neither settled nor been refunded yet."""
    open_jobs = account.entries.filter(kind__in=[Kind.RESERVE, Kind.REPRICE]).exclude(
        job__entries__kind__in=[Kind.SETTLE, Kind.REFUND]
    )
    return -sum(open_jobs.values_list("amount", flat=True))


def spent_this_month(
    account: CreditAccount, *, team: Team | None = None, now: datetime | None = None
) -> int:
    """What the member's jobs reserved this month (in the team's time zone) cost.

    Pass `team` when you have it; otherwise it costs a query to find its zone.
    """
    if team is None:
        team = Team.objects.only("time_zone").get(memberships__account=account)
    return account.entries.reserved_in(*month_bounds(now, team.time_zone)).spent()


def team_spent_this_month(team: Team, *, now: datetime | None = None) -> int:
    """What the team's jobs reserved this month (in its time zone) cost."""
    entries = LedgerEntry.objects.filter(account__membership__team=team)
    return entries.reserved_in(*month_bounds(now, team.time_zone)).spent()


def lock_team(team_id: int) -> Team:
    """Lock the team's row until the transaction ends; every reservation of
    the team takes this lock, so checks made under it cannot race each other.
    Take it before anything that writes the change feed (studio.live.events.emit).

    FOR NO KEY UPDATE, not FOR UPDATE: it queues behind the other reservations
    (the same lock) but not behind rows that merely point at the team (a job or
    a feed event being inserted takes FOR KEY SHARE on it). With FOR UPDATE, a
    transaction that had announced a change (holding the feed's row) and then
    inserted its event would wait here while this one waits for the feed: a
    deadlock on PostgreSQL."""
    return Team.objects.select_for_update(no_key=True).get(pk=team_id)


def lock_account(account: CreditAccount) -> None:
    """Lock the account's row until the transaction ends: for a transaction that
    writes the change feed before it moves these credits (a job's end announces
    its status, then refunds), so a grant holding the account while it announces
    the new balance cannot wait on it in turn (the feed's row is locked last)."""
    rows = CreditAccount.objects.select_for_update(no_key=True).filter(pk=account.pk)
    rows.values_list("pk").get()


# --- internals ------------------------------------------------------------------------


def _check_limits(account: CreditAccount, team: Team, cost: int, *, when: datetime) -> None:
    fresh = CreditAccount.objects.only("monthly_limit").get(pk=account.pk)
    if fresh.monthly_limit is not None:
        left = fresh.monthly_limit - spent_this_month(fresh, team=team, now=when)
        if cost > left:
            raise LimitExceeded("your monthly limit", fresh.monthly_limit, left, cost)
    if team.monthly_limit is not None:
        left = team.monthly_limit - team_spent_this_month(team, now=when)
        if cost > left:
            raise LimitExceeded("the team's monthly limit", team.monthly_limit, left, cost)


def _check_budgets(
    account: CreditAccount, team: Team, cost: int, *, when: datetime, project_id: int | None
) -> None:
    """Every budget covering the job must have room for it: the team's, its
    project's and its member's, each in its own period around `when`."""
    covering = Budget.objects.covering(team.pk, project_id, account.membership_id)
    for budget in covering.select_related("project", "membership__user"):
        budget.team = team  # its time zone, without asking again
        limit = budget.limit_at(when)
        left = limit - budget.used(when)
        if cost > left:
            raise LimitExceeded(
                budget.name, limit, left, cost, period=budget.period_word, budget=budget
            )


def _settle_or_refund(
    job: Job, account: CreditAccount, kind: str, amount: int, reason: str
) -> LedgerEntry | None:
    """Apply the job's one settlement; None when the balance cannot cover it."""
    try:
        return _apply(
            account=account,
            kind=kind,
            amount=amount,
            key=f"{kind}:job:{job.pk}",
            job=job,
            created_by=job.user,
            reason=reason,
        )
    except InsufficientCredits:
        return None


def _apply(
    *,
    account: CreditAccount,
    kind: str,
    amount: int,
    key: str,
    reason: str,
    created_by=None,
    job=None,
    then: Callable[[LedgerEntry], object] | None = None,
) -> LedgerEntry:
    """`then(entry)` runs in the transaction once the entry is new (not on a
    retry that finds it applied): the audit line of an admin's move."""
    try:
        with transaction.atomic():
            rows = CreditAccount.objects.filter(pk=account.pk)
            if amount < 0:
                rows = rows.filter(balance__gte=-amount)
            if not rows.update(balance=F("balance") + amount):
                available = CreditAccount.objects.values_list("balance", flat=True).get(
                    pk=account.pk
                )
                raise InsufficientCredits(-amount, available)
            # Our UPDATE holds the row until commit, so this read is our own result.
            balance = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
            entry = LedgerEntry.objects.create(
                account=account,
                kind=kind,
                amount=amount,
                balance_after=balance,
                job=job,
                created_by=created_by,
                reason=reason[:300],
                key=key,
                # Read here, not as the field's default, so that a test's
                # controlled clock dates the entry too.
                created=timezone.now(),
            )
            if then is not None:
                then(entry)
            if amount:
                # In this transaction: open pages hear of the move exactly when it commits.
                balance_changed.send(CreditAccount, account=account, balance=balance)
    except IntegrityError:
        # Already applied (same key), or refused (the job's other settlement).
        existing = LedgerEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
        if job is not None and kind in (Kind.SETTLE, Kind.REFUND):
            done = LedgerEntry.objects.filter(job=job, kind__in=[Kind.SETTLE, Kind.REFUND]).first()
            if done is not None:
                how = "settled" if done.kind == Kind.SETTLE else "refunded"
                raise AlreadySettled(f"Job {job.pk} was already {how}") from None
        raise
    account.balance = balance
    return entry


def _fresh_key(kind: str, account: CreditAccount) -> str:
    return f"{kind}:acct:{account.pk}:{uuid.uuid4().hex}"
