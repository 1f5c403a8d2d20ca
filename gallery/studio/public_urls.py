"""Signed, expiring public URLs for stored files the upstream must fetch.

Retexture and remove-background take the source image as a URL, and the
provider fetches it without our session cookie (DESIGN.md §3). So the file is
exposed at

    {MJWEB_PUBLIC_URL}/p/<timestamp>.<signature>/<storage name>

The signature (TimestampSigner, SECRET_KEY, a salt of its own) covers the
storage name and the time of signing; the link works for 24 hours, long
enough for a job that waits for a free provider slot, and then dies. The
path ends with the file's real name, extension included, because the
upstream's prompt checker only accepts image URLs ending in .png/.jpg/.webp/.gif.

The signing itself (`stamp`, `stamp_age`) is shared with the team API's
result-file URLs. Pure apart from settings, the clock and URL reversing: no
models, no storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

MAX_AGE = timedelta(hours=24)
_SALT = "gallery.public_urls"
# The signer's separator joins value, timestamp and signature. "." is not in
# the signature's base64 alphabet, so "<timestamp>.<signature>" is one safe
# path segment; the value may contain dots too, as unsign() splits from the right.
_SEP = "."


# --- the one signing helper ----------------------------------------------------------
#
# Every expiring URL mjweb hands out (these, and the team API's result files in
# gallery.api.translate) is "<value>.<timestamp>.<signature>" as Django's TimestampSigner
# writes it, so links made before this helper existed still verify. The clock is
# `timezone.now()`, read here and nowhere else, so a test can move it.


def stamp(value: str, *, salt: str = _SALT, now: datetime | None = None) -> str:
    """ "<timestamp>.<signature>" over `value` and the time of signing (SECRET_KEY, `salt`)."""
    signed_at = signing.b62_encode(int((now or timezone.now()).timestamp()))
    signer = signing.Signer(salt=salt, sep=_SEP)
    return signer.sign(f"{value}{_SEP}{signed_at}")[len(value) + len(_SEP) :]


def stamp_age(
    value: str, token: str, *, salt: str = _SALT, now: datetime | None = None
) -> int | None:
    """Seconds since `token` was made for `value`, or None when it is forged,
    altered, made for another value or under another salt."""
    try:
        signing.Signer(salt=salt, sep=_SEP).unsign(f"{value}{_SEP}{token}")
        signed_at = signing.b62_decode(token.split(_SEP, 1)[0])
    except (signing.BadSignature, ValueError):
        return None
    return int((now or timezone.now()).timestamp()) - signed_at


# --- reference images the upstream fetches ---------------------------------------------


def sign(name: str) -> str:
    """The token for `name`: "<timestamp>.<signature>"."""
    return stamp(name)


def signed_url(image_name: str) -> str:
    """An absolute URL anyone may fetch for 24 hours, for the stored file `image_name`."""
    path = reverse("public-image", args=[sign(image_name), image_name])
    return settings.MJWEB_PUBLIC_URL.rstrip("/") + path


def seconds_left(token: str, name: str) -> int | None:
    """How long the link stays valid, or None when the token is forged,
    altered, made for another name, or expired."""
    age = stamp_age(name, token)
    if age is None or age > MAX_AGE.total_seconds():
        return None
    return min(int(MAX_AGE.total_seconds()), int(MAX_AGE.total_seconds()) - age)


def name_from_url(url: str) -> str | None:
    """The storage name a URL made by `signed_url` points at, or None.

    Lineage uses it: a retexture's only link to its source image is this URL.
    The host is not compared, so links made before MJWEB_PUBLIC_URL changed
    still resolve.
    """
    prefix = reverse("public-image", args=["TOKEN", "NAME"]).split("TOKEN", 1)[0]
    path = urlsplit(url).path
    # MJWEB_PUBLIC_URL may carry a path of its own ("https://host/mjweb").
    start = path.find(prefix)
    if start < 0:
        return None
    token, _, name = path[start + len(prefix) :].partition("/")
    return name if token and name else None
