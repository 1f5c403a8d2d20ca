"""Reading and setting a team's budgets and projects, for the budgets page.

Checking a job against its budgets is the ledger's (`ledger.reserve`): this
module only shows what each budget has used and changes their settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gallery.credits import ledger
from gallery.credits.models.budgets import Budget
from gallery.credits.models.credits import CreditAccount
from gallery.teams import audit
from gallery.teams.models.teams import Team


@dataclass
class BudgetUse:
    """A budget's figures for the period holding `now`."""

    budget: Budget
    limit: int  # with the raises in force
    raised: int
    used: int
    start: datetime
    end: datetime

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def percent(self) -> float:
        if self.limit <= 0:
            return 100.0 if self.used else 0.0
        return min(100.0, 100 * self.used / self.limit)

    @property
    def over(self) -> bool:
        return self.used >= self.limit


def use_of(budget: Budget, now: datetime | None = None) -> BudgetUse:
    now = now or timezone.now()
    raised = budget.raised_by(now)
    start, end = budget.bounds(now)
    return BudgetUse(budget, budget.limit + raised, raised, budget.used(now), start, end)


def team_budgets(team: Team, now: datetime | None = None) -> list[BudgetUse]:
    """Every budget of the team with its use: the team's first, then the
    projects', then the members'. A query or two per budget: a team has a
    handful, set by hand."""
    budgets = (
        Budget.objects.filter(team=team)
        .select_related("project", "membership__user")
        .order_by("membership", "project", "period", "pk")
    )
    found = []
    for budget in budgets:
        budget.team = team
        found.append(use_of(budget, now))
    return found


def set_budget(
    team: Team,
    *,
    project=None,
    membership=None,
    period: str,
    limit: int,
    thresholds: list[int],
    webhook_url: str = "",
    by=None,
) -> Budget:
    """Make or change the one budget of this scope and period, with an audit
    line naming what changed (none when nothing did)."""
    settings = {"limit": limit, "thresholds": thresholds, "webhook_url": webhook_url}
    scope = {"team": team, "project": project, "membership": membership, "period": period}
    with transaction.atomic():
        ledger.lock_team(team.pk)  # two admins at once: each entry's "before" is true
        old = Budget.objects.filter(**scope).first()
        before = {key: getattr(old, key) for key in settings} if old else {}
        budget, _ = Budget.objects.update_or_create(**scope, defaults=settings)
        changed = {k: v for k, v in settings.items() if k not in before or before[k] != v}
        if changed:
            audit.record(
                team,
                by,
                audit.AuditAction.BUDGET_SET,
                budget.name,
                {k: v for k, v in before.items() if k in changed},
                changed,
                subject=membership.user if membership else None,
            )
    return budget


def remove_budget(budget: Budget, *, by=None) -> bool:
    """Delete a budget (its raises, requests and alerts go with it); whether this call did."""
    name = budget.name
    state = {"limit": budget.limit, "period": budget.period}
    with transaction.atomic():
        _, deleted = Budget.objects.filter(pk=budget.pk).delete()
        if not deleted.get(Budget._meta.label):
            return False
        member = budget.membership
        subject = member.user if member else None
        audit.record(
            budget.team_id, by, audit.AuditAction.BUDGET_REMOVED, name, state, {}, subject=subject
        )
    return True


def set_approvals(team: Team, *, approval_above: int | None, marked: list[int], by=None) -> None:
    """Which jobs wait for an admin: above a price (None: none by price), and
    every job of the members in `marked` (membership ids)."""
    with transaction.atomic():
        locked = ledger.lock_team(team.pk)  # two admins at once: each entry's "before" is true
        members = list(team.memberships.current().select_related("user").order_by("user__username"))
        accounts = {m.pk: ledger.account_for(m) for m in members}
        before = {
            "approval_above": locked.approval_above,
            "needs_approval": [m.user.username for m in members if accounts[m.pk].needs_approval],
        }
        Team.objects.filter(pk=team.pk).update(approval_above=approval_above)
        for member in members:
            flag = member.pk in marked
            CreditAccount.objects.filter(pk=accounts[member.pk].pk).update(needs_approval=flag)
        after = {
            "approval_above": approval_above,
            "needs_approval": [m.user.username for m in members if m.pk in marked],
        }
        if before != after:
            audit.record(
                team,
                by,
                audit.AuditAction.APPROVAL_RULES,
                "the team's approval rules",
                {k: v for k, v in before.items() if after[k] != v},
                {k: v for k, v in after.items() if before[k] != v},
            )
    team.approval_above = approval_above


def member_budgets(membership, now: datetime | None = None) -> list[BudgetUse]:
    """The budgets a member's jobs may meet, with their use: the team's, their
    own and every project's (a member may work in any project)."""
    team = membership.team
    found = (
        Budget.objects.filter(team=team)
        .filter(Q(membership__isnull=True) | Q(membership=membership))
        .select_related("project", "membership__user")
        .order_by("membership", "project", "period", "pk")
    )
    uses = []
    for budget in found:
        budget.team = team
        uses.append(use_of(budget, now))
    return uses
