"""Secrets out of logged URLs.

Several URLs of this site are credentials: whoever has one can use it, with
no session. Access logs keep them in plain text for months, in places with
wider access than the database, so before a URL is logged the secret part is
replaced by a marker and the rest is kept for reading:

    /invite/Kq3…/                      → /invite/[redacted]/
    /api/v1/files/42.Xy…Z.png          → /api/v1/files/[redacted]
    /s/Ab9…/ and /s/Ab9…/thumb         → /s/[redacted]/, /s/[redacted]/thumb
    /p/1kT….sig/references/7/….png     → /p/[redacted]/references/7/….png
    /callbacks/evolink/12/Zz…          → /callbacks/evolink/12/[redacted]
    ?token=…, ?api_key=…, ?X-Amz-Signature=…  → ?token=[redacted], …

`redact()` takes any text (a request line, a bare path, a Referer, a log
message) and finds the URL paths in it. gunicorn's access log uses it
(gunicorn.conf.py) and so do Django's own request loggers (`RedactSecrets`,
wired in mjweb/settings.py LOGGING).

Pure module: the standard library only, so gunicorn's master can import it
before Django is set up.
"""

from __future__ import annotations

import logging
import re

MARK = "[redacted]"

_SEGMENT = r"[^/\s?#\"'<>]+"
# The routes (gallery/urls*.py) whose next path segment is a secret: what
# comes before the secret, from the root of the path. One list for every log.
SECRET_PATHS: tuple[str, ...] = (
    r"invite/",  # invite tokens
    r"s/",  # share links
    r"p/",  # signed public file URLs (gallery/studio/public_urls.py)
    r"api/v1/files/",  # the team API's result files (gallery/api/translate.py)
    rf"callbacks/{_SEGMENT}/{_SEGMENT}/",  # provider callbacks: <provider>/<job>/<token>
)
# Query parameters that carry a credential: token, key, secret, password,
# signature, sig, alone or as the end of a longer name (api_key, access_token,
# X-Amz-Signature).
SECRET_PARAMS = ("token", "key", "secret", "password", "signature", "sig")

# A path starts at the start of the text, after a space or quote (request
# lines, log messages), or right after the host of an absolute URL (Referer).
_PATH = re.compile(
    r"(?P<start>^|[\s\"'(]|//[^/\s\"'?#]*)/"
    rf"(?P<route>{'|'.join(SECRET_PATHS)}){_SEGMENT}"
)
_PARAM = re.compile(
    rf"(?P<name>(?:^|[?&;])(?:[\w.-]*[_.-])?(?:{'|'.join(SECRET_PARAMS)})=)[^&;#\s\"']*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with the secret part of every secret URL in it replaced by MARK."""
    if "/" not in text and "=" not in text:
        return text  # most atoms of an access-log line: a status, a size, a time
    text = _PATH.sub(lambda m: f"{m['start']}/{m['route']}{MARK}", text)
    return _PARAM.sub(lambda m: f"{m['name']}{MARK}", text)


class RedactSecrets(logging.Filter):
    """Redacts a record's message before any handler sees it.

    On a logger, it runs where the record is made, so even handlers that
    Django attaches on its own (its DEBUG console) only get the clean text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a broken record is logging's to report, not ours
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True
