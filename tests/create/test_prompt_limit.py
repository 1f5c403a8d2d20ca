"""A prompt over the limit (8,192 characters) is an error that names the limit,
wherever it is typed or sent: never a silent cut, never a job."""

from __future__ import annotations

import pytest

from gallery.catalog.prompt import MAX_PROMPT_LENGTH
from gallery.models import CreditAccount, Job, Membership
from tests.factories import finished_job, fund

pytestmark = pytest.mark.django_db
LONG = "a lighthouse " + "x" * (9000 - len("a lighthouse "))  # 9,000 characters
LIMIT_MESSAGE = "The prompt is 9000 characters long; the limit is 8192"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


@pytest.fixture
def funded(alice, team) -> Membership:
    fund(alice, team, 5000)
    CreditAccount.objects.filter(membership__user=alice).update(max_in_flight=10)
    return Membership.objects.get(user=alice, team=team)


def test_the_limit_is_8192_characters():
    assert MAX_PROMPT_LENGTH == 8192 and len(LONG) == 9000


def test_the_prompt_box_does_not_cut_a_long_paste(alice_client):
    html = alice_client.get("/t/acme/").content.decode()
    box = html[html.index('<textarea name="prompt"') :]
    assert "maxlength" not in box[: box.index(">")]


def test_generate_refuses_a_long_prompt_naming_the_limit(alice_client, funded):
    data = {"prompt": LONG, "speed": "fast", "client_request_id": "req-1"}
    response = alice_client.post("/t/acme/jobs/", data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert LIMIT_MESSAGE in response.content.decode()
    assert not Job.objects.exists()


def test_generate_without_htmx_keeps_the_whole_prompt_in_the_box(alice_client, funded):
    data = {"prompt": LONG, "speed": "fast", "client_request_id": "req-1"}
    html = alice_client.post("/t/acme/jobs/", data).content.decode()
    assert LIMIT_MESSAGE in html
    assert LONG in html  # given back whole, to shorten, not cut to fit


def test_the_live_check_names_the_limit_and_shows_no_price(alice_client):
    html = alice_client.post("/t/acme/check/", {"prompt": LONG, "speed": "fast"}).content.decode()
    assert 'data-code="prompt_too_long"' in html
    assert LIMIT_MESSAGE in html
    assert "credits" not in html
    assert "disabled" in html  # Generate is off until the prompt fits


def test_the_live_check_shows_no_price_for_any_invalid_prompt(alice_client):
    html = alice_client.post("/t/acme/check/", {"prompt": "a cat --s 5000"}).content.decode()
    assert "--s must be between 0 and 1000" in html
    assert "credits" not in html


def test_use_again_with_a_long_prompt_prefills_it_whole(alice_client):
    html = alice_client.get("/t/acme/", {"prompt": LONG}).content.decode()
    assert f">\n{LONG}</textarea>" in html


def test_an_edit_form_refuses_a_long_prompt_naming_the_limit(alice_client, alice, team, funded):
    image = finished_job(alice, team).images.get(index=0)
    data = {
        "form": "remix",
        "operation": "mj-v7-remix",
        "prompt": LONG,
        "client_request_id": "0123456789abcdef0123456789abcdef",
    }
    response = alice_client.post(f"/t/acme/images/{image.pk}/edit/", data)
    assert response.status_code in (400, 422)
    assert LIMIT_MESSAGE in response.content.decode()
    assert Job.objects.count() == 1
