"""Sign-in throttling per account and per address; Generate's per-member limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from gallery.api.views import api
from gallery.models import ApiToken, Membership
from gallery.teams import forms_auth
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]  # name lookups differ


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # many sign-ins
    cache.clear()
    yield
    cache.clear()


def sign_in(password: str, username: str = "alice", address: str = "10.1.1.1"):
    return Client(REMOTE_ADDR=address).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def test_an_account_is_paused_after_too_many_failures_even_with_the_right_password(alice):
    for _ in range(forms_auth.PER_ACCOUNT):
        assert sign_in("wrong").status_code == 200
    refused = sign_in(PASSWORD, address="10.9.9.9")
    assert refused.status_code == 200
    found = re.search(
        r"Too many failed sign-ins for this account\. Try again in (\d+) minutes?\.",
        refused.content.decode(),
    )
    assert found and int(found.group(1)) == 12  # the clock is 3 minutes into the 15
    assert "_auth_user_id" not in refused.client.session


def test_the_account_count_starts_again_when_the_next_window_begins(alice, throttle_clock):
    for _ in range(forms_auth.PER_ACCOUNT):
        sign_in("wrong")
    window_ends = datetime(2026, 3, 1, 12, 15, 0, tzinfo=UTC)
    throttle_clock.at = window_ends - timedelta(seconds=1)
    last_second = sign_in(PASSWORD, address="10.9.9.9")
    assert "Try again in 1 minute." in last_second.content.decode()
    assert "_auth_user_id" not in last_second.client.session
    throttle_clock.at = window_ends
    assert sign_in(PASSWORD, address="10.9.9.9").status_code == 302


def test_a_success_before_the_limit_signs_in(alice):
    for _ in range(forms_auth.PER_ACCOUNT - 1):
        sign_in("wrong")
    assert sign_in(PASSWORD).status_code == 302


def test_an_address_is_paused_after_failing_across_many_accounts(alice):
    for n in range(forms_auth.PER_ADDRESS):
        sign_in("wrong", username=f"guess{n}")
    refused = sign_in(PASSWORD, address="10.1.1.1")
    assert "Too many failed sign-ins for this address." in refused.content.decode()
    assert sign_in(PASSWORD, address="10.2.2.2").status_code == 302  # another address is fine


def test_usernames_are_counted_without_regard_to_case(alice):
    for n in range(forms_auth.PER_ACCOUNT):
        sign_in("wrong", username="ALICE" if n % 2 else "alice", address=f"10.0.0.{n}")
    assert "for this account" in sign_in(PASSWORD, address="10.3.3.3").content.decode()


def test_generate_answers_429_with_retry_after_past_the_member_limit(alice_client, monkeypatch):
    monkeypatch.setattr("gallery.studio.views.jobs.SUBMITS_PER_MINUTE", 2)
    data = {"prompt": "a cat --s 9999", "speed": "fast"}
    for _ in range(2):
        assert alice_client.post("/t/acme/jobs/", data).status_code == 400  # refused, but counted
    response = alice_client.post("/t/acme/jobs/", data)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"  # the clock is on a minute boundary
    assert "Too many jobs at once" in response.content.decode()


# --- one identity, however it is spelled ------------------------------------------------


def fullwidth(text: str) -> str:
    """ASCII letters as their fullwidth forms, which NFKC turns back into ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@pytest.mark.parametrize(
    "spelling", [fullwidth("a") + "lice", fullwidth("alice"), fullwidth("ALICE"), "Alice"]
)
def test_failures_under_another_spelling_count_against_the_same_account(alice, spelling):
    # Django signs a fullwidth "alice" in as alice: it normalises with NFKC first.
    for n in range(forms_auth.PER_ACCOUNT):
        sign_in("wrong", username=spelling if n % 2 else "alice", address=f"10.0.1.{n}")
    refused = sign_in(PASSWORD, username=fullwidth("a") + "lice", address="10.3.3.3")
    assert "Too many failed sign-ins for this account." in refused.content.decode()
    assert "_auth_user_id" not in refused.client.session
    assert "for this account" in sign_in(PASSWORD, address="10.3.3.4").content.decode()


def test_a_fullwidth_spelling_still_signs_in_when_not_throttled(alice):
    assert sign_in(PASSWORD, username=fullwidth("alice")).status_code == 302


def test_successful_sign_ins_do_not_use_up_the_account_limit(alice):
    for _ in range(forms_auth.PER_ACCOUNT + 5):
        assert sign_in(PASSWORD).status_code == 302
    for _ in range(forms_auth.PER_ACCOUNT - 1):
        sign_in("wrong")
    assert sign_in(PASSWORD).status_code == 302


def test_refused_attempts_do_not_use_up_the_address_limit(alice, bob):
    for _ in range(forms_auth.PER_ACCOUNT):
        sign_in("wrong", username="bob", address="10.4.4.4")
    for _ in range(forms_auth.PER_ADDRESS):  # bob keeps trying, refused without a check
        assert "for this account" in sign_in(PASSWORD, "bob", "10.4.4.4").content.decode()
    assert sign_in(PASSWORD, "alice", "10.4.4.4").status_code == 302  # alice shares the office


# --- the admin's sign-in page -----------------------------------------------------------


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


def admin_sign_in(password: str, username: str = "root", address: str = "10.5.5.5"):
    return Client(REMOTE_ADDR=address).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )


def test_the_admin_sign_in_pauses_an_account_after_too_many_failures(root):
    for _ in range(forms_auth.PER_ACCOUNT):
        assert admin_sign_in("wrong").status_code == 200
    refused = admin_sign_in(PASSWORD, address="10.6.6.6")
    assert refused.status_code == 200
    assert re.search(
        r"Too many failed sign-ins for this account\. Try again in \d+ minutes?\.",
        refused.content.decode(),
    )
    assert "_auth_user_id" not in refused.client.session


def test_the_admin_and_the_site_sign_in_share_one_count(root):
    for n in range(forms_auth.PER_ACCOUNT):
        (sign_in if n % 2 else admin_sign_in)("wrong", username="root", address=f"10.0.2.{n}")
    assert "for this account" in admin_sign_in(PASSWORD, username="ROOT").content.decode()


def test_the_admin_sign_in_still_works(root):
    response = admin_sign_in(PASSWORD)
    assert response.status_code == 302 and response.url == "/admin/"


# --- the old password on the password change page --------------------------------------


def change_password(client: Client, old: str):
    new = "a-new-long-phrase-42"
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def test_wrong_old_passwords_count_against_the_account(alice):
    client = Client(REMOTE_ADDR="10.8.8.8")
    client.force_login(alice)
    for _ in range(forms_auth.PER_ACCOUNT):
        assert "entered incorrectly" in change_password(client, "wrong").content.decode()
    refused = change_password(client, PASSWORD)
    assert refused.status_code == 200
    assert re.search(
        r"Too many wrong passwords for this account\. Try again in \d+ minutes?\.",
        refused.content.decode(),
    )
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # unchanged
    assert "for this account" in sign_in(PASSWORD, address="10.9.9.1").content.decode()


def test_failed_sign_ins_also_pause_the_password_change(alice):
    for _ in range(forms_auth.PER_ACCOUNT):
        sign_in("wrong")
    client = Client(REMOTE_ADDR="10.8.8.9")
    client.force_login(alice)
    assert "Too many wrong passwords" in change_password(client, PASSWORD).content.decode()


# --- bearer tokens on the team API ------------------------------------------------------


def test_failed_token_attempts_from_one_address_are_refused_with_429(alice, team):
    plain = ApiToken.issue(Membership.objects.get(user=alice), "cli")[1]

    def balance(token: str, address: str = "10.10.0.1"):
        return Client(REMOTE_ADDR=address).get(
            "/api/v1/balance", headers={"Authorization": f"Bearer {token}"}
        )

    for _ in range(api.AUTH_FAILURES_PER_ADDRESS * 2):  # good tokens do not count
        assert balance(plain).status_code == 200
    for n in range(api.AUTH_FAILURES_PER_ADDRESS):
        assert balance(f"mjw_guess{n}").status_code == 401
    refused = balance(plain)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= forms_auth.WINDOW
    body = refused.json()["error"]
    assert re.match(
        r"Too many failed token attempts from this address\. Try again in \d+ minutes?\.",
        body["message"],
    )
    assert balance(plain, address="10.10.0.2").status_code == 200


def test_revoked_and_expired_tokens_are_refused_without_counting_as_guesses(alice, team):
    membership = Membership.objects.get(user=alice)
    old, old_plain = ApiToken.issue(membership, "old")
    old.revoke()
    plain = ApiToken.issue(membership, "cli")[1]
    client = Client(REMOTE_ADDR="10.11.0.1")
    for _ in range(api.AUTH_FAILURES_PER_ADDRESS + 1):
        revoked = client.get("/api/v1/balance", headers={"Authorization": f"Bearer {old_plain}"})
        assert revoked.status_code == 401
    response = client.get("/api/v1/balance", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200


def test_a_sign_in_past_the_processs_password_checks_is_told_to_retry_and_not_counted(
    alice, settings
):
    from gallery.teams import passwords

    settings.MJWEB_PASSWORD_CHECKS_PER_PROCESS = 1
    with passwords.checking() as admitted:  # another request is checking a password
        assert admitted
        busy = sign_in(PASSWORD)
        for _ in range(forms_auth.PER_ACCOUNT):  # none of these is a failed attempt
            sign_in("wrong")
    assert "Too many sign-ins are being checked right now." in busy.content.decode()
    assert "_auth_user_id" not in busy.client.session
    assert sign_in(PASSWORD).status_code == 302  # the check is free again; nothing counted
