"""How a provider call failed, classified for the pipeline: `Kind`, `TaskError`
(a task that failed upstream) and `ProviderError` (a call that went wrong).

Below both the HTTP client (`http`, which raises `ProviderError` when no key is
configured) and the adapters (`base`), so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What went wrong, in the terms the pipeline acts on."""

    INVALID_REQUEST = "invalid_request"  # permanent; show the message
    CONTENT_POLICY = "content_policy"  # permanent; show the message
    AUTH = "auth"  # permanent; the team's provider key is wrong
    ACCESS_DENIED = "access_denied"  # permanent; the key may not use this model
    INSUFFICIENT_QUOTA = "insufficient_quota"  # permanent; the provider account is empty
    RATE_LIMITED = "rate_limited"  # retry after Retry-After, or back off
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, dropped connections: back off with jitter
    NOT_FOUND = "not_found"  # the task is unknown or expired upstream
    # A create request left this machine and no answer came back (timeout,
    # dropped connection, gateway timeout, unreadable 2xx). The provider may
    # have made, and charged for, the task: never re-send it blindly (reAPI
    # charges every POST); look it up or fail and refund.
    AMBIGUOUS = "ambiguous"


PERMANENT_KINDS = frozenset(
    {
        Kind.INVALID_REQUEST,
        Kind.CONTENT_POLICY,
        Kind.AUTH,
        Kind.ACCESS_DENIED,
        Kind.INSUFFICIENT_QUOTA,
        Kind.NOT_FOUND,
    }
)
RETRYABLE_KINDS = frozenset({Kind.RATE_LIMITED, Kind.UNAVAILABLE})
# It is the team's provider account that is wrong, not the user: tell the team admin.
ADMIN_KINDS = frozenset({Kind.AUTH, Kind.ACCESS_DENIED, Kind.INSUFFICIENT_QUOTA})


class _Classified:
    """What a failure's kind means for the pipeline; shared by TaskError and ProviderError."""

    kind: Kind

    @property
    def permanent(self) -> bool:
        return self.kind in PERMANENT_KINDS

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    @property
    def admin_attention(self) -> bool:
        return self.kind in ADMIN_KINDS


@dataclass(frozen=True)
class TaskError(_Classified):
    """Why a task failed upstream (or why a request was refused)."""

    kind: Kind
    code: str | None  # the provider's own code, as text ("80006", "content_policy_violation")
    message: str  # the provider's message, safe to show


class ProviderError(_Classified, Exception):
    """Anything that went wrong talking to a provider, classified for the pipeline.

    `message` is the provider's own text (or ours), safe to show: API keys are
    scrubbed from it before it gets here.
    """

    def __init__(
        self,
        kind: Kind | str,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        self.kind = Kind(kind)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.provider = provider
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" {self.code}" if self.code else ""
        status = f" HTTP {self.http_status}" if self.http_status else ""
        return f"{where}{self.kind}{code}{status}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind.value!r}, code={self.code!r}, "
            f"http_status={self.http_status!r}, provider={self.provider!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: teach pickle (django-q stores results) to rebuild it.
        return (
            _rebuild_error,
            (
                self.kind.value,
                self.message,
                self.code,
                self.http_status,
                self.retry_after,
                self.provider,
            ),
        )

    @property
    def ambiguous(self) -> bool:
        return self.kind is Kind.AMBIGUOUS

    @property
    def error(self) -> TaskError:
        return TaskError(self.kind, self.code, self.message)


def _rebuild_error(
    kind: str,
    message: str,
    code: str | None,
    http_status: int | None,
    retry_after: float | None,
    provider: str | None,
) -> ProviderError:
    return ProviderError(
        kind,
        message,
        code=code,
        http_status=http_status,
        retry_after=retry_after,
        provider=provider,
    )
