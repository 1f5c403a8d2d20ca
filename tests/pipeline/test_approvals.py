"""Approvals: jobs above the team's price, or from members marked "needs
approval", wait as "Awaiting approval" with their credits reserved; an admin's
approval sends them, a decline refunds them exactly once. And a member who
hit a budget asks for more; the admin's raise, until a chosen day, starts the
member's waiting jobs and ends on that day."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ

from gallery.catalog import operations
from gallery.models import Budget, BudgetRequest, CreditAccount, LedgerEntry, Team
from gallery.studio import pipeline
from tests.api.conftest import Api, issue
from tests.factories import Clock, account_of, at, fund, membership
from tests.pipeline.conftest import run_until_final

pytestmark = pytest.mark.django_db

FAST = 79  # evolink mj-v7 fast


def draft(prompt: str = "a red bird") -> pipeline.Draft:
    request = operations.Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
    return pipeline.Draft(request=request, prompt_raw=prompt)


def queued() -> list[int]:
    return sorted(task.task["args"][0] for task in OrmQ.objects.all())


def ledger_is_consistent() -> None:
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def priced(team) -> Team:
    Team.objects.filter(pk=team.pk).update(approval_above=50)
    return team


def test_a_job_above_the_teams_price_waits_with_its_credits_reserved(bob, priced):
    account = fund(bob, priced, 1000)
    job = pipeline.create(membership(bob, priced), draft())
    job.refresh_from_db()
    assert job.status == "awaiting" and job.get_status_display() == "Awaiting approval"
    assert job.approval_reason == "It costs 79 credits, more than the 50 the team approves"
    account.refresh_from_db()
    assert account.balance == 1000 - FAST
    assert queued() == []  # nothing is sent before an admin says so
    ledger_is_consistent()


def test_a_job_at_or_under_the_price_goes_straight_through(bob, team):
    Team.objects.filter(pk=team.pk).update(approval_above=FAST)
    fund(bob, team)
    job = pipeline.create(membership(bob, team), draft())
    assert job.status == "queued" and queued() == [job.pk]


def test_every_job_of_a_member_marked_needs_approval_waits(bob, team):
    account = fund(bob, team)
    CreditAccount.objects.filter(pk=account.pk).update(needs_approval=True)
    job = pipeline.create(membership(bob, team), draft())
    assert job.status == "awaiting"
    assert job.approval_reason == "Its author's jobs need an admin's approval"


def test_an_approved_job_runs_to_completion(sim, alice, bob, priced):
    fund(bob, priced)
    job = pipeline.create(membership(bob, priced), draft())
    assert pipeline.approve(job, alice)
    assert not pipeline.approve(job, alice)  # once
    job.refresh_from_db()
    assert job.status == "queued" and queued() == [job.pk]
    job = run_until_final(job)
    assert job.status == "completed" and job.images.filter(status="stored").count() == 4
    assert list(job.events.values_list("kind", flat=True))[:3] == [
        "created",
        "awaiting approval",
        "approved",
    ]
    ledger_is_consistent()


def test_a_declined_job_is_refunded_exactly_once(alice, bob, priced):
    account = fund(bob, priced, 1000)
    job = pipeline.create(membership(bob, priced), draft())
    assert pipeline.decline(job, alice)
    assert not pipeline.decline(job, alice)
    assert not pipeline.approve(job, alice)  # a declined job cannot be approved after
    job.refresh_from_db()
    assert (job.status, job.credits_charged, job.error_message) == (
        "cancelled",
        0,
        "Declined by alice",
    )
    account.refresh_from_db()
    assert account.balance == 1000
    assert LedgerEntry.objects.filter(job=job, kind="refund").count() == 1
    assert queued() == []
    ledger_is_consistent()


def test_the_author_may_cancel_a_waiting_job_and_is_refunded(bob, priced):
    account = fund(bob, priced, 1000)
    job = pipeline.create(membership(bob, priced), draft())
    assert pipeline.cancel(job)
    account.refresh_from_db()
    assert account.balance == 1000


def test_a_waiting_job_counts_against_budgets_and_holds_no_slot(bob, priced):
    fund(bob, priced)
    Budget.objects.create(team=priced, limit=FAST)
    pipeline.create(membership(bob, priced), draft())
    with pytest.raises(pipeline.Refused, match="the team's monthly budget of 79 credits has 0"):
        pipeline.create(membership(bob, priced), draft("another"))


def test_the_api_reports_a_waiting_job_pending_with_its_reason(bob, priced):
    fund(bob, priced)
    api = Api(issue(bob, priced))
    created = api.create().json()
    assert created["status"] == "pending"
    assert created["task_info"]["pending_reason"] == (
        "It costs 79 credits, more than the 50 the team approves"
    )
    task = api.get(f"/api/v1/tasks/{created['id']}").json()
    assert task["status"] == "pending" and "pending_reason" in task["task_info"]


# --- asking for more, and the raise --------------------------------------------------------


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(at("UTC", 2026, 5, 12, 9))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def test_a_member_asks_for_more_and_a_granted_raise_starts_their_waiting_jobs_until_it_ends(
    clock, alice_client, bob_client, alice, bob, team
):
    fund(bob, team)
    bobs = membership(bob, team)
    CreditAccount.objects.filter(pk=account_of(bob, team).pk).update(needs_approval=True)
    budget = Budget.objects.create(team=team, membership=bobs, period="week", limit=100)
    waiting = pipeline.create(bobs, draft("first"))  # 79 of 100, awaiting approval
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create(bobs, draft("second"))
    assert (refused.value.budget, refused.value.short) == (budget, FAST - 21)

    data = {"budget": budget.pk, "amount": "200", "note": "client deadline"}
    response = bob_client.post("/t/acme/budgets/ask/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Asked the team" in response.content.decode()
    asked = BudgetRequest.objects.get()
    assert (asked.membership, asked.amount, asked.note) == (bobs, 200, "client deadline")

    grant = {"amount": "200", "until": "2026-05-14"}
    response = alice_client.post(f"/t/acme/approvals/requests/{asked.pk}/grant/", grant)
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "queued"  # the raise started bob's waiting job
    asked.refresh_from_db()
    assert asked.status == "granted" and asked.granted.amount == 200
    assert asked.granted.expires_at == at("UTC", 2026, 5, 14, 0)
    pipeline.create(bobs, draft("second"))  # fits now: 158 of 300

    clock.set(at("UTC", 2026, 5, 14, 0))  # the raise has ended
    with pytest.raises(pipeline.Refused, match="budget of bob of 100 credits has 0 left"):
        pipeline.create(bobs, draft("third"))
    # A second grant of the same request changes nothing.
    alice_client.post(f"/t/acme/approvals/requests/{asked.pk}/grant/", grant)
    assert asked.budget.raises.count() == 1
    ledger_is_consistent()


def test_a_raise_must_end_after_today_said_in_place(clock, alice_client, bob, team):
    bobs = membership(bob, team)
    budget = Budget.objects.create(team=team, membership=bobs, limit=100)
    asked = BudgetRequest.objects.create(budget=budget, membership=bobs, amount=50)
    grant = {"amount": "50", "until": "2026-05-12"}
    response = alice_client.post(
        f"/t/acme/approvals/requests/{asked.pk}/grant/", grant, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "Choose a day after today." in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == "open" and not budget.raises.exists()


def test_a_member_cannot_ask_about_another_members_budget(bob_client, alice, bob, team):
    theirs = Budget.objects.create(team=team, membership=membership(alice, team), limit=5)
    data = {"budget": theirs.pk, "amount": "10"}
    response = bob_client.post("/t/acme/budgets/ask/", data, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "not one of yours" in response.content.decode()
    assert not BudgetRequest.objects.exists()


def test_ledger_is_untouched_by_asking(bob_client, bob, team):
    fund(bob, team)
    budget = Budget.objects.create(team=team, limit=5)
    before = LedgerEntry.objects.count()
    bob_client.post("/t/acme/budgets/ask/", {"budget": budget.pk, "amount": "10"})
    assert LedgerEntry.objects.count() == before
    assert BudgetRequest.objects.filter(budget=budget).exists()
