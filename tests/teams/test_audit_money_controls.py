"""The audit log records the money controls: budgets, approval rules, job
approvals and declines, budget raises and dismissed requests, projects and
the provider order. Each change writes exactly one entry, in its own
transaction; a change that does not happen writes none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.catalog import operations
from gallery.credits import budgets
from gallery.models import (
    AuditAction,
    AuditEntry,
    Budget,
    BudgetRequest,
    CreditAccount,
    Project,
    Team,
)
from gallery.studio import pipeline
from tests.factories import fund, membership
from tests.gallery.test_providers_page import KEYS

pytestmark = pytest.mark.django_db

FAST = 79  # evolink mj-v7 fast


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def waiting_job(bob, team):
    Team.objects.filter(pk=team.pk).update(approval_above=50)
    fund(bob, team, 1000)
    request = operations.Request(
        operation="mj-v7", provider="evolink", prompt="a bird", speed="fast"
    )
    job = pipeline.create(
        membership(bob, team), pipeline.Draft(request=request, prompt_raw="a bird")
    )
    assert job.status == "awaiting"
    return job


def test_setting_a_budget_records_what_changed_and_nothing_when_unchanged(
    alice_client, alice, bob, team
):
    bobs = membership(bob, team)
    data = {"applies_to": f"member-{bobs.pk}", "period": "month", "limit": "500"}
    alice_client.post("/t/acme/budgets/set/", {**data, "thresholds": "80, 100"})
    alice_client.post("/t/acme/budgets/set/", {**data, "limit": "700", "thresholds": "80, 100"})
    alice_client.post("/t/acme/budgets/set/", {**data, "limit": "700", "thresholds": "80, 100"})
    made, changed = entries(AuditAction.BUDGET_SET)
    assert (made.actor, made.subject, made.target) == (alice, bob, "the monthly budget of bob")
    assert made.before == {}
    assert made.after == {"limit": 500, "thresholds": [80, 100], "webhook_url": ""}
    assert (changed.before, changed.after) == ({"limit": 500}, {"limit": 700})


def test_a_refused_budget_records_nothing(alice_client):
    data = {"applies_to": "team", "period": "month", "limit": "-1"}
    assert alice_client.post("/t/acme/budgets/set/", data).status_code == 400
    assert not AuditEntry.objects.exists()


def test_removing_a_budget_records_it_once(alice, team):
    budget = budgets.set_budget(team, period="week", limit=300, thresholds=[100])
    assert budgets.remove_budget(budget, by=alice)
    assert not budgets.remove_budget(budget, by=alice)  # already gone
    [removed] = entries(AuditAction.BUDGET_REMOVED)
    assert (removed.actor, removed.target) == (alice, "the team's weekly budget")
    assert removed.before == {"limit": 300, "period": "week"}
    assert not Budget.objects.exists()


def test_approval_rules_record_the_price_and_the_members_marked(alice_client, alice, bob, team):
    bobs = membership(bob, team)
    data = {"approval_above": "200", "needs_approval": [str(bobs.pk)]}
    alice_client.post("/t/acme/budgets/approvals/", data)
    alice_client.post("/t/acme/budgets/approvals/", data)  # no change
    [rules] = entries(AuditAction.APPROVAL_RULES)
    assert rules.actor == alice
    assert rules.before == {"approval_above": None, "needs_approval": []}
    assert rules.after == {"approval_above": 200, "needs_approval": ["bob"]}
    assert CreditAccount.objects.get(membership=bobs).needs_approval


def test_approving_a_waiting_job_is_recorded_once(alice_client, alice, bob, team):
    job = waiting_job(bob, team)
    alice_client.post(f"/t/acme/approvals/{job.pk}/approve/")
    alice_client.post(f"/t/acme/approvals/{job.pk}/approve/")  # already decided
    alice_client.post(f"/t/acme/approvals/{job.pk}/decline/")
    [approved] = entries(AuditAction.JOB_APPROVED)
    assert (approved.actor, approved.subject) == (alice, bob)
    assert f"job {job.pk}" in approved.target and "79 credits" in approved.target
    assert approved.before["status"] == "awaiting" and approved.after == {"status": "queued"}
    assert not entries(AuditAction.JOB_DECLINED)


def test_declining_records_the_refund_once(alice, bob, team):
    job = waiting_job(bob, team)
    assert pipeline.decline(job, alice)
    assert not pipeline.decline(job, alice)
    assert not pipeline.approve(job, alice)
    [declined] = entries(AuditAction.JOB_DECLINED)
    assert declined.after == {"status": "cancelled", "refunded": FAST}
    assert declined.subject == bob and not entries(AuditAction.JOB_APPROVED)


def asked(bob, team) -> BudgetRequest:
    budget = budgets.set_budget(team, period="month", limit=100, thresholds=[100])
    return BudgetRequest.objects.create(budget=budget, membership=membership(bob, team), amount=40)


def test_a_granted_raise_is_recorded_once(alice, bob, team):
    request = asked(bob, team)
    until = timezone.now() + timedelta(days=7)
    assert request.grant(amount=60, expires_at=until, by=alice)
    again = BudgetRequest.objects.get(pk=request.pk)
    assert again.grant(amount=60, expires_at=until, by=alice) is None
    assert not again.dismiss(by=alice)
    [raised] = entries(AuditAction.RAISE_GRANTED)
    assert (raised.actor, raised.subject) == (alice, bob)
    assert raised.target == "bob's request for 40 more in the team's monthly budget"
    assert raised.before == {"status": "open", "asked": 40}
    assert raised.after["amount"] == 60 and raised.after["expires_at"] == until.isoformat()
    assert not entries(AuditAction.REQUEST_DISMISSED)


def test_a_dismissed_request_is_recorded_once(alice_client, alice, bob, team):
    request = asked(bob, team)
    alice_client.post(f"/t/acme/approvals/requests/{request.pk}/dismiss/")
    alice_client.post(f"/t/acme/approvals/requests/{request.pk}/dismiss/")
    [dismissed] = entries(AuditAction.REQUEST_DISMISSED)
    assert (dismissed.actor, dismissed.after) == (alice, {"status": "dismissed"})


def test_projects_added_and_archived_are_recorded(alice_client, alice, team):
    alice_client.post("/t/acme/projects/new/", {"name": "Spring campaign"})
    alice_client.post("/t/acme/projects/new/", {"name": "Spring campaign"})  # a duplicate: refused
    project = Project.objects.get(team=team)
    for _ in range(2):
        alice_client.post(f"/t/acme/projects/{project.pk}/archive/")
    [added] = entries(AuditAction.PROJECT_ADDED)
    assert (added.actor, added.target, added.after) == (
        alice,
        "project Spring campaign",
        {"name": "Spring campaign"},
    )
    [archived] = entries(AuditAction.PROJECT_ARCHIVED)
    assert (archived.before, archived.after) == ({"archived": False}, {"archived": True})


def test_the_provider_order_records_what_changed(alice_client, alice, team, settings):
    settings.PROVIDERS = KEYS
    first = team.providers_in_order()
    assert len(first) == 3
    turned = first[1:] + first[:1]
    data = {f"place_{i + 1}": p for i, p in enumerate(turned)}
    alice_client.post("/t/acme/providers/order/", data)  # failover off
    alice_client.post("/t/acme/providers/order/", data)  # no change
    [changed] = entries(AuditAction.PROVIDER_ORDER)
    assert (changed.actor, changed.target) == (alice, "the team's provider order")
    assert changed.before == {"order": first, "failover": True}
    assert changed.after == {"order": turned, "failover": False}


def test_the_audit_filter_lists_the_new_actions(alice_client):
    page = alice_client.get("/t/acme/audit/").content.decode()
    for label in ("Budget set", "Job declined", "Budget raise granted", "Provider order changed"):
        assert f">{label}</option>" in page
    html = alice_client.get("/t/acme/audit/", {"action": "job_declined"}).status_code
    assert html == 200
