"""←/→ on the image page: the previous and next image in the gallery's order
(newest job first, then image 1-4), only among images the member may see,
found by keyset lookups whatever the team's size; the gallery's filters, when
the page was opened from a filtered gallery, carried through."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gallery.models import Image, Job
from tests.factories import finished_job

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=1)


def at(job: Job, minutes: int) -> Job:
    """The job made `minutes` after T0: the order is set, not left to the clock."""
    Job.objects.filter(pk=job.pk).update(created=T0 + timedelta(minutes=minutes))
    job.refresh_from_db()
    return job


def links(client, image: Image, query: str = "") -> tuple[str | None, str | None]:
    response = client.get(f"/t/acme/images/{image.pk}/{query}")
    assert response.status_code == 200
    html = response.content.decode()
    prev = re.search(r'rel="prev" href="([^"]+)"', html)
    nxt = re.search(r'rel="next" href="([^"]+)"', html)
    return (prev.group(1) if prev else None, nxt.group(1) if nxt else None)


def url(image: Image, query: str = "") -> str:
    return f"/t/acme/images/{image.pk}/{query}"


def test_it_walks_images_within_a_job_then_into_the_next_older_job(alice_client, alice, team):
    older = at(finished_job(alice, team), 1)
    newer = at(finished_job(alice, team), 2)
    assert links(alice_client, newer.images.get(index=1)) == (
        url(newer.images.get(index=0)),
        url(newer.images.get(index=2)),
    )
    assert links(alice_client, newer.images.get(index=3))[1] == url(older.images.get(index=0))
    assert links(alice_client, older.images.get(index=0))[0] == url(newer.images.get(index=3))
    assert links(alice_client, older.images.get(index=3))[1] is None


def test_jobs_made_in_the_same_instant_keep_the_gallerys_order(alice_client, alice, team):
    first, second = finished_job(alice, team, images=1), finished_job(alice, team, images=1)
    Job.objects.filter(pk__in=[first.pk, second.pk]).update(created=T0)
    # The gallery shows the higher id first when two jobs share a time.
    assert links(alice_client, second.images.get()) == (None, url(first.images.get()))
    assert links(alice_client, first.images.get()) == (url(second.images.get()), None)


def test_it_skips_what_the_gallery_does_not_show(alice_client, alice, bob, carol, team, other_team):
    oldest = at(finished_job(alice, team, images=2), 1)
    at(finished_job(alice, team, images=0, status=Job.Status.FAILED), 2)  # no image to show
    deleted = at(finished_job(alice, team), 3)
    deleted.soft_delete()
    at(finished_job(bob, team, private=True), 4)  # bob's, private
    at(finished_job(carol, other_team), 5)  # another team's
    lost = at(finished_job(alice, team, images=1), 6)
    Image.objects.filter(job=lost).update(status=Image.Status.LOST, original="")
    newest = at(finished_job(alice, team, images=1), 7)
    assert links(alice_client, newest.images.get()) == (None, url(oldest.images.get(index=0)))
    assert links(alice_client, oldest.images.get(index=0))[0] == url(newest.images.get())


def test_the_gallerys_filters_are_carried_through_prev_and_next(alice_client, alice, bob, team):
    bobs_old = at(finished_job(bob, team, images=1), 1)
    at(finished_job(alice, team, images=1), 2)
    bobs_new = at(finished_job(bob, team, images=1), 3)
    query = "?who=bob"
    assert links(alice_client, bobs_new.images.get(), query) == (
        None,
        url(bobs_old.images.get(), query),
    )
    html = alice_client.get(url(bobs_new.images.get(), query)).content.decode()
    assert 'href="/t/acme/?who=bob" data-gallery-link' in html


def test_a_search_and_starred_filter_are_carried_too(alice_client, alice, team):
    fox = at(finished_job(alice, team, images=1, prompt="a red fox"), 1)
    at(finished_job(alice, team, images=1, prompt="a lighthouse"), 2)
    fox2 = at(finished_job(alice, team, images=1, prompt="a fox in snow"), 3)
    query = "?q=fox"
    assert links(alice_client, fox2.images.get(), query) == (None, url(fox.images.get(), query))
    alice_client.post(f"/t/acme/jobs/{fox.pk}/star/")
    assert links(alice_client, fox.images.get(), "?starred=1") == (None, None)


def test_filters_the_gallery_does_not_know_are_dropped(alice_client, alice, team):
    older = at(finished_job(alice, team, images=1), 1)
    newer = at(finished_job(alice, team, images=1), 2)
    query = "?since=not-a-date&evil=%3Cscript%3E&before=123-4"
    assert links(alice_client, newer.images.get(), query) == (None, url(older.images.get()))
    html = alice_client.get(url(newer.images.get(), query)).content.decode()
    assert 'href="/t/acme/" data-gallery-link' in html and "evil" not in html


def test_the_gallery_link_without_filters_is_the_plain_gallery(alice_client, alice, team):
    image = finished_job(alice, team, images=1).images.get()
    html = alice_client.get(url(image)).content.decode()
    assert 'href="/t/acme/" data-gallery-link' in html


def page_queries(client, image: Image) -> int:
    client.get(url(image))  # the first visit also remembers the team in the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(image)).status_code == 200
    return len(queries)


def test_the_page_asks_the_same_number_of_queries_for_a_small_and_a_big_team(
    alice_client, alice, team
):
    """Prev/next are keyset lookups from this job, never a walk of the team's jobs."""
    jobs = [at(finished_job(alice, team, images=1), minute) for minute in range(3)]
    small = page_queries(alice_client, jobs[1].images.get())
    for minute in range(3, 40):
        at(finished_job(alice, team, images=1), minute)
    assert page_queries(alice_client, jobs[1].images.get()) == small


def test_a_filtered_gallerys_cards_open_their_images_with_the_filters(alice_client, alice, team):
    fox = finished_job(alice, team, images=2, prompt="a red fox")
    first, second = fox.images.order_by("index")
    html = alice_client.get("/t/acme/?q=fox").content.decode()
    assert f'href="{url(first, "?q=fox")}" class="thumb-link"' in html
    assert f'href="{url(second, "?q=fox")}" class="thumb-link"' in html
    assert f'class="tool-button open-link" href="{url(first, "?q=fox")}"' in html
    # the plain gallery's cards open the plain image page
    plain = alice_client.get("/t/acme/").content.decode()
    assert f'href="{url(first)}" class="thumb-link"' in plain
