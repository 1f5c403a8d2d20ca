"""As a team member would: star, search, collect, and share an image publicly
until the link is revoked or the job is made private."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db.models import Max
from playwright.sync_api import Page, expect

from gallery.models import Job
from tests.browser.page_waits import wait_until
from tests.conftest import PASSWORD
from tests.factories import finished_job

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_star_search_collect_and_share(page: Page, live_server, alice, bob, team, browser):
    lighthouse = finished_job(bob, team)
    Job.objects.filter(pk=lighthouse.pk).update(prompt="a lighthouse at dusk --ar 1:1")
    fox = finished_job(alice, team)
    Job.objects.filter(pk=fox.pk).update(prompt="a red fox in snow")
    assert Job.objects.aggregate(Max("pk"))["pk__max"] == fox.pk
    sign_in(page, live_server.url)

    card = page.locator(f"#job-{lighthouse.pk}")
    card.get_by_role("button", name="Star this job").click()
    expect(card.get_by_role("button", name="Unstar this job")).to_have_attribute(
        "aria-pressed", "true"
    )

    page.get_by_label("Search", exact=True).fill("lighthouse")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("article.job-card")).to_have_count(1)
    expect(page.locator("article.job-card")).to_contain_text("a lighthouse at dusk")
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Starred").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("article.job-card")).to_have_count(1)

    page.get_by_role("link", name="Collections").click()
    page.get_by_label("Name").fill("Coastlines")
    page.get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("heading", name="Coastlines")).to_be_visible()

    page.goto(f"{live_server.url}/t/acme/jobs/{lighthouse.pk}/")
    page.get_by_role("button", name="Add to collection").click()
    expect(page.get_by_text("Added to Coastlines.")).to_be_visible()
    page.goto(f"{live_server.url}/t/acme/collections/")
    page.get_by_role("link", name="Coastlines").click()
    expect(page.locator("article.job-card")).to_contain_text("a lighthouse at dusk")

    page.goto(f"{live_server.url}/t/acme/jobs/{lighthouse.pk}/")
    page.get_by_role("button", name="Share publicly image 1").click()
    link = page.get_by_label("Public link to image 1").input_value()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "job-shared-desktop.png", full_page=True)

    stranger = browser.new_context().new_page()
    stranger.goto(link)
    expect(stranger.get_by_text("a lighthouse at dusk")).to_be_visible()
    wait_until(stranger, "document.querySelector('.shared-image img').naturalWidth > 0")
    stranger.set_viewport_size({"width": 390, "height": 844})
    stranger.screenshot(path=ARTIFACTS / "shared-phone.png", full_page=True)

    page.get_by_role("button", name="Stop sharing image 1").click()
    expect(page.get_by_text("The share link no longer works.")).to_be_visible()
    response = stranger.goto(link)
    assert response.status == 404

    # alice shares her own job, then makes it private: the page says the link was revoked.
    page.goto(f"{live_server.url}/t/acme/jobs/{fox.pk}/")
    page.get_by_role("button", name="Share publicly image 1").click()
    link = page.get_by_label("Public link to image 1").input_value()
    assert stranger.goto(link).status == 200
    page.get_by_role("button", name="Make private").click()
    expect(page.get_by_text("Made private: 1 share link was revoked")).to_be_visible()
    expect(page.get_by_text("A private job is not shared publicly.")).to_be_visible()
    assert stranger.goto(link).status == 404
