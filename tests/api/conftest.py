"""Tokens, credits and finished jobs for the team API's tests."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image as PILImage

from gallery import ledger
from gallery.models import ApiToken, Image, Job, Membership

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    """Own media directory, fast password hashing, an empty rate-limit cache."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def membership(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def issue(user, team, *, name: str = "script", expires_in: timedelta | None = None) -> str:
    return ApiToken.issue(membership(user, team), name, expires_in=expires_in)[1]


def fund(user, team, amount: int = 10_000):
    account = ledger.account_for(membership(user, team))
    ledger.grant(account=account, amount=amount, by=user, reason="test credits")
    return account


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


def png(color: tuple[int, int, int] = (200, 40, 40), size: int = 16) -> bytes:
    data = io.BytesIO()
    PILImage.new("RGB", (size, size), color).save(data, "PNG")
    return data.getvalue()


def finished_job(
    user,
    team,
    *,
    status: str = Job.Status.COMPLETED,
    images: int = 4,
    operation: str = "mj-v7",
    speed: str = "fast",
    provider: str = "evolink",
    **fields,
) -> Job:
    """A job that ran to the end, with stored images (real PNG files)."""
    job = Job.objects.create(
        team=team,
        user=user,
        provider=provider,
        operation=operation,
        speed=speed,
        prompt="a cat --ar 1:1",
        status=status,
        progress=100 if status == Job.Status.COMPLETED else 0,
        upstream_id=f"task-unified-upstream-{user.pk}-{Job.objects.count()}",
        credits_reserved=80,
        credits_charged=80 if status == Job.Status.COMPLETED else 0,
        **fields,
    )
    for index in range(images):
        name = default_storage.save(
            f"originals/t/{job.pk}-{index}.png", ContentFile(png((index * 60, 10, 10)))
        )
        Image.objects.create(
            job=job,
            index=index,
            status=Image.Status.STORED,
            upstream_url=f"https://cdn.example.org/{job.pk}/{index}.png",
            original=name,
            thumbnail=name,
            width=16,
            height=16,
        )
    return job


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
