"""Upload & paint as a member finds it (issue 16): an uploaded reference chip
offers "Upload & paint", which opens the full-screen canvas editor on the
upload; an image placed off the canvas is refused before any credit moves; a
marked area, a prompt and the press make one job, reserved once, whose source
is the upload's signed URL. At 1280 and 390 wide, with axe and screenshots.
No worker runs: the job is sent by hand to the simulator, whose request log
shows what the upstream got."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from gallery.studio import public_urls
from tests.browser.axe import assert_accessible
from tests.browser.page_waits import wait_until
from tests.browser.test_editors import fills_the_screen
from tests.browser.test_organise_flow import sign_in
from tests.create.test_reference_limits import png_bytes
from tests.images.test_edit_image import sent

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = {1280: 900, 390: 844}


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=1000, by=alice)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=10)
    return account


@pytest.mark.parametrize("width", sorted(WIDTHS, reverse=True))
def test_an_uploaded_chip_opens_upload_and_paint_and_makes_one_job(
    page: Page, live_server, sim, settings, funded, width
):
    settings.MJWEB_PUBLIC_URL = live_server.url  # the signed URLs: this site's own
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    sign_in(page, live_server.url)
    page.wait_for_url(f"{live_server.url}/t/acme/")
    page.wait_for_load_state()  # htmx listens to the file field from here
    picture = png_bytes((30, 120, 200), (600, 400))
    page.locator("#reference-file").set_input_files(
        {"name": "hat.png", "mimeType": "image/png", "buffer": picture}
    )
    paint = page.get_by_role("link", name="Upload & paint Image prompt 1")
    expect(paint).to_be_visible()
    upload = page.locator("#ref-chips input[name=ref]").input_value().split(" ", 1)[1]
    assert_accessible(page, f"an uploaded chip with Upload & paint at {width}")
    page.screenshot(path=ARTIFACTS / f"paint-chip-{width}.png")
    paint.click()

    # The editor is open at once, full-screen, on the upload.
    page.wait_for_url(f"{live_server.url}/t/acme/upload-paint/?src=*")
    dialog = page.get_by_role("dialog")
    expect(page.locator("#paint-editor:modal")).to_be_visible()
    fills_the_screen(page, dialog)
    wait_until(page, "document.querySelector('#canvas-surface .canvas-image').getBBox().width > 0")
    x = dialog.get_by_label("Image x")
    assert (dialog.get_by_label("Canvas width").input_value(), x.input_value()) == ("900", "150")

    # Off the canvas: named in the editor, and the press sends nothing.
    x.fill("5000")
    x.dispatch_event("input")
    expect(dialog.locator("[data-editor-rules]")).to_contain_text("lies outside the 900×600 canvas")
    dialog.get_by_role("button", name="Apply").click()
    page.get_by_label("Paint prompt").fill("a red felt hat")
    page.get_by_role("button", name="Upload & paint", exact=True).click()
    expect(page.locator("#result-paint")).to_contain_text("Not sent, nothing charged")
    assert Job.objects.count() == 0 and not LedgerEntry.objects.filter(kind="reserve").exists()

    # Back on the canvas, an area marked with the rectangle tool.
    page.get_by_role("button", name="Place the image and mark the area to paint").click()
    x.fill("150")
    x.dispatch_event("input")
    expect(dialog.locator("[data-editor-rules]")).to_be_empty()
    tools = dialog.get_by_role("toolbar", name="Canvas tools")
    tools.get_by_role("button", name="Rectangle").click()
    box = page.locator("#canvas-surface .canvas-bg").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.45, steps=6)
    page.mouse.up()
    expect(dialog.locator("[data-mask-status]")).to_contain_text("1 area marked")
    assert_accessible(page, f"the upload & paint editor at {width}")
    page.screenshot(path=ARTIFACTS / f"upload-paint-editor-{width}.png")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#result-paint")).not_to_contain_text("Not sent")  # put right

    # The price before the press, then one job with one reserve.
    expect(page.locator("#check-paint")).to_contain_text("credits")
    expect(page.locator("#issues-paint .lint-error")).to_have_count(0)
    assert_accessible(page, f"the upload & paint form at {width}")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of a full-page shot
    page.screenshot(path=ARTIFACTS / f"upload-paint-form-{width}.png", full_page=True)
    page.get_by_role("button", name="Upload & paint", exact=True).click()
    expect(page.locator("#result-paint [role=status]")).to_contain_text("started")
    job = Job.objects.get()
    assert job.operation == "mj-v7-upload-paint" and job.prompt.startswith("a red felt hat")
    assert len(job.params["mask"]["areas"]) == 1
    [source] = job.source_urls
    assert public_urls.name_from_url(source) == public_urls.name_from_url(upload)
    assert LedgerEntry.objects.filter(account=funded, kind="reserve").count() == 1
    body = sent(sim, job)  # what the upstream got: the upload, by its signed URL
    assert body["model"] == "mj-v7-upload-paint" and body["image_urls"] == [source]
    assert body["model_params"]["mask"] == job.params["mask"]
