"""A thousand concurrent submits across members of two projects, under a team
budget, a budget per project and a budget per member: no budget ever holds
more reserved plus spent credits than its limit, and the ledger stays exact."""

from __future__ import annotations

import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction

from gallery.credits import ledger
from gallery.models import Budget, Job, LedgerEntry, Membership, Project
from tests.factories import make_job
from tests.ledger.test_ledger_concurrency import in_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

USERS = 12
SUBMITS = 1000
TEAM_LIMIT = 9_000
PROJECT_LIMITS = (5_000, 3_000)
MEMBER_LIMIT = 1_200


def test_a_thousand_concurrent_submits_never_pass_any_budget(team):
    admin = User.objects.create_user("root")
    projects = [Project.objects.create(team=team, name=f"Project {n}") for n in (1, 2)]
    team_budget = Budget.objects.create(team=team, limit=TEAM_LIMIT)
    budgets = [team_budget]
    for project, limit in zip(projects, PROJECT_LIMITS, strict=True):
        budgets.append(Budget.objects.create(team=team, project=project, limit=limit))
    members, accounts = [], {}
    for n in range(USERS):
        user = User.objects.create_user(f"member{n}")
        membership = Membership.objects.create(team=team, user=user, role="member")
        accounts[user.pk] = ledger.account_for(membership)
        ledger.grant(account=accounts[user.pk], amount=5_000, by=admin)
        budgets.append(Budget.objects.create(team=team, membership=membership, limit=MEMBER_LIMIT))
        members.append(user)

    @in_thread
    def submit(seed: int):
        rng = random.Random(seed)
        user, project = rng.choice(members), rng.choice([*projects, None])
        cost, account = rng.randint(5, 80), accounts[user.pk]
        try:
            with transaction.atomic():
                job = make_job(user, team, credits=cost, project=project)
                ledger.reserve(job=job, account=account)
        except ledger.LimitExceeded:
            return "refused"
        roll = rng.random()
        if roll < 0.4:
            Job.objects.filter(pk=job.pk).update(status="completed", credits_charged=cost)
            ledger.settle(job=job, account=account)
        elif roll < 0.7:
            Job.objects.filter(pk=job.pk).update(status="failed", credits_charged=0)
            ledger.refund(job=job, account=account)
        return "reserved"  # the rest stay running, their credits reserved

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(submit, range(SUBMITS)))
    assert outcomes.count("refused") > 100, "the budgets never bound: nothing was proved"
    assert outcomes.count("reserved") > 200

    for budget in budgets:
        assert budget.used() <= budget.limit, budget.name
    assert team_budget.used() > TEAM_LIMIT * 0.9  # filled, not merely unreached
    _replay_never_passes_a_limit(budgets)
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


def _replay_never_passes_a_limit(budgets: list[Budget]) -> None:
    """Walk the ledger in the order it was written: after every reservation,
    each budget's reserved-plus-spent is within its limit. (A refund written
    before a reservation that committed first only lowers the walk's figure,
    so the walk never reports a breach that did not happen.)"""
    used: dict[int, int] = defaultdict(int)
    entries = LedgerEntry.objects.filter(kind__in=["reserve", "refund"]).order_by("pk")
    rows = entries.values_list("kind", "amount", "job__project_id", "account__membership_id")
    for kind, amount, project_id, membership_id in rows:
        for budget in budgets:
            covers = (
                budget.project_id == project_id
                if budget.project_id
                else budget.membership_id in (None, membership_id)
            )
            if covers:
                used[budget.pk] -= amount
                if kind == "reserve":
                    assert used[budget.pk] <= budget.limit, budget.name
