"""Reading and setting a team's budgets and projects, for the budgets page.

Checking a job against its budgets is the ledger's (`ledger.reserve`): this
module only shows what each budget has used and changes their settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from gallery.credits.models.budgets import Budget
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
) -> Budget:
    """Make or change the one budget of this scope and period."""
    budget, _ = Budget.objects.update_or_create(
        team=team,
        project=project,
        membership=membership,
        period=period,
        defaults={"limit": limit, "thresholds": thresholds, "webhook_url": webhook_url},
    )
    return budget


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
