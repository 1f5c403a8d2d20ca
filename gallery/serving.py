"""The one way a stored file is served (the media route, downloads, share
links, the trash's thumbnails, the upstream's signed URLs).

Every answer carries the same safety headers (`uploads.serve_headers`: a type
from the file's extension, nosniff, a sandboxing CSP, no embedding by other
sites); a view chooses only the file, the name it is saved under, whether it
is an attachment, and how long a browser may keep it. A file gone from
storage is a 404, never a 500.
"""

from __future__ import annotations

from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpRequest

from gallery import uploads

# Cache policies. Content-hashed names never change: keep them in the
# browser, not in shared caches. A file behind a right that can end (a share
# link revoked, a job purged or made private) is asked for again each time.
IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "private, no-cache"


def file_response(
    request: HttpRequest,
    name: str,
    filename: str = "",
    *,
    as_attachment: bool = False,
    cache: str = REVALIDATE,
    storage: Storage = default_storage,
) -> FileResponse:
    """The stored file `name`, saved as `filename` (its own base name when
    ""), inline unless `as_attachment`, with `cache` as its Cache-Control."""
    try:
        handle = storage.open(name)
    except (FileNotFoundError, OSError, ValueError):
        raise Http404("No such image") from None
    extension = name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else ""
    headers = uploads.serve_headers(
        extension,
        filename=filename or name.rsplit("/", 1)[-1],
        disposition="attachment" if as_attachment else "inline",
    )
    response = FileResponse(handle)
    for header, value in headers.items():
        response[header] = value
    response["Cache-Control"] = cache
    return response
