"""Every page a member or an admin opens passes axe-core's WCAG 2.1 AA rules
with no serious or critical violation, at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from gallery.models import Image
from tests.browser.axe import assert_accessible
from tests.browser.test_organise_flow import sign_in
from tests.factories import finished_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/t/acme/",
    "/t/acme/?q=nothing-matches-this",
    "/t/acme/jobs/{job}/",
    "/t/acme/images/{image}/",
    "/t/acme/credits/",
    "/t/acme/spend/",
    "/t/acme/collections/",
    "/t/acme/members/",
    "/t/acme/audit/",
    "/t/acme/tokens/",
    "/api/docs/",
    "/accounts/password/",
    "/no/such/page/",
]


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_has_no_serious_accessibility_violation(
    page: Page, live_server, alice, bob, team, width
):
    job = finished_job(alice, team)
    image = Image.objects.filter(job=job).first()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page, "the sign-in page")
    sign_in(page, live_server.url)
    failures = []
    for path in PAGES:
        url = live_server.url + path.format(job=job.pk, image=image.pk)
        page.goto(url)
        try:
            assert_accessible(page, path)
        except AssertionError as problem:
            failures.append(str(problem))
    assert not failures, "\n".join(failures)
