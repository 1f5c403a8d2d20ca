"""Reference chips, as a member uses them: an image dropped on the prompt
becomes a chip and the job carries its URL; a chip's role and weight change
what is sent; a removed chip takes its URL with it; a pasted prompt's URLs,
--sref and weights move into chips; "Use again" brings them back as chips.
No worker runs: the job's prompt in the database is what is checked."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image as PILImage
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
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=40)
    return account


def png(colour: tuple[int, int, int]) -> bytes:
    data = io.BytesIO()
    PILImage.new("RGB", (64, 48), colour).save(data, "PNG")
    return data.getvalue()


def drop(page: Page, data: bytes) -> None:
    """What the browser does when a file is dropped on the prompt box."""
    page.evaluate(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "ref.png", {type: "image/png"}));
            const box = document.getElementById("id_prompt");
            const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
            box.dispatchEvent(new DragEvent("dragover", init));
            box.dispatchEvent(new DragEvent("drop", init));
        }""",
        list(data),
    )


def paste(page: Page, text: str) -> None:
    """The input event a paste into the prompt box makes."""
    page.evaluate(
        """(text) => {
            const box = document.getElementById("id_prompt");
            box.value = text;
            const init = {inputType: "insertFromPaste", bubbles: true};
            box.dispatchEvent(new InputEvent("input", init));
        }""",
        text,
    )


def refs(page: Page) -> list[str]:
    return page.locator("#ref-chips input[name=ref]").evaluate_all("els => els.map(e => e.value)")


def generate(page: Page, count: int) -> str:
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("article.job-card")).to_have_count(count)
    return Job.objects.order_by("-pk").values_list("prompt", flat=True)[0]


@pytest.mark.parametrize("width", [1280, 390])
def test_dropped_and_chosen_images_become_chips_that_make_the_prompt_sent(
    page: Page, live_server, funded, settings, width
):
    settings.MJWEB_PUBLIC_URL = live_server.url  # the signed URLs: this site's own
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    page.wait_for_url(f"{live_server.url}/t/acme/")
    page.wait_for_load_state()  # htmx listens to the file field from here
    prompt = page.get_by_label("Prompt", exact=True)
    quote_text = page.locator("#quote")
    prompt.fill("a lighthouse at dusk")

    drop(page, png((200, 40, 40)))
    first = page.get_by_role("img", name="Image prompt 1")
    expect(first).to_be_visible()
    expect(prompt).to_have_value("a lighthouse at dusk")  # no URL in the text
    page.locator("#reference-file").set_input_files(
        {"name": "b.png", "mimeType": "image/png", "buffer": png((40, 90, 200))}
    )
    expect(page.get_by_role("img", name="Image prompt 2")).to_be_visible()
    red, blue = (value.split(" ", 1)[1] for value in refs(page))
    assert red.startswith(f"{live_server.url}/p/") and red != blue

    # By keyboard: the second moves left, then becomes a style reference weighed 300.
    page.get_by_role("button", name="Move Image prompt 2 left").focus()
    page.keyboard.press("Enter")
    # First now: its left button is off, so its right one keeps the focus.
    expect(page.get_by_role("button", name="Move Image prompt 1 right")).to_be_focused()
    assert refs(page) == [f"image {blue}", f"image {red}"]
    page.get_by_label("Role of Image prompt 1").select_option("sref")
    expect(page.get_by_role("img", name="Style reference 1")).to_be_visible()
    page.get_by_label("Weight --sw").fill("300")
    expect(quote_text).to_have_text(f"fast · {FAST} credits")
    expect(page.locator(".lint-error")).to_have_count(0)
    assert_accessible(page, f"reference chips at {width}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=ARTIFACTS / f"chips-{width}.png", full_page=width == 390)

    assert generate(page, 1) == f"{red} a lighthouse at dusk --sref {blue} --sw 300"
    page.get_by_label("Role of Style reference 1").select_option("oref")
    expect(quote_text).to_contain_text("×2 for --oref")
    assert generate(page, 2) == f"{red} a lighthouse at dusk --oref {blue}"

    page.get_by_role("button", name="Remove Omni reference 1").click()
    expect(page.get_by_role("img", name="Omni reference 1")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove Image prompt 1")).to_be_focused()
    page.get_by_label("Weight --iw").fill("2")
    assert generate(page, 3) == f"{red} a lighthouse at dusk --iw 2"
    page.get_by_role("button", name="Remove Image prompt 1").click()
    expect(page.locator("#ref-chips")).to_be_hidden()
    expect(prompt).to_be_focused()
    assert generate(page, 4) == "a lighthouse at dusk"


def test_a_pasted_prompt_and_use_again_put_their_references_in_chips(
    page: Page, live_server, funded
):
    sign_in(page, live_server.url)
    prompt = page.get_by_label("Prompt", exact=True)
    image, style = "https://example.com/a.png", "https://example.com/style.png"
    typed = f"{image} a fox in snow --ar 16:9 --iw 1.5 --sref {style} --sw 200"
    paste(page, typed)
    expect(prompt).to_have_value("a fox in snow --ar 16:9")
    expect(page.get_by_role("img", name="Image prompt 1")).to_be_attached()
    expect(page.locator(".ref-chip.no-thumb")).to_have_count(2)  # not fetched from elsewhere
    assert refs(page) == [f"image {image}", f"sref {style}"]
    expect(page.get_by_label("Weight --iw")).to_have_value("1.5")
    expect(page.get_by_label("Weight --sw")).to_have_value("200")
    expect(page.get_by_role("button", name="Aspect ratio 16:9")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert_accessible(page, "chips from a pasted prompt")
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=ARTIFACTS / "chips-pasted-1280.png")
    sent = generate(page, 1)
    assert sent == f"{image} a fox in snow --ar 16:9 --iw 1.5 --sref {style} --sw 200"

    # ↑ in the empty box recalls the prompt as sent: its references come back as chips.
    page.get_by_role("button", name="Remove Style reference 1").click()
    page.get_by_role("button", name="Remove Image prompt 1").click()
    expect(page.locator("#ref-chips")).to_be_hidden()
    prompt.fill("")
    prompt.press("ArrowUp")
    expect(prompt).to_have_value("a fox in snow --ar 16:9")
    assert refs(page) == [f"image {image}", f"sref {style}"]
    expect(page.get_by_label("Weight --iw")).to_have_value("1.5")
    # The recalled prompt is still the history's, though its URLs went to chips: ↓ steps back.
    prompt.press("ArrowDown")
    expect(prompt).to_have_value("")
    expect(page.locator("#ref-chips")).to_be_hidden()

    # A style code is no image: that --sref stays in the text, where the linter reads it.
    paste(page, "a fox --sref 12345")
    expect(prompt).to_have_value("a fox --sref 12345")

    page.goto(f"{live_server.url}/t/acme/?prompt={quote(sent)}")
    expect(prompt).to_have_value("a fox in snow --ar 16:9")
    assert refs(page) == [f"image {image}", f"sref {style}"]
    expect(page.get_by_label("Weight --sw")).to_have_value("200")
    expect(page.locator("#quote")).to_have_text(f"fast · {FAST} credits")
