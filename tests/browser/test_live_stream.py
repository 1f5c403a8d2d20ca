"""Live updates over the real stream: the site as bin/serve runs it (gunicorn,
two processes, the hub in each), pages in Chromium, and every change written by
the test process as the worker and the poller write it, so each event crosses
from one process to the pages held by another.

Every SSE message a page receives is collected by a listener the test installs
(`htmx:sseBeforeMessage`); the site itself has no test hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction
from playwright.sync_api import Browser, Page, Route, expect

from gallery.providers import Snapshot, Status
from gallery.studio import pipeline
from gallery.studio.live import events
from gallery.studio.models.jobs import Job
from gallery.studio.models.live import LiveEvent
from tests.browser.axe import assert_accessible
from tests.browser.page_waits import wait_until  # the page's own timers may be held still
from tests.browser.test_generate import sign_in
from tests.factories import fund, in_flight_job
from tests.pipeline.conftest import run_until_final

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Kind = LiveEvent.Kind
ARTIFACTS = Path("test-artifacts")

# Collects what the page's stream delivers, before htmx applies it.
COLLECT = """
window.__live = {opened: 0, messages: []};
document.addEventListener("htmx:sseOpen", () => { window.__live.opened += 1; });
document.addEventListener("htmx:sseBeforeMessage", (e) => {
  window.__live.messages.push({id: e.detail.lastEventId, data: e.detail.data});
});
"""


def open_page(browser: Browser, base: str, username: str, *, clock: bool = False) -> Page:
    """A signed-in page in its own browser context, its stream open. With
    `clock`, the page's timers run only when the test says (page.clock)."""
    page = browser.new_context().new_page()
    page.add_init_script(COLLECT)
    if clock:
        page.clock.install()
    sign_in(page, base, username)
    expect(page.locator("#live-stream[sse-connect]")).to_have_count(1)
    wait_until(page, "window.__live && window.__live.opened > 0")
    return page


def received(page: Page) -> list[dict]:
    return page.evaluate("window.__live.messages")


def emit(team, kind, **fields) -> int:
    with transaction.atomic():
        return events.emit(team.pk, kind, **fields).seq


def progress(job: Job, value: int) -> None:
    """The poller's read of a running task, through the pipeline's own path."""
    job.refresh_from_db()
    snapshot = Snapshot(upstream_id=job.upstream_id, status=Status.RUNNING, progress=value)
    pipeline.apply_snapshot(job, snapshot)


def test_bobs_open_gallery_shows_alices_new_card_its_progress_and_thumbnails_over_the_stream(
    browser: Browser, asgi_site, sim, alice, bob, team
):
    fund(alice, team, 1000)
    bobs = open_page(browser, asgi_site.base, "bob", clock=True)
    bobs.evaluate("window.__same_page = true")  # gone if the page reloads
    asked: list[str] = []
    bobs.on("request", lambda r: asked.append(r.url))
    alices = open_page(browser, asgi_site.base, "alice")

    alices.get_by_label("Prompt").fill("a lighthouse at dusk [sim:duration=1]")
    expect(alices.locator("#quote")).to_contain_text("credits")
    alices.get_by_role("button", name="Generate").click()
    expect(alices.locator("article.job-card").first).to_contain_text("a lighthouse at dusk")
    job = Job.objects.get(prompt__startswith="a lighthouse at dusk")

    card = bobs.locator(f"#job-{job.pk}")
    expect(card).to_contain_text("a lighthouse at dusk", timeout=10_000)
    pipeline.run_submit(job.pk)
    progress(job, 40)
    expect(card.locator("progress")).to_have_attribute("value", "40", timeout=10_000)

    run_until_final(Job.objects.get(pk=job.pk))  # read upstream, store the images, settle
    expect(card.locator("img")).to_have_count(4, timeout=10_000)
    wait_until(
        bobs,
        f"[...document.querySelectorAll('#job-{job.pk} img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
    )
    # A minute passes on the open page: it asks for nothing more (its stream,
    # ended by the server every few seconds, reopens: that is all).
    bobs.clock.run_for(60_000)
    bobs.wait_for_timeout(500)  # real time for any request that minute started
    expect(bobs.locator(f"#job-grid > #job-{job.pk}")).to_have_count(1)
    assert bobs.evaluate("window.__same_page === true"), "bob's page was reloaded"
    others = [u for u in asked if "/live/stream/" not in u and "/m/" not in u]
    assert others == [], f"bob's page asked for more than its stream and thumbnails: {others}"
    streamed = "\n".join(m["data"] for m in received(bobs))
    assert f'id="job-{job.pk}"' in streamed and 'value="40"' in streamed  # came by the stream
    assert any("/m/" in u for u in asked)
    expect(bobs.locator("main")).not_to_contain_text("{#")  # no template text leaks out
    assert_accessible(bobs, "gallery with a card that came over the stream")

    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        bobs.set_viewport_size({"width": width, "height": height})
        bobs.evaluate("document.getElementById('job-grid').scrollIntoView()")
        bobs.screenshot(path=str(ARTIFACTS / f"gallery-stream-{width}.png"))


def test_a_stream_cut_and_reopened_replays_what_was_missed_each_card_once(
    browser: Browser, asgi_site, alice, bob, team
):
    bobs = open_page(browser, asgi_site.base, "bob")
    first = in_flight_job(alice, team, prompt="before the cut", progress=10)
    emit(team, Kind.CREATED, job_id=first.pk)
    expect(bobs.locator(f"#job-{first.pk}")).to_be_visible(timeout=10_000)
    before = int(bobs.locator("#live-cursor").get_attribute("data-seq"))

    # The server ends the stream (MJWEB_LIVE_MAX_STREAM_S); the page's next
    # stream is held back at the network while changes are made.
    held: list[Route] = []
    bobs.route("**/live/stream/**", lambda route: held.append(route))
    for _ in range(150):  # the route handler runs while Playwright waits
        if held:
            break
        bobs.wait_for_timeout(100)
    assert held, "the server never ended the stream"

    missed = [in_flight_job(alice, team, prompt=f"missed {n}", progress=20) for n in range(3)]
    for job in missed:
        emit(team, Kind.CREATED, job_id=job.pk)
    progress(first, 60)
    url = held[0].request.url
    assert f"last={before}" in url, url
    held[0].continue_()
    bobs.unroute("**/live/stream/**")

    for job in missed:
        expect(bobs.locator(f"#job-{job.pk}")).to_contain_text(job.prompt, timeout=10_000)
    expect(bobs.locator(f"#job-{first.pk} progress")).to_have_attribute("value", "60")
    for job in [first, *missed]:
        expect(bobs.locator(f"#job-grid > #job-{job.pk}")).to_have_count(1)
    expect(bobs.locator("#live-stream[sse-connect]")).to_have_count(1)  # still streaming
    streamed = "\n".join(m["data"] for m in received(bobs))
    assert all(f'id="job-{job.pk}"' in streamed for job in missed), "not replayed by the stream"
    ids = [m["id"] for m in received(bobs) if m["id"]]
    assert len(ids) == len(set(ids)), f"an event came twice: {ids}"

    # Cut for good: no stream can be opened any more (the server ends this one
    # soon). The page polls from its cursor instead and still misses nothing.
    bobs.route("**/live/stream/**", lambda route: route.abort())
    expect(bobs.locator("#live-stream[sse-connect]")).to_have_count(0, timeout=15_000)
    late = in_flight_job(alice, team, prompt="after the stream gave up", progress=30)
    emit(team, Kind.CREATED, job_id=late.pk)
    expect(bobs.locator(f"#job-{late.pk}")).to_contain_text(late.prompt, timeout=15_000)
    for job in [first, *missed, late]:
        expect(bobs.locator(f"#job-grid > #job-{job.pk}")).to_have_count(1)


def test_no_stream_carries_what_its_viewer_may_not_see(
    browser: Browser, asgi_site, alice, bob, carol, dave, team, other_team
):
    pages = {name: open_page(browser, asgi_site.base, name) for name in ("bob", "dave", "carol")}
    secret = in_flight_job(alice, team, private=True, prompt="alice keeps this one", progress=5)
    emit(team, Kind.CREATED, job_id=secret.pk)
    progress(secret, 50)
    theirs = in_flight_job(carol, other_team, prompt="carol's own marker")
    emit(other_team, Kind.CREATED, job_id=theirs.pk)
    marker = in_flight_job(alice, team, prompt="a public marker")
    emit(team, Kind.CREATED, job_id=marker.pk)

    # The markers arrived: each stream was flowing after the private changes.
    for name in ("bob", "dave"):
        expect(pages[name].locator(f"#job-{marker.pk}")).to_be_visible(timeout=10_000)
    expect(pages["carol"].locator(f"#job-{theirs.pk}")).to_be_visible(timeout=10_000)

    for name, page in pages.items():
        data = "\n".join(m["data"] for m in received(page))
        assert data, f"{name}'s stream delivered nothing"
        assert f"job-{secret.pk}" not in data, name
        assert "alice keeps this one" not in data, name
        expect(page.locator(f"#job-{secret.pk}")).to_have_count(0)
    carols = "\n".join(m["data"] for m in received(pages["carol"]))
    assert f"job-{marker.pk}" not in carols and "a public marker" not in carols
    assert f"job-{theirs.pk}" not in "\n".join(m["data"] for m in received(pages["bob"]))
