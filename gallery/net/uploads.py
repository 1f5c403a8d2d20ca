"""Checking an uploaded image, and the headers it is served back with.

reliability-performance.md §5.4 and ASVS 5.2.x: the type is sniffed from the
bytes by Pillow, limited to PNG, JPEG, WebP and GIF (the name and the browser's
Content-Type are ignored), byte and pixel limits are enforced before anything
is decoded, and the image is decoded and re-encoded, so what is stored is
pixels Pillow wrote, without EXIF (GPS position, camera serial), XMP, comments
or anything appended after the image data. An upload can then only ever be
served as an image (`serve_headers`).

Pure apart from Pillow; no models, no storage.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Literal, Protocol

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
# WebP cannot hold a larger side, and a 1×40,000,000 strip is no picture.
MAX_SIDE = 16_384

# Pillow format → (extension, Content-Type)
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
CONTENT_TYPES: dict[str, str] = {ext: content_type for ext, content_type in FORMATS.values()}
CONTENT_TYPES["jpeg"] = "image/jpeg"

NOT_AN_IMAGE = "The file is not a PNG, JPEG, WebP or GIF image"
DAMAGED = "The image file is damaged or incomplete"
# What re-encoding keeps from the decoder's notes: how pixels look, not who made them.
_KEPT_INFO = frozenset({"transparency", "background"})
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRejected(ValueError):
    """The upload breaks a rule; the message names it, for the person who sent it."""

    status = 400  # the HTTP status the refusal is answered with

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded upload, ready to store under its hash."""

    data: bytes
    format: str  # Pillow's name: "PNG", "JPEG", "WEBP", "GIF"
    extension: str  # "png", "jpg", "webp", "gif"
    content_type: str
    width: int
    height: int
    sha256: str  # of `data`, the bytes stored


class _Chunked(Protocol):
    """Django's UploadedFile, as far as it is used here."""

    def chunks(self, chunk_size: int | None = ...) -> Iterable[bytes]: ...


Upload = bytes | bytearray | memoryview | IO[bytes] | _Chunked


def clean_upload(
    upload: Upload, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> CleanImage:
    """Validate an uploaded image and re-encode it without metadata.

    Keeps the format (a JPEG stays a JPEG), applies the EXIF orientation to
    the pixels before dropping EXIF (so phone photos stay upright), keeps the
    ICC colour profile, and keeps only the first frame of an animation.
    Raises UploadRejected naming the rule broken.
    """
    data = _read_capped(upload, max_bytes)
    if not data:
        raise UploadRejected("The file is empty")
    image = _open(data, list(FORMATS), max_pixels)
    # Phones write JPEGs with extra pictures appended (MPO); the first is the photo.
    fmt = "JPEG" if image.format == "MPO" else image.format or ""
    try:
        image.verify()
    except Exception as exc:
        # Pillow's checks raise a zoo of types on hostile input.
        raise UploadRejected(DAMAGED) from exc
    # verify() leaves the image unusable; decode afresh, as the same format.
    image = _open(data, [fmt], max_pixels)
    try:
        image.load()
    except Exception as exc:
        raise UploadRejected(DAMAGED) from exc
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        orientation = 1  # an unreadable EXIF block is dropped below all the same
    if orientation in range(2, 9):
        image = ImageOps.exif_transpose(image)
    icc_profile = image.info.get("icc_profile")
    image.info = {key: value for key, value in image.info.items() if key in _KEPT_INFO}
    out = io.BytesIO()
    try:
        image.save(out, format=fmt, **_save_options(image, fmt, icc_profile))
    except (OSError, ValueError) as exc:
        raise UploadRejected(DAMAGED) from exc
    encoded = out.getvalue()
    extension, content_type = FORMATS[fmt]
    return CleanImage(
        data=encoded,
        format=fmt,
        extension=extension,
        content_type=content_type,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def _read_capped(upload: Upload, max_bytes: int) -> bytes:
    limit = megabytes(max_bytes)
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
    else:
        declared = getattr(upload, "size", None)
        if isinstance(declared, int) and declared > max_bytes:
            raise UploadRejected(f"The file is {megabytes(declared)}; the limit is {limit}")
        parts: list[bytes] = []
        size = 0
        for chunk in _chunks(upload):
            parts.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                # Stop reading: the declared size can lie.
                raise UploadRejected(f"The file is larger than {limit}")
        data = b"".join(parts)
    if len(data) > max_bytes:
        raise UploadRejected(f"The file is {megabytes(len(data))}; the limit is {limit}")
    return data


def _chunks(upload: IO[bytes] | _Chunked) -> Iterable[bytes]:
    if hasattr(upload, "chunks"):
        return upload.chunks()  # Django seeks to the start first
    return iter(lambda: upload.read(1024 * 1024), b"")


def _open(data: bytes, formats: list[str], max_pixels: int) -> Image.Image:
    """Open (header only, nothing decoded yet) and enforce the pixel limits."""
    megapixels = f"{max_pixels / 1_000_000:g} megapixels"
    try:
        image = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError as exc:
        raise UploadRejected(
            f"The image has far more pixels than the limit of {megapixels}"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected(NOT_AN_IMAGE) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise UploadRejected(f"The image is {width}×{height} pixels; the limit is {megapixels}")
    if max(width, height) > MAX_SIDE:
        raise UploadRejected(
            f"The image is {width}×{height} pixels; no side may be longer than {MAX_SIDE}"
        )
    if width < 1 or height < 1:
        raise UploadRejected(DAMAGED)
    return image


def _save_options(image: Image.Image, fmt: str, icc_profile: bytes | None) -> dict[str, object]:
    options: dict[str, object] = {}
    if icc_profile and fmt != "GIF":
        options["icc_profile"] = icc_profile
    if fmt == "JPEG":
        if image.format == "JPEG" and getattr(image, "quantization", None):
            # Still the decoded JPEG: reuse its quantisation, so quality is not lost twice.
            options.update(quality="keep", subsampling="keep")
        else:
            options.update(quality=95)
    elif fmt == "WEBP":
        options.update(quality=95, exif=b"", xmp=b"")
    return options


def megabytes(size: int) -> str:
    """A size for people: "230 bytes", "14 KB", "3.1 MB"."""
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def serve_headers(
    extension: str,
    *,
    filename: str | None = None,
    disposition: Literal["inline", "attachment"] = "inline",
) -> dict[str, str]:
    """Headers for a response that serves a stored upload.

    `inline`: the gallery shows these in <img> and people open them in a tab;
    what makes that safe is not the disposition but that the bytes are an
    image Pillow wrote, typed from the sniffed format, with `nosniff` so no
    browser second-guesses the type, and a sandboxing CSP so that even if it
    were rendered as a document it could run nothing and reach nothing.
    `filename` is ours (e.g. the hash), never the uploader's; it is sanitised
    anyway. An unknown extension is served as an octet-stream attachment.
    """
    ext = extension.lower().lstrip(".")
    content_type = CONTENT_TYPES.get(ext)
    if content_type is None:
        content_type, disposition = "application/octet-stream", "attachment"
    stem = _SAFE_FILENAME.sub("-", filename or "image").strip(".-")[:100] or "image"
    if not stem.lower().endswith(f".{ext}"):
        stem = f"{stem}.{ext}" if ext.isalnum() else stem
    return {
        "Content-Type": content_type,
        "Content-Disposition": f'{disposition}; filename="{stem}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        # Other sites may not embed (or time) our team's images.
        "Cross-Origin-Resource-Policy": "same-origin",
    }
