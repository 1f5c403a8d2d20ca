"""Storing a fetched image: verified, kept under its hash, with one thumbnail."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from gallery.models import Image, Job
from gallery.studio import images, pipeline
from tests.factories import png

pytestmark = pytest.mark.django_db


def broken_pixels(data: bytes) -> bytes:
    """`data` (a PNG) with garbage image data in chunks whose CRCs are right:
    the structure verifies, the pixels do not decode."""
    out, at = bytearray(data[:8]), 8
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + size]
        if kind == b"IDAT":
            body = b"\x78\x9c" + bytes(range(200))
        out += struct.pack(">I", len(body)) + kind + body
        out += struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        at += 12 + size
    return bytes(out)


def stored_files() -> list[str]:
    found = []
    for folder in ("originals", "thumbs"):
        if default_storage.exists(folder):
            for sub in default_storage.listdir(folder)[0]:
                found += default_storage.listdir(f"{folder}/{sub}")[1]
    return found


def test_an_image_is_stored_with_a_webp_thumbnail_once():
    data = png(1024, 768)
    first = images.store(data)
    assert (first.width, first.height, first.bytes) == (1024, 768, len(data))
    with default_storage.open(first.thumbnail) as fh, PILImage.open(fh) as thumb:
        assert (thumb.format, thumb.size) == ("WEBP", (512, 384))
    assert images.store(data) == first
    assert len(stored_files()) == 2


def test_pixel_data_that_does_not_decode_is_refused_and_nothing_is_kept():
    bad = broken_pixels(png(64, 64))
    assert images.inspect(bad) == ("png", 64, 64)  # the structure is fine
    with pytest.raises(images.ImageFetchError) as refused:
        images.store(bad)
    assert refused.value.retryable is False
    assert stored_files() == []


def test_the_pipeline_marks_such_an_image_lost_instead_of_failing_the_ingest(
    alice, team, monkeypatch
):
    job = Job.objects.create(
        team=team, user=alice, provider="evolink", operation="mj-v7", status="ingesting"
    )
    image = Image.objects.create(job=job, index=0, upstream_url="https://cdn.example/a.png")
    monkeypatch.setattr(images, "download", lambda url: broken_pixels(png(64, 64)))
    pipeline.ingest(job.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.LOST
    assert "not a valid image" in job.events.get(kind="image lost").message
