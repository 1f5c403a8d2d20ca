"""The image page as a person uses it, at 1280 and 390 wide: → and ← walk the
gallery's order, Esc goes back to the gallery, a click shows the image at
100% and back, star, delete and Undo happen in place; and the job page turns
from in flight to completed by itself. axe runs on every state."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw
from playwright.sync_api import Page, expect

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import Image, Job, Membership, Star
from gallery.studio import images, pipeline
from tests.browser.axe import assert_accessible
from tests.browser.live_moves import move
from tests.browser.page_waits import wait_until
from tests.browser.test_organise_flow import sign_in
from tests.pipeline.stack import Processes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
T0 = timezone.now() - timedelta(hours=3)
WIDTHS = {1280: 900, 390: 844}


@pytest.fixture(params=sorted(WIDTHS, reverse=True), ids=lambda w: f"{w}px")
def width(request, page: Page) -> int:
    page.set_viewport_size({"width": request.param, "height": WIDTHS[request.param]})
    return request.param


@pytest.fixture
def stack(sim, settings, tmp_path, live_server):
    """The whole pipeline: web server, django-q2 cluster, poller, simulator."""
    settings.MEDIA_ROOT = tmp_path / "media"
    procs = Processes(sim, tmp_path / "media")
    procs.start()
    yield live_server
    procs.stop()


def scene(width: int, height: int, variant: int) -> bytes:
    """A small picture worth looking at: a dusk sky over the sea, a lighthouse."""
    picture = PILImage.new("RGB", (width, height))
    draw = ImageDraw.Draw(picture)
    top = ((40 + 30 * variant) % 256, 30, 90 + 20 * variant)
    low = (250, (140 + 25 * variant) % 256, 90)
    horizon = int(height * 0.62)
    for y in range(horizon):
        t = y / horizon
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, low, strict=True))
        draw.line([(0, y), (width, y)], colour)
    for y in range(horizon, height):
        shade = 30 + (y - horizon) * 40 // (height - horizon)
        draw.line([(0, y), (width, y)], (12, shade, 60 + shade))
    x = width * (0.3 + 0.12 * variant)
    base, tip = width * 0.03, width * 0.015
    top_y = height * 0.3
    tower = [(x - base, horizon), (x + base, horizon), (x + tip, top_y), (x - tip, top_y)]
    draw.polygon(tower, fill=(235, 230, 220))
    draw.ellipse([x - 14, height * 0.26, x + 14, height * 0.3], fill=(255, 236, 150))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def add_images(job: Job, count: int, size: tuple[int, int] = (768, 512)) -> None:
    for index in range(count):
        stored = images.store(scene(*size, variant=(job.pk + index) % 4))
        Image.objects.create(
            job=job, index=index, status=Image.Status.STORED,
            upstream_url=f"https://cdn.example.com/{job.pk}/{index}.png",
            original=stored.original, thumbnail=stored.thumbnail,
            width=stored.width, height=stored.height, bytes=stored.bytes, sha256=stored.sha256,
        )  # fmt: skip


def job_at(user, team, minutes: int, prompt: str, count: int = 4, **fields) -> Job:
    fields = {"status": Job.Status.COMPLETED, "progress": 100, "credits_charged": 79, **fields}
    job = Job.objects.create(
        team=team, user=user, provider="evolink", operation="mj-v7", speed="fast",
        prompt=prompt, prompt_raw=prompt, credits_reserved=79,
        upstream_id=f"task-unified-{minutes}", created=T0 + timedelta(minutes=minutes), **fields,
    )  # fmt: skip
    if fields["status"] == Job.Status.COMPLETED:
        add_images(job, count)
    return job


def image_url(base: str, job: Job, index: int) -> str:
    return f"{base}/t/acme/images/{job.images.get(index=index).pk}/"


def press_and_land(page: Page, key: str, url: str) -> None:
    """Press `key` and wait for the page it leads to, scripts and all: a key
    pressed before the new page's script runs would find no listener."""
    page.keyboard.press(key)
    expect(page).to_have_url(url)
    page.wait_for_load_state("load")


def test_arrows_walk_the_gallery_order_and_esc_goes_back(
    page: Page, live_server, alice, bob, team, width
):
    older = job_at(bob, team, 1, "a lighthouse at dusk --ar 3:2", count=2)
    newer = job_at(alice, team, 2, "a lighthouse in a storm, oil painting --ar 3:2 --s 250")
    base = live_server.url
    sign_in(page, base)
    page.goto(image_url(base, newer, 2))
    wait_until(page, "document.getElementById('stage-image').naturalWidth > 0")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("a lighthouse in a storm, oil painting")
    assert_accessible(page, f"image page at {width}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"image-view-{width}.png")  # the first screen

    press_and_land(page, "ArrowRight", image_url(base, newer, 3))
    # Past the job's last image: the next older job's first, and back.
    press_and_land(page, "ArrowRight", image_url(base, older, 0))
    press_and_land(page, "ArrowLeft", image_url(base, newer, 3))

    # Typing in a field is typing, not browsing.
    field = page.get_by_label("Remix prompt")
    field.click()
    field.press("ArrowRight")
    field.press("Escape")
    expect(page).to_have_url(image_url(base, newer, 3))

    # An open menu takes the first Esc, and so does an open editor (even with
    # an open part of its form); then Esc goes back to the gallery.
    page.locator("details.user-menu summary").click()
    page.keyboard.press("Escape")
    expect(page.locator("details.user-menu")).not_to_have_attribute("open", "")
    expect(page).to_have_url(image_url(base, newer, 3))
    page.get_by_role("button", name="Mark the areas to redraw").click()
    page.get_by_role("dialog").get_by_text("Enter a rectangle in pixels").click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page).to_have_url(image_url(base, newer, 3))
    page.keyboard.press("Escape")
    expect(page).to_have_url(f"{base}/t/acme/")


def test_star_then_delete_and_undo_in_place(page: Page, live_server, alice, team, width):
    job = job_at(alice, team, 1, "a red fox in snow")
    base = live_server.url
    sign_in(page, base)
    page.goto(image_url(base, job, 1))

    page.get_by_role("button", name="☆ Star").click()
    expect(page.get_by_role("button", name="★ Starred")).to_have_attribute("aria-pressed", "true")
    assert Star.objects.filter(user=alice, job=job).exists()

    page.get_by_role("button", name="Delete").click()
    actions = page.locator("#image-actions")
    expect(actions).to_contain_text("Deleted")
    undo = page.get_by_role("button", name="Undo delete")
    expect(undo).to_be_focused()  # the keyboard stays where the member acted
    job.refresh_from_db()
    assert job.deleted_at is not None
    assert_accessible(page, f"deleted image at {width}")
    actions.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"image-view-deleted-{width}.png")

    undo.click()
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
    expect(page.get_by_role("button", name="★ Starred")).to_be_visible()
    job.refresh_from_db()
    assert job.deleted_at is None
    # All of it in place: the page was never loaded again.
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_a_click_shows_the_image_at_100_percent_and_back(
    page: Page, live_server, alice, team, width
):
    job = job_at(alice, team, 1, "a lighthouse at dusk", count=0)
    add_images(job, 1, size=(2400, 1600))
    base = live_server.url
    sign_in(page, base)
    page.goto(image_url(base, job, 0))
    wait_until(page, "document.getElementById('stage-image').naturalWidth > 0")
    stage, image = page.locator("#stage"), page.locator("#stage-image")
    toggle = page.get_by_role("button", name="(view at 100%)")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert image.evaluate("i => i.getBoundingClientRect().width") < 2400

    image.click()
    expect(stage).to_have_class("stage is-actual")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert image.evaluate("i => i.getBoundingClientRect().width") == 2400
    # Bigger than the screen: the stage scrolls.
    assert stage.evaluate("s => s.scrollWidth > s.clientWidth")
    assert_accessible(page, f"image at 100% at {width}")
    page.screenshot(path=ARTIFACTS / f"image-view-100-{width}.png")

    image.click()
    expect(stage).to_have_class("stage")
    # The keyboard does the same: Enter and Space on the image, Esc back to fit first.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(stage).to_have_class("stage is-actual")
    page.keyboard.press("Space")
    expect(stage).to_have_class("stage")
    page.keyboard.press("Space")
    expect(stage).to_have_class("stage is-actual")
    page.keyboard.press("Escape")
    expect(stage).to_have_class("stage")
    assert page.url == image_url(base, job, 0)


def test_the_job_page_goes_from_in_flight_to_completed_without_a_reload(
    page: Page, live_server, alice, team, width
):
    job = job_at(
        alice, team, 1, "a lighthouse at dusk --ar 3:2",
        status=Job.Status.RUNNING, progress=20, credits_charged=None,
    )  # fmt: skip
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/t/acme/jobs/{job.pk}/")
    live = page.locator("#job-live")
    expect(live).to_contain_text("Running")
    expect(live.locator("progress")).to_have_attribute("value", "20")
    assert_accessible(page, f"job page in flight at {width}")

    move(job, "progress", progress=70)
    expect(live.locator("progress")).to_have_attribute("value", "70", timeout=8000)

    add_images(job, 4)
    move(job, status="completed", progress=100, credits_charged=79)
    expect(live).to_contain_text("Completed", timeout=8000)
    expect(live.locator("progress")).to_have_count(0)
    expect(page.locator("#job-details")).to_contain_text("79 charged")
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
    links = live.locator("a:has(img)")
    expect(links).to_have_count(4)
    for index, image in enumerate(job.images.order_by("index")):
        expect(links.nth(index)).to_have_attribute("href", f"/t/acme/images/{image.pk}/")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    wait_until(
        page,
        "[...document.querySelectorAll('#job-live img')].every(i => i.complete && i.naturalWidth)",
    )
    assert_accessible(page, f"job page completed at {width}")
    page.screenshot(path=ARTIFACTS / f"job-page-{width}.png", full_page=True)

    links.nth(1).click()
    expect(page).to_have_url(image_url(base, job, 1))


def test_a_generated_jobs_page_follows_the_pipeline_to_its_images(
    page: Page, stack, alice, team, width
):
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=1000, by=alice)
    sign_in(page, stack.url)
    prompt = "a lighthouse at dusk [sim:duration=3] --ar 3:2"
    request = Request(operation="mj-v7", provider="evolink", prompt=prompt)
    job = pipeline.create(membership, pipeline.Draft(request=request))
    page.goto(f"{stack.url}/t/acme/jobs/{job.pk}/")
    live = page.locator("#job-live")
    expect(live.locator("progress")).to_be_visible()  # in flight when the page opened

    expect(live.locator("a:has(img)")).to_have_count(4, timeout=30_000)
    expect(live).to_contain_text("Completed")
    expect(page.locator("#job-details")).to_contain_text("charged")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
