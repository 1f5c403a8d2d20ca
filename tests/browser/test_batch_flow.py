"""A batch as a member runs one: paste a table, see each row priced and a bad
one named, set a cap, start, and watch the rows' thumbnails arrive on the
batch's page. The whole stack runs: the web server, the django-q2 cluster and
the poller (which feeds the batch as slots free) as processes, the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import Batch, Membership
from tests.browser.axe import assert_accessible
from tests.browser.test_generate import sign_in
from tests.pipeline.stack import Processes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLE = """name\tprompt\taspect ratio\trepeat
chair\ta red chair [sim:duration=1]\t4:3\t1
lamp\ta brass lamp [sim:duration=1]\t1:1\t2
vase\ta tall vase\twide\t1"""


@pytest.fixture
def stack(sim, settings, tmp_path, live_server):
    settings.MEDIA_ROOT = tmp_path / "media"
    procs = Processes(sim, tmp_path / "media")
    procs.start()
    yield live_server
    procs.stop()


def test_a_pasted_table_becomes_a_batch_with_finished_thumbnails(page: Page, stack, alice, team):
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=1000, by=alice)
    sign_in(page, stack.url, "alice")
    page.get_by_role("link", name="Batch from a table").click()
    page.get_by_label("Batch name").fill("Spring shots")
    page.get_by_label("Table (CSV or TSV, with a header row)").fill(TABLE)
    page.get_by_role("button", name="Check prices").click()

    expect(page.locator("#preview-summary")).to_contain_text("2 rows priced · 3 jobs · 237 credits")
    expect(page.locator("#batch-problems")).to_contain_text("aspect ratio")
    expect(page.locator("#batch-problems")).to_contain_text("Write it as width:height")
    expect(page.get_by_label("Spending cap (credits)")).to_have_value("237")
    assert_accessible(page, "the batch preview")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "batch-preview.png", full_page=True)
    page.get_by_role("button", name="Start batch").click()

    expect(page.get_by_role("heading", name="Batch: Spring shots")).to_be_visible()
    expect(page.locator("#batch-rows img")).to_have_count(12, timeout=60_000)
    expect(page.locator("#batch-summary")).to_contain_text("Finished", timeout=20_000)
    expect(page.locator("#batch-summary")).to_contain_text("3 of 3 jobs done (3 completed)")
    expect(page.locator("#batch-spent")).to_contain_text("237 of 237 credits")
    assert_accessible(page, "a finished batch")
    page.screenshot(path=ARTIFACTS / "batch-finished.png", full_page=True)
    batch = Batch.objects.get()
    assert batch.committed == 237 and batch.collection.name == "Spring shots"
    assert ledger.account_for(membership).balance == 1000 - 237
