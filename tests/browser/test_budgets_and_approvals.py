"""As a member and an admin would: a member's Generate past a budget is
refused in place, naming the budget, with a one-click request for more; an
admin approves a waiting job from the approvals page and it runs to its images.
The whole stack runs: web server, django-q2 cluster, poller, simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import Budget, BudgetRequest, Job, Membership, Team
from tests.browser.axe import assert_accessible
from tests.browser.test_generate import sign_in, stack  # noqa: F401 - the fixture

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def funded(user, team, amount: int = 1000) -> Membership:
    membership = Membership.objects.get(user=user, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=amount, by=user)
    return membership


def test_a_members_refusal_names_the_budget_and_asks_for_more(page: Page, stack, bob, team):  # noqa: F811
    bobs = funded(bob, team)
    budget = Budget.objects.create(team=team, membership=bobs, period="week", limit=50)
    sign_in(page, stack.url, "bob")
    page.get_by_label("Prompt").fill("a lighthouse at dusk")
    page.get_by_role("button", name="Generate").click()

    problem = page.locator("#create-problem")
    expect(problem).to_contain_text("the weekly budget of bob of 50 credits has 50 left this week")
    expect(page.get_by_label("Credits to ask for")).to_have_value("29")
    page.get_by_label("Note for the admins").fill("client deadline")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "budget-refusal.png")
    assert_accessible(page, "the gallery with a budget refusal")
    page.get_by_role("button", name="Ask for more").click()
    expect(page.get_by_text("Asked the team's admins for 29 more credits.")).to_be_visible()
    asked = BudgetRequest.objects.get()
    assert (asked.budget, asked.amount, asked.note) == (budget, 29, "client deadline")
    assert not Job.objects.exists()


def test_an_admin_approves_a_waiting_job_from_the_queue_and_it_runs(
    page: Page,
    stack,  # noqa: F811
    alice,
    bob,
    team,
):
    Team.objects.filter(pk=team.pk).update(approval_above=10)
    funded(bob, team)
    bob_page = page.context.browser.new_page()
    sign_in(bob_page, stack.url, "bob")
    bob_page.get_by_label("Prompt").fill("a lighthouse at dusk [sim:duration=1]")
    bob_page.get_by_role("button", name="Generate").click()
    expect(bob_page.locator("article.job-card").first).to_contain_text("Awaiting approval")
    job = Job.objects.get()
    assert job.status == "awaiting"
    bob_page.close()

    sign_in(page, stack.url, "alice")
    page.goto(f"{stack.url}/t/acme/approvals/")
    row = page.locator(f"#awaiting-{job.pk}")
    expect(row).to_contain_text("more than the 10 the team approves")
    page.screenshot(path=ARTIFACTS / "approvals-queue.png", full_page=True)
    assert_accessible(page, "the approvals page")
    row.get_by_role("button", name=f"Approve job {job.pk}").click()
    expect(page.get_by_text(f"Approved job {job.pk}.")).to_be_visible()
    expect(page.locator(f"#awaiting-{job.pk}")).to_have_count(0)

    page.goto(f"{stack.url}/t/acme/")
    expect(page.locator(f"#job-{job.pk} img")).to_have_count(4, timeout=30_000)
    job.refresh_from_db()
    assert job.status == "completed"
