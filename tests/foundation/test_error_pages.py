"""Refusals and failures are pages with the site around them, or, for htmx,
a message the page shows in place — never bare text that replaces the page."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import get_resolver

from gallery.teams.views import errors
from tests.factories import finished_job

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_a_member_opening_the_spend_page_gets_a_styled_403_naming_the_rule(bob_client):
    response = bob_client.get("/t/acme/spend/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="topbar"' in page and "Gallery</a>" in page
    assert "Only team admins can do this" in page


def test_a_refusal_to_an_htmx_request_is_a_marked_fragment_not_a_page(bob_client):
    response = bob_client.get("/t/acme/spend/", **HX)
    assert response.status_code == 403
    assert response["X-Error-In-Place"] == "1"
    body = response.content.decode()
    assert "<html" not in body and "data-error-message" in body
    assert "Only team admins can do this" in body


def test_an_unknown_page_and_another_teams_job_get_the_same_styled_404(
    alice_client, carol, other_team
):
    theirs = finished_job(carol, other_team)
    unknown = alice_client.get("/no/such/page/")
    foreign = alice_client.get(f"/t/acme/jobs/{theirs.pk}/")
    assert unknown.status_code == foreign.status_code == 404
    for response in (unknown, foreign):
        assert 'class="topbar"' in response.content.decode()
        assert errors.NOT_FOUND in response.content.decode()


def test_a_404_to_an_htmx_request_is_marked_for_showing_in_place(alice_client, alice, team):
    job = finished_job(alice, team)
    response = alice_client.post(f"/t/acme/jobs/{job.pk + 1000}/star/", **HX)
    assert response.status_code == 404
    assert response["X-Error-In-Place"] == "1"
    assert "<html" not in response.content.decode()


def test_the_500_page_needs_no_database_and_shows_no_details():
    request = RequestFactory().get("/t/acme/", HTTP_HX_REQUEST="true")
    response = errors.server_error(request)
    assert response.status_code == 500
    assert response["X-Error-In-Place"] == "1"
    body = response.content.decode()
    assert "Something went wrong on our side" in body and "Traceback" not in body


def test_the_site_uses_these_handlers():
    resolver = get_resolver()
    for status, view in [
        (400, errors.bad_request),
        (403, errors.permission_denied),
        (404, errors.page_not_found),
        (500, errors.server_error),
    ]:
        assert resolver.resolve_error_handler(status) is view


def test_pages_load_no_script_that_replaces_the_document_on_errors(alice_client, settings):
    settings.DEBUG = True  # django-htmx adds its page-replacing helper only in debug mode
    page = alice_client.get("/t/acme/").content.decode()
    assert "htmx-2.min.js" in page
    assert "django-htmx.js" not in page
