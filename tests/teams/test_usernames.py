"""A new username may not look like an existing one (Unicode's confusables
skeleton, UTS #39), wherever usernames are made: the invite's join form,
`manage.py add_member` and the Django admin."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from gallery.models import Invite
from gallery.teams import usernames

pytestmark = pytest.mark.django_db

CYRILLIC_A = "\u0430"
CYRILLIC_ER = "\u0440"
GREEK_ALPHA = "\u03b1"
GREEK_OMICRON = "\u03bf"
FULLWIDTH_A = "\uff41"
MESSAGE = "This name looks like an existing member&#x27;s name; choose another."

LOOKALIKES = [
    ("alice", CYRILLIC_A + "lice"),  # Cyrillic a
    ("alice", GREEK_ALPHA + "lice"),  # Greek alpha
    ("paul", CYRILLIC_ER + CYRILLIC_A + "ul"),  # Cyrillic er and a
    ("oscar", GREEK_OMICRON + "scar"),  # Greek omicron
    ("alice", FULLWIDTH_A + "lice"),  # fullwidth a (NFKC makes it "alice")
    ("mallory", "rnallory"),  # r n for m: the table maps m to "rn"
    ("bob", "b0b"),  # digit zero: the table maps 0 to O
    ("alice", "a1ice"),  # digit one: the table maps 1 to l
    ("alice", "AIice"),  # capital I: mapped to l, then case folded
    ("alice", "ALICE"),  # case alone
]
DISTINCT = [("alice", "alicia"), ("bob", "rob"), ("erin", "eric"), ("mallory", "malory")]


@pytest.mark.parametrize(("existing", "new"), LOOKALIKES)
def test_lookalikes_share_a_skeleton(existing, new):
    assert usernames.looks_alike(existing, new)
    assert usernames.looks_alike(new, existing)


@pytest.mark.parametrize(("existing", "new"), DISTINCT)
def test_different_names_do_not(existing, new):
    assert not usernames.looks_alike(existing, new)


def test_the_skeleton_is_nfd_then_prototypes_then_nfd():
    # e with acute, precomposed or not, over a Cyrillic "ie" that looks like e
    assert usernames.skeleton("\u00e9") == usernames.skeleton("\u0435\u0301") == "e\u0301"


@pytest.mark.parametrize(("existing", "new"), LOOKALIKES[:4] + LOOKALIKES[5:9])
def test_the_invite_join_form_refuses_a_lookalike_next_to_the_field(alice, team, existing, new):
    if existing != "alice":
        User.objects.create_user(existing)
    _, token = Invite.create(team=team, role="member", note="", created_by=alice)
    response = Client().post(
        f"/invite/{token}/",
        {"username": new, "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert MESSAGE in page
    assert 'id="id_username_error"' in page  # in place, next to the field
    assert not User.objects.filter(username=new).exists()


def test_the_join_form_still_takes_a_distinct_name(alice, team):
    _, token = Invite.create(team=team, role="member", note="", created_by=alice)
    response = Client().post(
        f"/invite/{token}/",
        {
            "username": "alicia",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(username="alicia").exists()


def test_add_member_refuses_a_lookalike_of_an_existing_user(alice):
    with pytest.raises(CommandError, match="looks like an existing member's name"):
        call_command("add_member", "acme", CYRILLIC_A + "lice", stdout=StringIO())
    assert User.objects.count() == 1


def test_add_member_stores_the_name_as_sign_in_will_read_it(db):
    call_command("add_member", "acme", FULLWIDTH_A + "lice", stdout=StringIO())
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


def test_add_member_still_adds_an_existing_user_to_another_team(alice):
    call_command("add_member", "other", "alice", stdout=StringIO())
    assert User.objects.get().memberships.count() == 2


@pytest.fixture
def root_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def test_the_admin_refuses_to_create_a_lookalike_user(root_client, alice):
    response = root_client.post(
        "/admin/auth/user/add/",
        {
            "username": GREEK_ALPHA + "lice",
            "usable_password": "true",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not User.objects.filter(username=GREEK_ALPHA + "lice").exists()


def rename_in_admin(client: Client, user: User, username: str):
    page = client.get(f"/admin/auth/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {"username": username, "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00"}
    for name in ("first_name", "last_name", "email", "is_active"):
        if form[name].value():
            data[name] = form[name].value()
    return client.post(f"/admin/auth/user/{user.pk}/change/", data)


def test_the_admin_refuses_to_rename_a_user_to_a_lookalike(root_client, alice, bob):
    response = rename_in_admin(root_client, bob, "a1ice")
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    bob.refresh_from_db()
    assert bob.username == "bob"
    assert rename_in_admin(root_client, bob, "bobby").status_code == 302
    assert (
        rename_in_admin(root_client, User.objects.get(username="bobby"), "bobby").status_code == 302
    )
