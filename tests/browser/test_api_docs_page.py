"""The team API's docs page in Chromium at 1280 and 390 wide: built from the
document django-ninja makes, served by this site alone (no CDN), accessible."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.catalog.prompt import MAX_PROMPT_LENGTH
from tests.browser.axe import assert_accessible
from tests.browser.test_organise_flow import sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_api_docs_page_lists_the_request_fields_with_the_catalogs_limits(
    page: Page, live_server, alice, team, width
):
    page.set_viewport_size({"width": width, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_role("heading", name="Team API", level=1)).to_be_visible()
    create = page.locator("#createImageGeneration")
    expect(create.get_by_text("model_params.scale", exact=True)).to_be_attached()
    limit = f"string (max length {MAX_PROMPT_LENGTH}) or null"
    expect(create.get_by_text(limit)).to_be_attached()
    assert all(url.startswith(live_server.url) for url in requested), requested
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"api-docs-{width}.png"), full_page=True)
    assert_accessible(page, f"the API docs page at {width}")
