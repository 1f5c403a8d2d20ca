"""The result URLs a task lists are short-lived capabilities: signed for the
token that read the task and the time it was read, renewed by reading the task
again, and dead as soon as that token's owner may no longer see the job."""

from __future__ import annotations

import pytest
from django.test import Client

from gallery.models import ApiToken, Job
from tests.api.conftest import Api
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


def url(job: Job) -> str:
    return f"/api/v1/tasks/task-unified-mjw-{job.pk}"


def results(api: Api, job: Job) -> list[str]:
    return [r.removeprefix("http://testserver") for r in api.get(url(job)).json()["results"]]


def test_a_result_url_works_for_its_lifetime_then_answers_410(
    alice_api, alice, team, clock, settings
):
    settings.MJWEB_API_FILE_URL_SECONDS = 3600
    first = results(alice_api, finished_job(alice, team))[0]
    clock.advance(seconds=3599)
    assert Client().get(first).status_code == 200
    clock.advance(seconds=2)
    response = Client().get(first)
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "url_expired"
    assert "read the task again" in error["message"]


def test_the_lifetime_is_a_setting(alice_api, alice, team, clock, settings):
    settings.MJWEB_API_FILE_URL_SECONDS = 60
    first = results(alice_api, finished_job(alice, team))[0]
    clock.advance(seconds=61)
    assert Client().get(first).status_code == 410


def test_reading_the_task_again_renews_its_urls(alice_api, alice, team, clock, settings):
    settings.MJWEB_API_FILE_URL_SECONDS = 3600
    job = finished_job(alice, team)
    old = results(alice_api, job)
    clock.advance(seconds=3000)
    renewed = results(alice_api, job)
    assert len(renewed) == 4 and set(renewed).isdisjoint(old)
    clock.advance(seconds=1000)
    assert Client().get(old[0]).status_code == 410
    assert Client().get(renewed[0]).status_code == 200


def test_a_teammates_url_dies_when_the_job_is_made_private_but_the_authors_lives(
    alice_api, bob_api, alice, alice_client, team
):
    job = finished_job(alice, team)
    bobs, alices = results(bob_api, job)[0], results(alice_api, job)[0]
    assert Client().get(bobs).status_code == 200
    alice_client.post(f"/t/acme/jobs/{job.pk}/private/")
    response = Client().get(bobs)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Client().get(alices).status_code == 200


def test_a_url_dies_when_the_job_is_deleted_before_it_expires(alice_api, alice, team):
    job = finished_job(alice, team)
    first = results(alice_api, job)[0]
    job.soft_delete()
    assert Client().get(first).status_code == 404


def test_a_url_dies_with_the_token_that_read_it(alice_api, alice, team):
    first = results(alice_api, finished_job(alice, team))[0]
    ApiToken.objects.get().revoke()
    assert Client().get(first).status_code == 404


def test_a_url_dies_when_its_owners_account_is_deactivated(bob_api, alice, bob, team):
    first = results(bob_api, finished_job(alice, team))[0]
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert Client().get(first).status_code == 404


@pytest.mark.parametrize("part", [0, 1, 2, 3])
def test_changing_any_part_of_the_signed_name_is_a_404(alice_api, alice, team, part):
    """The image, the token, the time and the signature are all covered."""
    first = results(alice_api, finished_job(alice, team))[0]
    prefix, name = first.rsplit("/", 1)
    pieces = name.split(".")
    original = pieces[part]
    pieces[part] = (
        str(int(original) + 1)
        if original.isdigit()
        else original[:-1] + ("A" if original[-1] != "A" else "B")
    )
    response = Client().get(f"{prefix}/{'.'.join(pieces)}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_result_file_is_not_kept_by_shared_caches(alice_api, alice, team):
    response = Client().get(results(alice_api, finished_job(alice, team))[0])
    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"]
    assert response["Cache-Control"].startswith("private")


def test_a_result_file_may_be_shown_on_the_clients_own_site(alice_api, alice, team):
    """Scripts put result URLs in their own pages' <img>, as they do with the
    aggregator's: no same-origin resource policy on them (the site's own media
    keep theirs)."""
    response = Client().get(results(alice_api, finished_job(alice, team))[0])
    assert response.status_code == 200
    assert "Cross-Origin-Resource-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
