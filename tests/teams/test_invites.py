from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from gallery.models import Invite, Membership

pytestmark = pytest.mark.db_sensitive


@pytest.fixture
def invite(alice, team):
    return Invite.create(team=team, role="member", note="Erin", created_by=alice)


@pytest.mark.django_db
def test_a_new_person_sets_a_password_and_joins(invite):
    _, token = invite
    client = Client()
    page = client.get(f"/invite/{token}/")
    assert "Join Acme Studio" in page.content.decode()
    response = client.post(
        f"/invite/{token}/",
        {
            "username": "erin",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    assert response.url == "/t/acme/"
    erin = User.objects.get(username="erin")
    assert Membership.objects.get(user=erin).role == "member"
    assert "Acme Studio gallery" in client.get("/t/acme/").content.decode()


@pytest.mark.django_db
def test_a_weak_password_is_refused_with_the_reason(invite):
    _, token = invite
    response = Client().post(
        f"/invite/{token}/", {"username": "erin", "password1": "123", "password2": "123"}
    )
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_a_signed_in_person_joins_with_their_account(invite, carol, carol_client):
    _, token = invite
    response = carol_client.post(f"/invite/{token}/")
    assert response.status_code == 302
    assert Membership.objects.filter(user=carol, team__slug="acme", role="member").exists()


@pytest.mark.django_db
def test_a_link_admits_only_one_person(invite, carol, carol_client):
    _, token = invite
    carol_client.post(f"/invite/{token}/")
    response = Client().get(f"/invite/{token}/")
    assert response.status_code == 404
    assert "does not work" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["revoked", "expired", "unknown"])
def test_a_dead_link_explains_itself(invite, how):
    obj, token = invite
    if how == "revoked":
        obj.revoke()
    elif how == "expired":
        Invite.objects.filter(pk=obj.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        token = "not-a-real-token"
    response = Client().get(f"/invite/{token}/")
    assert response.status_code == 404
    assert "Ask a team admin for a new one" in response.content.decode()


@pytest.mark.django_db
def test_accepting_twice_is_harmless_for_a_member(invite, bob, bob_client):
    _, token = invite
    bob_client.post(f"/invite/{token}/")
    assert Membership.objects.filter(user=bob).count() == 1
    # bob was already a member, so the link is still there for Erin
    assert Client().get(f"/invite/{token}/").status_code == 200
