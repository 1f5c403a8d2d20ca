"""Generate, the live refresh and the image files, through the views."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PILImage

from gallery.credits import ledger
from gallery.models import Job, Membership
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=1000, by=alice)
    return account


@pytest.fixture
def no_queue(monkeypatch):
    """Record what would be queued instead of queueing it."""
    queued = []
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: queued.append(a))
    return queued


def generate(client, prompt="a lighthouse --ar 16:9", **headers):
    data = {"prompt": prompt, "speed": "fast", "client_request_id": "req-1"}
    return client.post("/t/acme/jobs/", data, headers=headers)


def test_generate_creates_a_job_reserves_and_queues_it(
    alice_client, funded, no_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = generate(alice_client)
    assert response.status_code == 302 and response.url == "/t/acme/"
    job = Job.objects.get()
    assert (job.status, job.credits_reserved, job.prompt) == (
        "queued",
        79,
        "a lighthouse --ar 16:9",
    )
    assert no_queue == [("gallery.tasks.submit_job", job.pk)]
    assert ledger.account_for(funded.membership).balance == 921


def test_a_double_click_makes_one_job(alice_client, funded, no_queue):
    generate(alice_client)
    generate(alice_client)
    assert Job.objects.count() == 1
    assert funded.entries.filter(kind="reserve").count() == 1


def test_generate_returns_the_new_card_and_balance_to_htmx(alice_client, funded, no_queue):
    response = generate(alice_client, HX_Request="true")
    html = response.content.decode()
    job = Job.objects.get()
    assert f'id="job-{job.pk}"' in html
    assert 'hx-swap-oob="afterbegin:#job-grid"' in html
    assert "<strong>921</strong> credits" in html
    assert response.headers["HX-Trigger"] == '{"credits-changed": {}}'


def test_a_prompt_error_is_shown_in_words_and_nothing_is_charged(alice_client, funded, no_queue):
    response = generate(alice_client, prompt="a cat --s 5000", HX_Request="true")
    assert response.status_code == 400
    assert "--s must be between 0 and 1000 (got 5000)" in response.content.decode()
    assert not Job.objects.exists() and not no_queue


def test_without_credits_the_refusal_says_so(bob_client, no_queue):
    response = generate(bob_client, HX_Request="true")
    assert response.status_code == 402
    assert "This costs 79 credits and you have 0" in response.content.decode()


def test_a_viewer_cannot_generate(dave_client, no_queue):
    response = generate(dave_client)
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_another_team_cannot_generate_here(carol_client, alice, no_queue):
    assert generate(carol_client).status_code == 404


def test_generate_rejects_get(alice_client):
    assert alice_client.get("/t/acme/jobs/").status_code == 405


def test_the_gallery_shows_cards_newest_first_with_thumbnails(alice_client, alice, bob, team):
    old = finished_job(bob, team, size=(1024, 1024))
    new = finished_job(alice, team, size=(1024, 1024))
    html = alice_client.get("/t/acme/").content.decode()
    assert html.index(f'id="job-{new.pk}"') < html.index(f'id="job-{old.pk}"')
    assert html.count('loading="lazy"') == 8
    assert 'width="512" height="512"' in html
    assert "bob · Generate" in html  # the operation in words, not its model id


def test_no_card_polls_and_the_page_listens_on_one_stream(alice_client, alice, team):
    done = finished_job(alice, team)
    running = Job.objects.create(
        team=team,
        user=alice,
        provider="evolink",
        operation="mj-v7",
        prompt="a dog",
        status="running",
        progress=40,
        credits_reserved=79,
    )
    html = alice_client.get("/t/acme/").content.decode()
    assert 'hx-trigger="every' not in html  # the page's live stream updates it, no poll
    assert html.count('sse-connect="/t/acme/live/stream/?page=gallery"') == 1
    assert f'id="progress-{running.pk}" max="100" value="40"' in html
    assert done.pk != running.pk


def test_images_are_served_to_the_team_only(alice_client, carol_client, client, alice, team):
    job = finished_job(alice, team, images=1, size=(8, 8))
    name = job.images.get().thumbnail.name
    response = alice_client.get(f"/m/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert "immutable" in response["Cache-Control"]
    assert PILImage.open(io.BytesIO(b"".join(response.streaming_content))).size == (8, 8)
    assert carol_client.get(f"/m/{name}").status_code == 404
    assert client.get(f"/m/{name}").status_code == 302


def test_a_private_job_is_hidden_from_teammates(alice, bob_client, team):
    job = finished_job(alice, team, images=1)
    Job.objects.filter(pk=job.pk).update(private=True)
    assert f"job-{job.pk}" not in bob_client.get("/t/acme/").content.decode()
    assert bob_client.get(f"/m/{job.images.get().thumbnail.name}").status_code == 404


def test_the_create_bar_offers_a_provider_only_when_several_are_configured(alice_client, settings):
    settings.PROVIDERS = {
        "evolink": {"base_url": "https://e.example", "api_key": "k"},
        "reapi": {"base_url": "https://r.example", "api_key": ""},
        "vtrix": {"base_url": "https://v.example", "api_key": ""},
    }
    assert 'id="id_provider"' not in alice_client.get("/t/acme/").content.decode()
    settings.PROVIDERS["vtrix"]["api_key"] = "k"
    html = alice_client.get("/t/acme/").content.decode()
    assert '<option value="evolink" selected>evolink</option>' in html
    assert '<option value="vtrix">Vtrix</option>' in html


def test_generate_uses_the_chosen_provider(alice_client, funded, no_queue, settings):
    settings.PROVIDERS = {
        name: {"base_url": f"https://{name}.example", "api_key": "k"}
        for name in ("evolink", "reapi", "vtrix")
    }
    data = {"prompt": "a cat", "speed": "fast", "provider": "reapi", "client_request_id": "r"}
    alice_client.post("/t/acme/jobs/", data)
    job = Job.objects.get()
    assert (job.provider, job.credits_reserved) == ("reapi", 88)


def test_use_again_prefills_the_prompt(alice_client):
    html = alice_client.get("/t/acme/", {"prompt": "a fox --ar 3:2"}).content.decode()
    assert ">\na fox --ar 3:2</textarea>" in html


def test_a_repeated_htmx_generate_draws_no_second_card_and_moves_no_credit(
    alice_client, funded, no_queue
):
    first = generate(alice_client, HX_Request="true")
    job = Job.objects.get()
    assert f'id="job-{job.pk}"' in first.content.decode()
    again = generate(alice_client, HX_Request="true")  # the same request id: a double click
    assert again.status_code == 200
    assert f'id="job-{job.pk}"' not in again.content.decode()
    assert "HX-Trigger" not in again.headers
    assert Job.objects.count() == 1
    assert funded.entries.filter(kind="reserve").count() == 1


def test_a_new_request_id_after_a_generate_is_a_new_job(alice_client, funded, no_queue):
    generate(alice_client, HX_Request="true")
    data = {"prompt": "a lighthouse --ar 16:9", "speed": "fast", "client_request_id": "req-2"}
    response = alice_client.post("/t/acme/jobs/", data, headers={"HX-Request": "true"})
    second = Job.objects.get(client_request_id="req-2")
    assert f'id="job-{second.pk}"' in response.content.decode()
    assert Job.objects.count() == 2


def test_the_gallery_page_costs_the_same_queries_for_1_and_50_jobs(alice_client, alice, bob, team):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = alice_client.get("/t/acme/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    finished_job(alice, team)
    alice_client.get("/t/acme/")  # the first visit also makes alice's credit account
    one = count()
    for n in range(49):
        finished_job(bob if n % 2 else alice, team)
    assert count() == one
    assert one <= 12, f"{one} queries"


def test_a_filter_that_matches_nothing_says_so_and_offers_to_clear_it(alice_client, alice, team):
    finished_job(alice, team)
    html = alice_client.get("/t/acme/?q=no-such-prompt-anywhere").content.decode()
    assert "No job matches these filters" in html
    assert "No images yet" not in html
    assert 'href="/t/acme/">Clear filters</a>' in html


def test_a_private_job_carries_a_badge_on_its_card(alice_client, alice, team):
    mine = finished_job(alice, team)
    shared = finished_job(alice, team)
    Job.objects.filter(pk=mine.pk).update(private=True)
    html = alice_client.get("/t/acme/").content.decode()
    card = html.split(f'id="job-{mine.pk}"', 1)[1].split("</article>", 1)[0]
    other = html.split(f'id="job-{shared.pk}"', 1)[1].split("</article>", 1)[0]
    assert ">Private</p>" in card
    assert ">Private</p>" not in other
