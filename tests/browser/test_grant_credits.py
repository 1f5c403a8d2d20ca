"""As people would: alice, an admin, grants bob credits from the spend page, and
bob sees the new balance on his credits page and in the header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    call_command("demo", verbosity=0)  # alice (admin) and bob in team "demo", 5,000 credits each


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("summary", has_text=f"{username}, account menu")).to_be_visible()


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page scrolls sideways on a phone ({width}px)"


def test_an_admin_grants_credits_and_the_member_sees_the_new_balance(
    page: Page, browser: Browser, live_server, demo
):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    page.goto(f"{live_server.url}/t/demo/spend/")
    expect(page.get_by_role("heading", name="Team spend")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "spend-desktop.png", full_page=True)

    row = page.locator("li.member-credit", has_text="bob")
    expect(row.locator(".mc-balance")).to_have_text("5,000")
    row.locator("summary").click()
    row.get_by_label("Credits to grant").fill("750")
    row.get_by_label("Note").fill("Launch week")
    row.get_by_role("button", name="Grant credits").click()
    # htmx swaps bob's row in place: the page itself does not reload
    expect(row.get_by_role("status")).to_have_text("Granted 750 credits to bob.")
    expect(row.locator(".mc-balance")).to_have_text("5,750")
    assert page.url.endswith("/t/demo/spend/")

    # A refusal comes back into the same row, in words next to its field.
    row.get_by_label("Change by").fill("-100")
    row.get_by_label("Reason").fill(" ")
    row.get_by_role("button", name="Adjust balance").click()
    expect(row.get_by_role("alert")).to_have_text("Say why: an adjustment needs a reason.")
    expect(row.locator(".mc-balance")).to_have_text("5,750")
    expect(row.get_by_label("Change by")).to_have_value("-100")
    page.screenshot(path=ARTIFACTS / "spend-granted-desktop.png", full_page=True)

    bob = browser.new_context(viewport=PHONE).new_page()
    sign_in(bob, live_server.url, "bob", "bob-demo-pass")
    bob.goto(f"{live_server.url}/t/demo/credits/")
    expect(bob.get_by_role("heading", name="My credits")).to_be_visible()
    expect(bob.locator("#my-balance")).to_have_text("5,750")
    expect(bob.locator("#balance")).to_have_text("5750 credits")
    newest = bob.locator(".ledger-table tbody tr").first
    expect(newest).to_contain_text("+750")
    expect(newest).to_contain_text("Launch week")
    expect(newest).to_contain_text("alice")
    assert_no_sideways_scroll(bob)
    bob.screenshot(path=ARTIFACTS / "credits-phone.png", full_page=True)

    # The spend page is for admins only.
    assert bob.goto(f"{live_server.url}/t/demo/spend/").status == 403


def test_the_ledger_filters_in_place_and_the_spend_page_fits_a_phone(page: Page, live_server, demo):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    page.goto(f"{live_server.url}/t/demo/credits/")
    page.screenshot(path=ARTIFACTS / "credits-desktop.png", full_page=True)
    page.get_by_label("Kind").select_option("refund")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=refund"))
    page.get_by_role("link", name="Clear").click()
    expect(page.locator(".ledger-table tbody tr")).to_have_count(1)

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/t/demo/spend/")
    page.locator("li.member-credit", has_text="bob").locator("summary").click()
    assert_no_sideways_scroll(page)
    page.screenshot(path=ARTIFACTS / "spend-phone.png", full_page=True)


def test_the_header_balance_refreshes_when_credits_change(page: Page, live_server, demo):
    """The header refetches /t/<slug>/balance/ on the `credits-changed` event that
    Generate (and an admin's action on their own account) sends."""
    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    page.goto(f"{live_server.url}/t/demo/spend/")
    expect(page.locator("#balance")).to_have_text("5000 credits")
    row = page.locator("li.member-credit", has_text="alice")
    row.locator("summary").click()
    row.get_by_label("Credits to grant").fill("125")
    row.get_by_role("button", name="Grant credits").click()
    expect(row.locator(".mc-balance")).to_have_text("5,125")
    expect(page.locator("#balance")).to_have_text("5125 credits")
