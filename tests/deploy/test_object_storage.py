"""Media in an S3-compatible bucket, against a real S3-protocol server over HTTP:
moto's server mode on loopback (bin/with-s3 starts it and sets the AWS_*
variables the settings read; `make test` runs these once under it). Every test
starts from an empty server with the bucket made afresh.

What moto does not cover, and these tests therefore do not prove: real AWS
or MinIO authentication and bucket policies (moto accepts any key pair and
checks a signature's expiry, not IAM), eventual consistency and throttling,
multipart uploads of large files (ours are a few MB at most), TLS to the
endpoint, and virtual-hosted addressing (moto here is reached by path, as
MinIO would be). moto does not check that a signature was made for the host it
is reached by, so the public-endpoint test proves the URL's shape and that it
opens, not that a strict server would accept it. Chromium following the
redirects under the pages' CSP is shown for real (the last test).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from PIL import Image as PILImage

from gallery.api import translate as api
from gallery.catalog.operations import Request
from gallery.models import ApiToken, Job, Membership, ShareLink
from gallery.net.uploads import clean_upload
from gallery.studio import images, pipeline, public_urls, references
from tests.browser.page_waits import wait_until
from tests.factories import fund, png
from tests.pipeline.conftest import run_until_final

ENDPOINT = os.environ.get("AWS_S3_ENDPOINT_URL", "")
BUCKET = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(not BUCKET, reason="needs bin/with-s3"),
]


def s3_client():
    """A client of our own, not the app's: what any other node would see."""
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("AWS_S3_REGION_NAME", "us-east-1"),
    )


def bucket_keys() -> dict[str, int]:
    listing = s3_client().list_objects_v2(Bucket=BUCKET)
    return {obj["Key"]: obj["Size"] for obj in listing.get("Contents", [])}


def bucket_bytes(key: str) -> bytes:
    return s3_client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def files_under(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


@pytest.fixture(autouse=True)
def bucket(settings, tmp_path):
    """An empty server with an empty, private bucket, and an empty MEDIA_ROOT."""
    httpx.post(f"{ENDPOINT}/moto-api/reset", timeout=10).raise_for_status()
    s3_client().create_bucket(Bucket=BUCKET)
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    # Nothing any test did may have touched the local disk, bar the move command's.


def presigned(response) -> str:
    """The bucket URL a redirect points at, checked to be signed and short-lived."""
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert location.startswith(f"{ENDPOINT}/{BUCKET}/"), location
    query = parse_qs(urlsplit(location).query)
    assert "X-Amz-Signature" in query
    assert int(query["X-Amz-Expires"][0]) == settings.MJWEB_MEDIA_URL_SECONDS <= 600
    return location


def fetch(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


@pytest.fixture
def finished(sim, alice, team) -> Job:
    """A job the simulator completed, stored by the pipeline as the worker would."""
    fund(alice, team)
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(operation="mj-v7", provider="evolink", prompt="a fox", speed="fast")
    job = run_until_final(pipeline.create(membership, pipeline.Draft(request=request)))
    assert job.status == "completed", job.error_message
    return job


def test_the_settings_keep_media_in_a_private_bucket_with_short_signed_urls():
    options = settings.STORAGES["default"]["OPTIONS"]
    assert settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == BUCKET and options["endpoint_url"] == ENDPOINT
    assert options["default_acl"] is None and options["querystring_auth"] is True
    assert options["querystring_expire"] == settings.MJWEB_MEDIA_URL_SECONDS == 300
    name = default_storage.save("probe/x.txt", ContentFile(b"hello"))
    assert bucket_keys() == {"probe/x.txt": 5} and name == "probe/x.txt"
    # The bucket refuses a URL without a signature: it is not public.
    assert fetch(f"{ENDPOINT}/{BUCKET}/probe/x.txt").status_code == 403


@pytest.mark.django_db
def test_a_completed_job_stores_originals_and_thumbnails_in_the_bucket_not_on_disk(finished):
    stored = list(finished.images.filter(status="stored"))
    assert len(stored) == 4
    keys = bucket_keys()
    for image in stored:
        assert image.original.name in keys and image.thumbnail.name in keys
        with PILImage.open(io.BytesIO(bucket_bytes(image.thumbnail.name))) as thumb:
            assert thumb.format == "WEBP"
    assert len(keys) == 8
    assert files_under(settings.MEDIA_ROOT) == []


@pytest.mark.django_db
@pytest.mark.parametrize("member", ["alice_client", "bob_client"])
def test_members_get_gallery_image_page_and_download_through_a_presigned_redirect(
    finished, member, request
):
    client = request.getfixturevalue(member)
    image = finished.images.get(index=0)
    gallery = client.get("/t/acme/")
    thumb_url = f"/m/{image.thumbnail.name}"
    assert gallery.status_code == 200 and thumb_url in gallery.content.decode()
    # The gallery's pages let <img> follow the redirect into the bucket.
    assert ENDPOINT in gallery["Content-Security-Policy"].split("img-src", 1)[1].split(";")[0]
    thumb = client.get(thumb_url)
    assert thumb["Cache-Control"] == "private, max-age=150"  # immutable: reuse the URL a while
    answer = fetch(presigned(thumb))
    assert answer.status_code == 200 and answer.content == bucket_bytes(image.thumbnail.name)
    assert answer.headers["Content-Type"] == "image/webp"

    page = client.get(f"/t/acme/images/{image.pk}/")
    original_url = f"/m/{image.original.name}"
    assert page.status_code == 200 and original_url in page.content.decode()
    full = fetch(presigned(client.get(original_url)))
    assert full.content == bucket_bytes(image.original.name)

    download = client.get(f"/t/acme/images/{image.pk}/download/")
    assert download["Cache-Control"] == "no-store"
    saved = fetch(presigned(download))
    assert saved.status_code == 200 and saved.content == bucket_bytes(image.original.name)
    assert saved.headers["Content-Disposition"].startswith('attachment; filename="')
    assert files_under(settings.MEDIA_ROOT) == []


@pytest.mark.django_db
def test_another_team_gets_404_and_no_bucket_url(finished, carol_client):
    image = finished.images.get(index=0)
    for url in (
        f"/m/{image.thumbnail.name}",
        f"/m/{image.original.name}",
        f"/t/acme/images/{image.pk}/",
        f"/t/acme/images/{image.pk}/download/",
    ):
        response = carol_client.get(url)
        assert response.status_code == 404, url
        assert ENDPOINT not in response.content.decode()


@pytest.mark.django_db
def test_a_share_link_opens_for_anyone_signed_out_until_revoked(finished, alice):
    image = finished.images.get(index=1)
    link = ShareLink.objects.create(image=image, created_by=alice)
    anonymous = Client()
    assert anonymous.get(f"/s/{link.slug}/").status_code == 200
    for size, name in (("full", image.original.name), ("thumb", image.thumbnail.name)):
        assert fetch(presigned(anonymous.get(f"/s/{link.slug}/{size}"))).content == bucket_bytes(
            name
        )
    link.revoke()
    assert anonymous.get(f"/s/{link.slug}/full").status_code == 404


@pytest.mark.django_db
def test_a_trashed_jobs_thumbnail_reaches_its_owner_from_the_bucket(finished, alice_client):
    alice_client.post(f"/t/acme/jobs/{finished.pk}/delete/")
    finished.refresh_from_db()
    assert finished.deleted_at is not None
    thumb = alice_client.get(f"/t/acme/trash/{finished.pk}/thumb/")
    name = finished.images.order_by("index").first().thumbnail.name
    assert fetch(presigned(thumb)).content == bucket_bytes(name)


@pytest.mark.django_db
def test_the_api_result_file_streams_from_the_bucket(finished, alice):
    """Scripts written for the aggregator need not follow redirects: bytes, not a 302."""
    token, _plain = ApiToken.issue(Membership.objects.get(user=alice), "cli")
    image = finished.images.get(index=2)
    path = urlsplit(api.file_url("http://testserver", image, token.pk)).path
    response = Client().get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == bucket_bytes(image.original.name)
    assert response["Content-Disposition"].startswith("inline; filename=")


@pytest.mark.django_db
def test_an_uploaded_reference_goes_to_the_bucket_and_its_signed_url_streams_it(
    alice_client, settings
):
    settings.MJWEB_PUBLIC_URL = "http://testserver"
    data = png(64, 48)
    upload = ContentFile(data, name="photo.png")
    response = alice_client.post("/t/acme/uploads/", {"image": upload}, headers={"HX-Request": "1"})
    assert response.status_code == 200
    url = response.content.decode().split('data-upload-url="', 1)[1].split('"')[0]
    name = public_urls.name_from_url(url)
    assert name.startswith("references/") and name in bucket_keys()
    fetched = Client().get(url.removeprefix("http://testserver"))
    assert fetched.status_code == 200  # streamed: the upstream need not follow a redirect
    assert b"".join(fetched.streaming_content) == bucket_bytes(name)
    assert files_under(settings.MEDIA_ROOT) == []


@pytest.mark.django_db(transaction=True)
def test_the_upstream_fetches_a_source_from_the_bucket_through_its_signed_url(
    sim, settings, live_server, alice, team
):
    """The simulator downloads the signed URL over HTTP (it follows no
    redirects); the retexture is drawn from those bytes, so the job completes."""
    settings.MJWEB_PUBLIC_URL = live_server.url
    source = images.store(png(64, 64, (200, 30, 30)))
    assert source.original in bucket_keys()
    fund(alice, team)
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(
        operation="mj-v7-retexture",
        provider="evolink",
        prompt="made of glass",
        image_urls=(public_urls.signed_url(source.original),),
    )
    job = run_until_final(pipeline.create(membership, pipeline.Draft(request=request)))
    assert job.status == "completed", job.error_message
    assert job.images.filter(status="stored").count() == 4
    assert files_under(settings.MEDIA_ROOT) == []


def test_move_media_copies_to_the_bucket_and_back_and_resumes(settings, tmp_path):
    root = Path(settings.MEDIA_ROOT)
    files = {
        "originals/ab/one.png": png(20, 20),
        "thumbs/ab/one.webp": b"x" * 300,
        "references/7/20260101-3-abc.png": b"abc",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    def move(*args: str) -> str:
        out = io.StringIO()
        call_command("move_media", *args, stdout=out)
        return out.getvalue()

    assert move("--to-bucket").startswith("3 copied")
    assert bucket_keys() == {name: len(data) for name, data in files.items()}
    assert move("--to-bucket").startswith("0 copied (0 bytes), 3 already in the bucket")
    # A run cut short: one object missing, one cut off at the wrong size.
    s3_client().delete_object(Bucket=BUCKET, Key="thumbs/ab/one.webp")
    s3_client().put_object(Bucket=BUCKET, Key="references/7/20260101-3-abc.png", Body=b"a")
    assert move("--to-bucket").startswith("2 copied (303 bytes), 1 already")
    assert bucket_bytes("references/7/20260101-3-abc.png") == b"abc"

    settings.MEDIA_ROOT = tmp_path / "elsewhere"
    assert move("--to-local").startswith("3 copied")
    for name, data in files.items():
        assert (tmp_path / "elsewhere" / name).read_bytes() == data
    (tmp_path / "elsewhere" / "thumbs/ab/one.webp").write_bytes(b"cut")
    assert move("--to-local").startswith("1 copied (300 bytes), 2 already")
    assert (tmp_path / "elsewhere" / "thumbs/ab/one.webp").read_bytes() == b"x" * 300


@pytest.mark.django_db
def test_urls_are_signed_for_the_public_endpoint_when_browsers_reach_the_bucket_by_another_name(
    finished, alice_client, settings
):
    """docker-compose: the app reaches http://minio:9000, browsers another host."""
    public = ENDPOINT.replace("127.0.0.1", "localhost")
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = public
    image = finished.images.get(index=0)
    location = alice_client.get(f"/m/{image.thumbnail.name}")["Location"]
    assert location.startswith(f"{public}/{BUCKET}/") and "X-Amz-Signature=" in location
    assert fetch(location).content == bucket_bytes(image.thumbnail.name)


@pytest.mark.django_db(transaction=True)
def test_purging_a_trashed_job_deletes_its_objects_from_the_bucket(finished):
    names = {n for i in finished.images.all() for n in (i.original.name, i.thumbnail.name)}
    assert names <= set(bucket_keys())
    finished.soft_delete()
    finished.purge()
    assert not names & set(bucket_keys())


@pytest.mark.django_db
def test_old_references_no_job_names_expire_from_the_bucket(alice):
    clean = clean_upload(png(30, 30))
    then = datetime(2026, 1, 10, tzinfo=UTC)
    name = references.store(alice.pk, clean, now=then)
    assert name in bucket_keys() and references.usage(alice.pk) == len(clean.data)
    kept = then + timedelta(days=settings.MJWEB_UPLOAD_RETENTION_DAYS)
    assert references.expire(now=kept) == 0
    assert references.expire(now=kept + timedelta(days=1)) == 1
    assert name not in bucket_keys()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_browser_shows_gallery_and_image_page_pictures_from_the_bucket(
    page, live_server, alice, team
):
    """Chromium follows the redirects under the pages' CSP; nothing is blocked."""
    from tests.browser.test_organise_flow import sign_in
    from tests.factories import finished_job

    job = finished_job(alice, team, size=(8, 8))
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if msg.type == "error" else None)
    bucket_hits: list[int] = []
    page.on("response", lambda r: bucket_hits.append(r.status) if BUCKET in r.url else None)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/")
    thumbs = page.locator(f"#job-{job.pk} img")
    thumbs.first.wait_for()
    loaded = "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"
    wait_until(page, f"() => ({loaded})([...document.querySelectorAll('#job-{job.pk} img')])")
    image = job.images.get(index=0)
    page.goto(f"{live_server.url}/t/acme/images/{image.pk}/")
    wait_until(
        page,
        "() => { const i = document.getElementById('stage-image');"
        " return i && i.complete && i.naturalWidth === 8; }",
    )
    assert bucket_hits and set(bucket_hits) == {200}
    assert not [text for text in refused if "Content Security Policy" in text], refused
