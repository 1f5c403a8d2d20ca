"""The job page: its thumbnails open the image pages, never the raw files, and
while the job is in flight the page refreshes its status, progress and images
from a fragment of the same URL, every 2 s, until the job is final."""

from __future__ import annotations

import pytest

from gallery.models import Image, Job
from tests.factories import finished_job, in_flight_job

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def running_job(user, team, **fields) -> Job:
    return in_flight_job(user, team, prompt="a slow fox", progress=30, **fields)


def test_thumbnails_link_to_the_image_pages_not_the_files(alice_client, alice, team):
    job = finished_job(alice, team)
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    for image in job.images.all():
        assert f'<a href="/t/acme/images/{image.pk}/"' in html
        assert f'href="/m/{image.original.name}"' not in html


def test_an_edit_links_to_the_image_it_was_made_from(alice_client, alice, team):
    parent = finished_job(alice, team).images.get(index=2)
    edit = running_job(alice, team, parent=parent)
    html = alice_client.get(f"/t/acme/jobs/{edit.pk}/").content.decode()
    assert f'href="/t/acme/images/{parent.pk}/">image 3 of job {parent.job_id}</a>' in html


def test_a_job_in_flight_leaves_its_updates_to_the_page_s_live_stream(alice_client, alice, team):
    job = running_job(alice, team)
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert 'id="job-live">' in html  # no poll of its own: the stream (or its poll) updates it
    assert "hx-trigger" not in html.split('id="job-live"')[1][:200]
    assert f'sse-connect="/t/acme/live/stream/?page=job:{job.pk}' in html
    assert '<progress max="100" value="30"' in html


def test_a_final_job_does_not_poll(alice_client, alice, team):
    job = finished_job(alice, team)
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert 'id="job-live"' in html and "hx-trigger" not in html.split('id="job-live"')[1][:200]


def test_the_fragment_follows_the_job_to_completion(alice_client, alice, team):
    job = running_job(alice, team)
    response = alice_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Running" in html and 'value="30"' in html

    Job.objects.filter(pk=job.pk).update(progress=80)
    again = alice_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX)
    assert 'value="80"' in again.content.decode()

    Job.objects.filter(pk=job.pk).update(status="completed", progress=100, credits_charged=79)
    image = Image.objects.create(
        job=job, index=0, status="stored", upstream_url="https://x.org/a.png",
        original="originals/a.png", thumbnail="thumbs/a.webp", width=1024, height=1024,
    )  # fmt: skip
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert "Completed" in html and "hx-trigger" not in html.split('id="job-details"')[0]
    assert f'<a href="/t/acme/images/{image.pk}/"' in html
    # The last answer also brings the details (credits charged, delete, share) up to date.
    assert 'id="job-details" hx-swap-oob="true"' in html and "79 charged" in html


def test_the_fragment_brings_new_events_while_in_flight(alice_client, alice, team):
    job = running_job(alice, team)
    job.log("polled", "The provider says 45%")
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert 'id="job-events" hx-swap-oob="true"' in html
    assert "<strong>polled</strong> — The provider says 45%" in html
    assert 'id="job-details"' not in html  # the forms there are left alone while it runs


def test_the_fragment_shows_a_failure_in_words(alice_client, alice, team):
    job = running_job(alice, team)
    Job.objects.filter(pk=job.pk).update(status="failed", error_message="Upstream said no")
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert "Upstream said no" in html and "79 refunded" in html


def test_the_page_rejects_post(alice_client, alice, team):
    job = running_job(alice, team)
    assert alice_client.post(f"/t/acme/jobs/{job.pk}/", headers=HTMX).status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in(client, alice, team):
    job = running_job(alice, team)
    response = client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX)
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_another_teams_job_is_404_in_place(carol_client, alice, team):
    job = running_job(alice, team)
    for slug in ("acme", "other"):
        response = carol_client.get(f"/t/{slug}/jobs/{job.pk}/", headers=HTMX)
        assert response.status_code == 404 and response["X-Error-In-Place"] == "1"
        assert "a slow fox" not in response.content.decode()


def test_a_teammates_private_job_is_404_for_the_page_and_its_fragment(bob_client, alice, bob, team):
    job = running_job(alice, team, private=True)
    assert bob_client.get(f"/t/acme/jobs/{job.pk}/").status_code == 404
    response = bob_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX)
    assert response.status_code == 404 and "a slow fox" not in response.content.decode()


def test_a_job_deleted_while_watched_is_404_in_place_for_a_teammate(bob_client, alice, bob, team):
    job = running_job(alice, team)
    job.soft_delete()
    response = bob_client.get(f"/t/acme/jobs/{job.pk}/", headers=HTMX)
    assert response.status_code == 404 and response["X-Error-In-Place"] == "1"


def test_the_live_part_of_a_job_deleted_while_watched_says_so_and_stops_polling(
    bob_client, alice, bob, team
):
    job = running_job(alice, team)
    job.soft_delete()
    poll = {**HTMX, "HX-Target": "job-live"}
    response = bob_client.get(f"/t/acme/jobs/{job.pk}/", headers=poll)
    assert response.status_code == 286  # htmx stops polling on 286
    html = response.content.decode()
    assert "no longer available to you" in html and 'id="job-live"' in html
    assert "hx-trigger" not in html and "a slow fox" not in html


def test_the_live_part_of_a_job_that_never_was_says_the_same(bob_client, bob, team):
    poll = {**HTMX, "HX-Target": "job-live"}
    response = bob_client.get("/t/acme/jobs/999999/", headers=poll)
    assert response.status_code == 286 and "no longer available" in response.content.decode()
