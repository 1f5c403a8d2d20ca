"""Admins change a member's role and remove a member on the members page.

A removed member with credit history keeps their row (the ledger refers to
it), marked removed: it grants nothing anywhere, their jobs and ledger stay,
their credits stay in their account, and a new invite brings them back."""

from __future__ import annotations

import pytest

from gallery.credits import ledger
from gallery.models import CreditAccount, Invite, Job, Membership, Role
from tests.api.conftest import Api, issue
from tests.factories import finished_job

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]

HTMX = {"HX-Request": "true"}


def of(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def funded(user, team, by, amount: int = 1200) -> Membership:
    membership = of(user, team)
    ledger.grant(account=ledger.account_for(membership), amount=amount, by=by)
    return membership


# --- change_role -------------------------------------------------------------


def test_change_role_sets_the_new_role(alice, bob, team):
    of(bob, team).change_role(Role.VIEWER, by=alice)
    assert of(bob, team).role == Role.VIEWER


def test_the_last_admin_cannot_be_demoted(alice, bob, team):
    with pytest.raises(Membership.CannotChangeRole, match="last admin"):
        of(alice, team).change_role(Role.MEMBER, by=alice)
    assert of(alice, team).role == Role.ADMIN


def test_an_admin_may_step_down_when_another_admin_remains(alice, bob, team):
    of(bob, team).change_role(Role.ADMIN, by=alice)
    of(alice, team).change_role(Role.MEMBER, by=alice)
    assert of(alice, team).role == Role.MEMBER


def test_a_removed_admin_does_not_count_as_the_other_admin(alice, bob, team):
    bobs = funded(bob, team, alice)
    bobs.change_role(Role.ADMIN, by=alice)
    of(bob, team).remove(by=alice)
    with pytest.raises(Membership.CannotChangeRole):
        of(alice, team).change_role(Role.VIEWER, by=alice)


def test_an_unknown_role_is_refused(alice, bob, team):
    with pytest.raises(Membership.CannotChangeRole, match="admin, member or viewer"):
        of(bob, team).change_role("owner", by=alice)


def test_the_role_form_changes_the_role_and_answers_htmx_with_the_list(alice_client, bob, team):
    bobs = of(bob, team)
    response = alice_client.post(
        f"/t/acme/members/{bobs.pk}/role/", {"role": "viewer"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="members"' in html
    assert of(bob, team).role == Role.VIEWER


def test_demoting_the_last_admin_is_refused_in_place(alice_client, alice, team):
    alices = of(alice, team)
    response = alice_client.post(
        f"/t/acme/members/{alices.pk}/role/", {"role": "member"}, headers=HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "last admin" in html and 'id="members"' in html
    assert of(alice, team).role == Role.ADMIN


def test_only_admins_change_roles(bob_client, dave_client, alice, bob, team):
    alices = of(alice, team)
    for client in (bob_client, dave_client):
        assert (
            client.post(f"/t/acme/members/{alices.pk}/role/", {"role": "viewer"}).status_code == 403
        )
    assert of(alice, team).role == Role.ADMIN


def test_another_teams_member_is_404(alice_client, carol, other_team):
    carols = of(carol, other_team)
    url = f"/t/acme/members/{carols.pk}/"
    assert alice_client.post(url + "role/", {"role": "viewer"}).status_code == 404
    assert alice_client.post(url + "remove/").status_code == 404
    assert of(carol, other_team).role == Role.ADMIN and of(carol, other_team).removed_at is None


def test_member_actions_refuse_get(alice_client, bob, team):
    bobs = of(bob, team)
    assert alice_client.get(f"/t/acme/members/{bobs.pk}/role/").status_code == 405
    assert alice_client.get(f"/t/acme/members/{bobs.pk}/remove/").status_code == 405


def test_anonymous_is_sent_to_sign_in(client, bob, team):
    bobs = of(bob, team)
    response = client.post(f"/t/acme/members/{bobs.pk}/remove/")
    assert response.status_code == 302 and "/login" in response["Location"]
    assert of(bob, team).removed_at is None


# --- remove ------------------------------------------------------------------


def test_removing_a_member_with_credit_history_marks_the_row_removed(alice, bob, team):
    bobs = funded(bob, team, alice)
    job = finished_job(bob, team, images=1)
    plain = issue(bob, team)
    bobs.remove(by=alice)
    kept = Membership.objects.get(pk=bobs.pk)
    assert kept.removed_at is not None
    assert CreditAccount.objects.get(membership=kept).balance == 1200  # stays theirs
    assert Job.objects.filter(pk=job.pk).exists()
    assert Api(plain).get("/api/v1/balance").status_code == 401


def test_a_removed_member_reaches_nothing_of_the_team(alice, bob, bob_client, team):
    funded(bob, team, alice).remove(by=alice)
    assert not Membership.objects.for_user(bob).exists()
    assert bob_client.get("/t/acme/").status_code == 404
    assert bob_client.get("/t/acme/members/").status_code == 404
    assert "/t/acme/" not in bob_client.get("/").get("Location", "")


def test_the_last_admin_cannot_be_removed(alice, team):
    with pytest.raises(Membership.CannotRemove, match="last admin"):
        of(alice, team).remove(by=alice)
    assert of(alice, team).removed_at is None


def test_the_remove_form_says_what_happens_to_the_credits(alice_client, alice, bob, team):
    funded(bob, team, alice)
    html = alice_client.get("/t/acme/members/").content.decode()
    assert "bob has 1,200 credits" in html
    assert "they stay in bob's account and come back if bob rejoins" in html


def test_removing_on_the_page_lists_them_as_a_former_member(alice_client, alice, bob, team):
    bobs = funded(bob, team, alice)
    response = alice_client.post(f"/t/acme/members/{bobs.pk}/remove/", headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Former members" in html and "bob" in html.split("Former members", 1)[1]
    assert of(bob, team).removed_at is not None
    page = alice_client.get("/t/acme/members/").content.decode()
    assert "1 member." in page and "Former members" in page  # alice alone now


def test_removing_the_last_admin_on_the_page_is_refused_in_place(alice_client, alice, team):
    alices = of(alice, team)
    response = alice_client.post(f"/t/acme/members/{alices.pk}/remove/", headers=HTMX)
    assert response.status_code == 400
    assert "last admin" in response.content.decode()
    assert of(alice, team).removed_at is None


def test_only_admins_remove_members(bob_client, alice, dave, team):
    daves = of(dave, team)
    assert bob_client.post(f"/t/acme/members/{daves.pk}/remove/").status_code == 403
    assert of(dave, team).removed_at is None


def test_a_new_invite_brings_a_removed_member_back_with_their_credits(alice, bob, bob_client, team):
    funded(bob, team, alice).remove(by=alice)
    _, token = Invite.create(team=team, role="viewer", note="bob again", created_by=alice)
    response = bob_client.post(f"/invite/{token}/")
    assert response.status_code == 302
    back = of(bob, team)
    assert back.removed_at is None and back.role == Role.VIEWER
    assert back.account.balance == 1200
    assert bob_client.get("/t/acme/").status_code == 200


def test_add_member_brings_a_removed_member_back(alice, bob, team):
    from io import StringIO

    from django.core.management import call_command

    funded(bob, team, alice).remove(by=alice)
    call_command("add_member", team.slug, "bob", stdout=StringIO())
    back = of(bob, team)
    assert back.removed_at is None and back.account.balance == 1200


def test_the_django_admin_will_not_delete_a_teams_last_admin(alice, team):
    from django.contrib.auth.models import User
    from django.test import Client

    root = Client()
    root.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    alices = of(alice, team)
    response = root.post(f"/admin/gallery/membership/{alices.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302  # back to the list, with the refusal as a message
    assert Membership.objects.filter(pk=alices.pk, removed_at__isnull=True).exists()
    page = root.get(response["Location"]).content.decode()
    assert "last admin" in page


def test_members_see_former_members_but_not_their_balance(alice, bob, bob_client, dave, team):
    funded(dave, team, alice).remove(by=alice)
    html = bob_client.get("/t/acme/members/").content.decode()
    former = html.split("Former members", 1)[1]
    assert "dave" in former and "1,200" not in html
    assert "Remove…" not in html and "Change role" not in html


def test_without_htmx_a_refusal_comes_back_on_the_whole_page(alice_client, alice, bob, team):
    bobs = of(bob, team)
    response = alice_client.post(f"/t/acme/members/{bobs.pk}/role/", {"role": "owner"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html and "A role is admin, member or viewer." in html
    assert f'aria-describedby="member-error-{bobs.pk}"' in html
    done = alice_client.post(f"/t/acme/members/{bobs.pk}/role/", {"role": "viewer"})
    assert done.status_code == 302 and done["Location"] == "/t/acme/members/"
