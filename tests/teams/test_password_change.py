from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_member_changes_their_password(alice):
    client = Client()
    client.login(username="alice", password=PASSWORD)
    page = client.get("/accounts/password/").content.decode()
    assert "Change password" in page
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-phrase-42",
            "new_password2": "a-new-long-phrase-42",
        },
    )
    assert response.status_code == 302 and response.url == "/accounts/password/done/"
    assert not Client().login(username="alice", password=PASSWORD)
    assert Client().login(username="alice", password="a-new-long-phrase-42")


def test_a_wrong_old_password_is_refused_in_words(alice):
    client = Client()
    client.login(username="alice", password=PASSWORD)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "nope",
            "new_password1": "a-new-long-phrase-42",
            "new_password2": "a-new-long-phrase-42",
        },
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()


def test_sign_out_requires_post(alice_client):
    assert alice_client.get("/accounts/logout/").status_code == 405
    assert alice_client.post("/accounts/logout/").status_code == 302
    assert alice_client.get("/t/acme/").status_code == 302
