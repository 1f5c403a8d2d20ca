"""Months and pages typed into the credit pages' URLs: a year past any calendar
the site draws (9999-12 ends in year 10000) and page numbers no ledger has are
refused with a 400 and the rule in words, never a 500 or a CSV cut mid-stream."""

from __future__ import annotations

import pytest

from gallery.credits.spend import Month
from gallery.models import Membership, Team

pytestmark = [pytest.mark.django_db]
RULE = "Enter a month as YYYY-MM from 2000-01 to 2999-12"


FULLWIDTH_MONTH = "\uff12\uff10\uff12\uff16-01"


@pytest.mark.parametrize("month", ["9999-12", "3000-01", "1999-12", FULLWIDTH_MONTH, "2026-1"])
def test_my_credits_shows_the_month_rule_next_to_the_filter(bob_client, funded, month):
    response = bob_client.get("/t/acme/credits/", {"month": month})
    assert response.status_code == 400
    html = response.content.decode()
    assert RULE in html and "<html" in html  # the page, with the error in place


@pytest.mark.parametrize("month", ["9999-12", "0000-00", "2026-13"])
def test_the_spend_page_shows_this_month_with_the_rule(alice_client, funded, month):
    response = alice_client.get("/t/acme/spend/", {"month": month})
    assert response.status_code == 400
    html = response.content.decode()
    assert RULE in html and f"spent in {Month.current().label}" in html


def test_the_spend_csv_refuses_a_month_before_it_starts(alice_client, funded):
    response = alice_client.get("/t/acme/spend.csv", {"month": "9999-12"})
    assert response.status_code == 400
    assert not response.streaming
    assert RULE in response.content.decode()


@pytest.mark.parametrize("action", ["grant", "team-limit"])
def test_an_action_posted_with_an_impossible_month_does_nothing(
    alice_client, bob, team, funded, action
):
    member = Membership.objects.get(user=bob, team=team)
    url = {
        "grant": f"/t/acme/spend/members/{member.pk}/grant/",
        "team-limit": "/t/acme/spend/team-limit/",
    }[action]
    data = {"amount": "5", "monthly_limit": "5", "month": "9999-12"}
    response = alice_client.post(url, data)
    assert response.status_code == 400 and RULE in response.content.decode()
    assert Team.objects.get().monthly_limit is None
    assert funded["bob"].entries.count() == 1  # only the starting grant


@pytest.mark.parametrize("number", ["1e999999999", "9" * 400, "0", "-1", "\u0661", "2.5"])
def test_a_page_number_no_ledger_has_is_refused_in_words(bob_client, funded, number):
    response = bob_client.get("/t/acme/credits/", {"page": number})
    assert response.status_code == 400
    assert "The page must be a whole number from 1 to" in response.content.decode()


def test_a_page_past_the_end_still_shows_the_last_page(bob_client, funded):
    assert bob_client.get("/t/acme/credits/", {"page": "99"}).status_code == 200
