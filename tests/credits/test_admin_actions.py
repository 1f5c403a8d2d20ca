"""Admin actions on the spend page: grant, adjust with a reason, a member's
limits and the team's limit. Each works as a plain form post and as an htmx
fragment swap; a refusal is explained next to its field with a 400."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from gallery.models import CreditAccount, LedgerEntry, Membership
from tests.credits.conftest import HTMX
from tests.factories import account_of, spent_job

pytestmark = [pytest.mark.db_sensitive, pytest.mark.django_db]


@pytest.fixture
def bob_pk(bob, team) -> int:
    return Membership.objects.get(user=bob, team=team).pk


@pytest.fixture
def alice_pk(alice, team) -> int:
    return Membership.objects.get(user=alice, team=team).pk


def url(pk: int, action: str) -> str:
    return f"/t/acme/spend/members/{pk}/{action}/"


def balance(user, team) -> int:
    return account_of(user, team).balance


# --- grant ----------------------------------------------------------------------------


def test_an_admin_grants_credits_and_returns_to_the_dashboard(
    alice, alice_client, bob, bob_pk, team
):
    response = alice_client.post(url(bob_pk, "grant"), {"amount": "1500", "reason": "Sprint"})
    assert response.status_code == 302
    assert response.url == f"/t/acme/spend/#member-{bob_pk}"
    entry = LedgerEntry.objects.get(account__membership_id=bob_pk)
    assert (entry.kind, entry.amount, entry.balance_after) == ("grant", 1500, 1500)
    assert entry.created_by == alice and entry.reason == "Sprint"
    page = alice_client.get(response.url).content.decode()
    assert "Granted 1,500 credits to bob." in page


def test_a_grant_returns_to_the_month_being_looked_at(alice_client, bob_pk):
    response = alice_client.post(url(bob_pk, "grant"), {"amount": "5", "month": "2025-04"})
    assert response.url == f"/t/acme/spend/?month=2025-04#member-{bob_pk}"


def test_a_grant_without_a_note_says_granted(alice_client, bob, bob_pk, team):
    alice_client.post(url(bob_pk, "grant"), {"amount": "10"})
    assert LedgerEntry.objects.get(account__membership_id=bob_pk).reason == "Granted"


def test_htmx_gets_the_members_row_with_the_new_balance(alice_client, bob, bob_pk, team):
    response = alice_client.post(url(bob_pk, "grant"), {"amount": "2500"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="member-credit" id="member-{bob_pk}"')
    assert "<html" not in html
    assert '<dd class="mc-balance">2,500</dd>' in html
    assert "Granted 2,500 credits to bob." in html
    assert '<details class="manage" open>' in html
    assert "HX-Trigger" not in response  # bob's header is not on alice's screen


def test_granting_myself_tells_my_header_to_refresh(alice_client, alice, alice_pk, team):
    response = alice_client.post(url(alice_pk, "grant"), {"amount": "40"}, headers=HTMX)
    assert "credits-changed" in json.loads(response["HX-Trigger"])
    assert balance(alice, team) == 40


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than or equal to 1"),
        ("-5", "greater than or equal to 1"),
        ("1.5", "Enter a whole number"),
        ("lots", "Enter a whole number"),
        ("", "This field is required"),
        ("100000001", "less than or equal to 100000000"),
    ],
)
def test_a_grant_that_is_not_a_positive_whole_number_is_refused_in_words(
    alice_client, bob_pk, amount, message
):
    response = alice_client.post(url(bob_pk, "grant"), {"amount": amount}, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="grant-{bob_pk}-amount_error"' in html and message in html
    assert not LedgerEntry.objects.exists()


def test_without_javascript_a_refusal_shows_the_whole_page_with_the_error(alice_client, bob_pk):
    response = alice_client.post(url(bob_pk, "grant"), {"amount": "-1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html and "Team spend" in html
    assert f'id="grant-{bob_pk}-amount_error"' in html
    row = html[html.index(f'id="member-{bob_pk}"') :]
    assert row.index('<details class="manage" open>') < row.index("</li>")


# --- adjust ---------------------------------------------------------------------------


def test_an_admin_adjusts_down_with_a_reason(alice, alice_client, bob, bob_pk, team, funded):
    response = alice_client.post(
        url(bob_pk, "adjust"), {"amount": "-400", "reason": "Double grant"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "Adjusted bob&#x27;s balance by -400 credits." in response.content.decode()
    entry = LedgerEntry.objects.filter(account__membership_id=bob_pk).first()
    assert (entry.kind, entry.amount, entry.balance_after) == ("adjust", -400, 9600)
    assert entry.reason == "Double grant" and entry.created_by == alice


def test_an_adjustment_up_works_too(alice_client, bob, bob_pk, team, funded):
    alice_client.post(url(bob_pk, "adjust"), {"amount": "25", "reason": "Goodwill"})
    assert balance(bob, team) == 10_025


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_adjustment_needs_a_reason(alice_client, bob, bob_pk, team, funded, reason):
    response = alice_client.post(
        url(bob_pk, "adjust"), {"amount": "-5", "reason": reason}, headers=HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="adjust-{bob_pk}-reason_error"' in html
    assert "an adjustment needs a reason" in html
    assert balance(bob, team) == 10_000


def test_an_adjustment_of_zero_is_refused(alice_client, bob_pk, funded):
    response = alice_client.post(url(bob_pk, "adjust"), {"amount": "0", "reason": "x"})
    assert response.status_code == 400
    assert "Enter a change other than zero." in response.content.decode()


def test_an_adjustment_cannot_take_a_balance_below_zero(alice_client, bob, bob_pk, team, funded):
    response = alice_client.post(
        url(bob_pk, "adjust"), {"amount": "-10001", "reason": "Too much"}, headers=HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "bob has 10,000 credits; a balance cannot go below zero." in html
    assert f'id="adjust-{bob_pk}-amount_error"' in html
    assert balance(bob, team) == 10_000
    assert not LedgerEntry.objects.filter(kind="adjust").exists()


# --- a member's limits ----------------------------------------------------------------


def test_an_admin_sets_a_members_monthly_limit_and_in_flight_cap(
    alice_client, bob, bob_pk, team, funded
):
    spent_job(bob, team, credits=300)
    response = alice_client.post(
        url(bob_pk, "limits"), {"monthly_limit": "1000", "max_in_flight": "2"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved bob&#x27;s limits." in html
    assert '300 <span class="muted">of 1,000</span>' in html
    account = account_of(bob, team)
    assert (account.monthly_limit, account.max_in_flight, account.balance) == (1000, 2, 9700)
    # a limit is a setting, not a credit movement
    assert LedgerEntry.objects.filter(account=account).count() == 3


def test_a_blank_monthly_limit_removes_it(alice_client, bob, bob_pk, team, funded):
    CreditAccount.objects.filter(pk=funded["bob"].pk).update(monthly_limit=50)
    alice_client.post(url(bob_pk, "limits"), {"monthly_limit": "", "max_in_flight": "4"})
    assert account_of(bob, team).monthly_limit is None


def test_limits_can_be_set_before_a_member_has_an_account(alice_client, dave, team):
    pk = Membership.objects.get(user=dave).pk
    response = alice_client.post(url(pk, "limits"), {"monthly_limit": "0", "max_in_flight": "0"})
    assert response.status_code == 302
    account = CreditAccount.objects.get(membership_id=pk)
    assert (account.monthly_limit, account.max_in_flight, account.balance) == (0, 0, 0)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"monthly_limit": "-1", "max_in_flight": "4"},
            "monthly_limit",
            "greater than or equal to 0",
        ),
        ({"monthly_limit": "", "max_in_flight": "51"}, "max_in_flight", "less than or equal to 50"),
        ({"monthly_limit": "", "max_in_flight": ""}, "max_in_flight", "This field is required"),
    ],
)
def test_limits_out_of_range_are_refused_in_words(
    alice_client, bob, bob_pk, team, funded, data, field, message
):
    response = alice_client.post(url(bob_pk, "limits"), data, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="limits-{bob_pk}-{field}_error"' in html and message in html
    assert account_of(bob, team).monthly_limit is None


# --- the team's limit -----------------------------------------------------------------


def test_an_admin_sets_the_teams_monthly_limit(alice_client, bob, team, funded):
    spent_job(bob, team, credits=1200)
    response = alice_client.post("/t/acme/spend/team-limit/", {"monthly_limit": "5000"})
    assert response.status_code == 302
    assert response.url == "/t/acme/spend/#team-limit"
    team.refresh_from_db()
    assert team.monthly_limit == 5000
    html = alice_client.get(response.url).content.decode()
    assert "Saved the team&#x27;s monthly limit." in html
    assert '<strong>3,800</strong> <span class="muted">of 5,000 credits left this month' in html


def test_the_team_limit_form_answers_htmx_with_its_card(alice_client, team):
    response = alice_client.post(
        "/t/acme/spend/team-limit/", {"monthly_limit": "900"}, headers=HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="team-limit"')
    assert "<html" not in html
    assert "of 900 credits left this month" in html and "Saved." in html


def test_a_blank_team_limit_removes_it(alice_client, team):
    team.monthly_limit = 10
    team.save()
    alice_client.post("/t/acme/spend/team-limit/", {"monthly_limit": ""})
    team.refresh_from_db()
    assert team.monthly_limit is None


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_a_negative_team_limit_is_refused_in_words(alice_client, team, headers):
    response = alice_client.post(
        "/t/acme/spend/team-limit/", {"monthly_limit": "-3"}, headers=headers
    )
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    team.refresh_from_db()
    assert team.monthly_limit is None


# --- who may act ----------------------------------------------------------------------

ACTIONS = [
    ("grant", {"amount": "100"}),
    ("adjust", {"amount": "100", "reason": "x"}),
    ("limits", {"monthly_limit": "1", "max_in_flight": "1"}),
]


@pytest.mark.parametrize(("action", "data"), ACTIONS)
@pytest.mark.parametrize("client_name", ["bob_client", "dave_client"])
def test_members_and_viewers_cannot_act(request, client_name, action, data, bob, bob_pk, team):
    client = request.getfixturevalue(client_name)
    assert client.post(url(bob_pk, action), data).status_code == 403
    assert client.post("/t/acme/spend/team-limit/", {"monthly_limit": "1"}).status_code == 403
    assert not LedgerEntry.objects.exists()
    assert not CreditAccount.objects.filter(monthly_limit=1).exists()


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_a_stranger_gets_404(carol_client, action, data, bob_pk):
    assert carol_client.post(url(bob_pk, action), data).status_code == 404
    assert carol_client.post("/t/acme/spend/team-limit/", {"monthly_limit": "1"}).status_code == 404


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_an_admin_cannot_reach_another_teams_member_through_their_own_team(
    alice_client, carol, other_team, action, data
):
    carols = Membership.objects.get(user=carol, team=other_team).pk
    assert alice_client.post(url(carols, action), data).status_code == 404
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("action", ["grant", "adjust", "limits"])
def test_actions_reject_get(alice_client, bob_pk, action):
    assert alice_client.get(url(bob_pk, action)).status_code == 405
    assert alice_client.get("/t/acme/spend/team-limit/").status_code == 405


@pytest.mark.parametrize("action", ["grant", "adjust", "limits"])
def test_anonymous_posts_are_sent_to_sign_in(bob_pk, action):
    response = Client().post(url(bob_pk, action), {"amount": "1"})
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert not LedgerEntry.objects.exists()


def test_actions_need_the_csrf_token(alice, bob_pk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(url(bob_pk, "grant"), {"amount": "5"}).status_code == 403
    assert not LedgerEntry.objects.exists()
