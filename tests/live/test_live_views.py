"""The stream and poll views (gallery/studio/live/views.py): the contract's
parameters, answers and headers, per role."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from gallery.studio.live import events
from gallery.studio.models.live import LiveEvent
from tests.factories import finished_job, in_flight_job

pytestmark = pytest.mark.django_db
Kind = LiveEvent.Kind
ASGI = {"asgi.scope": {"type": "http"}}  # what the ASGI server's request carries


def emit(team, kind, **fields) -> LiveEvent:
    with transaction.atomic():
        return events.emit(team.pk, kind, **fields)


def signed_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def poll(user, query="page=gallery&after=0", slug="acme", client=None):
    client = client or signed_in(user)
    return client.get(f"{reverse('live-poll', args=[slug])}?{query}")


def stream(user, query="page=gallery", client=None, **headers):
    client = client or signed_in(user)
    return client.get(f"{reverse('live-stream', args=['acme'])}?{query}", **ASGI, **headers)


def test_the_poll_sends_a_teammates_new_card_and_the_new_cursor(alice, bob, team):
    job = in_flight_job(alice, team, prompt="fog over the harbour")
    event = emit(team, Kind.CREATED, job_id=job.pk)
    response = poll(bob)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "afterbegin:#job-grid" in body and "fog over the harbour" in body
    assert body.endswith(f'<div id="live-cursor" data-seq="{event.seq}" hx-swap-oob="true"></div>')


def test_a_poll_without_a_cursor_gets_only_the_current_one(alice, bob, team):
    job = in_flight_job(alice, team)
    event = emit(team, Kind.CREATED, job_id=job.pk)
    body = poll(bob, "page=gallery").content.decode()
    assert body == f'<div id="live-cursor" data-seq="{event.seq}" hx-swap-oob="true"></div>'


def test_a_poll_never_carries_a_teammates_private_job(alice, bob, team):
    job = in_flight_job(alice, team, private=True, prompt="not for bob")
    emit(team, Kind.CREATED, job_id=job.pk)
    body = poll(bob).content.decode()
    assert f"job-{job.pk}" not in body and "not for bob" not in body
    assert "not for bob" in poll(alice).content.decode()


def test_another_teams_poll_and_stream_are_not_found(alice, carol, team):
    assert poll(carol).status_code == 404
    assert stream(carol).status_code == 404


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("page=jobs:1", "page must be"),
        ("page=", "page must be"),
        ("page=gallery&after=-1", "after"),
        ("page=gallery&after=soon", "after"),
        ("page=gallery&since=2024-02-31", "start date"),
        ("page=gallery&after=99999999999999999999999", "after"),
        ("page=gallery&after=\u0661\u0662\u0663", "after"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_rule(bob, query, rule):
    response = poll(bob, query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert rule in response.content.decode()


def test_a_cursor_too_old_tells_the_poller_to_reload(alice, bob, team):
    job = in_flight_job(alice, team)
    first = emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.PROGRESS, job_id=job.pk)
    LiveEvent.objects.filter(pk=first.pk).delete()
    body = poll(bob).content.decode()
    assert 'id="live-reset"' in body and 'data-seq="2"' in body
    assert f"job-{job.pk}" not in body


def test_the_stream_says_poll_instead_where_no_server_can_hold_it(bob):
    response = signed_in(bob).get(reverse("live-stream", args=["acme"]) + "?page=gallery")
    assert response.status_code == 204


def test_the_stream_refuses_bad_parameters_even_where_it_would_not_hold(bob):
    response = signed_in(bob).get(reverse("live-stream", args=["acme"]) + "?page=job:x")
    assert response.status_code == 400 and b"page must be" in response.content


def test_the_stream_opens_with_hello_and_the_replay_after_its_cursor(alice, bob, team, test_hub):
    job = in_flight_job(alice, team, prompt="the replayed one")
    emit(team, Kind.CREATED, job_id=job.pk)
    newest = emit(team, Kind.PROGRESS, job_id=job.pk).seq
    response = stream(bob, "page=gallery&last=0")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Accel-Buffering"] == "no"
    token = response["X-Mjweb-Stream"]
    assert test_hub.subs[token].cursor == newest
    assert test_hub.subs[token].view.membership.user == bob
    body = response.content.decode()
    assert body.startswith(": ")  # the padding that pushes hello through a buffering proxy
    hello = body.index(f"retry: 2000\nevent: hello\ndata: {newest}\n\n")
    live = body.index(f"event: live\nid: {newest}\ndata: ")
    assert hello < live and "the replayed one" in body


def test_the_stream_replays_after_the_later_of_last_and_last_event_id(alice, bob, team, test_hub):
    first = in_flight_job(alice, team, prompt="seen before the cut")
    emit(team, Kind.CREATED, job_id=first.pk)
    second = in_flight_job(alice, team, prompt="missed in the cut")
    emit(team, Kind.CREATED, job_id=second.pk)
    body = stream(bob, "page=gallery&last=0", HTTP_LAST_EVENT_ID="1").content.decode()
    assert "missed in the cut" in body and "seen before the cut" not in body
    body = stream(bob, "page=gallery&last=1", HTTP_LAST_EVENT_ID="0").content.decode()
    assert "missed in the cut" in body and "seen before the cut" not in body


def test_a_stream_without_a_cursor_starts_at_the_newest_event(alice, bob, team, test_hub):
    job = in_flight_job(alice, team, prompt="old news")
    emit(team, Kind.CREATED, job_id=job.pk)
    body = stream(bob).content.decode()
    assert "event: hello\ndata: 1\n\n" in body and "old news" not in body


@pytest.mark.parametrize("viewer", ["bob", "dave", "carol"])
def test_the_stream_replays_only_what_its_viewer_may_see(
    alice, bob, carol, dave, team, other_team, test_hub, viewer
):
    job = in_flight_job(alice, team, private=True, prompt="alice alone")
    emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.BALANCE, user_id=alice.pk)
    user = {"bob": bob, "dave": dave, "carol": carol}[viewer]
    slug = "other" if viewer == "carol" else "acme"
    response = signed_in(user).get(
        f"{reverse('live-stream', args=[slug])}?page=gallery&last=0", **ASGI
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "alice alone" not in body and f"job-{job.pk}" not in body and 'id="balance"' not in body


def test_a_card_carries_a_csrf_token_only_its_viewer_can_use(alice, bob, team):
    job = finished_job(alice, team, images=1)
    emit(team, Kind.CREATED, job_id=job.pk)

    def token_in(body: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)[1]

    bobs = signed_in(bob, enforce_csrf_checks=True)
    alices = signed_in(alice, enforce_csrf_checks=True)
    bobs_token = token_in(poll(bob, client=bobs).content.decode())
    alices_token = token_in(poll(alice, client=alices).content.decode())
    star = reverse("star-job", args=["acme", job.pk])
    assert bobs.post(star, {"csrfmiddlewaretoken": alices_token}).status_code == 403
    assert bobs.post(star, {"csrfmiddlewaretoken": bobs_token}).status_code == 302
