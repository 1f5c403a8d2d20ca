"""As a member would: type a permutation, see how many jobs and what they cost,
Generate, and get one card per job; too many combinations are refused in place,
naming the cap. Jobs stay queued (no worker runs): the cards are what is checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, Membership
from tests.browser.axe import assert_accessible
from tests.browser.test_organise_flow import sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FAST = 79  # evolink mj-v7 fast


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=1000, by=alice)
    # Until jobs past the in-flight cap are queued, a batch needs room for all of it.
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=40)
    return account


@pytest.mark.parametrize("width", [1280, 390])
def test_a_two_by_two_permutation_shows_its_total_and_makes_four_cards(
    page: Page, live_server, funded, width
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    prompt = page.get_by_label("Prompt")
    quote = page.locator("#quote")

    options = ", ".join(f"colour {i}" for i in range(41))
    prompt.fill(f"a {{{options}}} bird")
    expect(page.locator("#prompt-lint")).to_contain_text(
        "41 jobs: at most 40 jobs can come from one prompt"
    )
    expect(quote).to_have_text("")
    expect(page.get_by_role("button", name="Generate")).to_be_disabled()
    assert_accessible(page, f"a permutation past the cap at {width}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"permutation-cap-{width}.png")

    prompt.fill("a {red, blue} bird --ar {1:1, 16:9}")
    expect(quote).to_have_text(f"4 jobs · {4 * FAST} credits")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    assert_accessible(page, f"a 2×2 permutation at {width}")
    page.screenshot(path=ARTIFACTS / f"permutation-{width}.png")

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("article.job-card")).to_have_count(4)
    expect(page.locator("#balance")).to_contain_text(str(1000 - 4 * FAST))
    prompts = sorted(Job.objects.values_list("prompt", flat=True))
    assert prompts == sorted(
        f"a {colour} bird --ar {ratio}" for colour in ("red", "blue") for ratio in ("1:1", "16:9")
    )
    cards = page.locator("article.job-card")
    expect(cards.first).to_contain_text("blue bird")  # the last made is on top, as on reload
    assert_accessible(page, f"four new cards at {width}")
    page.screenshot(path=ARTIFACTS / f"permutation-made-{width}.png", full_page=width == 390)
