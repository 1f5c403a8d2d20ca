"""The Content-Security-Policy allows no inline script, and htmx is served
from this site with the response's nonce."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.mark.django_db
def test_the_policy_allows_scripts_only_from_self_with_a_nonce(alice_client):
    response = alice_client.get("/t/acme/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert directives["script-src"].startswith("'self' 'nonce-")
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"


@pytest.mark.django_db
def test_htmx_is_the_local_copy_and_carries_the_nonce(alice_client):
    response = alice_client.get("/t/acme/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    html = response.content.decode()
    tag = re.search(r'<script[^>]*src="([^"]*htmx[^"]*)"[^>]*>', html)
    assert tag, "no htmx script tag"
    assert tag.group(1).startswith("/static/")
    assert f'nonce="{nonce}"' in tag.group(0)
    assert "<script>" not in html  # no inline script at all
    assert " style=" not in html  # the policy blocks inline styles too


@pytest.mark.django_db
def test_htmx_requests_carry_the_csrf_token(alice_client):
    html = alice_client.get("/t/acme/").content.decode()
    match = re.search(r"""<body hx-headers='\{"X-CSRFToken": "([^"]+)"\}'>""", html)
    assert match and len(match.group(1)) >= 32


@pytest.mark.django_db
def test_the_vendored_htmx_file_is_htmx_2(alice_client):
    from django.contrib.staticfiles import finders

    path = finders.find("django_htmx/htmx-2.min.js")
    assert path
    with open(path) as fh:
        assert 'version:"2.' in fh.read().replace(" ", "")


@pytest.mark.django_db
def test_the_sign_in_page_is_not_framable():
    response = Client().get("/accounts/login/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
