"""As a team member would: open an image from the gallery, Upscale it, Pan it
left, draw a mask and Vary region, Zoom out, Remix with a new prompt, and see
each new job's images arrive on the page; a member of another team cannot open
the image. The whole stack runs: web server, django-q2 cluster, poller, simulator."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import CreditAccount, Image, Job, Membership
from gallery.studio import pipeline
from tests.browser.page_waits import wait_until
from tests.browser.test_generate import sign_in
from tests.pipeline.stack import Processes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(sim, settings, tmp_path, live_server):
    settings.MEDIA_ROOT = tmp_path / "media"
    procs = Processes(sim, tmp_path / "media")
    procs.start()
    yield live_server
    procs.stop()


def completed(job: Job, timeout: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_final:
            assert job.status == Job.Status.COMPLETED, job.error_message
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job.pk} still {job.status}")


def press_and_confirm(page: Page, button, result: str, title: str) -> None:
    button.click()
    confirmation = page.locator(f"#result-{result} [role=status]")
    expect(confirmation).to_contain_text(title)
    expect(confirmation).to_contain_text("started")


def test_a_member_edits_an_image_five_ways_and_sees_the_results(
    page: Page, stack, alice, carol, team, browser
):
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=5000, by=alice)
    CreditAccount.objects.filter(membership=membership).update(max_in_flight=10)
    request = Request(operation="mj-v7", provider="evolink", prompt="a lighthouse at dusk --ar 3:2")
    parent = completed(pipeline.create(membership, pipeline.Draft(request=request)))
    image = parent.images.get(index=1)
    path = f"/t/acme/images/{image.pk}/"

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, stack.url, "alice")
    page.goto(f"{stack.url}/t/acme/")
    thumbnail = page.locator(f'#job-{parent.pk} a[href="{path}"]')
    expect(thumbnail, "the gallery links each thumbnail to its image page").to_have_count(1)
    thumbnail.click()
    expect(page).to_have_url(stack.url + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("a lighthouse at dusk")
    wait_until(page, "document.getElementById('stage-image').naturalWidth > 0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "image-desktop.png")

    press_and_confirm(
        page, page.get_by_role("button", name="Upscale (Creative)"), "upscale", "Upscale (Creative)"
    )
    press_and_confirm(page, page.get_by_role("button", name="Pan left"), "pan", "Pan left")

    # A rectangle and a triangle drawn with the mouse over the image, in the
    # full-screen mask editor.
    page.get_by_role("button", name="Mark the areas to redraw").click()
    tools = page.get_by_role("dialog").get_by_role("toolbar", name="Mask tools")
    tools.get_by_role("button", name="Rectangle").click()
    box = page.locator("#region-surface image").bounding_box()
    assert box is not None

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    page.mouse.move(*at(0.15, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.45, 0.55), steps=6)
    page.mouse.up()
    tools.get_by_role("button", name="Polygon").click()
    for corner in ((0.6, 0.3), (0.85, 0.35), (0.7, 0.75)):
        page.mouse.click(*at(*corner))
    page.keyboard.press("Enter")
    expect(page.locator("[data-mask-status]").first).to_contain_text("2 areas marked")
    mask = json.loads(page.locator('form[data-mask-editor] input[name="mask"]').first.input_value())
    first, second = mask["areas"]
    assert (first["width"], first["height"]) == (image.width, image.height)
    assert len(first["points"]) == 8 and len(second["points"]) == 6
    page.screenshot(path=ARTIFACTS / "mask-editor.png")
    page.get_by_role("dialog").get_by_role("button", name="Apply").click()
    page.get_by_label("Prompt for the areas (optional)").fill("a red sailing boat")
    press_and_confirm(
        page, page.get_by_role("button", name="Vary region", exact=True), "region", "Vary region"
    )

    press_and_confirm(page, page.get_by_role("button", name="Zoom out 2×"), "zoom", "Zoom out ×2")

    page.get_by_label("Remix prompt").fill("a lighthouse in a snowstorm")
    press_and_confirm(
        page, page.get_by_role("button", name="Remix", exact=True), "remix", "Remix (Strong)"
    )

    # The page's "made from this image" list fills in as the jobs finish.
    children = page.locator("#children .child")
    expect(children).to_have_count(5)
    expect(page.locator("#children .child-thumbs img")).to_have_count(1 + 4 * 4, timeout=60_000)
    made = {j.operation: j for j in Job.objects.filter(parent=image)}
    assert sorted(made) == sorted(
        ["mj-v7-upscale", "mj-v7-pan", "mj-v7-inpaint", "mj-v7-outpaint", "mj-v7-remix"]
    )
    assert made["mj-v7-upscale"].params["type"] == "creative"
    assert made["mj-v7-pan"].params["direction"] == "left"
    assert made["mj-v7-inpaint"].params["mask"] == mask
    assert made["mj-v7-outpaint"].params["scale"] == 2
    assert made["mj-v7-remix"].prompt == "a lighthouse in a snowstorm"
    for job in made.values():
        assert completed(job).images.filter(status=Image.Status.STORED).exists()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(stack.url + path)
    wait_until(page, "document.getElementById('stage-image').naturalWidth > 0")
    page.screenshot(path=ARTIFACTS / "image-phone.png", full_page=True)

    # ← and → browse the team's images in gallery order.
    page.locator("body").press("ArrowRight")
    expect(page).to_have_url(f"{stack.url}/t/acme/images/{parent.images.get(index=2).pk}/")

    stranger = browser.new_page()
    sign_in(stranger, stack.url, "carol")
    response = stranger.goto(stack.url + path)
    assert response is not None and response.status == 404
    stranger.close()
