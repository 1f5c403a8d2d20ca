"""As an admin would: the providers page shows a provider that is down with its
chart, the team's order is changed in place, and the create panel names the
provider's state next to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from gallery.models import Team
from gallery.studio import health
from gallery.studio.models.health import Outcome
from tests.browser.axe import assert_accessible

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db, settings):
    settings.PROVIDERS = {
        name: {"base_url": f"http://127.0.0.1:1/{name}", "api_key": "k"}
        for name in ("evolink", "reapi", "vtrix")
    }
    settings.MJWEB_PROVIDER = "evolink"
    call_command("demo", verbosity=0)
    for _ in range(health.DOWN_STREAK):
        health.record("evolink", "create", Outcome.SERVER_ERROR, latency=0.2, http_status=503)
    health.record("reapi", "create", Outcome.OK, latency=1.4)


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-demo-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("summary", has_text="alice, account menu")).to_be_visible()


def test_the_health_page_and_the_create_panel_show_a_provider_that_is_down(
    page: Page, live_server, demo
):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url)
    page.get_by_role("link", name="Providers").click()
    evolink = page.locator("#health-evolink")
    expect(evolink.locator(".state-badge")).to_have_text("down")
    expect(evolink.get_by_role("img", name="evolink: share of failed calls")).to_be_visible()
    expect(page.locator("#health-reapi .state-badge")).to_have_text("healthy")
    assert_accessible(page, "providers page")
    page.screenshot(path=ARTIFACTS / "providers-desktop.png", full_page=True)

    page.get_by_label("First provider").select_option("vtrix")
    page.get_by_label("Third provider").select_option("evolink")
    page.get_by_role("button", name="Save order").click()
    expect(page.locator("#provider-order").get_by_role("status")).to_have_text("Saved.")
    assert Team.objects.get(slug="demo").providers_in_order() == ["vtrix", "reapi", "evolink"]
    page.get_by_label("First provider").select_option("reapi")  # twice: refused in place
    page.get_by_role("button", name="Save order").click()
    expect(page.locator("#provider-order").get_by_role("alert")).to_contain_text(
        "Choose each provider once"
    )

    page.get_by_role("link", name="Gallery").click()
    expect(page.locator("#provider-state")).to_have_text(
        "evolink is down: new generations go to the team's next provider, edits wait"
    )
    expect(page.locator("#id_provider option[value=evolink]")).to_have_text("evolink (down)")
    assert_accessible(page, "gallery with a provider down")
    page.locator(".create-controls").screenshot(path=ARTIFACTS / "create-panel-provider-down.png")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/t/demo/providers/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the providers page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=ARTIFACTS / "providers-phone.png", full_page=True)
