"""Gallery cards in Chromium at 1280 and 390 wide: pictures keep their shape, a
card is one tab stop whose actions (open, star, download) the arrow keys reach,
and a selection made with the boxes and shift-click is starred, deleted and
brought back with Undo from the selection bar."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image as PILImage
from PIL import ImageDraw
from playwright.sync_api import Page, expect

from gallery.models import Collection, CollectionItem, Image, Job, Star
from gallery.studio import images
from tests.browser.axe import assert_accessible
from tests.browser.live_moves import move
from tests.browser.test_organise_flow import sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
_SERIAL = itertools.count(1)


def picture(width: int, height: int, index: int, serial: int) -> bytes:
    """A small stand-in picture of the given shape: a sky, a sun and a horizon."""
    hue = (serial * 47 + index * 23) % 160
    img = PILImage.new("RGB", (width, height), (20 + hue // 2, 40 + index * 30, 110 + hue // 3))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(30, 24 + hue // 4, 40))
    r = min(width, height) // 6
    cx, cy = width * (index + 1) // 5, height // 3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 200 - index * 30, 90))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def shaped_job(user, team, prompt: str, size: tuple[int, int], count: int = 4, **fields) -> Job:
    job = Job.objects.create(
        team=team,
        user=user,
        provider="evolink",
        operation=fields.pop("operation", "mj-v7"),
        speed="fast",
        prompt=prompt,
        status="completed",
        progress=100,
        credits_reserved=79,
        credits_charged=79,
        **fields,
    )
    serial = next(_SERIAL)
    for index in range(count):
        stored = images.store(picture(*size, index, serial))
        Image.objects.create(
            job=job,
            index=index,
            status="stored",
            upstream_url="https://cdn.example.com/x.png",
            original=stored.original,
            thumbnail=stored.thumbnail,
            width=stored.width,
            height=stored.height,
            bytes=stored.bytes,
            sha256=stored.sha256,
        )
    return job


def a_mixed_gallery(alice, bob, team) -> dict[str, Job]:
    """Oldest first, so the gallery shows them newest first: wide, square, tall, pano."""
    jobs = {
        "pano": shaped_job(bob, team, "a salt flat at noon --ar 2:1", (400, 200)),
        "tall": shaped_job(alice, team, "a lighthouse stair --ar 9:16", (180, 320)),
        "pan": shaped_job(bob, team, "", (320, 180), count=1, operation="mj-v7-pan"),
        "square": shaped_job(alice, team, "a red fox in snow --ar 1:1", (256, 256)),
        "wide": shaped_job(bob, team, "a harbour at dusk --ar 16:9", (320, 180)),
    }
    Job.objects.filter(pk=jobs["pan"].pk).update(title="Pan left ×1.5", root_prompt="a harbour")
    return jobs


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found, selector
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_cards_keep_their_shape_and_are_one_tab_stop_each(
    page: Page, live_server, alice, bob, team, width
):
    jobs = a_mixed_gallery(alice, bob, team)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    wide, tall, pan = (f"#job-{jobs[name].pk}" for name in ("wide", "tall", "pan"))
    # Below the fold too, for the whole-page screenshot: lazy pictures load now.
    page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    for thumb in page.locator("#job-grid .thumbs img").all():
        expect(thumb).to_have_js_property("complete", True)

    shown = box(page, f"{wide} .thumbs img")
    assert shown["width"] > 1.6 * shown["height"]  # 16:9, not cropped square
    shown = box(page, f"{pan} .thumbs img")
    assert shown["width"] > 1.6 * shown["height"]
    shown = box(page, f"{tall} .thumbs img")
    assert shown["height"] > 1.6 * shown["width"]
    # A four-picture job is one card: its block is as wide as the card.
    assert abs(box(page, f"{wide} .thumbs")["width"] - box(page, wide)["width"]) < 3
    if width == 1280:  # a row's pictures share one height, whatever their shape
        a, b = box(page, f"{wide} .thumbs"), box(page, f"#job-{jobs['square'].pk} .thumbs")
        assert abs(a["y"] - b["y"]) < 1 and abs(a["height"] - b["height"]) < 2, (a, b)

    # From the filter bar, one Tab per card.
    page.get_by_role("button", name="Filter").focus()
    page.keyboard.press("Tab")
    expect(page.locator(f"{wide} .job-link")).to_be_focused()
    page.keyboard.press("Tab")
    square = f"#job-{jobs['square'].pk}"
    expect(page.locator(f"{square} .job-link")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator(f"{wide} .job-link")).to_be_focused()

    # The arrows walk the card's actions: Select, Open, Star, then the pictures.
    card = page.locator(wide)
    page.keyboard.press("ArrowRight")
    expect(card.get_by_role("checkbox", name="Select")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(card.get_by_role("link", name="Open image 1")).to_be_focused()
    expect(card.get_by_role("link", name="Open image 1")).to_have_css("opacity", "1")
    page.keyboard.press("ArrowRight")
    star = card.get_by_role("button", name="Star this job")
    expect(star).to_be_focused()
    page.keyboard.press("Enter")
    unstar = card.get_by_role("button", name="Unstar this job")
    expect(unstar).to_be_focused()  # the swapped button keeps the keyboard
    assert Star.objects.filter(user=alice, job=jobs["wide"]).exists()
    page.keyboard.press("ArrowRight")
    expect(card.locator(".thumb-link").first).to_be_focused()
    page.keyboard.press("ArrowRight")
    download = card.get_by_role("link", name="Download image 1")
    expect(download).to_be_focused()
    expect(download).to_have_css("opacity", "1")
    with page.expect_download() as saving:
        page.keyboard.press("Enter")
    first = jobs["wide"].images.get(index=0)
    assert saving.value.url.endswith(reverse("image-download", args=["acme", first.pk]))
    assert saving.value.suggested_filename == f"mjweb-{jobs['wide'].pk}-1.png"
    page.keyboard.press("Escape")
    expect(page.locator(f"{wide} .job-link")).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # from inside a card, Tab goes on to the next card
    expect(page.locator(f"{square} .job-link")).to_be_focused()

    ARTIFACTS.mkdir(exist_ok=True)
    if width == 1280:  # a phone has no hover; the focused card shows its actions
        page.locator(wide).hover()
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the picture
    page.screenshot(
        path=str(ARTIFACTS / f"gallery-{width}.png"), full_page=True, animations="disabled"
    )
    assert_accessible(page, f"the gallery at {width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_bulk_star_and_delete_with_a_shift_click_range_and_undo(
    page: Page, live_server, alice, bob, team, width
):
    jobs = a_mixed_gallery(alice, bob, team)
    order = [jobs[name] for name in ("wide", "square", "pan", "tall", "pano")]  # newest first
    Collection.objects.create(team=team, owner=alice, name="Coastlines")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    bar = page.locator("#selection-bar")
    expect(bar).to_be_hidden()

    def tick(job: Job, **kwargs) -> None:
        page.locator(f"#job-{job.pk} .select-job").click(**kwargs)

    tick(order[0])
    tick(order[3], modifiers=["Shift"])  # the range: the first four cards
    ticked = page.locator("#job-grid .select-job:checked")
    expect(ticked).to_have_count(4)
    expect(bar).to_be_visible()
    expect(page.locator("#selection-count")).to_have_text("4 selected")
    expect(page.locator(f"#job-{order[4].pk} .select-job")).not_to_be_checked()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"gallery-selection-{width}.png"), animations="disabled")
    assert_accessible(page, f"the gallery with the selection bar at {width}")

    bar.get_by_role("button", name="Star").click()
    expect(page.locator("#selection-status")).to_contain_text("Starred 4 jobs.")
    expect(ticked).to_have_count(0)  # done: the selection is cleared
    for job in order[:4]:
        card = page.locator(f"#job-{job.pk}")
        expect(card.get_by_role("button", name="Unstar this job")).to_have_count(1)
    assert Star.objects.filter(user=alice).count() == 4

    tick(order[4])
    bar.get_by_label("Collection").select_option(label="Coastlines")
    bar.get_by_role("button", name="Add to collection").click()
    expect(page.locator("#selection-status")).to_contain_text("Added 1 job to Coastlines.")
    assert list(CollectionItem.objects.values_list("job_id", flat=True)) == [order[4].pk]

    tick(order[1])
    tick(order[2], modifiers=["Shift"])
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    bar.get_by_role("button", name="Delete").click()
    expect(page.locator("#selection-status")).to_contain_text("Deleted 2 jobs.")
    for job in order[1:3]:
        expect(page.locator(f"#job-{job.pk}")).to_contain_text("Deleted.")
    assert Job.objects.filter(deleted_at__isnull=False).count() == 2
    undo = page.locator("#selection-status").get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    page.screenshot(
        path=str(ARTIFACTS / f"gallery-bulk-deleted-{width}.png"), animations="disabled"
    )
    assert_accessible(page, f"the gallery after a bulk delete at {width}")
    undo.click()
    expect(page.locator("#selection-status")).to_contain_text("Restored 2 jobs.")
    for job in order[1:3]:
        card = page.locator(f"#job-{job.pk}")
        expect(card.get_by_role("button", name="Unstar this job")).to_be_visible()
    assert not Job.objects.filter(deleted_at__isnull=False).exists()


def test_a_refused_bulk_delete_says_why_in_the_bar(page: Page, live_server, alice, bob, team):
    jobs = a_mixed_gallery(alice, bob, team)
    Job.objects.filter(pk=jobs["wide"].pk).update(status="running", credits_charged=None)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url)
    page.locator(f"#job-{jobs['wide'].pk} .select-job").click()
    page.locator(f"#job-{jobs['square'].pk} .select-job").click()
    page.locator("#selection-bar").get_by_role("button", name="Delete").click()
    note = page.locator("#selection-bar .htmx-error")
    expect(note).to_contain_text("A job still in progress cannot be deleted")
    expect(note).to_contain_text("Nothing was deleted")
    expect(page.locator("#job-grid .select-job:checked")).to_have_count(2)  # kept, to fix
    assert not Job.objects.filter(deleted_at__isnull=False).exists()


def test_without_javascript_every_card_control_is_reachable_and_the_bar_works(
    browser, live_server, alice, bob, team
):
    jobs = a_mixed_gallery(alice, bob, team)
    viewport = {"width": 1280, "height": 900}
    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    page = context.new_page()
    sign_in(page, live_server.url)
    wide = page.locator(f"#job-{jobs['wide'].pk}")
    page.get_by_role("button", name="Filter").focus()
    reached = []
    for _ in range(12):  # Select, Open, Star, four pictures and their downloads, the title
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.className"))
    assert reached[0] == "select-job" and "job-link" in reached
    assert reached.count("thumb-download") == 4
    wide.locator(".select-job").check()
    page.locator(f"#job-{jobs['square'].pk} .select-job").check()
    page.locator("#selection-bar").get_by_role("button", name="Star").click()
    expect(page.get_by_text("Starred 2 jobs.")).to_be_visible()
    assert Star.objects.filter(user=alice).count() == 2
    context.close()


def test_a_selected_card_stays_selected_when_the_live_refresh_sends_it_anew(
    page: Page, live_server, alice, bob, team
):
    jobs = a_mixed_gallery(alice, bob, team)
    running = jobs["wide"]
    Job.objects.filter(pk=running.pk).update(status="running", progress=40, credits_charged=None)
    stored = list(running.images.all())
    running.images.all().delete()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url)
    card = page.locator(f"#job-{running.pk}")
    expect(card.locator("progress")).to_be_visible()
    card.locator(".select-job").click()
    expect(page.locator("#selection-count")).to_have_text("1 selected")

    # It finishes: the next refresh sends the whole card, now with its pictures.
    for image in stored:
        image.pk = None
        image.save()
    move(running, status="completed", progress=100, credits_charged=79)
    expect(card.locator("img")).to_have_count(4, timeout=10_000)
    expect(card.locator(".select-job")).to_be_checked()
    expect(page.locator("#selection-count")).to_have_text("1 selected")
    expect(page.locator("#selection-bar")).to_be_visible()
