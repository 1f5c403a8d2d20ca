"""Fixtures for the credit pages' tests (credits and spending are made through
the ledger by tests/factories.py)."""

from __future__ import annotations

import pytest

from tests.factories import fund

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """These tests sign in with force_login: a slow password hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def funded(alice, bob, dave, team):
    """alice and bob with 10,000 credits each (granted by alice); dave with none."""
    return {
        "alice": fund(alice, team, 10_000, by=alice),
        "bob": fund(bob, team, 10_000, by=alice),
    }
