"""A refused reference upload is explained where the file was chosen."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from gallery.net.uploads import clean_upload
from tests.browser.test_generate import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png(colour: tuple[int, int, int]) -> dict:
    data = io.BytesIO()
    PILImage.new("RGB", (40, 30), colour).save(data, "PNG")
    return {"name": "ref.png", "mimeType": "image/png", "buffer": data.getvalue()}


def test_the_rate_limit_and_the_quota_are_said_in_place(page: Page, live_server, alice, settings):
    cache.clear()
    settings.MJWEB_UPLOAD_RATE_LIMIT, settings.MJWEB_UPLOAD_RATE_WINDOW = 2, 10**9
    first, second = png((1, 2, 3)), png((200, 100, 50))
    quota = sum(len(clean_upload(f["buffer"]).data) for f in (first, second)) - 1
    settings.MJWEB_UPLOAD_QUOTA_BYTES = quota  # the first fits, not both
    sign_in(page, live_server.url, "alice")
    # The chooser sends its file once htmx has taken the page in hand: a file
    # chosen in the instant before that (as a test can, a person cannot) is lost.
    page.wait_for_url("**/t/acme/")
    page.wait_for_load_state()
    chooser = page.locator("#reference-file")
    result = page.locator("#upload-result")

    chooser.set_input_files(first)
    # an upload is decoded and re-encoded before its chip shows: give it time on a busy machine
    expect(page.get_by_role("img", name="Image prompt 1")).to_be_visible(timeout=20_000)

    chooser.set_input_files(second)
    expect(result.get_by_role("alert")).to_contain_text(f"of your {quota} bytes quota")

    chooser.set_input_files(png((9, 9, 9)))
    expect(result.get_by_role("alert")).to_contain_text("Too many uploads: at most 2 every")
    cache.clear()
