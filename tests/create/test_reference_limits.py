"""Reference uploads are rate-limited and held to a quota per member, and
each refusal is said in words where the member dropped the file."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from gallery.net.uploads import clean_upload
from gallery.studio import references

pytestmark = pytest.mark.django_db
URL = "/t/acme/uploads/"
HTMX = {"HX-Request": "true"}
# A window that cannot end while a test runs, whatever the time of day.
FOREVER = 10**9


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def png_bytes(colour: tuple[int, int, int], size=(40, 30)) -> bytes:
    data = io.BytesIO()
    PILImage.new("RGB", size, colour).save(data, "PNG")
    return data.getvalue()


def upload(client, colour=(200, 30, 90)):
    image = SimpleUploadedFile("ref.png", png_bytes(colour), content_type="image/png")
    return client.post(URL, {"image": image}, headers=HTMX)


def alert(response) -> str:
    found = re.search(r'<p class="form-error" role="alert">(.*?)</p>', response.content.decode())
    assert found, response.content.decode()
    return found.group(1).replace("&#x27;", "'")


def stored(user) -> list[str]:
    try:
        return default_storage.listdir(references.folder(user.pk))[1]
    except FileNotFoundError:
        return []


# --- rate limit ----------------------------------------------------------------------


def test_uploads_past_the_rate_limit_get_429_and_retry_after_in_place(
    alice_client, alice, settings
):
    settings.MJWEB_UPLOAD_RATE_LIMIT, settings.MJWEB_UPLOAD_RATE_WINDOW = 2, FOREVER
    assert upload(alice_client, (1, 2, 3)).status_code == 200
    assert upload(alice_client, (4, 5, 6)).status_code == 200
    refused = upload(alice_client, (7, 8, 9))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert 'id="upload-result"' in refused.content.decode()  # htmx swaps it where the file went
    assert alert(refused).startswith("Too many uploads: at most 2 every ")
    assert "Try again in " in alert(refused)
    assert len(stored(alice)) == 2  # the refused file was not kept


def test_a_refused_upload_is_not_even_read(alice_client, settings):
    settings.MJWEB_UPLOAD_RATE_LIMIT, settings.MJWEB_UPLOAD_RATE_WINDOW = 1, FOREVER
    upload(alice_client)
    broken = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    refused = alice_client.post(URL, {"image": broken}, headers=HTMX)
    assert refused.status_code == 429  # not 400 for the file: the limit comes first


def test_the_rate_limit_is_per_member(alice_client, bob_client, settings):
    settings.MJWEB_UPLOAD_RATE_LIMIT, settings.MJWEB_UPLOAD_RATE_WINDOW = 1, FOREVER
    assert upload(alice_client).status_code == 200
    assert upload(alice_client).status_code == 429
    assert upload(bob_client).status_code == 200


# --- quota ---------------------------------------------------------------------------


def cleaned_size(colour) -> int:
    return len(clean_upload(png_bytes(colour)).data)


def test_an_upload_past_the_members_quota_is_refused_naming_quota_and_use(
    alice_client, alice, settings
):
    first, second = (10, 20, 30), (200, 100, 50)
    settings.MJWEB_UPLOAD_QUOTA_BYTES = cleaned_size(first) + cleaned_size(second) - 1
    assert upload(alice_client, first).status_code == 200
    refused = upload(alice_client, second)
    assert refused.status_code == 422
    message = alert(refused)
    used, quota = cleaned_size(first), settings.MJWEB_UPLOAD_QUOTA_BYTES
    assert f"Your reference images take {used} bytes of your {quota} bytes quota" in message
    assert f"this one needs {cleaned_size(second)} bytes more" in message
    assert "deleted 7 days after upload" in message
    assert len(stored(alice)) == 1
    assert references.usage(alice.pk) == used


def test_uploading_a_kept_file_again_takes_no_more_quota(alice_client, settings):
    settings.MJWEB_UPLOAD_QUOTA_BYTES = cleaned_size((10, 20, 30))
    first = upload(alice_client, (10, 20, 30))
    again = upload(alice_client, (10, 20, 30))
    assert first.status_code == again.status_code == 200
    assert upload(alice_client, (99, 99, 99)).status_code == 422


def test_the_quota_is_per_member(alice_client, bob_client, bob, settings):
    settings.MJWEB_UPLOAD_QUOTA_BYTES = cleaned_size((10, 20, 30))
    assert upload(alice_client, (10, 20, 30)).status_code == 200
    assert upload(bob_client, (99, 99, 99)).status_code == 200
    assert references.usage(bob.pk) == cleaned_size((99, 99, 99))


def test_the_default_limits_are_generous_for_people(settings):
    assert settings.MJWEB_UPLOAD_QUOTA_BYTES == 500 * 1024 * 1024
    assert settings.MJWEB_UPLOAD_RETENTION_DAYS == 7
    assert settings.MJWEB_UPLOAD_RATE_LIMIT >= 10
