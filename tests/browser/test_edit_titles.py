"""Edits read as what they are, in Chromium at 1280 and 390 wide: an upscale's
card is titled "Upscale …", shows the prompt its picture began with and its
parent's thumbnail (a link to the parent image), and a search for that prompt
finds every edit of the picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.models import Job
from tests.browser.axe import assert_accessible
from tests.browser.page_waits import wait_until
from tests.browser.test_organise_flow import sign_in
from tests.factories import finished_job

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIGHTHOUSE = "a lighthouse at dusk"


def titled(job: Job, title: str, root: str) -> Job:
    """As the pipeline stores them when it makes the job."""
    Job.objects.filter(pk=job.pk).update(title=title, root_prompt=root)
    return job


@pytest.mark.parametrize("width", [1280, 390])
def test_an_upscales_card_names_it_and_shows_where_it_came_from(
    page: Page, live_server, alice, bob, team, width
):
    ARTIFACTS.mkdir(exist_ok=True)
    base = titled(finished_job(bob, team, prompt=f"{LIGHTHOUSE} --ar 3:2"), "", LIGHTHOUSE)
    parent = base.images.get(index=2)
    upscale = titled(
        finished_job(
            alice,
            team,
            operation="mj-v7-upscale",
            prompt="",
            parent=parent,
            params={"type": "creative"},
            images=1,
        ),
        "Upscale (Creative)",
        LIGHTHOUSE,
    )
    pan = titled(
        finished_job(
            alice,
            team,
            operation="mj-v7-pan",
            prompt="",
            parent=upscale.images.get(),
            params={"direction": "left", "scale": 1.5},
            images=1,
        ),
        "Pan left ×1.5",
        LIGHTHOUSE,
    )
    harbour = finished_job(bob, team, prompt="a harbour at noon")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)

    card = page.get_by_role("article", name=f"Upscale (Creative) · {LIGHTHOUSE}, by alice")
    expect(card.get_by_role("link", name="Upscale (Creative)", exact=True)).to_be_visible()
    expect(card.locator(".job-root")).to_have_text(LIGHTHOUSE)
    expect(card).not_to_contain_text("mj-v7-upscale")
    thumb = card.get_by_role("link", name=f"Made from image 3 of “{LIGHTHOUSE}”")
    expect(thumb).to_be_visible()
    thumb.scroll_into_view_if_needed()
    # lazy: it loads once scrolled into view; wait for it rather than look once
    picture = thumb.locator("img").element_handle()
    wait_until(page, "img => img.complete && img.naturalWidth > 0", arg=picture)
    pan_card = page.locator(f"#job-{pan.pk}")
    expect(pan_card.locator(".job-link")).to_have_text("Pan left ×1.5")
    page.screenshot(path=ARTIFACTS / f"edit-titles-{width}.png", full_page=True)
    assert_accessible(page, "the gallery with edits")

    page.get_by_label("Search", exact=True).fill("lighthouse")
    page.get_by_role("button", name="Filter").click()
    shown = page.locator("article.job-card")
    expect(shown).to_have_count(3)
    for job in (base, upscale, pan):
        expect(page.locator(f"#job-{job.pk}")).to_be_visible()
    expect(page.locator(f"#job-{harbour.pk}")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / f"edit-titles-search-{width}.png", full_page=True)

    page.get_by_role("article", name=f"Upscale (Creative) · {LIGHTHOUSE}, by alice").get_by_role(
        "link", name=f"Made from image 3 of “{LIGHTHOUSE}”"
    ).click()
    expect(page).to_have_url(f"{live_server.url}/t/acme/images/{parent.pk}/")
