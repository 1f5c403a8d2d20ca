"""Stars, filters and search, delete with undo, private jobs, collections and
public share links."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from gallery.models import Collection, Job, ShareLink, Star
from tests.factories import finished_job, in_flight_job

pytestmark = pytest.mark.django_db


def test_a_star_toggles_and_answers_htmx_with_the_button(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    html = alice_client.post(
        f"/t/acme/jobs/{job.pk}/star/", headers={"HX-Request": "true"}
    ).content.decode()
    assert 'aria-pressed="true"' in html and "Unstar this job" in html
    assert Star.objects.filter(user=alice, job=job).exists()
    alice_client.post(f"/t/acme/jobs/{job.pk}/star/")
    assert not Star.objects.exists()


def test_a_star_is_per_person(alice_client, bob_client, alice, team):
    job = finished_job(alice, team, images=1)
    alice_client.post(f"/t/acme/jobs/{job.pk}/star/")
    assert "Unstar this job" in alice_client.get("/t/acme/").content.decode()
    assert "Unstar this job" not in bob_client.get("/t/acme/").content.decode()


def test_starring_another_teams_job_is_404(carol_client, alice, team):
    job = finished_job(alice, team, images=1)
    assert carol_client.post(f"/t/other/jobs/{job.pk}/star/").status_code == 404
    assert carol_client.post(f"/t/acme/jobs/{job.pk}/star/").status_code == 404


def test_star_rejects_get(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    assert alice_client.get(f"/t/acme/jobs/{job.pk}/star/").status_code == 405


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"who": "mine"}, {"alice cat", "alice upscale"}),
        ({"who": "bob"}, {"bob dog", "old fox"}),
        ({"starred": "1"}, {"bob dog"}),
        ({"q": "DOG"}, {"bob dog"}),
        ({"q": "cat alice"}, {"alice cat"}),
        ({"op": "mj-v7-upscale"}, {"alice upscale"}),
        ({"since": "2001-01-01", "until": "2001-12-31"}, {"old fox"}),
        ({}, {"alice cat", "bob dog", "alice upscale", "old fox"}),
    ],
)
def test_the_gallery_filters_and_searches(alice_client, alice, bob, team, query, expected):
    def job(user, prompt, **fields):
        made = finished_job(user, team, images=1)
        Job.objects.filter(pk=made.pk).update(prompt=prompt, **fields)
        return made

    job(alice, "alice cat")
    dog = job(bob, "bob dog")
    job(alice, "alice upscale", operation="mj-v7-upscale")
    job(bob, "old fox", created=timezone.now().replace(year=2001))
    Star.objects.create(user=alice, job=dog)
    html = alice_client.get("/t/acme/", query).content.decode()
    # a generation's prompt is its card's link; an edit's is under its title
    names = ("alice cat", "bob dog", "alice upscale", "old fox")
    shown = {p for p in names if f">{p}</a>" in html or f'"job-root">{p}</span>' in html}
    assert shown == expected


def test_a_filtered_gallery_listens_for_its_filter(alice_client, alice, team):
    html = alice_client.get("/t/acme/", {"who": "mine", "since": "2026-02-30"}).content.decode()
    # The stream and its fallback poll carry the usable filter (the live
    # updates apply it: tests/live), never the impossible date.
    assert 'sse-connect="/t/acme/live/stream/?page=gallery&amp;who=mine"' in html
    assert "since=2026-02-30" not in html.split('id="live-stream"', 1)[1]


def test_the_author_deletes_and_undoes(alice_client, bob_client, alice, team):
    job = finished_job(alice, team, images=1)
    html = alice_client.post(
        f"/t/acme/jobs/{job.pk}/delete/", headers={"HX-Request": "true"}
    ).content.decode()
    assert "Deleted." in html and "Undo" in html
    assert f'id="job-{job.pk}"' not in bob_client.get("/t/acme/").content.decode()
    assert bob_client.get(f"/t/acme/jobs/{job.pk}/").status_code == 404
    restored = alice_client.post(f"/t/acme/jobs/{job.pk}/restore/", headers={"HX-Request": "true"})
    assert re.search(r'class="job-card r\d+ status-completed"', restored.content.decode())
    assert f'id="job-{job.pk}"' in bob_client.get("/t/acme/").content.decode()


def test_without_javascript_delete_leads_to_a_restore_button(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    page = alice_client.post(f"/t/acme/jobs/{job.pk}/delete/", follow=True).content.decode()
    assert "This job was deleted" in page and ">Restore</button>" in page


def test_a_teammate_cannot_delete_but_an_admin_can(alice_client, bob_client, bob, team):
    job = finished_job(bob, team, images=1)
    other = finished_job(bob, team, images=1)
    assert alice_client.post(f"/t/acme/jobs/{job.pk}/delete/").status_code == 302
    from tests.conftest import add, make_user

    erin = make_user("erin")
    add(team, erin, "member")
    erin_client = Client()
    erin_client.force_login(erin)
    assert erin_client.post(f"/t/acme/jobs/{other.pk}/delete/").status_code == 403
    assert Job.objects.get(pk=other.pk).deleted_at is None
    assert bob_client.get("/t/acme/").status_code == 200


def test_a_running_job_cannot_be_deleted(alice_client, alice, team):
    job = in_flight_job(alice, team)
    assert alice_client.post(f"/t/acme/jobs/{job.pk}/delete/").status_code == 403


def test_private_hides_a_job_from_teammates_until_shared_again(
    alice_client, bob_client, alice, team
):
    job = finished_job(alice, team, images=1)
    alice_client.post(f"/t/acme/jobs/{job.pk}/private/")
    assert bob_client.get(f"/t/acme/jobs/{job.pk}/").status_code == 404
    page = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "Private: only you can see this job." in page
    assert bob_client.post(f"/t/acme/jobs/{job.pk}/private/").status_code == 404
    alice_client.post(f"/t/acme/jobs/{job.pk}/private/")
    assert bob_client.get(f"/t/acme/jobs/{job.pk}/").status_code == 200


def test_only_the_author_can_make_a_job_private(bob_client, alice, team):
    job = finished_job(alice, team, images=1)
    assert bob_client.post(f"/t/acme/jobs/{job.pk}/private/").status_code == 403


def test_collections_team_boards_and_private_ones(
    alice_client, bob_client, dave_client, alice, team
):
    job = finished_job(alice, team, images=1, prompt="a cat --ar 1:1")
    response = alice_client.post("/t/acme/collections/", {"name": "Moodboard"})
    board = Collection.objects.get(name="Moodboard")
    assert response.url == f"/t/acme/collections/{board.pk}/"
    alice_client.post("/t/acme/collections/", {"name": "Secret", "private": "on"})
    assert "Moodboard" in bob_client.get("/t/acme/collections/").content.decode()
    assert "Secret" not in bob_client.get("/t/acme/collections/").content.decode()
    bob_client.post(f"/t/acme/jobs/{job.pk}/collect/", {"collection": board.pk})
    page = alice_client.get(f"/t/acme/collections/{board.pk}/").content.decode()
    assert "a cat" in page and "1 job" in page
    secret = Collection.objects.get(name="Secret")
    assert (
        bob_client.post(f"/t/acme/jobs/{job.pk}/collect/", {"collection": secret.pk}).status_code
        == 404
    )
    assert dave_client.post("/t/acme/collections/", {"name": "x"}).status_code == 403
    alice_client.post(f"/t/acme/jobs/{job.pk}/collect/", {"collection": board.pk, "remove": "1"})
    assert "0 jobs" in alice_client.get(f"/t/acme/collections/{board.pk}/").content.decode()


def test_a_collection_needs_a_name(alice_client):
    response = alice_client.post("/t/acme/collections/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_another_teams_collection_is_404(carol_client, alice, team):
    board = Collection.objects.create(team=team, owner=alice, name="Ours")
    assert carol_client.get(f"/t/acme/collections/{board.pk}/").status_code == 404
    assert carol_client.get(f"/t/other/collections/{board.pk}/").status_code == 404


def test_a_share_link_works_signed_out_until_revoked(alice_client, alice, team):
    job = finished_job(alice, team, images=1, prompt="a cat --ar 1:1")
    image = job.images.get()
    alice_client.post(f"/t/acme/images/{image.pk}/share/")
    link = ShareLink.objects.get(image=image)
    page = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert f"/s/{link.slug}/" in page
    public = Client()
    assert "a cat" in public.get(f"/s/{link.slug}/").content.decode()
    file = public.get(f"/s/{link.slug}/full")
    assert file.status_code == 200
    assert file["X-Content-Type-Options"] == "nosniff"
    alice_client.post(f"/t/acme/shares/{link.pk}/revoke/")
    assert public.get(f"/s/{link.slug}/").status_code == 404
    assert public.get(f"/s/{link.slug}/full").status_code == 404


def test_sharing_another_teams_image_is_404(carol_client, alice, team):
    image = finished_job(alice, team, images=1).images.get()
    assert carol_client.post(f"/t/other/images/{image.pk}/share/").status_code == 404
    assert not ShareLink.objects.exists()


def test_a_deleted_jobs_share_link_stops_working(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    link = ShareLink.objects.create(image=job.images.get(), created_by=alice)
    job.soft_delete()
    assert Client().get(f"/s/{link.slug}/").status_code == 404
    assert Client().get(f"/s/{link.slug}/other").status_code == 404


def test_making_a_job_private_revokes_its_share_links_and_says_so(alice_client, alice, team):
    job = finished_job(alice, team, images=2)
    for image in job.images.all():
        alice_client.post(f"/t/acme/images/{image.pk}/share/")
    slugs = list(ShareLink.objects.values_list("slug", flat=True))
    assert len(slugs) == 2 and Client().get(f"/s/{slugs[0]}/").status_code == 200
    response = alice_client.post(f"/t/acme/jobs/{job.pk}/private/", follow=True)
    public = Client()
    for slug in slugs:
        assert public.get(f"/s/{slug}/").status_code == 404
        assert public.get(f"/s/{slug}/full").status_code == 404
    assert not ShareLink.objects.filter(revoked_at__isnull=True).exists()
    page = response.content.decode()
    assert "Made private: 2 share links were revoked" in page
    assert "only you can see it now" in page
    # Sharing it with the team again does not bring the public links back.
    alice_client.post(f"/t/acme/jobs/{job.pk}/private/")
    assert public.get(f"/s/{slugs[0]}/").status_code == 404


def test_making_a_job_without_share_links_private_says_only_that(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    page = alice_client.post(f"/t/acme/jobs/{job.pk}/private/", follow=True).content.decode()
    assert "Made private: only you can see it now." in page
    assert "revoked" not in page


def test_a_private_jobs_image_cannot_be_shared_publicly(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    Job.objects.filter(pk=job.pk).update(private=True)
    response = alice_client.post(f"/t/acme/images/{job.images.get().pk}/share/")
    assert response.status_code == 403
    assert not ShareLink.objects.exists()
    page = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "Share publicly" not in page
    assert "A private job is not shared publicly" in page


def test_a_share_link_of_a_private_job_does_not_open_even_if_one_slipped_through(
    alice_client, alice, team
):
    """A link made in the instant between the privacy check and the switch is
    still refused: the public views only serve links of jobs that are not private."""
    job = finished_job(alice, team, images=1)
    Job.objects.filter(pk=job.pk).update(private=True)
    link = ShareLink.objects.create(image=job.images.get(), created_by=alice)
    assert Client().get(f"/s/{link.slug}/").status_code == 404
    assert Client().get(f"/s/{link.slug}/full").status_code == 404


def test_an_image_whose_only_link_was_revoked_can_be_shared_again(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    image = job.images.get()
    ShareLink.objects.create(image=image, created_by=alice).revoke()
    page = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "Share publicly" in page


def test_a_deleted_card_keeps_the_shape_of_the_card_it_replaces(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    job.images.update(width=1456, height=816)  # a 16:9 picture: a wide card
    gallery = alice_client.get("/t/acme/").content.decode()
    card = re.search(rf'<article class="job-card (r\d+) [^"]*" id="job-{job.pk}"', gallery)
    shape = card.group(1)
    html = alice_client.post(
        f"/t/acme/jobs/{job.pk}/delete/", headers={"HX-Request": "true"}
    ).content.decode()
    assert shape != "r100"
    assert f'<article class="job-card {shape} deleted" id="job-{job.pk}"' in html
