"""As staff and a team admin would: the providers' bill shows a month with its
margin and explained differences; the audit log shows what an admin changed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from gallery.catalog.operations import Request
from gallery.models import Membership
from gallery.studio import pipeline
from tests.browser.axe import assert_accessible
from tests.browser.test_grant_credits import PHONE, assert_no_sideways_scroll, sign_in
from tests.pipeline.conftest import control, run_until_final

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    call_command("demo", verbosity=0)  # alice (admin) and bob in team "demo", 5,000 credits each


@pytest.fixture
def statements(sim, settings) -> str:
    key = f"browser-{uuid.uuid4().hex[:10]}"
    control(sim, f"/_sim/keys/{key}", {"balance": "1000000"})
    settings.PROVIDERS = {
        name: {**conf, "api_key": key, "statement_url": f"{sim.base_url}/_sim/statement"}
        for name, conf in settings.PROVIDERS.items()
    }
    return key


def test_the_reconciliation_page_shows_a_month_per_provider(
    page: Page, browser: Browser, live_server, demo, statements
):
    ARTIFACTS.mkdir(exist_ok=True)
    get_user_model().objects.filter(username="alice").update(is_staff=True)
    membership = Membership.objects.get(user__username="alice", team__slug="demo")
    for provider, prompt in (
        ("evolink", "a harbour"),
        ("evolink", "a lighthouse [sim:drop]"),
        ("vtrix", "a quiet bay"),
    ):
        request = Request(operation="mj-v7", provider=provider, prompt=prompt, speed="fast")
        run_until_final(pipeline.create(membership, pipeline.Draft(request=request)))

    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    page.locator("summary", has_text="alice, account menu").click()
    page.get_by_role("menuitem", name="Providers' bill").click()
    month = timezone.now().strftime("%B %Y")
    expect(page.get_by_role("heading", name=f"Providers' bill, {month}")).to_be_visible()
    totals = page.locator("#reconcile-totals")
    for provider in ("evolink", "reapi", "vtrix"):
        expect(totals.get_by_role("rowheader", name=provider)).to_be_visible()
    expect(page.locator("#provider-evolink")).to_contain_text("2")  # two tasks billed
    expect(page.locator("#provider-vtrix")).to_contain_text("0.087318 usd")
    differences = page.locator("#differences-evolink")
    expect(differences).to_contain_text("the create answer was lost")
    expect(differences.get_by_text("Unexplained", exact=True)).to_have_count(0)
    assert_accessible(page, "reconciliation")
    page.screenshot(path=ARTIFACTS / "reconcile-desktop.png", full_page=True)

    page.get_by_role("link", name="←").click()
    expect(page.get_by_role("heading", name="Providers' bill,")).not_to_contain_text(month)
    expect(page.locator("#provider-evolink")).to_contain_text("0 credits")

    phone = browser.new_context(viewport=PHONE).new_page()
    sign_in(phone, live_server.url, "alice", "alice-demo-pass")
    phone.goto(f"{live_server.url}/staff/reconcile/")
    expect(phone.get_by_role("heading", name=f"Providers' bill, {month}")).to_be_visible()
    assert_no_sideways_scroll(phone)
    phone.screenshot(path=ARTIFACTS / "reconcile-phone.png", full_page=True)


def test_an_admin_reads_what_changed_in_the_audit_log_and_filters_it(page: Page, live_server, demo):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url, "alice", "alice-demo-pass")
    page.goto(f"{live_server.url}/t/demo/spend/")
    row = page.locator("li.member-credit", has_text="bob")
    row.locator("summary").click()
    row.get_by_label("Credits to grant").fill("250")
    row.get_by_role("button", name="Grant credits").click()
    expect(row.get_by_role("status")).to_have_text("Granted 250 credits to bob.")

    page.goto(f"{live_server.url}/t/demo/members/")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    first = page.locator(".audit-table tbody tr").first
    expect(first).to_contain_text("Credits granted")
    expect(first).to_contain_text("bob's balance")
    expect(first).to_contain_text("5250")
    assert_accessible(page, "audit log")
    page.screenshot(path=ARTIFACTS / "audit-desktop.png", full_page=True)

    # A filter that matches nothing says so in place, without reloading the page.
    page.get_by_label("Action").select_option("role")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-empty")).to_contain_text("No entries match")
    assert "action=role" in page.url
