"""Issue 16's "a dropped image becomes a chip and the job sent upstream
carries its URL", checked at the upstream: the job is sent by hand to the
simulator, whose request log shows the prompt it got."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gallery.models import Job
from tests.browser.test_organise_flow import sign_in
from tests.browser.test_reference_chip_flow import drop, funded, png, refs  # noqa: F401
from tests.images.test_edit_image import sent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_dropped_image_is_a_chip_and_its_url_reaches_the_upstream(
    page: Page,
    live_server,
    sim,
    settings,
    funded,  # noqa: F811 - the fixture imported above
):
    settings.MJWEB_PUBLIC_URL = live_server.url  # the simulator fetches it, over loopback
    sign_in(page, live_server.url)
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("a lighthouse at dusk")
    drop(page, png((200, 40, 40)))
    expect(page.get_by_role("img", name="Image prompt 1")).to_be_visible()
    expect(prompt).to_have_value("a lighthouse at dusk")
    [chip] = refs(page)
    url = chip.split(" ", 1)[1]
    expect(page.locator("#quote")).to_contain_text("credits")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("article.job-card")).to_have_count(1)

    body = sent(sim, Job.objects.get())
    assert body["prompt"] == f"{url} a lighthouse at dusk"
