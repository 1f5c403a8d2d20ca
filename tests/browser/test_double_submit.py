"""A double click is one job (issue 16): on Generate in the create bar and on
an edit button of the image page. The press carries a one-time request id that
is kept for a moment after the job is made, so a second press that lands after
the (fast) answer is still the same job; a deliberate press later, or after the
prompt changed, is a new one. The moment is measured on Playwright's clock, so
nothing here waits on the wall clock. No worker runs: jobs stay queued."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from tests.browser.test_organise_flow import sign_in
from tests.factories import finished_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=2000, by=alice)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=10)
    return account


def reserves(account) -> int:
    return LedgerEntry.objects.filter(account=account, kind="reserve").count()


def settled(page: Page) -> None:
    """Every request the page sent has its answer (the live poll is idle)."""
    page.wait_for_load_state("networkidle")


def ready_to_generate(page: Page, text: str) -> None:
    page.get_by_label("Prompt").fill(text)
    expect(page.locator("#quote")).to_contain_text("credits")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


def test_a_double_click_on_generate_makes_one_job_and_one_reserve(page: Page, live_server, funded):
    sign_in(page, live_server.url)
    ready_to_generate(page, "a lighthouse at dusk")
    page.get_by_role("button", name="Generate").dblclick()
    expect(page.locator("article.job-card")).to_have_count(1)
    settled(page)
    assert Job.objects.count() == 1
    assert reserves(funded) == 1
    expect(page.locator("article.job-card")).to_have_count(1)


def test_a_second_press_just_after_the_answer_is_the_same_job_and_a_later_one_is_new(
    page: Page, live_server, funded
):
    page.clock.install()
    sign_in(page, live_server.url)
    ready_to_generate(page, "a heron in the reeds")
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)  # time stands still from here
    generate = page.get_by_role("button", name="Generate")
    cards = page.locator("article.job-card")

    with page.expect_response(lambda r: r.url.endswith("/t/acme/jobs/")):
        generate.click()
    expect(cards).to_have_count(1)
    with page.expect_response(lambda r: r.url.endswith("/t/acme/jobs/")):
        generate.click()  # the second click of a slow double click
    assert Job.objects.count() == 1
    assert reserves(funded) == 1
    expect(cards).to_have_count(1)  # the same job is not drawn twice

    page.clock.run_for(1500)  # a deliberate press, later, with the same prompt
    with page.expect_response(lambda r: r.url.endswith("/t/acme/jobs/")):
        generate.click()
    expect(cards).to_have_count(2)
    assert Job.objects.count() == 2 and reserves(funded) == 2


def test_a_changed_prompt_is_a_new_job_at_once(page: Page, live_server, funded):
    page.clock.install()
    sign_in(page, live_server.url)
    ready_to_generate(page, "a fox in snow")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("article.job-card")).to_have_count(1)
    ready_to_generate(page, "a fox in the rain")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("article.job-card")).to_have_count(2)
    assert sorted(Job.objects.values_list("prompt", flat=True)) == [
        "a fox in snow",
        "a fox in the rain",
    ]


def test_a_double_click_on_upscale_makes_one_job(page: Page, live_server, alice, team, funded):
    parent = finished_job(alice, team)
    Job.objects.filter(pk=parent.pk).update(upstream_id="task-1")
    image = parent.images.get(index=1)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/images/{image.pk}/")
    upscale = page.get_by_role("button", name="Upscale (Creative)")
    expect(upscale).to_be_enabled()

    upscale.dblclick()
    expect(page.locator("#result-upscale [role=status]")).to_contain_text("started")
    settled(page)
    assert Job.objects.exclude(pk=parent.pk).count() == 1
    assert reserves(funded) == 1


def test_upscale_pressed_again_just_after_the_answer_is_the_same_job(
    page: Page, live_server, alice, team, funded
):
    parent = finished_job(alice, team)
    Job.objects.filter(pk=parent.pk).update(upstream_id="task-1")
    image = parent.images.get(index=1)
    page.clock.install()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/images/{image.pk}/")
    upscale = page.get_by_role("button", name="Upscale (Creative)")
    expect(upscale).to_be_enabled()
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)

    for _ in range(2):
        with page.expect_response(lambda r: r.url.endswith("/edit/")):
            upscale.click()
    assert Job.objects.exclude(pk=parent.pk).count() == 1
    page.clock.run_for(1500)
    with page.expect_response(lambda r: r.url.endswith("/edit/")):
        upscale.click()
    assert Job.objects.exclude(pk=parent.pk).count() == 2
    assert reserves(funded) == 2
