"""Shared fixtures: alice (team admin), bob (her teammate), carol (a stranger
who runs another team) and dave (a read-only viewer in alice's team)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from gallery.models import Membership, Role, Team
from simulator import Simulator, start_simulator

# Playwright's sync API runs an event loop in the test thread; the ORM calls a
# browser test makes between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Stored images of a test go to its own folder, never into var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MJWEB_EXPORT_DIR = tmp_path / "exports"


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.org", PASSWORD)


def make_team(name: str, slug: str) -> Team:
    return Team.objects.create(name=name, slug=slug)


def add(team: Team, user: User, role: str) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


@pytest.fixture
def team(db) -> Team:
    return make_team("Acme Studio", "acme")


@pytest.fixture
def other_team(db) -> Team:
    return make_team("Other Co", "other")


@pytest.fixture
def alice(team) -> User:
    user = make_user("alice")
    add(team, user, Role.ADMIN)
    return user


@pytest.fixture
def bob(team) -> User:
    user = make_user("bob")
    add(team, user, Role.MEMBER)
    return user


@pytest.fixture
def carol(other_team) -> User:
    user = make_user("carol")
    add(other_team, user, Role.ADMIN)
    return user


@pytest.fixture
def dave(team) -> User:
    user = make_user("dave")
    add(team, user, Role.VIEWER)
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice) -> Client:
    return client_for(alice)


@pytest.fixture
def bob_client(bob) -> Client:
    return client_for(bob)


@pytest.fixture
def carol_client(carol) -> Client:
    return client_for(carol)


@pytest.fixture
def dave_client(dave) -> Client:
    return client_for(dave)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright cannot download its own browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


# --- the upstream simulator, and the app's providers pointed at it -------------------

DURATIONS = {"draft": 0.3, "turbo": 0.4, "fast": 0.5}


@pytest.fixture(scope="session")
def upstream(tmp_path_factory) -> Iterator[Simulator]:
    sim = start_simulator(
        tmp_path_factory.mktemp("upstream"),
        durations=DURATIONS,
        callback_delays=(0.1, 0.2, 0.4),
        callback_timeout=2.0,
        long_side=256,
    )
    yield sim
    sim.stop()


@pytest.fixture
def sim(upstream, settings) -> Simulator:
    control(upstream, "/_sim/reset", {"timing": {"durations": DURATIONS}})
    settings.PROVIDERS = {
        name: {"base_url": upstream.url(name), "api_key": "sim-key"}
        for name in ("evolink", "reapi", "vtrix")
    }
    settings.MJWEB_PUBLIC_URL = "http://127.0.0.1:1"  # callbacks are tested separately
    return upstream


def control(sim: Simulator, path: str, body: dict | None = None) -> dict:
    with httpx.Client(base_url=sim.base_url, timeout=10) as client:
        response = client.post(path, json=body or {}) if body is not None else client.get(path)
        response.raise_for_status()
        return response.json() if response.content else {}
