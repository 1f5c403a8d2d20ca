"""Every job reachable by scrolling: the gallery appends the next page's cards
as its end comes into view, says when there is no older job, and without
JavaScript "Load older jobs" is a link to the next page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from gallery.models import Image, Job
from tests.browser.axe import assert_accessible
from tests.browser.live_moves import move
from tests.browser.test_organise_flow import sign_in
from tests.factories import finished_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOTAL = 70


def seventy_jobs(alice, bob, team) -> list[Job]:
    """The team's 70 jobs, newest first, each prompt naming its place in that order."""
    jobs = [finished_job(alice if n % 2 else bob, team) for n in range(TOTAL)]
    for place, job in enumerate(reversed(jobs), start=1):
        Job.objects.filter(pk=job.pk).update(prompt=f"job number {place} from the top")
    return list(reversed(jobs))


AT_THE_BOTTOM = "window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"


def scroll_to_the_end(page: Page) -> None:
    """Scroll down as a person does: on, until the page stops growing under
    the wheel (pictures and panels may settle while it scrolls)."""
    page.keyboard.press("End")
    for _ in range(50):
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(100)
        if page.evaluate(AT_THE_BOTTOM):
            return


@pytest.mark.parametrize("width", [1280, 390])
def test_the_61st_job_is_reached_by_scrolling(page: Page, live_server, alice, bob, team, width):
    jobs = seventy_jobs(alice, bob, team)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    cards = page.locator("#job-grid article.job-card")
    expect(cards).to_have_count(48)
    sixty_first = page.locator(f"#job-{jobs[60].pk}")
    expect(sixty_first).to_have_count(0)  # not on the first page

    load_older = page.get_by_role("link", name="Load older jobs")
    expect(load_older).to_have_count(1)
    scroll_to_the_end(page)
    expect(cards).to_have_count(TOTAL)
    sixty_first.scroll_into_view_if_needed()
    expect(sixty_first).to_be_in_viewport()
    expect(sixty_first).to_contain_text("job number 61 from the top")
    order = cards.evaluate_all("cards => cards.map(card => card.id)")
    assert order == [f"job-{job.pk}" for job in jobs]  # newest first, none twice

    scroll_to_the_end(page)
    end = page.get_by_text("That's everything")
    expect(end).to_be_in_viewport()
    expect(load_older).to_have_count(0)
    assert "/accounts/" not in page.url and page.url.endswith("/t/acme/")  # one page, appended
    ARTIFACTS.mkdir(exist_ok=True)
    for thumb in page.locator(f"#job-{jobs[-1].pk} img").all():  # a true picture
        expect(thumb).to_have_js_property("complete", True)
    page.screenshot(path=str(ARTIFACTS / f"gallery-scrolled-{width}.png"))
    assert_accessible(page, f"the scrolled gallery at {width}")


def test_a_job_in_flight_on_an_appended_page_moves_on_in_place(
    page: Page, live_server, alice, bob, team
):
    jobs = seventy_jobs(alice, bob, team)
    oldest = jobs[-1]
    Image.objects.filter(job=oldest).delete()
    Job.objects.filter(pk=oldest.pk).update(status="running", progress=10, credits_charged=None)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url)
    scroll_to_the_end(page)
    bar = page.locator(f"#job-{oldest.pk} progress")
    expect(bar).to_have_attribute("value", "10")
    move(oldest, "progress", progress=65)
    # Under live_server the page polls (every 2 s, a card is in flight).
    expect(bar).to_have_attribute("value", "65", timeout=25_000)


def test_without_javascript_load_older_is_a_link_to_the_next_page(
    browser: Browser, live_server, alice, bob, team
):
    jobs = seventy_jobs(alice, bob, team)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.url)
        load_older = page.get_by_role("link", name="Load older jobs")
        load_older.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "gallery-load-older-nojs-390.png"))
        load_older.click()
        expect(page.locator("#job-grid article.job-card")).to_have_count(TOTAL - 48)
        expect(page.locator(f"#job-{jobs[60].pk}")).to_be_visible()
        expect(page.get_by_text("That's everything")).to_be_visible()
        page.get_by_role("link", name="Newest jobs").click()
        expect(page.locator(f"#job-{jobs[0].pk}")).to_be_visible()
    finally:
        context.close()


def test_a_keyboard_user_lands_on_the_first_older_card(page: Page, live_server, alice, bob, team):
    jobs = seventy_jobs(alice, bob, team)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url)
    page.get_by_role("link", name="Load older jobs").focus()  # as Tab reaches it
    expect(page.locator("#job-grid article.job-card")).to_have_count(TOTAL)
    focused = page.locator(f"#job-{jobs[48].pk} :focus")
    expect(focused).to_have_count(1)
