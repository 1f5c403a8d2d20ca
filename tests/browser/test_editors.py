"""The image page's two editors as a person uses them, at 1280 and 390 wide:
Vary region's mask editor and Edit's canvas editor open full-screen, close
with Esc (focus back on the button that opened them), place and scale the
image with the pointer in sync with the pixel fields, and refuse in place,
before any credit moves, an image placed wholly off the canvas or a mask drawn
as a line. axe runs with each editor open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import Job, LedgerEntry, Membership
from tests.browser.axe import assert_accessible
from tests.browser.test_image_view import add_images
from tests.browser.test_organise_flow import sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = {1280: 900, 390: 844}
OFF_CANVAS = "lies outside the 1152×768 canvas; place at least part of it on the canvas"


@pytest.fixture(params=sorted(WIDTHS, reverse=True), ids=lambda w: f"{w}px")
def width(request, page: Page) -> int:
    page.set_viewport_size({"width": request.param, "height": WIDTHS[request.param]})
    return request.param


@pytest.fixture
def picture(settings, tmp_path, alice, team):
    """A stored 768×512 image of alice's, and 1000 credits to spend."""
    settings.MEDIA_ROOT = tmp_path / "media"
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=1000, by=alice)
    job = Job.objects.create(
        team=team, user=alice, provider="evolink", operation="mj-v7",
        prompt="a lighthouse at dusk --ar 3:2", status="completed", progress=100,
        credits_reserved=79, credits_charged=79, upstream_id="task-lighthouse",
    )  # fmt: skip
    add_images(job, 1)
    return job.images.get()


def spent_nothing(membership_user, team, jobs_before: int) -> None:
    membership = Membership.objects.get(user=membership_user, team=team)
    assert ledger.account_for(membership).balance == 1000
    assert LedgerEntry.objects.count() == 1  # the grant, nothing reserved
    assert Job.objects.count() == jobs_before


def fills_the_screen(page: Page, dialog) -> None:
    box = dialog.bounding_box()
    view = page.viewport_size
    assert box is not None and view is not None
    assert box["width"] >= view["width"] - 1 and box["height"] >= view["height"] - 1


def open_editor(page: Page, name: str):
    page.get_by_role("button", name=name).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_the_mask_editor_opens_full_screen_closes_with_esc_and_refuses_a_line(
    page: Page, live_server, alice, team, picture, width
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/images/{picture.pk}/")
    opener = page.get_by_role("button", name="Mark the areas to redraw")
    dialog = open_editor(page, "Mark the areas to redraw")
    fills_the_screen(page, dialog)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page, "Esc closes the editor, not the page").to_have_url(
        f"{live_server.url}/t/acme/images/{picture.pk}/"
    )
    expect(opener).to_be_focused()

    dialog = open_editor(page, "Mark the areas to redraw")
    expect(dialog.get_by_role("button", name="Rectangle")).to_be_focused()
    # Shift+Tab: Apply, Cancel, then round to the editor's last control, not out of it.
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_text("Enter a rectangle in pixels")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Polygon").click()
    box = page.locator("#region-surface image").bounding_box()
    assert box is not None and box["width"] > (600 if width == 1280 else 300)

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    for corner in ((0.2, 0.5), (0.5, 0.5), (0.8, 0.5)):  # three corners on one line
        page.mouse.click(*at(*corner))
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-mask-status]")).to_contain_text(
        "has no area: draw a shape, not a line or a dot"
    )
    assert page.locator('#region-form input[name="mask"]').input_value() == ""

    for corner in ((0.2, 0.2), (0.6, 0.25), (0.4, 0.7)):
        page.mouse.click(*at(*corner))
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-mask-status]")).to_contain_text("1 area marked")
    assert_accessible(page, f"mask editor open at {width}px")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"mask-editor-{width}.png")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#region-form [data-editor-summary]")).to_contain_text("1 area marked")
    mask = json.loads(page.locator('#region-form input[name="mask"]').input_value())
    assert [(a["width"], a["height"], len(a["points"])) for a in mask["areas"]] == [(768, 512, 6)]

    # Cancel puts back what was there when the editor opened.
    dialog = open_editor(page, "Mark the areas to redraw")
    dialog.get_by_role("button", name="Clear").click()
    expect(page.locator('#region-form input[name="mask"]')).to_have_value("")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#region-form [data-editor-summary]")).to_contain_text("1 area marked")
    assert json.loads(page.locator('#region-form input[name="mask"]').input_value()) == mask


def test_the_canvas_editor_moves_and_scales_with_the_pointer_and_refuses_an_image_off_the_canvas(
    page: Page, live_server, alice, team, picture, width
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/images/{picture.pk}/")
    opener = page.get_by_role("button", name="Place the image on the canvas")
    dialog = open_editor(page, "Place the image on the canvas")
    fills_the_screen(page, dialog)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    dialog = open_editor(page, "Place the image on the canvas")
    x, y = dialog.get_by_label("Image x"), dialog.get_by_label("Image y")
    w, h = dialog.get_by_label("Image width"), dialog.get_by_label("Image height")
    assert (x.input_value(), y.input_value(), w.input_value(), h.input_value()) == (
        "192", "128", "768", "512",
    )  # fmt: skip
    image = page.locator("#canvas-surface .canvas-image").bounding_box()
    canvas = page.locator("#canvas-surface .canvas-bg").bounding_box()
    assert image is not None and canvas is not None
    per_px = 1152 / canvas["width"]  # canvas pixels per screen pixel

    # Drag the image 60 screen pixels right and 30 down.
    start = (image["x"] + image["width"] / 2, image["y"] + image["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 30, steps=5)
    page.mouse.up()
    assert abs(int(x.input_value()) - (192 + 60 * per_px)) <= 2
    assert abs(int(y.input_value()) - (128 + 30 * per_px)) <= 2
    placed = json.loads(page.locator('#edit-form input[name="img_pos"]').input_value())
    assert (placed["x"], placed["y"]) == (int(x.input_value()), int(y.input_value()))

    # Drag the bottom-right handle outwards: wider and taller, 3:2 kept.
    handle = page.locator('#canvas-surface [data-handle="se"]').bounding_box()
    assert handle is not None
    grip = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.move(*grip)
    page.mouse.down()
    page.mouse.move(grip[0] + 40, grip[1] + 10, steps=5)
    page.mouse.up()
    wider, taller = int(w.input_value()), int(h.input_value())
    assert wider > 768 and taller > 512
    assert abs(wider / taller - 1.5) < 0.01

    # Typing a size scales the picture (fields → canvas).
    for field, value in ((w, "576"), (h, "384")):
        field.fill(value)
        field.dispatch_event("input")
    picture = page.locator("#canvas-surface .canvas-image")
    expect(picture).to_have_attribute("width", "576")
    expect(picture).to_have_attribute("height", "384")

    # Wholly off the canvas: the rule is named in the editor...
    x.fill("2000")
    x.dispatch_event("input")
    expect(dialog.locator("[data-editor-rules]")).to_contain_text(OFF_CANVAS)
    assert_accessible(page, f"canvas editor open at {width}px")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"canvas-editor-refused-{width}.png")
    x.fill(str(placed["x"]))  # back on the canvas: the rule goes
    x.dispatch_event("input")
    expect(dialog.locator("[data-editor-rules]")).to_be_empty()
    page.screenshot(path=ARTIFACTS / f"canvas-editor-{width}.png")
    x.fill("2000")
    x.dispatch_event("input")
    expect(dialog.locator("[data-editor-rules]")).to_contain_text(OFF_CANVAS)
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_be_hidden()

    # ...and Generate refuses it in place, charging nothing.
    jobs = Job.objects.count()
    page.get_by_label("Edit prompt").fill("a wide harbour at dusk")
    page.get_by_role("button", name="Edit", exact=True).click()
    expect(page.locator("#result-edit")).to_contain_text("Not sent, nothing charged")
    expect(page.locator("#edit-form")).to_contain_text(OFF_CANVAS)
    spent_nothing(alice, team, jobs)


def test_without_javascript_the_server_refuses_an_image_off_the_canvas_in_place(
    browser, live_server, alice, team, picture
):
    viewport = {"width": 1280, "height": 900}
    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/images/{picture.pk}/")
    jobs = Job.objects.count()
    page.get_by_label("Image x").fill("2000")
    page.get_by_label("Edit prompt").fill("a wide harbour at dusk")
    page.get_by_role("button", name="Edit", exact=True).click()
    expect(page.locator("#result-edit")).to_contain_text(OFF_CANVAS)
    spent_nothing(alice, team, jobs)
    context.close()
