"""Edit forms fed what no form sends: numbers that take minutes to convert,
masks whose areas are not objects, a request id reused in another team. Each
is refused in words next to its form with a 4xx, quickly, and no job is made."""

from __future__ import annotations

import json
import time
from html import escape

import pytest

from gallery.models import CreditAccount, Job, Membership, Role
from tests.conftest import add
from tests.factories import finished_job, fund

pytestmark = pytest.mark.django_db
FORM_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


@pytest.fixture
def member(alice, team) -> Membership:
    fund(alice, team, 5000)
    CreditAccount.objects.filter(membership__user=alice).update(max_in_flight=10)
    return Membership.objects.get(user=alice, team=team)


def price(client, image, **fields):
    return client.get(f"/t/acme/images/{image.pk}/price/", {"form": "region", **fields})


def press(client, image, form: str, slug: str = "acme", **fields):
    data = {"form": form, "client_request_id": FORM_ID, **fields}
    return client.post(f"/t/{slug}/images/{image.pk}/edit/", data)


def result_of(response, form: str) -> str:
    html = response.content.decode()
    slot = html[html.index(f'id="result-{form}"') :]
    return slot[: slot.index("</div>")]


# --- numbers that used to hold a worker for minutes ---------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"operation": "mj-v7-inpaint", "rect_x": "0", "rect_y": "0"}
            | {"rect_width": "1e999999999", "rect_height": "5"},
            "The rectangle's width must be a whole number from 1 to",
        ),
        (
            {"operation": "mj-v7-outpaint", "scale": "custom", "custom_scale": "1e999999"},
            "The zoom must be a number from 1.1 to 2",
        ),
        (
            {"operation": "mj-v7-pan", "scale": "9" * 400},
            "The pan scale must be a number from 1.1 to 3",
        ),
    ],
)
def test_a_huge_number_is_refused_at_once_on_the_price_and_the_edit(
    member, alice_client, fields, message
):
    image = finished_job(member.user, member.team).images.first()
    started = time.monotonic()
    checked = price(alice_client, image, **fields)
    pressed = press(alice_client, image, "region", **fields)
    assert time.monotonic() - started < 2.0  # was minutes, or a killed worker
    assert checked.status_code == 400 and escape(message) in checked.content.decode()
    assert pressed.status_code == 400 and escape(message) in result_of(pressed, "region")
    assert not Job.objects.exclude(pk=image.job_id).exists()


# --- masks ---------------------------------------------------------------------------------

BAD_MASKS = [
    ({"areas": [1, 2]}, "mask.areas[0] must be an object"),
    ({"areas": [["10", "10", "20", "10", "20", "20"]]}, "mask.areas[0] must be an object"),
    ({"areas": [{"width": 96, "height": 64, "points": 5}]}, "mask.areas[0].points must be"),
    (
        {"areas": [{"width": 96, "height": 64, "points": ["a", "b", "c", "d", "e", "f"]}]},
        "mask.areas[0].points must be",
    ),
    ({"areas": [{"width": "96", "height": 64, "points": [0, 0, 9, 0, 9, 9]}]}, "width must be"),
    ({"areas": "everywhere"}, "mask.areas must be a non-empty list"),
]


@pytest.mark.parametrize("provider", ["evolink", "vtrix"])
@pytest.mark.parametrize(("mask", "message"), BAD_MASKS)
def test_a_mask_whose_areas_are_not_objects_is_refused_in_words(
    member, alice_client, provider, mask, message
):
    image = finished_job(member.user, member.team, provider=provider).images.first()
    fields = {"operation": "mj-v7-inpaint", "mask": json.dumps(mask)}
    checked = price(alice_client, image, **fields)
    assert checked.status_code == 400 and message in checked.content.decode()
    pressed = press(alice_client, image, "region", **fields)
    assert pressed.status_code == 400 and message in result_of(pressed, "region")
    assert not Job.objects.exclude(pk=image.job_id).exists()


@pytest.mark.parametrize(
    "points",
    [[1e308, 0, 9, 0, 9, 9], [10**400, 0, 9, 0, 9, 9], [0, 0, 9, 0, 9, 9000]],
)
def test_vtrix_fitting_refuses_points_no_image_has_instead_of_overflowing(
    member, alice_client, points
):
    image = finished_job(member.user, member.team, provider="vtrix").images.first()
    mask = {"areas": [{"width": 96, "height": 64, "points": points}]}
    raw = json.dumps(mask)
    pressed = press(alice_client, image, "region", operation="mj-v7-inpaint", mask=raw)
    assert pressed.status_code == 400
    assert "mask.areas[0].points must be" in result_of(pressed, "region")
    assert "each a number from 0 to 8192" in result_of(pressed, "region")


def test_an_edit_canvas_from_the_editor_is_bounded_too(member, alice_client):
    image = finished_job(member.user, member.team).images.first()
    fields = {
        "operation": "mj-v7-edit",
        "prompt": "sky",
        "canvas": json.dumps({"width": 10**30, "height": 400}),
        "img_pos": json.dumps({"width": 96, "height": 64, "x": 0, "y": 0}),
    }
    pressed = press(alice_client, image, "edit", **fields)
    assert pressed.status_code == 400
    assert "canvas.width must be a whole number from 1 to 8192" in result_of(pressed, "edit")


# --- a request id reused in another team ------------------------------------------------------


@pytest.mark.db_sensitive
def test_an_edit_with_a_request_id_used_in_another_team_is_refused_without_that_job(
    member, alice, alice_client, other_team
):
    add(other_team, alice, Role.MEMBER)
    fund(alice, other_team, 5000)
    here = finished_job(alice, member.team, prompt="a secret harbour").images.first()
    there = finished_job(alice, other_team).images.first()
    first = press(alice_client, here, "upscale", operation="mj-v7-upscale", type="creative")
    assert first.status_code == 302
    mine = Job.objects.get(parent=here)
    again = press(
        alice_client, there, "upscale", slug="other", operation="mj-v7-upscale", type="creative"
    )
    assert again.status_code == 409
    assert "already used in another team" in result_of(again, "upscale")
    assert f"/jobs/{mine.pk}/" not in again.content.decode()
    assert not Job.objects.filter(parent=there).exists()
