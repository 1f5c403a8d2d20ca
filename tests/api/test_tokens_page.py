"""The API tokens page: create (shown once), list, revoke; admins see the team's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from gallery.api.models.tokens import token_digest
from gallery.api.views.tokens import MAX_ACTIVE_TOKENS
from gallery.models import ApiToken
from tests.api.conftest import HTMX, Api, issue
from tests.conftest import PASSWORD
from tests.factories import membership

pytestmark = pytest.mark.django_db

PAGE = "/t/acme/tokens/"
NEW = "/t/acme/tokens/new/"


def revoke_url(token: ApiToken) -> str:
    return f"/t/acme/tokens/{token.pk}/revoke/"


def shown_token(response) -> str:
    match = re.search(r'value="(mjw_[A-Za-z0-9_-]+)"', response.content.decode())
    assert match, "no token on the page"
    return match.group(1)


# --- listing ---------------------------------------------------------------------------


def test_a_member_sees_their_own_tokens_and_no_one_elses(bob_client, alice, bob, team):
    issue(bob, team, name="bob-laptop")
    issue(alice, team, name="alice-render-farm")
    response = bob_client.get(PAGE)
    page = response.content.decode()
    assert response.status_code == 200
    assert "bob-laptop" in page and "alice-render-farm" not in page
    assert "team-tokens-heading" not in page


def test_an_admin_also_sees_every_other_members_token_but_no_other_teams(
    alice_client, alice, bob, carol, team, other_team
):
    issue(alice, team, name="alice-cli")
    issue(bob, team, name="bob-laptop")
    issue(carol, other_team, name="carol-secret-project")
    page = alice_client.get(PAGE).content.decode()
    assert "alice-cli" in page and "bob-laptop" in page
    assert "Revoke token bob-laptop of bob" in page
    assert "carol-secret-project" not in page


def test_the_list_shows_the_prefix_expiry_and_last_use_but_never_the_token(
    alice_client, alice, team
):
    plain = issue(alice, team, name="cli", expires_in=timedelta(days=30))
    Api(plain).get("/api/v1/balance")
    token = ApiToken.objects.get()
    page = alice_client.get(PAGE).content.decode()
    assert f"{token.prefix}…" in page
    assert "last used" in page and "expires" in page
    assert plain not in page and token.digest not in page


def test_revoked_tokens_leave_the_list_and_expired_ones_say_so(alice_client, alice, team):
    issue(alice, team, name="gone")
    issue(alice, team, name="old")
    ApiToken.objects.get(name="gone").revoke()
    ApiToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(days=1))
    page = alice_client.get(PAGE).content.decode()
    assert "gone" not in page
    assert "old" in page and "Expired" in page


def test_an_htmx_get_returns_just_the_token_panel(alice_client):
    response = alice_client.get(PAGE, headers=HTMX)
    assert response.status_code == 200
    assert b'id="api-tokens"' in response.content and b"<html" not in response.content


def test_a_stranger_gets_a_404(carol_client, alice):
    assert carol_client.get(PAGE).status_code == 404


def test_anonymous_people_are_sent_to_sign_in(client, alice):
    for response in (client.get(PAGE), client.post(NEW, {"name": "x"})):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- creating -----------------------------------------------------------------------------


def test_creating_a_token_shows_it_once_and_stores_only_its_digest(alice_client, alice, team):
    response = alice_client.post(NEW, {"name": "render farm"})
    assert response.status_code == 200
    plain = shown_token(response)
    assert plain.startswith("mjw_") and len(plain) > 40
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert (token.name, token.membership) == ("render farm", membership(alice, team))
    assert token.digest == token_digest(plain) and token.prefix == plain[:12]
    assert token.expires_at is None
    assert plain not in alice_client.get(PAGE).content.decode()  # shown only once
    assert Api(plain).get("/api/v1/balance").status_code == 200


def test_a_token_can_carry_an_expiry_in_days(alice_client):
    alice_client.post(NEW, {"name": "short-lived", "expires_in_days": "7"})
    left = ApiToken.objects.get().expires_at - timezone.now()
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)


def test_an_htmx_create_returns_the_panel_with_the_new_token(alice_client):
    response = alice_client.post(NEW, {"name": "htmx"}, headers=HTMX)
    assert response.status_code == 200 and b"<html" not in response.content
    assert shown_token(response).startswith("mjw_")


@pytest.mark.parametrize(
    "data", [{"name": ""}, {"name": "x" * 101}, {"name": "a", "expires_in_days": "0"}]
)
def test_an_invalid_form_is_a_400_and_makes_nothing(alice_client, data):
    response = alice_client.post(NEW, data)
    assert response.status_code == 400 and b"field-error" in response.content
    assert not ApiToken.objects.exists()


def test_there_is_a_cap_on_active_tokens(alice_client, alice, team):
    for n in range(MAX_ACTIVE_TOKENS):
        issue(alice, team, name=f"t{n}")
    response = alice_client.post(NEW, {"name": "one more"})
    assert response.status_code == 400 and b"revoke one" in response.content
    assert ApiToken.objects.count() == MAX_ACTIVE_TOKENS


def test_a_viewer_can_make_a_token_to_read_with(dave_client):
    assert dave_client.post(NEW, {"name": "dashboard"}).status_code == 200


# --- revoking ----------------------------------------------------------------------------------


def test_a_member_revokes_their_own_token_and_the_api_refuses_it(bob_client, bob, team):
    plain = issue(bob, team, name="laptop")
    token = ApiToken.objects.get()
    response = bob_client.post(revoke_url(token))
    assert response.status_code == 302 and response["Location"] == PAGE
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == bob
    assert Api(plain).get("/api/v1/balance").status_code == 401


def test_a_member_cannot_revoke_a_teammates_token(bob_client, alice, team):
    issue(alice, team)
    assert bob_client.post(revoke_url(ApiToken.objects.get())).status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_an_admin_revokes_a_members_token(alice_client, alice, bob, team):
    issue(bob, team)
    assert alice_client.post(revoke_url(ApiToken.objects.get())).status_code == 302
    assert ApiToken.objects.get().revoked_by == alice


def test_another_teams_token_is_a_404_even_for_an_admin(alice_client, carol, other_team):
    issue(carol, other_team)
    assert alice_client.post(revoke_url(ApiToken.objects.get())).status_code == 404


def test_revoking_twice_is_a_404(alice_client, alice, team):
    issue(alice, team)
    token = ApiToken.objects.get()
    alice_client.post(revoke_url(token))
    assert alice_client.post(revoke_url(token)).status_code == 404


def test_an_htmx_revoke_returns_the_panel_without_the_token(alice_client, alice, team):
    issue(alice, team, name="to-go")
    response = alice_client.post(revoke_url(ApiToken.objects.get()), headers=HTMX)
    assert response.status_code == 200 and b"<html" not in response.content
    assert b"to-go" not in response.content


# --- methods ---------------------------------------------------------------------------------


def test_each_url_takes_only_its_method(alice_client, alice, team):
    issue(alice, team)
    assert alice_client.post(PAGE).status_code == 405
    assert alice_client.get(NEW).status_code == 405
    assert alice_client.get(revoke_url(ApiToken.objects.get())).status_code == 405


# --- revoking all of one's own tokens -----------------------------------------------------

REVOKE_MINE = "/t/acme/tokens/revoke-mine/"


def test_revoke_all_revokes_every_token_of_mine_in_this_team_and_no_one_elses(
    bob_client, alice, bob, team, other_team
):
    mine = [issue(bob, team, name=f"bob-{n}") for n in range(3)]
    alices = issue(alice, team, name="alice-cli")
    other_team.memberships.create(user=bob, role="member")
    elsewhere = issue(bob, other_team, name="bob-elsewhere")
    assert "Revoke all my tokens" in bob_client.get(PAGE).content.decode()
    response = bob_client.post(REVOKE_MINE)
    assert response.status_code == 302 and response["Location"] == PAGE
    assert "Revoked 3 tokens" in bob_client.get(PAGE).content.decode()
    assert [Api(p).get("/api/v1/balance").status_code for p in mine] == [401] * 3
    assert Api(alices).get("/api/v1/balance").status_code == 200
    assert Api(elsewhere).get("/api/v1/balance").status_code == 200
    assert set(
        ApiToken.objects.filter(revoked_at__isnull=False).values_list("revoked_by", flat=True)
    ) == {bob.pk}


def test_an_htmx_revoke_all_returns_the_panel_without_my_tokens(alice_client, alice, team):
    issue(alice, team, name="first")
    issue(alice, team, name="second")
    response = alice_client.post(REVOKE_MINE, headers=HTMX)
    assert response.status_code == 200 and b"<html" not in response.content
    assert b"first" not in response.content and b"second" not in response.content


def test_the_revoke_all_button_shows_only_when_there_is_something_to_revoke(alice_client):
    assert "Revoke all my tokens" not in alice_client.get(PAGE).content.decode()


def test_revoke_all_takes_only_post_and_a_member_of_the_team(alice_client, carol_client, alice):
    assert alice_client.get(REVOKE_MINE).status_code == 405
    assert carol_client.post(REVOKE_MINE).status_code == 404


# --- tokens that outlive their owner's standing --------------------------------------------


def test_a_deactivated_members_token_reads_nothing(alice, team):
    plain = issue(alice, team)
    api = Api(plain)
    assert api.get("/api/v1/balance").status_code == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert api.get("/api/v1/balance").status_code == 401
    assert api.get("/api/v1/tasks/task-unified-1").status_code == 401


def test_changing_the_password_can_revoke_every_token_in_every_team(
    bob, bob_client, team, other_team
):
    other_team.memberships.create(user=bob, role="member")
    tokens = [issue(bob, team), issue(bob, team), issue(bob, other_team)]
    new = "a-new-long-phrase-42"
    data = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    assert "Also revoke all my API tokens" in bob_client.get("/accounts/password/").content.decode()
    response = bob_client.post("/accounts/password/", {**data, "revoke_tokens": "on"})
    assert response.status_code == 302
    assert "Revoked 3 API tokens" in bob_client.get(response.url).content.decode()
    assert [Api(p).get("/api/v1/balance").status_code for p in tokens] == [401] * 3


def test_changing_the_password_alone_leaves_tokens_working_and_says_so(bob, bob_client, team):
    plain = issue(bob, team)
    new = "a-new-long-phrase-42"
    data = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    response = bob_client.post("/accounts/password/", data)
    assert "any you did not revoke still work" in bob_client.get(response.url).content.decode()
    assert Api(plain).get("/api/v1/balance").status_code == 200
