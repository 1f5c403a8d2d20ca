"""A refused htmx request explains itself next to the control and leaves the
page whole, in debug mode too; a forbidden page is a page of the site."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_organise_flow import sign_in
from tests.conftest import PASSWORD
from tests.factories import finished_job

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_starring_a_job_deleted_meanwhile_says_so_beside_the_star(
    page: Page, live_server, settings, alice, team, width
):
    settings.DEBUG = True  # where django-htmx's helper used to blank the page
    job = finished_job(alice, team)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    card = page.locator(f"#job-{job.pk}")
    expect(card).to_be_visible()

    job.soft_delete()  # another tab, or a teammate admin
    card.get_by_role("button", name="Star this job").click()

    note = card.locator(".star-form + .htmx-error")
    expect(note).to_have_text(
        "That is no longer there, or not yours to see. Reload the page to see what is."
    )
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.get_by_role("textbox", name="Prompt")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"error-in-place-{width}.png", full_page=False)

    # The next action that works takes the note away.
    job.restore()
    card.get_by_role("button", name="Star this job").click()
    expect(card.get_by_role("button", name="Unstar this job")).to_be_visible()
    expect(note).to_have_count(0)


def test_a_member_opening_the_spend_page_sees_a_styled_refusal(page: Page, live_server, bob):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    response = page.goto(f"{live_server.url}/t/acme/spend/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Only team admins can do this")).to_be_visible()
    expect(page.get_by_role("link", name="Gallery")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=ARTIFACTS / "forbidden-phone.png", full_page=True)
