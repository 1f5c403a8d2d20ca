"""Every page that reads a month's spend counts a job in the month it was
reserved, in the team's time zone: the credits page, the API balance, the
spend dashboard and its CSV (issue 23, item 5). The team's admins set that
time zone beside the team's monthly limit."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from gallery.credits import spend
from gallery.models import CreditAccount, Team
from tests.api.conftest import auth, issue
from tests.credits.conftest import HTMX
from tests.factories import Clock, account_of, at, fund, refund_at, reserve_at, settle_at

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    # Near the scenes' dates: sessions made now stay valid through them.
    clock = Clock(at("UTC", 2026, 1, 31))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def issue_scene(clock, bob, team, funded):
    """The issue's numbers for bob: limit 209; 40 reserved at 23:59 on 31 January
    and refunded at 00:01 on 1 February; 159 spent on 1 February. Now it is noon
    on 1 February."""
    account = account_of(bob, team)
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=209)
    Team.objects.filter(pk=team.pk).update(monthly_limit=10_209)
    late = reserve_at(at("UTC", 2026, 1, 31, 23, 59), clock, bob, team, account, 40)
    refund_at(at("UTC", 2026, 2, 1, 0, 1), clock, late, account)
    job = reserve_at(at("UTC", 2026, 2, 1, 10), clock, bob, team, account, 159)
    settle_at(at("UTC", 2026, 2, 1, 10, 5), clock, job, account)
    clock.set(at("UTC", 2026, 2, 1, 12))
    return {"late": late, "job": job}


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def test_the_credits_page_shows_159_spent_and_50_left(issue_scene, bob_client):
    html = bob_client.get("/t/acme/credits/").content.decode()
    assert re.search(r"Spent this month</p>\s*<p class=\"stat-value\">159</p>", html)
    assert '50 <span class="stat-unit">left</span>' in html
    assert "159 of 209 used" in html
    assert "159 of 10,209 used" in html  # the team's limit counts the same way


def test_the_api_balance_says_159_spent_and_50_left(issue_scene, bob, team):
    headers = auth(issue(bob, team))
    body = Client().get("/api/v1/balance", headers=headers).json()
    assert body["spent_this_month"] == 159
    assert body["limits"]["monthly_remaining"] == 50
    assert body["limits"]["team_monthly_remaining"] == 10_050


def test_the_dashboard_puts_the_refund_in_the_month_its_job_was_reserved(issue_scene, alice_client):
    february = alice_client.get("/t/acme/spend/").content.decode()
    assert '<p class="stat-value" id="month-total">159</p>' in february
    assert "10,050" in february  # the team limit's card: left this month
    january = alice_client.get("/t/acme/spend/", {"month": "2026-01"}).content.decode()
    assert '<p class="stat-value" id="month-total">0</p>' in january


def test_the_csv_lists_a_job_with_its_refund_in_the_month_it_was_reserved(
    issue_scene, alice_client
):
    late, job = issue_scene["late"], issue_scene["job"]
    january = csv_rows(alice_client.get("/t/acme/spend.csv", {"month": "2026-01"}))
    january = [r for r in january if r[5]]  # the jobs' entries, not the grants
    assert [(r[2], r[3], r[5]) for r in january] == [
        ("reserve", "-40", str(late.pk)),
        ("refund", "40", str(late.pk)),  # written at 00:01 on 1 February
    ]
    assert january[1][0].startswith("2026-02-01T00:01:00")
    february = csv_rows(alice_client.get("/t/acme/spend.csv", {"month": "2026-02"}))
    assert {r[5] for r in february if r[5]} == {str(job.pk)}


def test_an_auckland_team_sees_its_own_months_and_days(clock, alice_client, bob, team, funded):
    team.time_zone = "Pacific/Auckland"
    team.save()
    account = account_of(bob, team)
    # 00:30 on 1 February in Auckland is still 31 January (11:30) in UTC.
    reserve_at(at("Pacific/Auckland", 2026, 2, 1, 0, 30), clock, bob, team, account, 70)
    clock.set(at("Pacific/Auckland", 2026, 2, 1, 9))
    html = alice_client.get("/t/acme/spend/").content.decode()
    assert "February 2026" in html
    assert '<p class="stat-value" id="month-total">70</p>' in html
    rows = csv_rows(alice_client.get("/t/acme/spend.csv"))  # this month's, in Auckland
    assert [(r[0], r[2]) for r in rows if r[2] == "reserve"] == [
        ("2026-02-01T00:30:00+13:00", "reserve")
    ]
    assert spend.spent_by_day(team, spend.Month(2026, 2))[0] == (date(2026, 2, 1), 70)


def test_a_team_admin_sets_the_time_zone_beside_the_monthly_limit(alice_client, team):
    response = alice_client.post(
        "/t/acme/spend/team-limit/",
        {"monthly_limit": "5000", "time_zone": "pacific/auckland"},
        headers=HTMX,
    )
    assert response.status_code == 200
    team.refresh_from_db()
    assert (team.monthly_limit, team.time_zone) == (5000, "Pacific/Auckland")
    assert 'value="Pacific/Auckland"' in response.content.decode()
    assert "midnight on the 1st in Pacific/Auckland" in response.content.decode()


def test_an_unknown_time_zone_is_refused_in_words(alice_client, team):
    response = alice_client.post(
        "/t/acme/spend/team-limit/",
        {"monthly_limit": "5000", "time_zone": "Mars/Olympus_Mons"},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "is not a time zone name; use one such as Europe/Berlin" in response.content.decode()
    team.refresh_from_db()
    assert (team.monthly_limit, team.time_zone) == (None, "UTC")


def test_a_form_without_the_time_zone_keeps_the_teams(alice_client, team):
    Team.objects.filter(pk=team.pk).update(time_zone="Europe/Berlin")
    alice_client.post("/t/acme/spend/team-limit/", {"monthly_limit": "7"})
    team.refresh_from_db()
    assert (team.monthly_limit, team.time_zone) == (7, "Europe/Berlin")


def test_members_cannot_set_the_time_zone(bob_client, team):
    response = bob_client.post(
        "/t/acme/spend/team-limit/", {"monthly_limit": "", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 403
    team.refresh_from_db()
    assert team.time_zone == "UTC"


def test_the_month_menu_of_my_ledger_follows_the_teams_months(clock, bob_client, bob, team):
    fund(bob, team, 1000)
    Team.objects.filter(pk=team.pk).update(time_zone="America/Los_Angeles")
    team.refresh_from_db()
    account = account_of(bob, team)
    # 21:00 on 31 January in Los Angeles is already February in UTC.
    job = reserve_at(at("America/Los_Angeles", 2026, 1, 31, 21), clock, bob, team, account, 30)
    refund_at(at("America/Los_Angeles", 2026, 2, 1, 1), clock, job, account)
    html = bob_client.get("/t/acme/credits/", {"month": "2026-01"}).content.decode()
    assert '<option value="2026-01" selected>January 2026</option>' in html
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    # The grant, the reserve and its refund, though the refund was written in February.
    assert len(re.findall(r"<tr>", body)) == 3
    assert ">+30<" in body and ">-30<" in body
