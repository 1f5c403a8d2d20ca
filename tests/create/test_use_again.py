""" "Use again" on a job's page: the gallery opens with its prompt in the box
(the panel reads its parameters from there). Only a ?prompt= link: the job page
and the cards belong to other code."""

from __future__ import annotations

from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from gallery.models import Job
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


def use_again_link(html: str) -> str:
    at = html.index(">Use again</a>")
    return unescape(
        html[html.rindex('href="', 0, at) + 6 : html.index('"', html.rindex('href="', 0, at) + 6)]
    )


def test_the_job_page_links_to_the_gallery_with_the_prompt_as_typed(alice_client, alice, team):
    job = finished_job(alice, team)
    Job.objects.filter(pk=job.pk).update(
        prompt="a fox & a hare --s 250", prompt_raw="a fox & a hare  --stylize 250"
    )
    link = use_again_link(alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode())
    parts = urlsplit(link)
    assert parts.path == "/t/acme/"
    assert parse_qs(parts.query) == {"prompt": ["a fox & a hare  --stylize 250"]}
    html = alice_client.get(link).content.decode()
    assert ">\na fox &amp; a hare  --stylize 250</textarea>" in html


def test_a_job_without_a_prompt_offers_no_use_again(alice_client, alice, team):
    job = finished_job(alice, team)
    Job.objects.filter(pk=job.pk).update(prompt="", prompt_raw="", operation="mj-v7-upscale")
    assert "Use again" not in alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
