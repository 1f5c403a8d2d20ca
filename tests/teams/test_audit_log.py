"""The audit log: every money and people change recorded once, append-only,
read by team admins on a filterable page and in its own CSV."""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from gallery.credits import ledger
from gallery.models import ApiToken, AuditAction, AuditEntry, Membership
from gallery.teams import audit
from gallery.teams.models.audit import AppendOnly
from tests.teams.test_membership_removal import form_data

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
PAGE = "/t/acme/audit/"
CSV = "/t/acme/audit.csv"


@pytest.fixture
def bobs(bob, team) -> Membership:
    return Membership.objects.get(user=bob, team=team)


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def test_a_grant_and_an_adjustment_record_the_balance_before_and_after(
    alice_client, alice, bob, bobs
):
    alice_client.post(f"/t/acme/spend/members/{bobs.pk}/grant/", {"amount": "500", "reason": "Q3"})
    alice_client.post(
        f"/t/acme/spend/members/{bobs.pk}/adjust/", {"amount": "-200", "reason": "typo"}
    )
    [grant] = entries(AuditAction.GRANT)
    [adjust] = entries(AuditAction.ADJUST)
    assert (grant.actor, grant.subject, grant.team_id) == (alice, bob, bobs.team_id)
    assert (grant.before, grant.after) == (
        {"balance": 0},
        {"balance": 500, "amount": 500, "reason": "Q3"},
    )
    assert (adjust.before["balance"], adjust.after["balance"]) == (500, 300)


def test_a_refused_adjustment_records_nothing(alice_client, bobs):
    response = alice_client.post(
        f"/t/acme/spend/members/{bobs.pk}/adjust/", {"amount": "-5", "reason": "x"}
    )
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_grant_retried_with_the_same_key_is_recorded_once(alice, bobs):
    account = ledger.account_for(bobs)
    for _ in range(2):
        ledger.grant(account=account, amount=10, by=alice, key="once")
    assert len(entries(AuditAction.GRANT)) == 1


def test_member_and_team_limit_changes_record_only_what_changed(alice_client, alice, bobs):
    alice_client.post(
        f"/t/acme/spend/members/{bobs.pk}/limits/", {"monthly_limit": "900", "max_in_flight": "4"}
    )
    alice_client.post("/t/acme/spend/team-limit/", {"monthly_limit": "5000"})
    alice_client.post("/t/acme/spend/team-limit/", {"monthly_limit": "5000"})  # no change
    [member] = entries(AuditAction.MEMBER_LIMITS)
    assert (member.before, member.after) == ({"monthly_limit": None}, {"monthly_limit": 900})
    [team_entry] = entries(AuditAction.TEAM_LIMIT)
    assert (team_entry.before, team_entry.after) == (
        {"monthly_limit": None},
        {"monthly_limit": 5000},
    )
    assert team_entry.actor == alice


def test_a_role_change_and_a_removal_are_recorded(alice_client, alice, bob, bobs):
    ApiToken.issue(bobs, "laptop")
    alice_client.post(f"/t/acme/members/{bobs.pk}/role/", {"role": "viewer"})
    alice_client.post(f"/t/acme/members/{bobs.pk}/remove/")
    [role] = entries(AuditAction.ROLE)
    assert (role.before, role.after, role.subject) == ({"role": "member"}, {"role": "viewer"}, bob)
    [removal] = entries(AuditAction.REMOVE)
    assert removal.after == {"removed": True, "tokens_revoked": 1}
    [revoked] = entries(AuditAction.TOKEN_REVOKED)  # the removal's, by the admin
    assert (revoked.actor, revoked.subject) == (alice, bob)


def test_token_creation_and_each_revocation_are_recorded(bob_client, bob, bobs):
    bob_client.post("/t/acme/tokens/new/", {"name": "ci", "expires_in_days": "7"})
    ApiToken.issue(bobs, "spare")
    token = ApiToken.objects.get(name="ci")
    bob_client.post(f"/t/acme/tokens/{token.pk}/revoke/")
    bob_client.post("/t/acme/tokens/revoke-mine/")
    created = entries(AuditAction.TOKEN_CREATED)
    assert [e.target.split("”")[0] for e in created] == ["API token “ci", "API token “spare"]
    assert created[0].after["expires_at"] is not None and created[0].actor == bob
    revoked = entries(AuditAction.TOKEN_REVOKED)
    assert ["“ci”" in revoked[0].target, "“spare”" in revoked[1].target] == [True, True]
    assert len(revoked) == 2  # revoking all does not record the already revoked one again


def test_entries_cannot_be_changed_or_deleted_through_the_orm(alice, team):
    entry = audit.record(team, alice, AuditAction.GRANT, "x", {"balance": 0}, {"balance": 1})
    entry.target = "rewritten"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(target="rewritten")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).target == "x"


def test_an_unknown_action_is_refused(alice, team):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(team, alice, "teleport", "x")


# --- the page and its CSV ------------------------------------------------------------


def seed(alice, bob, team) -> None:
    audit.record(
        team, alice, AuditAction.GRANT, "bob's balance", {"balance": 0}, {"balance": 5}, subject=bob
    )
    audit.record(
        team,
        alice,
        AuditAction.ROLE,
        "bob's role",
        {"role": "member"},
        {"role": "viewer"},
        subject=bob,
    )
    audit.record(
        team, alice, AuditAction.TEAM_LIMIT, "the team's monthly limit", {}, {"monthly_limit": 9}
    )


def test_admins_see_every_entry_newest_first(alice_client, alice, bob, team):
    seed(alice, bob, team)
    response = alice_client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("the team&#x27;s monthly limit") < page.index("bob&#x27;s balance")
    assert "3 entries" in page


def test_the_page_filters_by_action_person_and_days(alice_client, alice, bob, carol, team):
    seed(alice, bob, team)
    audit.record(team, carol, AuditAction.GRANT, "someone else", subject=None)
    page = alice_client.get(PAGE, {"action": "grant", "member": bob.pk}).content.decode()
    assert "bob&#x27;s balance" in page and "bob&#x27;s role" not in page
    assert "someone else" not in page
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    page = alice_client.get(PAGE, {"since": tomorrow}).content.decode()
    assert 'id="audit-empty"' in page and "No entries match" in page


def test_a_bad_filter_is_named_next_to_its_field_with_400(alice_client, alice, bob, team):
    seed(alice, bob, team)
    response = alice_client.get(PAGE, {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 400
    assert 'id="until-error"' in response.content.decode()
    assert alice_client.get(PAGE, {"page": "zero"}).status_code == 400


def test_the_htmx_filter_answers_with_the_results_alone(alice_client, alice, bob, team):
    seed(alice, bob, team)
    html = alice_client.get(PAGE, {"action": "role"}, headers=HTMX).content.decode()
    assert html.lstrip().startswith('<section class="card" id="audit"')
    assert "bob&#x27;s role" in html and "<html" not in html


def test_members_and_viewers_are_refused_and_strangers_find_nothing(
    bob_client, dave_client, carol_client, client
):
    assert bob_client.get(PAGE).status_code == 403
    assert dave_client.get(CSV).status_code == 403
    assert carol_client.get(PAGE).status_code == 404
    assert client.get(PAGE).status_code == 302
    assert carol_client.post(PAGE).status_code == 405


def test_another_teams_entries_never_show(alice_client, alice, carol, other_team):
    audit.record(other_team, carol, AuditAction.GRANT, "their secret grant")
    assert "their secret grant" not in alice_client.get(PAGE).content.decode()
    assert "their secret grant" not in alice_client.get(CSV).getvalue().decode()


def test_the_csv_holds_the_filtered_entries_with_before_and_after(alice_client, alice, bob, team):
    seed(alice, bob, team)
    response = alice_client.get(CSV, {"action": "role"})
    assert response["Content-Disposition"] == 'attachment; filename="acme-audit.csv"'
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0] == ["when (UTC)", "who", "action", "what", "before", "after"]
    assert rows[1][1:] == ["alice", "Role changed", "bob's role", "role=member", "role=viewer"]
    assert len(rows) == 2


def test_a_bad_csv_filter_is_refused_before_any_line(alice_client):
    response = alice_client.get(CSV, {"since": "yesterday"})
    assert response.status_code == 400 and b"valid date" in response.content


def test_times_are_shown_in_the_teams_time_zone(alice_client, alice, team):
    team.time_zone = "Asia/Tokyo"
    team.save(update_fields=["time_zone"])
    entry = audit.record(team, alice, AuditAction.GRANT, "x")
    tokyo = timezone.localtime(entry.at, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo:%H:%M}" in alice_client.get(PAGE).content.decode()
    assert "Times are in Asia/Tokyo" in alice_client.get(PAGE).content.decode()


@pytest.fixture
def root_client(db) -> Client:
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Root-123!")
    client = Client()
    client.force_login(root)
    return client


def test_limit_and_role_edits_in_the_site_admin_are_recorded_too(root_client, bob, bobs, team):
    page = root_client.get(f"/admin/gallery/team/{team.pk}/change/")
    data = form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
            if form.instance.pk == bobs.pk:
                data[form.add_prefix("role")] = "viewer"
    data["monthly_limit"] = "777"
    response = root_client.post(f"/admin/gallery/team/{team.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    [limit] = entries(AuditAction.TEAM_LIMIT)
    assert (limit.before, limit.after) == ({"monthly_limit": None}, {"monthly_limit": 777})
    [role] = entries(AuditAction.ROLE)
    assert (role.before, role.after, role.subject) == ({"role": "member"}, {"role": "viewer"}, bob)
    assert role.actor.username == "root"
