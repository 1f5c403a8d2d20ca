"""The one way a secret is kept: as the SHA-256 of its text.

Invite links, API tokens and the callback URLs given to providers are random
secrets the site hands out once and keeps only as this digest, so a copy of
the database lets nobody in. A secret that is not even valid text (a lone
surrogate from a hand-made URL) still has a digest, and simply matches
nothing. Pure: no Django.
"""

from __future__ import annotations

import hashlib
import hmac


def secret_digest(secret: str) -> str:
    """The hex digest stored for `secret`; 64 characters."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def matches(secret: str, digest: str) -> bool:
    """Whether `secret` is the one `digest` was made from, in constant time;
    never for an empty digest (nothing stored, nothing matches)."""
    return bool(digest) and hmac.compare_digest(secret_digest(secret), digest)
