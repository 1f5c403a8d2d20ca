"""A queue instead of a refusal, and progress that moves, in Chromium (issue 16).

The first test runs the whole stack (web server, django-q2 cluster, poller,
simulator): five quick Generates with the cap at four leave one card
"Queued · next in line" that later completes, and a 6-second job's bar passes
through several values on the way. The second draws queued and running cards
and the team's queue from rows in the database, at 1280 and 390 wide, checks
them with axe and saves the screenshots."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, Membership
from tests.browser.axe import assert_accessible
from tests.browser.test_generate import stack  # noqa: F401 - the fixture
from tests.browser.test_organise_flow import sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_five_quick_generates_queue_the_fifth_and_progress_moves(
    page: Page,
    stack,  # noqa: F811 - the fixture imported above
    alice,
    team,
):
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=5000, by=alice)
    CreditAccount.objects.filter(membership=membership).update(max_in_flight=4)
    sign_in(page, stack.url)
    prompt = page.get_by_label("Prompt")
    cards = page.locator("article.job-card")
    for n in range(1, 6):
        prompt.fill(f"a fox number {n} [sim:duration=6]")
        page.get_by_role("button", name="Generate").click()
        expect(cards).to_have_count(n)
    expect(page.locator(".status-label", has_text="in line")).to_have_count(1)
    waiting_card = page.locator(
        "article.job-card", has=page.locator(".status-label", has_text="in line")
    )
    expect(waiting_card.locator(".status-label")).to_have_text("Queued · next in line")
    waiting_id = waiting_card.get_attribute("id")
    assert waiting_id == cards.first.get_attribute("id")  # the newest, the fifth

    # The waiting job's bar, read from its place in line until its card completes:
    # its whole life is on screen (the first job's began while the others were made).
    first = page.locator(f"#{waiting_id}")
    seen: list[int] = []
    give_up = time.monotonic() + 120  # a guard against a stuck job, not a timing assertion
    while first.locator("progress").count():
        assert time.monotonic() < give_up, seen
        try:
            value = first.locator("progress").get_attribute("value", timeout=1000)
        except PlaywrightTimeoutError:  # the card completed between the count and the read
            continue
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
        page.wait_for_timeout(200)
    assert len(set(seen)) >= 3, seen
    assert seen == sorted(seen), seen  # it never goes back

    waiting = page.locator(f"#{waiting_id}")
    expect(waiting.locator("img")).to_have_count(4, timeout=60_000)
    assert Job.objects.filter(status="completed").count() == 5


def make(team, user, label: str, **fields) -> Job:
    return Job.objects.create(
        team=team,
        user=user,
        provider=fields.pop("provider", "evolink"),
        operation="mj-v7",
        prompt=f"{label} --ar 3:2",
        credits_reserved=79,
        **fields,
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_queued_cards_and_the_team_queue_look_right(
    page: Page, live_server, alice, bob, team, width
):
    ARTIFACTS.mkdir(exist_ok=True)
    now = timezone.now()
    for n, label in enumerate(("a lighthouse at dusk", "a heron in the reeds", "a fox in snow")):
        make(
            team, alice, label, status="running", progress=30 + 20 * n,
            snapshot={"estimated_seconds": 60}, submitted_at=now - timedelta(seconds=10 + 15 * n),
            next_poll_at=now + timedelta(minutes=5),
        )  # fmt: skip
    make(team, bob, "a harbour at noon", status="running", progress=20, provider="reapi",
         next_poll_at=now + timedelta(minutes=5), submitted_at=now)  # fmt: skip
    make(team, alice, "a red kite over hills", status="queued")
    make(team, alice, "a moth on a lamp", status="queued")
    make(team, bob, "a tram in the rain", status="queued", provider="reapi")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)

    kite = page.get_by_role("article", name="a red kite over hills, by alice")
    expect(kite.locator(".status-label")).to_have_text("Queued · next in line")
    moth = page.get_by_role("article", name="a moth on a lamp, by alice")
    expect(moth.locator(".status-label")).to_have_text("Queued · 2nd in line")
    lighthouse = page.get_by_role("article", name="a lighthouse at dusk, by alice")
    expect(lighthouse.locator(".time-left")).to_contain_text("s left")
    assert_accessible(page, f"gallery with queued cards at {width}")
    page.evaluate(  # the grid's top just under the sticky header
        "window.scrollTo(0, document.getElementById('job-grid').getBoundingClientRect().top"
        " + window.scrollY - document.querySelector('header').offsetHeight - 12)"
    )
    page.screenshot(path=ARTIFACTS / f"queued-card-{width}.png")

    page.goto(f"{live_server.url}/t/acme/members/")
    page.get_by_role("link", name="Team queue").click()
    expect(page.locator(".queue-row")).to_have_count(3)
    expect(page.locator("#queue")).to_contain_text("bob 1 of 4 running · 1 waiting")
    assert_accessible(page, f"team queue at {width}")
    page.screenshot(path=ARTIFACTS / f"team-queue-{width}.png", full_page=True)

    # Cancelling a waiting job there refunds it at once.
    page.get_by_role("button", name="Cancel and refund: a moth on a lamp").click()
    expect(page.get_by_text("Cancelled; 79 credits refunded.")).to_be_visible()
