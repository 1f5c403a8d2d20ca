"""The create bar as a person uses it: the parameter panel and the prompt text
follow each other, Enter generates, ↑ and the History menu bring prompts back,
no price is shown for a prompt that cannot be sent, a prompt over the limit is
named and never cut, and nothing the person is about to click moves when lint
appears. At 1280 and 390 wide."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import Job, Membership
from tests.browser.axe import assert_accessible
from tests.browser.test_organise_flow import sign_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=5000, by=alice)
    return account


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    """Jobs are made and reserved; nothing sends them (the live server shares this process)."""
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


def open_gallery(page: Page, base: str, size: dict, query: str = "") -> None:
    page.set_viewport_size(size)
    sign_in(page, base)
    if query:
        page.goto(f"{base}/t/acme/{query}")
    expect(page.get_by_label("Prompt")).to_be_visible()


def past(user, team, prompt: str, minutes_ago: int, **fields) -> Job:
    job = Job.objects.create(
        team=team, user=user, provider="evolink", operation="mj-v7", prompt=prompt,
        prompt_raw=prompt, credits_reserved=79, status="completed", **fields,
    )  # fmt: skip
    Job.objects.filter(pk=job.pk).update(created=timezone.now() - timedelta(minutes=minutes_ago))
    return job


def shoot(page: Page, name: str) -> None:
    """The page from its top to the end of the create bar, as laid out (the
    sticky header stays at the top instead of covering the bar)."""
    page.evaluate("window.scrollTo(0, 0)")
    bar = box(page, "#create-bar")
    width = page.viewport_size["width"] if page.viewport_size else 1280
    ARTIFACTS.mkdir(exist_ok=True)
    clip = {"x": 0, "y": 0, "width": width, "height": bar["y"] + bar["height"] + 16}
    page.screenshot(path=ARTIFACTS / name, full_page=True, clip=clip)


def box(page: Page, selector: str) -> dict:
    """Where the element is on the page (not in the window: a scroll is no move)."""
    return page.locator(selector).evaluate(
        """element => { const r = element.getBoundingClientRect();
            return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; }"""
    )


def test_the_panel_and_the_prompt_follow_each_other_both_ways(page: Page, live_server, alice):
    open_gallery(page, live_server.url, WIDE)
    prompt = page.get_by_label("Prompt")
    panel = page.locator("#param-panel")
    expect(panel).to_have_attribute("open", "")
    stylize = page.get_by_label("Stylize --s")
    stylize_value = page.get_by_label("Stylize value")
    expect(stylize).to_have_value("100")  # the catalog's default, rendered by the server
    expect(stylize).to_have_attribute("max", "1000")
    expect(page.locator("#param-s-help")).to_have_text(
        "How strongly Midjourney's own look is applied"
    )

    # Text → controls: a typed flag moves its control, any spelling.
    prompt.fill("a lighthouse,  oil painting --s 300 --no cats")
    expect(stylize).to_have_value("300")
    expect(stylize_value).to_have_value("300")
    prompt.fill("a lighthouse --stylize 40 --c 12 --raw --q 2")
    expect(stylize).to_have_value("40")
    expect(page.get_by_label("Chaos value")).to_have_value("12")
    expect(page.get_by_label("Raw style --raw")).to_be_checked()
    expect(page.get_by_label("Quality --q")).to_have_value("2")
    expect(page.locator("#param-count")).to_have_text("· 4 set")

    # Controls → text: only that flag changes; the rest stays as typed.
    prompt.fill("a lighthouse,  oil painting --s 300 --no cats")
    stylize_value.fill("750")
    expect(prompt).to_have_value("a lighthouse,  oil painting --s 750 --no cats")
    stylize.focus()
    page.keyboard.press("ArrowRight")  # the slider is keyboard operable
    expect(prompt).to_have_value("a lighthouse,  oil painting --s 751 --no cats")
    expect(stylize_value).to_have_value("751")
    page.get_by_label("Chaos value").fill("25")
    expect(prompt).to_have_value("a lighthouse,  oil painting --s 751 --no cats --c 25")
    page.get_by_label("Raw style --raw").check()
    expect(prompt).to_have_value("a lighthouse,  oil painting --s 751 --no cats --c 25 --raw")
    page.get_by_label("Quality --q").select_option("2")
    expect(prompt).to_have_value("a lighthouse,  oil painting --s 751 --no cats --c 25 --raw --q 2")
    page.get_by_role("button", name="Aspect ratio 16:9").click()
    expect(prompt).to_have_value(
        "a lighthouse,  oil painting --s 751 --no cats --c 25 --raw --q 2 --ar 16:9"
    )
    page.get_by_label("Seed --seed").fill("1234")
    expect(prompt).to_have_value(
        "a lighthouse,  oil painting --s 751 --no cats --c 25 --raw --q 2 --ar 16:9 --seed 1234"
    )
    expect(page.locator("#quote")).to_contain_text("credits")  # the server judged it valid

    # A control back at its default takes its flag out, and only its flag.
    stylize_value.fill("100")
    page.get_by_label("Chaos value").fill("0")
    page.get_by_label("Raw style --raw").uncheck()
    page.get_by_label("Quality --q").select_option("1")
    page.get_by_role("button", name="Aspect ratio 1:1").click()
    page.get_by_label("Seed --seed").fill("")
    expect(prompt).to_have_value("a lighthouse,  oil painting --no cats")
    expect(page.locator("#param-count")).to_have_text("")

    # A value the linter refuses leaves the control and is named by the lint.
    prompt.fill("a lighthouse --s 5000")
    expect(page.locator("#param-s")).to_have_class("param param-slider param-invalid")
    expect(stylize_value).to_have_value("5000")
    expect(stylize_value).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("--s must be between 0 and 1000 (got 5000)")).to_be_visible()

    # What the speed allows: no tile at draft speed, no seed effect at turbo.
    page.get_by_label("Speed").select_option("draft")
    expect(page.get_by_label("Tile --tile")).to_be_disabled()
    expect(page.locator("#param-tile-help")).to_contain_text("Not at draft speed.")
    page.get_by_label("Speed").select_option("turbo")
    expect(page.get_by_label("Tile --tile")).to_be_enabled()
    expect(page.locator("#param-seed-help")).to_contain_text("No effect at turbo speed.")
    page.get_by_label("Speed").select_option("fast")

    # A permutation sets the aspect ratio: the control stays out of it.
    prompt.fill("a bird --ar {1:1, 16:9} --s 300")
    expect(page.locator("#param-ar")).to_have_class("param param-ratio param-permuted")
    page.get_by_role("button", name="Aspect ratio 3:2").click()
    stylize_value.fill("400")
    expect(prompt).to_have_value("a bird --ar {1:1, 16:9} --s 400")

    prompt.fill("a lighthouse at dusk, oil painting --ar 16:9 --s 250 --c 10 --raw")
    expect(page.locator("#quote")).to_contain_text("credits")
    assert_accessible(page, "the create panel, open, at 1280")
    ARTIFACTS.mkdir(exist_ok=True)
    shoot(page, "create-panel-1280.png")


def test_on_a_phone_the_panel_folds_and_still_follows_the_prompt(
    page: Page, live_server, alice, settings
):
    settings.MJWEB_PROVIDER = "reapi"
    open_gallery(page, live_server.url, PHONE, "?prompt=a+fox+in+snow+--s+250+--w+40")
    panel = page.locator("#param-panel")
    expect(panel).not_to_have_attribute("open", "")
    expect(page.get_by_label("Stylize --s")).to_be_hidden()
    expect(page.locator("#param-count")).to_have_text("· 2 set")  # "Use again" filled it
    page.locator("#param-panel > summary").click()
    expect(page.get_by_label("Stylize --s")).to_be_visible()
    expect(page.get_by_label("Stylize --s")).to_have_value("250")  # the prefilled prompt
    expect(page.get_by_label("Weird value")).to_have_value("40")
    # The catalog says reAPI neither documents nor bills --q: the panel says so.
    expect(page.locator("#param-q-help")).to_contain_text("reAPI may ignore it.")
    page.get_by_label("Weird value").fill("0")
    expect(page.get_by_label("Prompt")).to_have_value("a fox in snow --s 250")
    expect(page.locator("#quote")).to_contain_text("credits")
    assert_accessible(page, "the create panel, open, at 390")
    ARTIFACTS.mkdir(exist_ok=True)
    shoot(page, "create-panel-390.png")


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["1280", "390"])
def test_enter_generates_one_job_and_shift_enter_starts_a_new_line(
    page: Page, live_server, alice, funded, size
):
    open_gallery(page, live_server.url, size)
    prompt = page.get_by_label("Prompt")
    prompt.click()
    page.keyboard.type("a lighthouse")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("at dusk")
    expect(prompt).to_have_value("a lighthouse\nat dusk")
    # An input method composing a character owns its Enter: it never generates.
    composing = prompt.evaluate(
        """box => box.dispatchEvent(new KeyboardEvent("keydown",
            {key: "Enter", isComposing: true, bubbles: true, cancelable: true}))"""
    )
    assert composing is True  # not cancelled: the newline is the input method's to make
    expect(page.locator("#quote")).to_contain_text("credits")
    assert not Job.objects.exists()

    page.keyboard.press("Enter")
    expect(page.locator("article.job-card")).to_have_count(1)
    expect(prompt).to_have_value("a lighthouse\nat dusk")  # kept, to tweak and go again
    assert Job.objects.count() == 1
    # A form sends a textarea's line breaks as CRLF; the lines are what matter.
    assert Job.objects.get().prompt_raw.splitlines() == ["a lighthouse", "at dusk"]


def test_up_and_the_history_menu_bring_back_the_members_own_prompts(
    page: Page, live_server, alice, bob, team
):
    past(alice, team, "a lighthouse at dusk --ar 16:9", 30)
    past(alice, team, "a red fox in snow --s 250", 20)
    past(alice, team, "alice's secret --raw", 15, private=True)  # her own: listed for her
    past(bob, team, "bob's own idea", 5)
    open_gallery(page, live_server.url, WIDE)
    prompt = page.get_by_label("Prompt")

    prompt.click()
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("alice's secret --raw")
    expect(page.get_by_label("Raw style --raw")).to_be_checked()  # the panel follows
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("a red fox in snow --s 250")
    expect(page.get_by_label("Stylize --s")).to_have_value("250")
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("a lighthouse at dusk --ar 16:9")
    page.keyboard.press("ArrowDown")
    expect(prompt).to_have_value("a red fox in snow --s 250")

    history = page.get_by_role("button", name="History")
    history.click()
    menu = page.get_by_role("dialog", name="History")
    expect(menu).to_be_visible()
    items = menu.locator("[data-prompt]")
    expect(items).to_have_text(
        ["alice's secret --raw", "a red fox in snow --s 250", "a lighthouse at dusk --ar 16:9"]
    )
    expect(menu).not_to_contain_text("bob's own idea")
    assert_accessible(page, "the history menu, open")
    shoot(page, "create-history-1280.png")
    page.get_by_label("Search the history").fill("light")
    expect(items).to_have_text(["a lighthouse at dusk --ar 16:9"])
    page.keyboard.press("ArrowDown")
    expect(items.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    expect(prompt).to_have_value("a lighthouse at dusk --ar 16:9")
    expect(page.get_by_role("button", name="Aspect ratio 16:9")).to_have_attribute(
        "aria-pressed", "true"
    )
    history.click()
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(history).to_be_focused()

    # The same list as a page of its own (where the History link leads without JavaScript).
    page.goto(f"{live_server.url}/t/acme/prompts/?q=fox")
    expect(page.locator("[data-prompt]")).to_have_text(["a red fox in snow --s 250"])
    assert_accessible(page, "the prompt history page")
    page.locator("[data-prompt]").click()
    expect(page.get_by_label("Prompt")).to_have_value("a red fox in snow --s 250")
    expect(page.get_by_label("Stylize --s")).to_have_value("250")


def test_no_price_while_the_prompt_is_invalid_and_a_long_one_is_named_not_cut(
    page: Page, live_server, alice, funded
):
    open_gallery(page, live_server.url, WIDE)
    prompt = page.get_by_label("Prompt")
    quote = page.locator("#quote")
    generate = page.get_by_role("button", name="Generate")
    prompt.fill("a lighthouse --s 500")
    expect(quote).to_contain_text("credits")
    prompt.fill("a lighthouse --s 5000")
    expect(page.locator(".lint-error")).to_have_count(1)
    expect(quote).to_have_text("")
    expect(generate).to_be_disabled()

    long = "a lighthouse " + "x" * (9000 - len("a lighthouse "))
    prompt.fill(long)
    expect(
        page.get_by_text("The prompt is 9000 characters long; the limit is 8192")
    ).to_be_visible()
    assert len(prompt.input_value()) == 9000  # the box kept every character
    expect(quote).to_have_text("")
    expect(generate).to_be_disabled()
    prompt.press("Enter")
    generate.click(force=True)  # a disabled button does nothing, even pressed
    prompt.fill("a lighthouse")  # one more round trip after the presses
    expect(quote).to_contain_text("credits")
    assert not Job.objects.exists()


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["1280", "390"])
def test_the_controls_row_does_not_move_when_lint_appears(page: Page, live_server, alice, size):
    open_gallery(page, live_server.url, size)
    prompt = page.get_by_label("Prompt")
    if size is PHONE:
        page.locator("#param-panel > summary").click()
    prompt.fill("a lighthouse at dusk --s 500")
    expect(page.locator("#quote")).to_contain_text("credits")
    watched = ("#id_speed", "#prompt-check button[type=submit]", "#param-panel", "#id_prompt")
    before = {selector: box(page, selector) for selector in watched}

    prompt.fill("a lighthouse at dusk --s 5000 --c 500 --cref https://x.org/a.png --turbo")
    expect(page.locator(".lint li")).to_have_count(4)
    after = {selector: box(page, selector) for selector in watched}
    assert after == before
    shoot(page, f"create-lint-{size['width']}.png")

    prompt.fill("a lighthouse at dusk --s 500")
    expect(page.locator(".lint li")).to_have_count(0)
    assert {selector: box(page, selector) for selector in watched} == before
