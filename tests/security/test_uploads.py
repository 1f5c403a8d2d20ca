"""Uploaded images (gallery.net.uploads): sniffed, capped, verified, re-encoded clean."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from PIL import ExifTags, Image, ImageCms

from gallery.net.uploads import (
    DAMAGED,
    NOT_AN_IMAGE,
    CleanImage,
    UploadRejected,
    clean_upload,
    serve_headers,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def picture(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, "white" if mode != "P" else 1)
    image.paste("red" if mode != "P" else 2, (0, 0, size[0] // 2, size[1]))
    return image


def telltale_exif(orientation: int = 1) -> Image.Exif:
    """EXIF with a camera, a serial number and a GPS position: all must go."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TelltaleCam"
    exif[ExifTags.Base.BodySerialNumber] = "SN-998877"
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return exif


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>TelltaleXMP</rdf:RDF></x:xmpmeta>'


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares any size in a few bytes: the classic pixel bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def assert_no_metadata(clean: CleanImage) -> None:
    for telltale in (b"TelltaleCam", b"SN-998877", b"TelltaleXMP", b"Exif\x00\x00"):
        assert telltale not in clean.data
    reopened = Image.open(io.BytesIO(clean.data))
    exif = reopened.getexif()
    assert dict(exif) == {}
    assert dict(exif.get_ifd(ExifTags.IFD.GPSInfo)) == {}
    assert "xmp" not in reopened.info
    assert "comment" not in reopened.info


# --- the type comes from the content -----------------------------------------------------


def test_a_png_named_jpg_is_accepted_as_a_png() -> None:
    upload = SimpleUploadedFile("photo.jpg", encode(picture(), "PNG"), content_type="image/jpeg")
    clean = clean_upload(upload)
    assert (clean.format, clean.extension, clean.content_type) == ("PNG", "png", "image/png")
    assert (clean.width, clean.height) == (40, 20)


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [
        ("PNG", "png", "image/png"),
        ("JPEG", "jpg", "image/jpeg"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_each_allowed_format_keeps_its_format(fmt: str, extension: str, content_type: str) -> None:
    clean = clean_upload(encode(picture(), fmt))
    assert (clean.format, clean.extension, clean.content_type) == (fmt, extension, content_type)
    assert Image.open(io.BytesIO(clean.data)).format == fmt
    assert clean.sha256 == hashlib.sha256(clean.data).hexdigest()


HOSTILE = {
    "html": b"<!doctype html><html><script>alert(document.cookie)</script></html>",
    "svg": (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>"
    ),
    "pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    "text": b"just some words",
    "bmp": encode(picture(), "BMP"),  # a real image, but not one of the four
    "tiff": encode(picture(), "TIFF"),
    "ico": encode(picture((16, 16)), "ICO"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_file_that_is_not_an_allowed_image_is_refused_whatever_its_name(kind: str) -> None:
    upload = SimpleUploadedFile("innocent.png", HOSTILE[kind], content_type="image/png")
    with pytest.raises(UploadRejected) as rejected:
        clean_upload(upload)
    assert rejected.value.message == "The file is not a PNG, JPEG, WebP or GIF image"
    assert rejected.value.message == NOT_AN_IMAGE


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(UploadRejected, match="The file is empty"):
        clean_upload(b"")


def test_html_appended_to_a_gif_does_not_survive() -> None:
    polyglot = encode(picture(), "GIF") + b"<script>alert(1)</script>"
    clean = clean_upload(polyglot)
    assert clean.format == "GIF"
    assert b"<script" not in clean.data


def test_a_truncated_image_is_refused() -> None:
    whole = encode(picture((300, 300)), "PNG", compress_level=0)
    with pytest.raises(UploadRejected, match=DAMAGED):
        clean_upload(whole[: len(whole) // 2])


# --- size limits ----------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = png_header_only(100_000, 100_000)  # 10 gigapixels in ~100 bytes
    assert len(bomb) < 200
    with pytest.raises(UploadRejected, match="far more pixels than the limit of 40 megapixels"):
        clean_upload(bomb)


def test_a_real_bomb_of_a_few_kilobytes_is_refused() -> None:
    bomb = encode(Image.new("1", (8000, 8000)), "PNG")  # 64 MP, almost all zeros
    assert len(bomb) < 100_000
    with pytest.raises(UploadRejected) as rejected:
        clean_upload(bomb)
    assert rejected.value.message == "The image is 8000×8000 pixels; the limit is 40 megapixels"


def test_the_pixel_limit_names_the_size_and_the_limit() -> None:
    with pytest.raises(UploadRejected) as rejected:
        clean_upload(png_header_only(9_000, 6_000))
    assert rejected.value.message == "The image is 9000×6000 pixels; the limit is 40 megapixels"


def test_the_pixel_limit_can_be_lowered() -> None:
    with pytest.raises(UploadRejected, match=r"the limit is 0\.0005 megapixels"):
        clean_upload(encode(picture((40, 20)), "PNG"), max_pixels=500)
    assert clean_upload(encode(picture((25, 20)), "PNG"), max_pixels=500).width == 25


def test_a_very_long_strip_is_refused() -> None:
    with pytest.raises(UploadRejected, match="no side may be longer than 16384"):
        clean_upload(png_header_only(20_000, 2))


def test_the_byte_limit_applies_to_bytes() -> None:
    data = encode(picture((200, 200)), "PNG", compress_level=0)
    with pytest.raises(UploadRejected, match=r"^The file is \d+ KB; the limit is 1 KB$"):
        clean_upload(data, max_bytes=1024)


def test_the_byte_limit_trusts_a_declared_size_over_the_limit() -> None:
    upload = SimpleUploadedFile("big.png", b"x" * 10)
    upload.size = 25 * 1024 * 1024
    with pytest.raises(UploadRejected, match=r"^The file is 25 MB; the limit is 20 MB$"):
        clean_upload(upload)


def test_the_byte_limit_does_not_trust_a_declared_size_under_it() -> None:
    upload = SimpleUploadedFile("small.png", encode(picture((200, 200)), "PNG", compress_level=0))
    upload.size = 10
    with pytest.raises(UploadRejected, match="larger than 1 KB"):
        clean_upload(upload, max_bytes=1024)


def test_a_plain_file_object_is_read_too() -> None:
    assert clean_upload(io.BytesIO(encode(picture(), "WEBP"))).format == "WEBP"


# --- metadata ---------------------------------------------------------------------------------


def test_exif_and_gps_are_gone_from_a_jpeg() -> None:
    original = encode(picture(), "JPEG", exif=telltale_exif(), xmp=XMP, comment=b"TelltaleCam")
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    clean = clean_upload(original)
    assert clean.format == "JPEG"
    assert_no_metadata(clean)


def test_exif_and_text_are_gone_from_a_png() -> None:
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Author", "TelltaleCam")
    original = encode(picture(), "PNG", exif=telltale_exif(), pnginfo=text)
    clean = clean_upload(original)
    assert_no_metadata(clean)
    assert "Author" not in Image.open(io.BytesIO(clean.data)).info


def test_exif_and_xmp_are_gone_from_a_webp() -> None:
    clean = clean_upload(encode(picture(), "WEBP", exif=telltale_exif(), xmp=XMP))
    assert_no_metadata(clean)


def test_a_comment_is_gone_from_a_gif() -> None:
    clean = clean_upload(encode(picture(mode="P"), "GIF", comment=b"TelltaleCam"))
    assert_no_metadata(clean)


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    # Orientation 6: the camera was turned; viewers rotate the 40×20 pixels upright.
    clean = clean_upload(encode(picture((40, 20)), "JPEG", exif=telltale_exif(orientation=6)))
    assert (clean.width, clean.height) == (20, 40)
    assert_no_metadata(clean)


def test_the_colour_profile_is_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    clean = clean_upload(encode(picture(), "JPEG", icc_profile=profile))
    assert Image.open(io.BytesIO(clean.data)).info.get("icc_profile") == profile


def half_transparent(fmt: str) -> bytes:
    if fmt == "GIF":
        # Index 1 fills the right half; the encoder may renumber the palette.
        return encode(picture(mode="P"), "GIF", transparency=1)
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 20, 20))
    return encode(image, fmt)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_transparency_is_kept(fmt: str) -> None:
    clean = clean_upload(half_transparent(fmt))
    reopened = Image.open(io.BytesIO(clean.data)).convert("RGBA")
    assert reopened.getpixel((39, 0))[3] == 0
    assert reopened.getpixel((0, 0))[3] == 255


def test_an_animation_keeps_only_its_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green", "blue")]
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(animated)).n_frames == 3
    clean = clean_upload(animated)
    reopened = Image.open(io.BytesIO(clean.data))
    assert reopened.n_frames == 1
    assert reopened.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_a_phone_jpeg_with_extra_pictures_becomes_a_plain_jpeg() -> None:
    # MPO: what many cameras and phones write; Pillow names it apart from JPEG.
    first, second = picture(), Image.new("RGB", (40, 20), "blue")
    mpo = encode(first, "MPO", save_all=True, append_images=[second], exif=telltale_exif())
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    clean = clean_upload(mpo)
    assert (clean.format, clean.extension) == ("JPEG", "jpg")
    reopened = Image.open(io.BytesIO(clean.data))
    assert (reopened.format, getattr(reopened, "n_frames", 1)) == ("JPEG", 1)
    assert_no_metadata(clean)


def test_cleaning_is_repeatable_so_the_hash_names_the_content() -> None:
    original = encode(picture(), "PNG", exif=telltale_exif())
    assert clean_upload(original).sha256 == clean_upload(original).sha256


# --- serving ----------------------------------------------------------------------------------


def test_an_image_is_served_inline_with_its_sniffed_type_and_no_sniffing() -> None:
    assert serve_headers("png", filename="3f2a9c.png") == {
        "Content-Type": "image/png",
        "Content-Disposition": 'inline; filename="3f2a9c.png"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [("jpg", "image/jpeg"), ("JPEG", "image/jpeg"), (".webp", "image/webp"), ("gif", "image/gif")],
)
def test_each_format_is_served_with_its_own_type(extension: str, content_type: str) -> None:
    headers = serve_headers(extension)
    assert headers["Content-Type"] == content_type
    assert headers["Content-Disposition"].startswith('inline; filename="image.')


@pytest.mark.parametrize("extension", ["html", "svg", "js", "", "png.html"])
def test_anything_else_is_a_download_that_cannot_render(extension: str) -> None:
    headers = serve_headers(extension)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_hostile_filename_cannot_break_out_of_the_header() -> None:
    disposition = serve_headers("png", filename='a"; x=y\r\nSet-Cookie: s=1.html')[
        "Content-Disposition"
    ]
    assert disposition.startswith('inline; filename="')
    name = disposition.removeprefix('inline; filename="').removesuffix('"')
    assert name.endswith(".png")
    assert not set(name) & set('"\r\n; ')


def test_a_django_response_accepts_the_headers() -> None:
    response = HttpResponse(b"\x89PNG", headers=serve_headers("png", filename="ab12.png"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
