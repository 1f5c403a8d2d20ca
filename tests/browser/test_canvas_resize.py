"""The canvas itself resized by pointer in the canvas editor (issue 16): the
handles on its edges pull that side out or in, the numeric fields follow (and
stay the keyboard's way in: typed sizes move the handles), and pulled on the
left the image keeps its place on the picture."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.test_editors import open_editor, picture, width  # noqa: F401 - fixtures
from tests.browser.test_organise_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drag(page: Page, selector: str, dx: float, dy: float) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    grip = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*grip)
    page.mouse.down()
    page.mouse.move(grip[0] + dx, grip[1] + dy, steps=6)
    page.mouse.up()


def test_the_canvas_edges_resize_it_by_pointer_in_step_with_the_fields(
    page: Page,
    live_server,
    picture,  # noqa: F811 - the fixture imported above
    width,  # noqa: F811
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/images/{picture.pk}/")
    dialog = open_editor(page, "Place the image on the canvas")
    cw, ch = dialog.get_by_label("Canvas width"), dialog.get_by_label("Canvas height")
    x, y = dialog.get_by_label("Image x"), dialog.get_by_label("Image y")
    assert (cw.input_value(), ch.input_value(), x.input_value(), y.input_value()) == (
        "1152", "768", "192", "128",
    )  # fmt: skip
    frame = page.locator("#canvas-surface .canvas-bg").bounding_box()
    assert frame is not None
    per_px = 1152 / frame["width"]  # canvas pixels per screen pixel when the drag begins

    # The right edge, 50 screen pixels out: wider; the image stays where it was.
    drag(page, "#canvas-surface [data-edge=e]", 50, 0)
    wider = int(cw.input_value())
    assert abs(wider - (1152 + 50 * per_px)) <= 2
    assert (ch.input_value(), x.input_value(), y.input_value()) == ("768", "192", "128")
    expect(page.locator("#canvas-surface")).to_have_attribute("viewBox", f"0 0 {wider} 768")
    sent = json.loads(page.locator('#edit-form input[name="canvas"]').input_value())
    assert sent == {"width": wider, "height": 768}

    # The left edge, out by 30: wider again, and the image moves right with the picture.
    per_px = wider / page.locator("#canvas-surface .canvas-bg").bounding_box()["width"]
    drag(page, "#canvas-surface [data-edge=w]", -30, 0)
    widest = int(cw.input_value())
    assert abs(widest - (wider + 30 * per_px)) <= 2
    assert int(x.input_value()) == 192 + (widest - wider)

    # The top edge, in by 20: shorter, the image moves up with the picture.
    per_px = widest / page.locator("#canvas-surface .canvas-bg").bounding_box()["width"]
    drag(page, "#canvas-surface [data-edge=n]", 0, 20)
    shorter = int(ch.input_value())
    assert shorter < 768 and int(y.input_value()) == 128 - (768 - shorter)

    # Typed, the size moves the frame and its handles (fields → canvas).
    cw.fill("1000")
    cw.dispatch_event("input")
    ch.fill("800")
    ch.dispatch_event("input")
    expect(page.locator("#canvas-surface")).to_have_attribute("viewBox", "0 0 1000 800")
    east = page.locator("#canvas-surface [data-edge=e]")
    assert abs(float(east.get_attribute("x")) + float(east.get_attribute("width")) / 2 - 1000) < 1
    assert_accessible(page, f"canvas editor with edge handles at {width}px")
