"""The editors' rules as the server keeps them: an image placed wholly off its
canvas, or a mask drawn as a line, is refused in place, in words naming the
rule, before any credit moves; and the page hands the canvas editor the
catalog's own ranges, so the browser names the same rules before sending."""

from __future__ import annotations

import json
import re

import pytest

from gallery.catalog.operations import BOX_RANGES
from gallery.credits import ledger
from gallery.models import Job, LedgerEntry, Membership
from tests.factories import finished_job, fund

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def image(alice, team):
    fund(alice, team, 5000)
    return finished_job(alice, team).images.get(index=0)


def press(client, image, **fields):
    data = {"client_request_id": "0123456789abcdef0123456789abcdef", **fields}
    return client.post(f"/t/acme/images/{image.pk}/edit/", data, headers=HTMX)


def assert_nothing_spent(alice, team, jobs: int, entries: int) -> None:
    membership = Membership.objects.get(user=alice, team=team)
    assert ledger.account_for(membership).balance == 5000
    assert (Job.objects.count(), LedgerEntry.objects.count()) == (jobs, entries)


def test_an_image_placed_wholly_off_the_canvas_is_refused_in_place_charging_nothing(
    alice_client, alice, team, image
):
    jobs, entries = Job.objects.count(), LedgerEntry.objects.count()
    response = press(
        alice_client, image, form="edit", operation="mj-v7-edit", prompt="a wide bay",
        canvas=json.dumps({"width": 100, "height": 100}),
        img_pos=json.dumps({"width": 96, "height": 64, "x": 400, "y": 0}),
    )  # fmt: skip
    assert 400 <= response.status_code < 500
    text = response.content.decode()
    assert 'role="alert"' in text
    assert "lies outside the 100×100 canvas; place at least part of it on the canvas" in text
    assert_nothing_spent(alice, team, jobs, entries)


def test_a_mask_drawn_as_a_line_is_refused_in_place_charging_nothing(
    alice_client, alice, team, image
):
    jobs, entries = Job.objects.count(), LedgerEntry.objects.count()
    line = {"areas": [{"width": 96, "height": 64, "points": [10, 30, 50, 30, 90, 30]}]}
    response = press(
        alice_client, image, form="region", operation="mj-v7-inpaint", mask=json.dumps(line)
    )
    assert 400 <= response.status_code < 500
    text = response.content.decode()
    assert 'role="alert"' in text
    assert "has no area: draw a shape, not a line or a dot" in text
    assert_nothing_spent(alice, team, jobs, entries)


def test_the_canvas_editor_is_handed_the_catalogs_ranges(alice_client, image):
    html = alice_client.get(f"/t/acme/images/{image.pk}/").content.decode()
    found = re.search(r'id="edit-form"[^>]*data-limits="([^"]*)"', html)
    assert found, "the Edit form carries data-limits"
    limits = json.loads(found.group(1).replace("&quot;", '"'))
    assert limits == {key: list(bounds) for key, bounds in BOX_RANGES.items()}
