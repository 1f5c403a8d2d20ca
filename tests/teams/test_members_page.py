from __future__ import annotations

import pytest

from gallery.models import Invite

pytestmark = pytest.mark.db_sensitive


@pytest.mark.django_db
def test_it_lists_the_members_with_their_roles(alice_client, bob, dave):
    html = alice_client.get("/t/acme/members/").content.decode()
    assert "3 members" in html
    for text in ("alice", "bob", "dave", "Admin", "Member", "Viewer"):
        assert text in html


@pytest.mark.django_db
def test_admins_see_the_invite_form_and_members_do_not(alice_client, bob_client):
    assert "Create invite link" in alice_client.get("/t/acme/members/").content.decode()
    assert "Create invite link" not in bob_client.get("/t/acme/members/").content.decode()


@pytest.mark.django_db
def test_an_admin_creates_an_invite_link_shown_once(alice_client, team):
    response = alice_client.post("/t/acme/members/invite/", {"role": "member", "note": "Erin"})
    assert response.status_code == 200
    invite = Invite.objects.get(team=team)
    html = response.content.decode()
    assert "Send this link to Erin" in html
    token = html.split("/invite/")[1].split("/")[0]
    assert Invite.find_pending(token) == invite
    assert token not in invite.token_hash  # only the hash is stored
    assert "Send this link" not in alice_client.get("/t/acme/members/").content.decode()


@pytest.mark.django_db
def test_the_invite_form_returns_its_fragment_to_htmx(alice_client):
    response = alice_client.post(
        "/t/acme/members/invite/", {"role": "viewer"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="invites"')
    assert "<html" not in html
    assert "/invite/" in html


@pytest.mark.django_db
def test_it_rejects_an_unknown_role_with_a_message(alice_client, team):
    response = alice_client.post("/t/acme/members/invite/", {"role": "owner"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not team.invites.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("client_name", ["bob_client", "dave_client"])
def test_only_admins_can_invite(request, client_name, alice, team):
    client = request.getfixturevalue(client_name)
    response = client.post("/t/acme/members/invite/", {"role": "member"})
    assert response.status_code == 403
    assert not team.invites.exists()


@pytest.mark.django_db
def test_invite_creation_rejects_get(alice_client):
    assert alice_client.get("/t/acme/members/invite/").status_code == 405


@pytest.mark.django_db
def test_an_admin_revokes_an_invite(alice, alice_client, team):
    invite, token = Invite.create(team=team, role="member", note="x", created_by=alice)
    response = alice_client.post(f"/t/acme/invites/{invite.pk}/revoke/")
    assert response.status_code == 302
    assert Invite.find_pending(token) is None


@pytest.mark.django_db
def test_revoking_another_teams_invite_is_404(carol, carol_client, alice, team):
    invite, token = Invite.create(team=team, role="member", note="x", created_by=alice)
    assert carol_client.post(f"/t/other/invites/{invite.pk}/revoke/").status_code == 404
    assert carol_client.post(f"/t/acme/invites/{invite.pk}/revoke/").status_code == 404
    assert Invite.find_pending(token) == invite


@pytest.mark.django_db
def test_revoke_returns_the_invites_fragment_to_htmx(alice, alice_client, team):
    invite, _ = Invite.create(team=team, role="member", note="Zed", created_by=alice)
    response = alice_client.post(
        f"/t/acme/invites/{invite.pk}/revoke/", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="invites"')
    assert "Zed" not in html
