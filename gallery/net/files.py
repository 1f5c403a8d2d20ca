"""The one way a stored file leaves the app.

Every view that serves a stored image (the gallery's media, downloads, the
trash, share links, the upstream's signed URLs, the team API's result files)
first decides who may have it, then calls `stored_file_response`.

On the local disk the bytes are streamed from MEDIA_ROOT. With a bucket
(settings.AWS_STORAGE_BUCKET_NAME) browsers get a 302 to a presigned URL that
opens for MJWEB_MEDIA_URL_SECONDS: the bucket itself stays private, and the
headers this app would have sent (type, disposition, caching) travel in the
signed URL as S3's response-override parameters. Callers that are programs
rather than browsers (the upstream fetching a reference, API scripts) may not
follow redirects: they pass `stream=True` and get the bytes through the app.
"""

from __future__ import annotations

import functools
from typing import Literal

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect

from gallery.net.uploads import serve_headers

# What S3 can set on its own response, from the signed URL's parameters.
_OVERRIDES = {
    "Content-Type": "ResponseContentType",
    "Content-Disposition": "ResponseContentDisposition",
    "Cache-Control": "ResponseCacheControl",
}


def in_bucket() -> bool:
    """Whether media live in an S3-compatible bucket rather than on this disk."""
    return bool(settings.AWS_STORAGE_BUCKET_NAME)


def stored_file_response(
    name: str,
    *,
    filename: str | None = None,
    disposition: Literal["inline", "attachment"] = "inline",
    cache: str = "private, no-cache",
    stream: bool = False,
    embeddable: bool = False,
) -> HttpResponse:
    """The stored file `name`, already permitted to this request: 404 if it is gone.

    `cache` is the Cache-Control of the file itself. An immutable file's
    redirect may be kept by the browser for half the URL's life, so a gallery
    reloaded soon after reuses the same bucket URL and its own cached bytes.
    `embeddable`: other sites may show it (the team API's result files, as the
    aggregator's are); the site's own media are for its own pages only."""
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    headers = serve_headers(
        extension, filename=filename or name.rsplit("/", 1)[-1], disposition=disposition
    )
    headers["Cache-Control"] = cache
    if embeddable:
        del headers["Cross-Origin-Resource-Policy"]
    if in_bucket() and not stream:
        return _redirect(name, headers)
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404("No such image") from None
    response = FileResponse(handle)
    # Served through the ASGI dispatcher (mjweb/asgi.py) there is no sendfile:
    # every block is one hop from Django's thread to the event loop, and at
    # Django's 4 KB an 8 MB original took 16 times as long as at 64 KB.
    response.block_size = 64 * 1024
    for header, value in headers.items():
        response[header] = value
    return response


def _redirect(name: str, headers: dict[str, str]) -> HttpResponse:
    seconds = settings.MJWEB_MEDIA_URL_SECONDS
    parameters = {param: headers[header] for header, param in _OVERRIDES.items()}
    url = _signer().url(name, parameters=parameters, expire=seconds)
    response = HttpResponseRedirect(url)
    immutable = "immutable" in headers["Cache-Control"]
    # The Location is a credential: never in a shared cache, never past its end.
    response["Cache-Control"] = f"private, max-age={seconds // 2}" if immutable else "no-store"
    return response


@functools.cache
def _public_signer(endpoint: str) -> Storage:
    from storages.backends.s3 import S3Storage

    options = {**settings.STORAGES["default"].get("OPTIONS", {}), "endpoint_url": endpoint}
    return S3Storage(**options)


def _signer() -> Storage:
    """The storage that signs URLs for browsers: the app's own, unless browsers
    reach the bucket by another name (AWS_S3_PUBLIC_ENDPOINT_URL)."""
    public = getattr(settings, "AWS_S3_PUBLIC_ENDPOINT_URL", None)
    if public and public != getattr(settings, "AWS_S3_ENDPOINT_URL", None):
        return _public_signer(public)
    return default_storage
