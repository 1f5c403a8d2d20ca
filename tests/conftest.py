"""Shared fixtures: alice (team admin), bob (her teammate), carol (a stranger
who runs another team) and dave (a read-only viewer in alice's team)."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gallery.models import Membership, Role, Team

# Playwright's sync API runs an event loop in the test thread; the ORM calls a
# browser test makes between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery"


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
