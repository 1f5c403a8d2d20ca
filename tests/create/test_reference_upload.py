"""Reference images for the prompt: uploaded, cleaned, exposed at a signed URL."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image as PILImage

pytestmark = pytest.mark.django_db
URL = "/t/acme/uploads/"


def png(size=(64, 48)) -> SimpleUploadedFile:
    data = io.BytesIO()
    PILImage.new("RGB", size, (200, 30, 90)).save(data, "PNG")
    return SimpleUploadedFile("photo.jpg", data.getvalue(), content_type="image/jpeg")


def test_an_uploaded_reference_comes_back_as_a_signed_public_url(alice_client, settings):
    settings.MJWEB_PUBLIC_URL = "http://testserver"
    response = alice_client.post(URL, {"image": png()}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    url = html.split('data-upload-url="', 1)[1].split('"')[0]
    assert url.startswith("http://testserver/p/") and url.endswith(".png")  # sniffed, not named
    assert "Added below as an image prompt" in html  # static/js/create-bar.js makes it a chip
    fetched = Client().get(url.removeprefix("http://testserver"))
    assert fetched.status_code == 200
    assert PILImage.open(io.BytesIO(b"".join(fetched.streaming_content))).size == (64, 48)


def test_a_file_that_is_not_an_image_is_refused_in_words(alice_client):
    fake = SimpleUploadedFile(
        "evil.png", b"<html><script>alert(1)</script>", content_type="image/png"
    )
    response = alice_client.post(URL, {"image": fake})
    assert response.status_code == 400
    assert "is not a PNG, JPEG, WebP or GIF image" in response.content.decode()


def test_no_file_is_refused_in_words(alice_client):
    response = alice_client.post(URL, {})
    assert response.status_code == 400
    assert "Choose an image file to upload." in response.content.decode()


def test_a_viewer_cannot_upload(dave_client):
    assert dave_client.post(URL, {"image": png()}).status_code == 403


def test_another_team_gets_404(carol_client, alice):
    assert carol_client.post(URL, {"image": png()}).status_code == 404


def test_upload_rejects_get(alice_client):
    assert alice_client.get(URL).status_code == 405
