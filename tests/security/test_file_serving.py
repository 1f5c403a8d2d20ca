"""Every view that serves a stored file answers through one helper
(gallery.net.files.stored_file_response): the same safety headers everywhere (a type
from the file's own extension, nosniff, a sandboxing CSP, no embedding by
other sites), each view choosing only its name, disposition and cache policy."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gallery.models import Job, ShareLink
from gallery.studio import public_urls
from tests.factories import finished_job

pytestmark = pytest.mark.django_db

SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _headers(response) -> dict[str, str]:
    assert response.status_code == 200, response.status_code
    return {name: response.get(name, "") for name in [*SAFE, "Content-Type", "Cache-Control"]}


def test_every_file_route_sends_the_same_safety_headers_and_its_own_cache_policy(
    alice_client, alice, team
):
    job = finished_job(alice, team, images=1)
    image = job.images.get()
    name = image.original.name
    link = ShareLink.objects.create(image=image, created_by=alice)
    served = {
        "media": alice_client.get(f"/m/{name}"),
        "download": alice_client.get(f"/t/{team.slug}/images/{image.pk}/download/"),
        "public": alice_client.get(f"/p/{public_urls.sign(name)}/{name}"),
        "shared": alice_client.get(f"/s/{link.slug}/full"),
    }
    Job.objects.filter(pk=job.pk).update(deleted_at=timezone.now())
    served["trash"] = alice_client.get(f"/t/{team.slug}/trash/{job.pk}/thumb/")
    for route, response in served.items():
        headers = _headers(response)
        assert {k: headers[k] for k in SAFE} == SAFE, route
        # the type comes from the file's own extension: a PNG original, a WebP thumbnail
        assert headers["Content-Type"] in ("image/png", "image/webp"), route
    assert _headers(served["trash"])["Content-Type"] == "image/webp"
    assert _headers(served["download"])["Content-Type"] == "image/png"
    assert _headers(served["media"])["Cache-Control"] == "private, max-age=31536000, immutable"
    assert _headers(served["shared"])["Cache-Control"] == "private, no-cache"
    assert _headers(served["trash"])["Cache-Control"] == "private, no-cache"
    assert served["public"]["Cache-Control"].startswith("private, max-age=")
    assert served["download"]["Content-Disposition"].startswith("attachment;")
    assert served["media"]["Content-Disposition"].startswith("inline;")


def test_a_file_gone_from_storage_is_not_found_on_every_route(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    image = job.images.get()
    name = image.original.name
    image.original.storage.delete(name)
    assert alice_client.get(f"/m/{name}").status_code == 404
    assert alice_client.get(f"/t/{team.slug}/images/{image.pk}/download/").status_code == 404
    assert alice_client.get(f"/p/{public_urls.sign(name)}/{name}").status_code == 404
    link = ShareLink.objects.create(image=image, created_by=alice)
    assert alice_client.get(f"/s/{link.slug}/full").status_code == 404
