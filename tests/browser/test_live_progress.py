"""The live refresh in a real browser: a job whose progress moves gets a new
bar in the card the page already has; a job whose status changes gets a new
card. No workers run: the test moves the jobs in the database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gallery.models import Job
from tests.browser.live_moves import move
from tests.browser.test_generate import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_progress_moves_in_place_and_a_finished_job_gets_its_new_card(
    page: Page, live_server, alice, team
):
    job = Job.objects.create(
        team=team, user=alice, provider="evolink", operation="mj-v7", prompt="a slow fox",
        status="running", progress=10, credits_reserved=79,
    )  # fmt: skip
    sign_in(page, live_server.url, "alice")
    card = page.locator(f"#job-{job.pk}")
    expect(card.locator("progress")).to_have_attribute("value", "10")
    page.evaluate(f"document.getElementById('job-{job.pk}').dataset.drawn = 'first'")

    move(job, "progress", progress=60)
    expect(card.locator("progress")).to_have_attribute("value", "60", timeout=8000)
    expect(page.locator(f"#job-{job.pk}[data-drawn=first]")).to_have_count(1)  # same card

    move(job, status="failed", error_message="Upstream said no")
    expect(card).to_contain_text("Upstream said no", timeout=8000)
    expect(page.locator(f"#job-{job.pk}[data-drawn=first]")).to_have_count(0)  # a new card
    expect(card.locator("progress")).to_have_count(0)
