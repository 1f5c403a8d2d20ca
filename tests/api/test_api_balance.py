"""GET /api/v1/balance: the token owner's credits and limits in the token's team."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gallery.credits import ledger
from gallery.models import ApiToken, CreditAccount, Membership, Role, Team
from tests.api.conftest import Api, issue
from tests.factories import fund, membership

pytestmark = pytest.mark.django_db

URL = "/api/v1/balance"


def test_it_reports_credits_reserved_spent_and_in_flight(alice_api):
    alice_api.create()
    response = alice_api.get(URL)
    assert response.status_code == 200
    body = response.json()
    reserved = body["reserved"]
    assert reserved > 0
    assert body == {
        "object": "balance",
        "team": "acme",
        "user": "alice",
        "role": "admin",
        "credits": 10_000 - reserved,
        "reserved": reserved,
        "spent_this_month": reserved,
        "in_flight": 1,
        "limits": {
            "monthly": None,
            "monthly_remaining": None,
            "team_monthly": None,
            "team_monthly_remaining": None,
            "max_in_flight": 4,
            "requests_per_window": 120,
            "window_seconds": 60,
        },
    }


def test_it_reports_the_members_and_the_teams_monthly_limits(alice_api, alice, team):
    account = ledger.account_for(membership(alice, team))
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=500, max_in_flight=2)
    Team.objects.filter(pk=team.pk).update(monthly_limit=100_000)
    alice_api.create()
    body = alice_api.get(URL).json()
    spent = body["spent_this_month"]
    assert body["limits"]["monthly"] == 500
    assert body["limits"]["monthly_remaining"] == 500 - spent
    assert body["limits"]["team_monthly_remaining"] == 100_000 - spent
    assert body["limits"]["max_in_flight"] == 2


def test_a_spent_limit_reads_zero_remaining_not_negative(alice_api, alice, team):
    alice_api.create()
    account = ledger.account_for(membership(alice, team))
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=1)
    assert alice_api.get(URL).json()["limits"]["monthly_remaining"] == 0


def test_the_balance_is_the_one_of_the_tokens_team(alice, team, other_team):
    Membership.objects.create(team=other_team, user=alice, role=Role.MEMBER)
    fund(alice, team, 300)
    fund(alice, other_team, 700)
    assert Api(issue(alice, team)).get(URL).json()["credits"] == 300
    body = Api(issue(alice, other_team)).get(URL).json()
    assert (body["team"], body["credits"], body["role"]) == ("other", 700, "member")


def test_a_viewer_can_read_a_balance_of_zero(dave_api):
    body = dave_api.get(URL).json()
    assert (body["role"], body["credits"]) == ("viewer", 0)


def test_without_a_token_it_is_a_401(db):
    response = Api(None).get(URL)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_revoked_token_is_a_401(alice_api):
    ApiToken.objects.get().revoke()
    assert alice_api.get(URL).status_code == 401


def test_an_expired_token_is_a_401(alice_api):
    ApiToken.objects.update(expires_at=timezone.now())
    assert alice_api.get(URL).status_code == 401


def test_post_is_a_405(alice_api):
    response = alice_api.post(URL, {})
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_it_counts_against_the_rate_limit(alice_api, settings):
    settings.MJWEB_API_RATE_LIMIT = 1
    assert alice_api.get(URL).status_code == 200
    response = alice_api.get(URL)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
