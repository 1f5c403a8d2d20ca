"""Sign-in is required everywhere except the few public pages, and a team's
pages answer 404 to anyone outside it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.db_sensitive

# Sign-in is not needed here: the API authenticates by bearer token (401 JSON,
# tested in tests/api), and signed image URLs carry their own proof.
PUBLIC = {
    "login",
    "accept-invite",
    "healthz",
    "provider-callback",
    "api-generations",
    "api-task",
    "api-balance",
    "api-batches",
    "api-file",
    "api-openapi",
    "api-not-found",
    "public-image",
    "shared",
    "shared-file",
}
SAMPLE_KWARGS = {"slug": "acme", "pk": 1, "token": "x" * 32}


def named_routes(resolver: URLResolver = None, prefix: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's admin does its own staff check, tested below
            yield from named_routes(entry, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name


def sample_url(name: str) -> str:
    from django.urls import NoReverseMatch, reverse

    for kwargs in (
        {},
        {"slug": "acme"},
        {"slug": "acme", "pk": 1},
        {"token": SAMPLE_KWARGS["token"]},
        {"name": "thumbs/ab/abc-512.webp"},
    ):
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    raise AssertionError(f"cannot build a sample URL for {name}")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(named_routes()) - PUBLIC))
def test_it_sends_anonymous_visitors_to_sign_in(name, team):
    url = sample_url(name)
    for method in ("get", "post"):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302, (method, url)
        assert response.url.startswith("/accounts/login/?next="), (method, url)


@pytest.mark.django_db
def test_the_sign_in_page_is_public():
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in to mjweb" in response.content


@pytest.mark.django_db
def test_the_admin_requires_staff(alice_client):
    response = alice_client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/t/acme/", "/t/acme/members/"], ids=["gallery", "members"])
def test_a_stranger_gets_404_for_another_teams_pages(carol_client, alice, url):
    response = carol_client.get(url)
    assert response.status_code == 404
    assert b"Acme Studio" not in response.content


@pytest.mark.django_db
def test_a_stranger_cannot_invite_into_another_team(carol_client, alice):
    response = carol_client.post("/t/acme/members/invite/", {"role": "admin"})
    assert response.status_code == 404
    assert not alice.memberships.get().team.invites.exists()


@pytest.mark.django_db
def test_a_missing_team_is_404_like_a_foreign_one(alice_client):
    assert alice_client.get("/t/nope/").status_code == 404
