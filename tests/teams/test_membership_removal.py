"""Taking a member out of a team: their API tokens for it stop working in the
same transaction, whichever way the removal comes (the model method, the
admin's delete, the team page's inline). A member with credit history keeps
the row, marked removed (the ledger refers to it); one without goes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gallery.credits import ledger
from gallery.models import ApiToken, CreditAccount, Membership
from tests.api.conftest import Api, issue

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


def bobs(team) -> Membership:
    return Membership.objects.get(user__username="bob", team=team)


def test_removing_a_member_stops_their_tokens_and_ends_the_membership(alice, bob, team):
    tokens = [issue(bob, team, name="laptop"), issue(bob, team, name="ci")]
    alices = issue(alice, team)
    bobs(team).remove(by=alice)
    assert not Membership.objects.filter(user=bob, team=team).exists()
    assert [Api(t).get("/api/v1/balance").status_code for t in tokens] == [401, 401]
    assert Api(alices).get("/api/v1/balance").status_code == 200


def test_an_unused_credit_account_goes_with_the_membership(alice, bob, team):
    ledger.account_for(bobs(team))  # made by any page view; never granted anything
    bobs(team).remove(by=alice)
    assert not CreditAccount.objects.filter(membership__user=bob).exists()


def test_a_member_with_credit_history_is_marked_removed_and_keeps_everything(alice, bob, team):
    # The append-only ledger refers to the account, so the row stays, marked
    # removed: it grants nothing, and the history and balance stay.
    account = ledger.account_for(bobs(team))
    ledger.grant(account=account, amount=50, by=alice)
    plain = issue(bob, team)
    assert bobs(team).remove(by=alice) == 1
    kept = Membership.objects.get(user=bob, team=team)
    assert kept.removed_at is not None
    assert not Membership.objects.for_user(bob).exists()
    assert CreditAccount.objects.get(pk=account.pk).balance == 50
    assert account.entries.count() == 1
    assert ApiToken.objects.get().revoked_at is not None
    assert Api(plain).get("/api/v1/balance").status_code == 401


def test_removing_twice_is_harmless(alice, bob, team):
    ledger.grant(account=ledger.account_for(bobs(team)), amount=50, by=alice)
    bobs(team).remove(by=alice)
    first = bobs(team).removed_at
    assert bobs(team).remove(by=alice) == 0
    assert bobs(team).removed_at == first


def test_another_team_is_untouched(alice, bob, team, other_team):
    other = Membership.objects.create(team=other_team, user=bob, role="member")
    elsewhere = issue(bob, other_team)
    bobs(team).remove(by=alice)
    assert Membership.objects.filter(pk=other.pk).exists()
    assert Api(elsewhere).get("/api/v1/balance").status_code == 200


@pytest.fixture
def root_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def test_the_admins_delete_goes_through_remove(root_client, bob, team):
    plain = issue(bob, team)
    membership = bobs(team)
    response = root_client.post(
        f"/admin/gallery/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert Api(plain).get("/api/v1/balance").status_code == 401


def test_the_admins_bulk_delete_goes_through_remove(root_client, alice, bob, team):
    plain = issue(bob, team)
    response = root_client.post(
        "/admin/gallery/membership/",
        {"action": "delete_selected", "_selected_action": [bobs(team).pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=bob).exists()
    assert Api(plain).get("/api/v1/balance").status_code == 401


def test_the_admin_refuses_to_delete_a_member_with_credit_history(root_client, alice, bob, team):
    ledger.grant(account=ledger.account_for(bobs(team)), amount=50, by=alice)
    membership = bobs(team)
    response = root_client.post(
        f"/admin/gallery/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 200
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_deleting_a_member_on_the_teams_admin_page_goes_through_remove(
    root_client, alice, bob, team
):
    plain = issue(bob, team)
    page = root_client.get(f"/admin/gallery/team/{team.pk}/change/")
    data = form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
            if form.instance.user_id == bob.pk:
                data[f"{form.prefix}-DELETE"] = "on"
    response = root_client.post(f"/admin/gallery/team/{team.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(team.memberships.values_list("user__username", flat=True)) == ["alice"]
    assert Api(plain).get("/api/v1/balance").status_code == 401


def form_data(form) -> dict[str, str]:
    """What a browser would post for a bound-looking copy of this form's initial values."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        widget = field.widget
        if hasattr(widget, "widgets") and hasattr(widget, "decompress"):
            for n, part in enumerate(widget.decompress(value)):
                data[f"{form.add_prefix(name)}_{n}"] = "" if part is None else str(part)
        elif value is not None and value is not False:
            data[form.add_prefix(name)] = str(value)
    return data


def test_the_teams_admin_page_will_not_delete_its_last_admin(root_client, alice, bob, team):
    page = root_client.get(f"/admin/gallery/team/{team.pk}/change/")
    data = form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
            if form.instance.user_id == alice.pk:
                data[f"{form.prefix}-DELETE"] = "on"
    response = root_client.post(f"/admin/gallery/team/{team.pk}/change/", data)
    assert response.status_code == 200
    assert "A team keeps at least one admin." in response.content.decode()
    assert Membership.objects.filter(user=alice, team=team, removed_at__isnull=True).exists()
