"""Tokens and a token-holding client for the team API's tests (jobs and credits
come from tests/factories.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from gallery.models import ApiToken
from tests.factories import fund, membership

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    """Own media directory, fast password hashing, an empty rate-limit cache."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def issue(user, team, *, name: str = "script", expires_in: timedelta | None = None) -> str:
    return ApiToken.issue(membership(user, team), name, expires_in=expires_in)[1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """A test client that speaks to the team API with one token."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.client = Client()

    def headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {**(auth(self.token) if self.token else {}), **extra}

    def post(self, path: str, body=None, *, raw: bytes | None = None, **headers: str):
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            path, data, content_type="application/json", headers=self.headers(headers)
        )

    def get(self, path: str, **headers: str):
        return self.client.get(path, headers=self.headers(headers))

    def create(self, body=None, **headers: str):
        return self.post("/api/v1/images/generations", body or GENERATE, **headers)


GENERATE = {
    "model": "mj-v7",
    "prompt": "a lighthouse at dusk --ar 16:9",
    "model_params": {"speed": "fast"},
}


@pytest.fixture
def alice_api(alice, team) -> Api:
    fund(alice, team)
    return Api(issue(alice, team))


@pytest.fixture
def bob_api(bob, team) -> Api:
    fund(bob, team)
    return Api(issue(bob, team))


@pytest.fixture
def carol_api(carol, other_team) -> Api:
    fund(carol, other_team)
    return Api(issue(carol, other_team))


@pytest.fixture
def dave_api(dave, team) -> Api:
    return Api(issue(dave, team))


class Clock:
    """A controlled `django.utils.timezone.now`: it moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    controlled = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: controlled.now)
    return controlled
