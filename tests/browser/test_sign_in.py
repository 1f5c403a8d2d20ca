"""As a person would: alice signs in, sees her team, switches team, signs out."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    call_command("demo", verbosity=0)


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", name="Sign in to mjweb")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_alice_signs_in_switches_team_and_signs_out(page: Page, live_server, demo):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    expect(page.get_by_role("heading", name="Demo studio gallery")).to_be_visible()
    expect(page.get_by_text("No images yet")).to_be_visible()
    expect(page.locator("summary", has_text="alice, account menu")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "gallery-desktop.png", full_page=True)

    page.get_by_label("Switch team").click()
    page.get_by_role("menuitem", name="Agency").click()
    expect(page.get_by_role("heading", name="Agency gallery")).to_be_visible()
    assert page.url.endswith("/t/agency/")

    page.get_by_role("link", name="Members").click()
    expect(page.get_by_text("carol")).to_be_visible()
    expect(page.get_by_role("button", name="Create invite link")).to_have_count(0)

    page.locator("summary", has_text="alice, account menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to mjweb")).to_be_visible()
    page.goto(f"{live_server.url}/t/demo/")
    expect(page.get_by_role("heading", name="Sign in to mjweb")).to_be_visible()


def test_a_wrong_password_is_refused_in_words(page: Page, live_server, demo):
    sign_in(page, live_server.url, "alice", "wrong")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")


def test_an_invited_person_joins_from_the_link(page: Page, live_server, demo):
    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    page.goto(f"{live_server.url}/t/demo/members/")
    page.get_by_label("Who is it for?").fill("Erin")
    page.get_by_role("button", name="Create invite link").click()
    link = page.get_by_label("Invite link").input_value()
    assert "/invite/" in link
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Demo studio")).to_be_visible()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-9")
    page.get_by_label("Password confirmation").fill("a-long-passphrase-9")
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_role("heading", name="Demo studio gallery")).to_be_visible()


def test_the_gallery_works_at_phone_width(page: Page, live_server, demo):
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, "bob", "bob-demo-pass")
    expect(page.get_by_role("heading", name="Demo studio gallery")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=ARTIFACTS / "gallery-phone.png", full_page=True)
    page.get_by_label("Switch team").click()
    expect(page.get_by_role("menuitem", name="Demo studio")).to_be_visible()
    page.locator("summary", has_text="bob, account menu").click()
    expect(page.get_by_role("menuitem", name="Sign out")).to_be_visible()
