"""A gallery card keeps its pictures' shape, and offers open, star and
download of each original without a query of its own."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gallery.models import Image, Job
from gallery.templatetags.cards import card_shape
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


def card_html(html: str, job: Job) -> str:
    found = re.search(rf'<article [^>]*id="job-{job.pk}".*?</article>', html, re.S)
    return found.group(0)


def sized(job: Job, width: int, height: int) -> Job:
    Image.objects.filter(job=job).update(width=width, height=height)
    return job


@pytest.mark.parametrize(
    ("size", "count", "shape", "layout"),
    [
        ((1456, 816), 4, "r178", "layout-grid"),  # 16:9: two by two, as wide as the pictures
        ((1456, 816), 1, "r178", "layout-one"),  # a pan or an upscale
        ((1024, 1024), 4, "r100", "layout-grid"),
        ((2048, 1024), 4, "r200", "layout-grid"),
        ((816, 1456), 4, "r225", "layout-strip"),  # 9:16: four in a row, not a thin column
        ((816, 1456), 1, "r075", "layout-one"),  # narrower than that would crowd the text
    ],
)
def test_a_cards_shape_follows_its_pictures(alice, team, size, count, shape, layout):
    job = sized(finished_job(alice, team, images=count), *size)
    if count == 1:  # an edit's one picture; a generation's one would show a moderation gap
        Job.objects.filter(pk=job.pk).update(operation="mj-v7-upscale")
        job.refresh_from_db()
    found = card_shape(job, list(job.images.all()))
    assert (found.ratio, found.layout) == (shape, layout)


def test_a_16_9_card_is_drawn_wide_and_uncropped(alice_client, alice, team):
    job = sized(finished_job(alice, team, images=4), 1456, 816)
    card = card_html(alice_client.get("/t/acme/").content.decode(), job)
    assert 'class="job-card r178 status-completed"' in card
    assert '<div class="thumbs layout-grid cells-4">' in card
    assert card.count('width="512" height="287"') == 4  # the real thumbnail size, for layout


def test_a_moderated_generation_keeps_its_gap_in_the_shape(alice, team):
    job = finished_job(alice, team, images=3)
    found = card_shape(job, list(job.images.all()))
    assert found.filtered and found.layout == "layout-grid"


def download_url(image: Image) -> str:
    return reverse("image-download", args=["acme", image.pk])


def test_a_card_offers_open_star_and_a_download_of_each_original(alice_client, alice, team):
    job = finished_job(alice, team, images=2)
    first, second = job.images.order_by("index")
    card = card_html(alice_client.get("/t/acme/").content.decode(), job)
    assert re.search(rf'<a [^>]*href="/t/acme/images/{first.pk}/"[^>]*>Open', card)
    assert 'aria-label="Star this job"' in card
    for image in (first, second):
        link = re.search(rf'<a href="{download_url(image)}"[^>]*>', card).group(0)
        assert " download " in link and f'aria-label="Download image {image.index + 1}"' in link


def test_a_card_without_a_stored_picture_offers_no_open_or_download(alice_client, alice, team):
    job = finished_job(alice, team, images=0)
    Job.objects.filter(pk=job.pk).update(status="running", progress=30, credits_charged=None)
    card = card_html(alice_client.get("/t/acme/").content.decode(), job)
    assert ">Open" not in card and "download=" not in card
    assert 'aria-label="Star this job"' in card and 'name="ids"' in card
