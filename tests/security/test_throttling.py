"""Sign-in throttling per account and per address; Generate's per-member limit."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from gallery import forms_auth
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
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
    assert found and 1 <= int(found.group(1)) <= 15
    assert "_auth_user_id" not in refused.client.session


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
    monkeypatch.setattr("gallery.views.jobs.SUBMITS_PER_MINUTE", 2)
    data = {"prompt": "a cat --s 9999", "speed": "fast"}
    for _ in range(2):
        assert alice_client.post("/t/acme/jobs/", data).status_code == 400  # refused, but counted
    response = alice_client.post("/t/acme/jobs/", data)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many jobs at once" in response.content.decode()
