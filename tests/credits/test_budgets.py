"""Layered budgets: the team's, each project's and each member's, monthly or
weekly in the team's time zone; a job must fit all of them, running jobs
counting at what they reserved; a refusal names the budget, its limit and
what is left. And the admins' page that shows and sets them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.credits import ledger
from gallery.credits.models.budgets import week_bounds
from gallery.models import Budget, BudgetRaise, Job, Project, Team
from tests.api.conftest import Api, issue
from tests.credits.conftest import HTMX
from tests.factories import Clock, account_of, at, fund, make_job, membership

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(at("Europe/Berlin", 2026, 3, 4, 10))  # a Wednesday
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def campaign(team) -> Project:
    return Project.objects.create(team=team, name="Spring campaign")


def reserve(user, team, cost: int, *, project=None, when=None) -> Job:
    job = make_job(user, team, credits=cost, project=project, created=when or timezone.now())
    ledger.reserve(job=job, account=account_of(user, team))
    return job


def test_a_job_must_fit_the_team_the_project_and_the_member_budget(alice, bob, team, campaign):
    fund(alice, team)
    fund(bob, team)
    Budget.objects.create(team=team, limit=1000)
    Budget.objects.create(team=team, project=campaign, limit=500)
    Budget.objects.create(team=team, membership=membership(bob, team), limit=300)
    reserve(bob, team, 300, project=campaign)
    with pytest.raises(ledger.LimitExceeded) as refused:
        reserve(bob, team, 1)
    assert str(refused.value) == (
        "This costs 1 credits, but the monthly budget of bob of 300 credits has 0 left this month."
    )
    reserve(alice, team, 200, project=campaign)
    with pytest.raises(ledger.LimitExceeded, match="project Spring campaign of 500 credits has 0"):
        reserve(alice, team, 1, project=campaign)
    reserve(alice, team, 500)  # no project: only the team's budget, which has 500 left
    with pytest.raises(ledger.LimitExceeded, match="the team's monthly budget of 1000"):
        reserve(alice, team, 1)


def test_a_refused_reservation_moves_no_credit(alice, team):
    account = fund(alice, team, 1000)
    Budget.objects.create(team=team, limit=100)
    with pytest.raises(ledger.LimitExceeded):
        reserve(alice, team, 101)
    account.refresh_from_db()
    assert account.balance == 1000
    assert not account.entries.filter(kind="reserve").exists()


def test_running_jobs_count_and_refunds_give_room_back(alice, team):
    account = fund(alice, team)
    Budget.objects.create(team=team, limit=100)
    running = reserve(alice, team, 60)
    with pytest.raises(ledger.LimitExceeded, match="has 40 left"):
        reserve(alice, team, 41)
    ledger.refund(job=running, account=account)
    reserve(alice, team, 100)


def test_a_weekly_budget_resets_at_monday_midnight_in_the_teams_zone(clock, alice, team):
    Team.objects.filter(pk=team.pk).update(time_zone="Europe/Berlin")
    team.refresh_from_db()
    fund(alice, team)
    Budget.objects.create(team=team, period="week", limit=100)
    reserve(alice, team, 100)
    clock.set(at("Europe/Berlin", 2026, 3, 8, 23, 59))  # Sunday night, still this week
    with pytest.raises(
        ledger.LimitExceeded, match="weekly budget of 100 credits has 0 left this week"
    ):
        reserve(alice, team, 1)
    clock.set(at("Europe/Berlin", 2026, 3, 9, 0, 0))  # Monday 00:00 Berlin (Sunday 23:00 UTC)
    reserve(alice, team, 100)


def test_a_monthly_budget_resets_on_the_first_in_the_teams_zone(clock, alice, team):
    Team.objects.filter(pk=team.pk).update(time_zone="Pacific/Auckland")
    team.refresh_from_db()
    fund(alice, team)
    Budget.objects.create(team=team, limit=50)
    clock.set(at("Pacific/Auckland", 2026, 3, 31, 23, 30))
    reserve(alice, team, 50)
    with pytest.raises(ledger.LimitExceeded):
        reserve(alice, team, 1)
    clock.set(at("Pacific/Auckland", 2026, 4, 1, 0, 0))
    reserve(alice, team, 50)


def test_week_bounds_are_monday_to_monday_across_a_clock_change():
    start, end = week_bounds(at("Europe/Berlin", 2026, 3, 25, 12), "Europe/Berlin")
    assert (start.isoformat(), end.isoformat()) == (
        "2026-03-23T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    )


def test_a_raise_adds_room_until_it_expires(clock, alice, team):
    fund(alice, team)
    budget = Budget.objects.create(team=team, limit=100)
    BudgetRaise.objects.create(
        budget=budget, amount=50, expires_at=clock.at + timedelta(days=2), created=clock.at
    )
    reserve(alice, team, 150)
    with pytest.raises(ledger.LimitExceeded, match="of 150 credits has 0 left"):
        reserve(alice, team, 1)
    clock.set(clock.at + timedelta(days=2))  # expired: the limit is 100 again, 150 used
    with pytest.raises(ledger.LimitExceeded, match="of 100 credits has 0 left"):
        reserve(alice, team, 1)


def test_another_teams_budget_never_applies(alice, carol, team, other_team):
    fund(alice, team)
    Budget.objects.create(team=other_team, limit=0)
    reserve(alice, team, 100)


# --- the page ------------------------------------------------------------------------------


def test_the_budgets_page_shows_every_budgets_use(alice_client, alice, bob, team, campaign):
    fund(bob, team)
    Budget.objects.create(team=team, limit=1000)
    Budget.objects.create(team=team, project=campaign, period="week", limit=400)
    Budget.objects.create(team=team, membership=membership(bob, team), limit=300)
    reserve(bob, team, 120, project=campaign)
    response = alice_client.get("/t/acme/budgets/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "The team&#x27;s monthly budget" in html
    assert "The weekly budget of project Spring campaign" in html
    assert "The monthly budget of bob" in html
    assert html.count('aria-label="120 of ') == 3


def test_an_admin_sets_and_changes_a_budget(alice_client, bob, team, campaign):
    data = {"applies_to": f"project-{campaign.pk}", "period": "week", "limit": "700"}
    response = alice_client.post("/t/acme/budgets/set/", {**data, "thresholds": "50, 90"})
    assert response.status_code == 302
    budget = Budget.objects.get()
    assert (budget.project, budget.period, budget.limit, budget.thresholds) == (
        campaign,
        "week",
        700,
        [50, 90],
    )
    alice_client.post("/t/acme/budgets/set/", {**data, "limit": "900"})
    assert list(Budget.objects.values_list("limit", "thresholds")) == [(900, [])]


def test_a_bad_budget_is_named_in_place(alice_client, team):
    data = {"applies_to": "team", "period": "month", "limit": "-1", "thresholds": "80, 120"}
    response = alice_client.post("/t/acme/budgets/set/", data, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_limit_error"' in html and "greater than or equal to 0" in html
    assert 'id="id_thresholds_error"' in html and "from 1 to 100" in html
    assert not Budget.objects.exists()


def test_another_teams_member_is_no_scope(alice_client, carol, team, other_team):
    theirs = membership(carol, other_team)
    data = {"applies_to": f"member-{theirs.pk}", "period": "month", "limit": "5"}
    assert alice_client.post("/t/acme/budgets/set/", data).status_code == 400
    assert not Budget.objects.exists()


def test_htmx_gets_the_budgets_section_back(alice_client, team):
    data = {"applies_to": "team", "period": "month", "limit": "5000"}
    response = alice_client.post("/t/acme/budgets/set/", data, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Saved the team&#x27;s monthly budget." in html


def test_an_admin_removes_a_budget(alice_client, team):
    budget = Budget.objects.create(team=team, limit=5)
    assert alice_client.post(f"/t/acme/budgets/{budget.pk}/remove/").status_code == 302
    assert not Budget.objects.exists()


def test_an_admin_adds_and_archives_a_project(alice_client, team):
    assert alice_client.post("/t/acme/projects/new/", {"name": " Harbour Co "}).status_code == 302
    project = Project.objects.get()
    assert project.name == "Harbour Co"
    response = alice_client.post("/t/acme/projects/new/", {"name": "harbour co"}, headers=HTMX)
    assert response.status_code == 400 and "already has a project" in response.content.decode()
    alice_client.post(f"/t/acme/projects/{project.pk}/archive/")
    project.refresh_from_db()
    assert project.archived_at is not None


def test_wrong_method_member_anonymous_and_other_team(client, bob_client, carol_client, team):
    budget = Budget.objects.create(team=team, limit=5)
    assert client.get("/t/acme/budgets/").status_code == 302  # to sign-in
    assert bob_client.get("/t/acme/budgets/").status_code == 403
    assert bob_client.post(f"/t/acme/budgets/{budget.pk}/remove/").status_code == 403
    assert carol_client.get("/t/acme/budgets/").status_code == 404
    assert carol_client.post(f"/t/acme/budgets/{budget.pk}/remove/").status_code == 404
    assert Budget.objects.filter(pk=budget.pk).exists()


def test_removing_another_teams_budget_is_404(alice_client, carol, other_team):
    theirs = Budget.objects.create(team=other_team, limit=5)
    assert alice_client.post(f"/t/acme/budgets/{theirs.pk}/remove/").status_code == 404
    assert Budget.objects.filter(pk=theirs.pk).exists()


def test_the_budgets_page_refuses_a_post(alice_client, team):
    assert alice_client.post("/t/acme/budgets/").status_code == 405
    assert alice_client.get("/t/acme/budgets/set/").status_code == 405


# --- refusals where people see them -------------------------------------------------------


def test_generate_past_a_budget_names_it_next_to_generate(bob_client, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, membership=membership(bob, team), period="week", limit=50)
    data = {"prompt": "a red bird", "speed": "fast"}
    response = bob_client.post("/t/acme/jobs/", data, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 402
    assert 'id="create-problem"' in html
    assert "the weekly budget of bob of 50 credits has 50 left this week" in html
    assert not Job.objects.exists()


def test_the_api_refusal_names_the_budget(bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=10)
    response = Api(issue(bob, team)).create()
    assert response.status_code == 402
    assert (
        "the team's monthly budget of 10 credits has 10 left" in response.json()["error"]["message"]
    )


def test_a_member_sees_the_budgets_their_jobs_must_fit(bob_client, alice, bob, team, campaign):
    fund(bob, team)
    Budget.objects.create(team=team, limit=1000)
    Budget.objects.create(team=team, project=campaign, period="week", limit=400)
    Budget.objects.create(team=team, membership=membership(bob, team), limit=300)
    Budget.objects.create(team=team, membership=membership(alice, team), limit=5)
    reserve(bob, team, 120, project=campaign)
    html = bob_client.get("/t/acme/credits/").content.decode()
    assert "The team&#x27;s monthly budget</strong>: 880 of 1,000 credits left this month" in html
    assert "The weekly budget of project Spring campaign</strong>: 280 of 400" in html
    assert "The monthly budget of bob</strong>: 180 of 300" in html
    assert "budget of alice" not in html
