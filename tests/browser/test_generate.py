"""As a team member would: type, Generate, watch, and see the images arrive
without reloading; a teammate sees them too. The whole stack runs: the web
server, the django-q2 cluster and the poller as processes, the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import Membership
from tests.browser.page_waits import wait_until
from tests.conftest import PASSWORD
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


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def loaded_images(page: Page) -> int:
    return page.evaluate(
        "[...document.querySelectorAll('article.job-card img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length"
    )


def test_a_prompt_becomes_four_images_without_reloading(
    page: Page, stack, alice, bob, team, browser
):
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=1000, by=alice)
    sign_in(page, stack.url, "alice")
    expect(page.locator("#balance")).to_contain_text("1000")

    prompt = page.get_by_label("Prompt")
    prompt.fill("a lighthouse at dusk --ar 16:9 --c 500")
    expect(page.get_by_text("--c must be between 0 and 100 (got 500)")).to_be_visible()
    prompt.fill("a lighthouse at dusk [sim:duration=2] --ar 16:9 --c 50")
    expect(page.locator("#quote")).to_contain_text("credits")
    page.get_by_role("button", name="Generate").click()

    card = page.locator("article.job-card").first
    expect(card.locator("progress")).to_be_visible()
    expect(page.locator("#balance")).to_contain_text("921")
    expect(prompt).to_have_value("a lighthouse at dusk [sim:duration=2] --ar 16:9 --c 50")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "generate-running.png")

    expect(card.locator("img")).to_have_count(4, timeout=30_000)
    wait_until(
        page,
        "[...document.querySelectorAll('article.job-card img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
    )
    assert loaded_images(page) == 4
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    page.screenshot(path=ARTIFACTS / "generate-done.png", full_page=True)

    teammate = browser.new_page()
    sign_in(teammate, stack.url, "bob")
    expect(teammate.locator("article.job-card img")).to_have_count(4)
    expect(teammate.locator("article.job-card")).to_contain_text("alice")
    teammate.close()
