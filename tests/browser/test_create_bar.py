"""As a person types in the create bar, problems and the price appear live."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_price_doubles_when_the_prompt_gains_oref(page: Page, live_server, alice, settings):
    settings.MJWEB_PROVIDER = "reapi"
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    prompt = page.get_by_label("Prompt")
    quote = page.locator("#quote")
    prompt.fill("a lighthouse at dusk --s 5000")
    expect(page.get_by_text("--s must be between 0 and 1000 (got 5000)")).to_be_visible()

    prompt.fill("a lighthouse at dusk --s 500")
    expect(page.locator(".lint-error")).to_have_count(0)
    expect(quote).to_have_text("fast · 88 credits")

    prompt.press_sequentially(" --oref https://example.com/ref.png", delay=5)
    expect(quote).to_have_text("fast · ×2 for --oref · 175 credits")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "create-bar-oref.png")

    page.get_by_role("button", name="Aspect ratio 16:9").click()
    expect(prompt).to_have_value(
        "a lighthouse at dusk --s 500 --oref https://example.com/ref.png --ar 16:9"
    )
    expect(page.get_by_role("button", name="Aspect ratio 16:9")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Aspect ratio 1:1").click()
    expect(prompt).to_have_value("a lighthouse at dusk --s 500 --oref https://example.com/ref.png")

    page.get_by_label("Speed").select_option("turbo")
    expect(page.get_by_text("--oref only works at fast speed (the speed is turbo)")).to_be_visible()
