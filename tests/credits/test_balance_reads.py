"""The header's balance is read one way (gallery.credits.ledger.balance_of /
balance_in) on every page and in the fragment the header refetches: it reads,
and a GET never makes a credit account (the first credit moved does)."""

from __future__ import annotations

import pytest

from gallery.credits import ledger
from gallery.models import CreditAccount, Membership
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _member(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


@pytest.mark.parametrize("page", ["", "tokens/", "images/{image}/"])
def test_opening_a_page_makes_no_credit_account(bob_client, bob, team, page):
    image = finished_job(bob, team, images=1).images.get()
    response = bob_client.get(f"/t/{team.slug}/" + page.format(image=image.pk))
    assert response.status_code == 200
    assert not CreditAccount.objects.filter(membership__user=bob).exists()
    assert '<span class="muted">— credits</span>' not in response.content.decode()
    assert "<strong>0</strong> credits" in response.content.decode()


def test_the_balance_fragment_reads_without_making_an_account(bob_client, bob, team):
    response = bob_client.get(f"/t/{team.slug}/balance/")
    assert response.status_code == 200
    assert "<strong>0</strong> credits" in response.content.decode()
    assert not CreditAccount.objects.filter(membership__user=bob).exists()


def test_the_balance_fragment_is_404_for_a_stranger(carol_client, team):
    assert carol_client.get(f"/t/{team.slug}/balance/").status_code == 404


def test_one_read_gives_the_balance_a_grant_made(alice, bob, team):
    assert ledger.balance_of(_member(bob, team)) == 0
    assert ledger.balance_in(bob, team.slug) == 0
    ledger.grant(account=ledger.account_for(_member(bob, team)), amount=120, by=alice)
    assert ledger.balance_of(_member(bob, team)) == 120
    assert ledger.balance_in(bob, team.slug) == 120


def test_a_stranger_has_no_balance_in_the_team(carol, team):
    assert ledger.balance_in(carol, team.slug) is None
