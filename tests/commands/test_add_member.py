from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from gallery.models import ApiToken, LedgerEntry, Membership

pytestmark = pytest.mark.db_sensitive


def add_member(*args: str) -> str:
    out = StringIO()
    call_command("add_member", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_team_user_and_membership_and_prints_a_password():
    out = add_member("Design Team", "erin")
    membership = Membership.objects.select_related("team", "user").get()
    assert (membership.team.slug, membership.team.name) == ("design-team", "Design Team")
    assert membership.role == "member"
    password = out.split("password: ")[1].split()[0]
    assert membership.user.check_password(password)


@pytest.mark.django_db
def test_it_is_idempotent_and_keeps_the_password():
    add_member("demo", "erin", "--password", "first-pass-123")
    out = add_member("demo", "erin")
    assert "team demo: exists" in out and "user erin: exists" in out
    assert "password:" not in out
    assert User.objects.get(username="erin").check_password("first-pass-123")
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_admin_flag_promotes_an_existing_member():
    add_member("demo", "erin")
    add_member("demo", "erin", "--admin")
    assert Membership.objects.get().role == "admin"


@pytest.mark.django_db
def test_credits_are_granted_through_the_ledger_each_time():
    assert "credits: granted 500, balance 500" in add_member("demo", "erin", "--credits", "500")
    assert "credits: granted 250, balance 750" in add_member("demo", "erin", "--credits", "250")
    entries = LedgerEntry.objects.filter(account__membership__user__username="erin")
    assert sorted(entries.values_list("kind", "amount")) == [("grant", 250), ("grant", 500)]


@pytest.mark.django_db
def test_token_prints_a_new_working_token_and_stores_only_its_digest():
    out = add_member("demo", "erin", "--token")
    plain = out.split("token: ")[1].split()[0]
    assert plain.startswith("mjw_")
    token = ApiToken.find(plain)
    assert token is not None and token.is_active
    assert token.membership == Membership.objects.get(user__username="erin")
    assert plain not in {token.digest, token.prefix, token.name}
    second = add_member("demo", "erin", "--token").split("token: ")[1].split()[0]
    assert second != plain and ApiToken.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "erin", "--admin", "--viewer"], "--admin and --viewer exclude each other"),
        (["demo", "erin", "--credits", "-5"], "--credits must be a positive number"),
        (["!!!", "erin"], "cannot be a team name"),
    ],
)
def test_it_rejects_bad_options_with_a_message(args, message):
    with pytest.raises(CommandError, match=message):
        add_member(*args)
    assert not Membership.objects.exists()
