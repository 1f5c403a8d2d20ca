"""Signed, expiring public URLs: what the upstream fetches retexture and
remove-background sources from, without a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from gallery.catalog.operations import Request
from gallery.models import Membership
from gallery.studio import images, pipeline, public_urls
from tests.factories import fund, png
from tests.pipeline.conftest import run_until_final

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(settings) -> images.StoredImage:
    settings.MJWEB_PUBLIC_URL = "https://mjweb.example.com"
    return images.store(png(40, 30))


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


def test_a_signed_url_serves_the_files_bytes_to_someone_signed_out(stored):
    url = public_urls.signed_url(stored.original)
    response = Client().get(path_of(url))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png(40, 30)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    cache, max_age = response["Cache-Control"].split(", max-age=")
    assert cache == "private" and 86_000 < int(max_age) <= 86_400


def test_the_url_is_absolute_under_the_public_base_and_ends_with_the_extension(stored):
    url = public_urls.signed_url(stored.original)
    assert url.startswith("https://mjweb.example.com/p/")
    assert url.endswith(".png") and url.endswith(stored.original)
    assert public_urls.name_from_url(url) == stored.original


def test_a_tampered_signature_is_404(stored):
    url = path_of(public_urls.signed_url(stored.original))
    token = url.split("/")[2]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    client = Client()
    assert client.get(url.replace(token, flipped)).status_code == 404
    assert client.get(url.replace(token, "1xUkes.forged")).status_code == 404
    assert client.get(url.replace(token, "not-a-token")).status_code == 404


def test_a_signature_for_another_file_is_404(stored):
    other = images.store(png(20, 20))
    token = public_urls.sign(other.original)
    assert Client().get(f"/p/{token}/{stored.original}").status_code == 404


def test_an_expired_signature_is_404(stored, monkeypatch):
    signed_at = timezone.now() - timedelta(hours=24, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: signed_at)
    url = path_of(public_urls.signed_url(stored.original))
    monkeypatch.undo()
    assert Client().get(url).status_code == 404


def test_a_link_signed_23_hours_ago_still_works_for_the_hour_left(stored, monkeypatch):
    signed_at = timezone.now() - timedelta(hours=23)
    monkeypatch.setattr(timezone, "now", lambda: signed_at)
    url = path_of(public_urls.signed_url(stored.original))
    monkeypatch.undo()
    response = Client().get(url)
    assert response.status_code == 200
    assert 3500 < int(response["Cache-Control"].split("max-age=")[1]) <= 3600


def test_a_link_signed_by_djangos_timestamp_signer_still_works(stored):
    """Links handed to the upstream before the shared signing helper existed
    were made by TimestampSigner; the helper writes and reads the same format."""
    signer = signing.TimestampSigner(salt="gallery.public_urls", sep=".")
    token = signer.sign(stored.original)[len(stored.original) + 1 :]
    assert Client().get(f"/p/{token}/{stored.original}").status_code == 200
    signed_at = datetime.fromtimestamp(signing.b62_decode(token.split(".")[0]), UTC)
    assert public_urls.stamp(stored.original, now=signed_at) == token


def test_a_signed_name_whose_file_is_gone_is_404(stored):
    assert Client().get(path_of(public_urls.signed_url("originals/zz/gone.png"))).status_code == 404


def test_it_only_answers_get(stored):
    url = path_of(public_urls.signed_url(stored.original))
    assert Client().post(url).status_code == 405


def test_name_from_url_ignores_other_urls():
    assert public_urls.name_from_url("https://example.com/source.png") is None
    assert public_urls.name_from_url("https://mjweb.example.com/m/originals/ab/x.png") is None


@pytest.mark.django_db(transaction=True)
def test_the_upstream_fetches_a_retexture_source_from_its_signed_url(
    sim, settings, live_server, tmp_path, alice, team
):
    """The simulator really downloads loopback URLs: the retexture is drawn
    from the image served at the signed URL, so the job completes."""
    settings.MEDIA_ROOT = tmp_path / "served"
    settings.MJWEB_PUBLIC_URL = live_server.url
    source = images.store(png(64, 64, (200, 30, 30)))
    fund(alice, team, 5000)
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(
        operation="mj-v7-retexture",
        provider="evolink",
        prompt="made of glass",
        image_urls=(public_urls.signed_url(source.original),),
    )
    job = run_until_final(pipeline.create(membership, pipeline.Draft(request=request)))
    # A source it cannot download fails the task (image_processing_error).
    assert job.status == "completed", job.error_message
    assert job.images.filter(status="stored").count() == 4
