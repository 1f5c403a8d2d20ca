"""A removed member on the spend page: listed after the team with their
history, their unspendable balance said plainly; only an adjustment (taking
the credits back, through the ledger) may touch their account."""

from __future__ import annotations

import pytest

from gallery.models import LedgerEntry, Membership
from tests.credits.conftest import HTMX
from tests.factories import account_of, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def former_bob(alice, bob, team) -> Membership:
    fund(bob, team, 300, by=alice)
    member = Membership.objects.get(user=bob, team=team)
    member.remove(by=alice)
    member.refresh_from_db()
    assert member.removed_at is not None
    return member


def url(pk: int, action: str) -> str:
    return f"/t/acme/spend/members/{pk}/{action}/"


def test_the_spend_page_lists_a_former_member_without_grant_or_limits(alice_client, former_bob):
    page = alice_client.get("/t/acme/spend/").content.decode()
    row = page.split(f'id="member-{former_bob.pk}"')[1].split("</li>")[0]
    assert "Former member" in row
    assert "Their 300 credits stay in their account, unspendable" in row
    assert url(former_bob.pk, "grant") not in row
    assert url(former_bob.pk, "limits") not in row
    assert url(former_bob.pk, "adjust") in row


def test_a_former_member_comes_after_the_current_ones(alice_client, former_bob, alice):
    page = alice_client.get("/t/acme/spend/").content.decode()
    alice_row = page.index(f'id="member-{Membership.objects.get(user=alice).pk}"')
    assert alice_row < page.index(f'id="member-{former_bob.pk}"')


@pytest.mark.parametrize("action", ["grant", "limits"])
def test_granting_or_limiting_a_former_member_is_refused_in_place(alice_client, former_bob, action):
    data = {"amount": "50", "monthly_limit": "10", "max_in_flight": "2"}
    response = alice_client.post(url(former_bob.pk, action), data, headers=HTMX)
    assert response.status_code == 400
    assert "bob is no longer a member of the team" in response.content.decode()
    assert account_of(former_bob.user, former_bob.team).balance == 300
    assert LedgerEntry.objects.filter(account__membership=former_bob).count() == 1


def test_an_admin_takes_a_former_members_credits_back_with_an_adjustment(alice_client, former_bob):
    data = {"amount": "-300", "reason": "Left the team"}
    response = alice_client.post(url(former_bob.pk, "adjust"), data, headers=HTMX)
    assert response.status_code == 200
    entry = LedgerEntry.objects.filter(account__membership=former_bob).latest("pk")
    assert (entry.kind, entry.amount, entry.balance_after) == ("adjust", -300, 0)
    assert "Their jobs and ledger stay." in response.content.decode()
