"""What every provider adapter is and returns: one interface, one snapshot, one error type.

An adapter only translates (DESIGN.md §3): a canonical `gallery.catalog.operations.Request`
becomes the provider's HTTP call, the provider's answers become an `Accepted`
or a `Snapshot`, and anything that goes wrong becomes a `ProviderError` whose
`kind` tells the pipeline what to do next. No ORM, no ledger, no Django.

The HTTP plumbing shared by the three adapters lives here too, so the rules
about money are written once: a create request that may have reached the
provider is never re-sent, it is reported as `Kind.AMBIGUOUS`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from gallery.catalog import operations
from gallery.catalog.operations import Request
from gallery.providers.errors import (
    Kind,
    ProviderError,
    TaskError,
    _rebuild_error,  # noqa: F401 - errors pickled before the move (django-q results) name it here
)
from gallery.providers.http import redact

log = logging.getLogger("gallery.providers")

MAX_IMAGES = 4  # a V7 request targets four images; moderation can leave fewer
MAX_MESSAGE = 500  # provider messages are shown to people; keep them short


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})


@dataclass(frozen=True)
class Cost:
    """A cost as the provider reported it, in the provider's own unit.

    `credits` are that provider's credits (evolink's and reAPI's differ).
    evolink reports one on the create answer (`Accepted.cost`), Vtrix on the
    completed task (`Snapshot.cost`), reAPI none. It is recorded beside the
    job for reconciliation, never billed: a job costs what it reserved.
    """

    amount: Decimal
    unit: str  # "credits" | "usd"


@dataclass(frozen=True)
class Accepted:
    """The provider took the create request and made a task."""

    upstream_id: str
    status: Status
    progress: int = 0
    estimated_seconds: float | None = None
    cost: Cost | None = None  # evolink's credits_reserved; None when not reported


@dataclass(frozen=True)
class Snapshot:
    """One reading of an upstream task, the same whatever the provider."""

    upstream_id: str
    status: Status
    progress: int = 0  # 0-100; 100 when completed
    image_urls: tuple[str, ...] = ()  # 1-4 when completed (moderation may leave fewer than 4)
    error: TaskError | None = None  # set when failed
    upstream_status: str = ""  # the provider's own word, for logs
    cost: Cost | None = None  # what the provider says the task cost, when it says

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


# --- statuses ------------------------------------------------------------------

# Every status word the three providers (and their documented relatives) use,
# lower-cased. evolink: pending/processing/completed/failed (providers.md §2.2);
# reAPI: processing/completed/failed (§3.2); Vtrix docs pending/processing/
# completed/failed, its CLI in_progress (§1.2); SeaCloud IN_QUEUE/IN_PROGRESS/
# COMPLETED (§1.3). Anything else is read as still running, and logged.
STATUS_WORDS: Mapping[str, Status] = {
    "pending": Status.QUEUED,
    "queued": Status.QUEUED,
    "in_queue": Status.QUEUED,
    "processing": Status.RUNNING,
    "in_progress": Status.RUNNING,
    "running": Status.RUNNING,
    "completed": Status.COMPLETED,
    "failed": Status.FAILED,
}
# evolink fires callbacks "on cancelled" though `cancelled` is not in its enum
# (providers.md §2.2-2.3): a task nobody here cancelled has simply failed.
CANCELLED_WORDS = frozenset({"cancelled", "canceled"})


# --- small parsing helpers ----------------------------------------------------------


def text(value: Any) -> str | None:
    """A provider code or id as text: 80006 and "80006" read the same."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float | str):
        result = str(value).strip()
        return result or None
    return None


def decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def percent(value: Any, *, fraction: bool = False) -> int | None:
    """A progress reading as 0-100; `fraction`: values up to 1 are a share of 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if fraction and value <= 1:
        value *= 100
    return round(value)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """RFC 9110 Retry-After: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def image_urls(values: Iterable[Any], *, provider: str, upstream_id: str) -> tuple[str, ...]:
    urls = [v.strip() for v in values if isinstance(v, str) and v.strip().startswith("http")]
    if len(urls) > MAX_IMAGES:
        log.warning(
            "%s: task %s returned %d image URLs; keeping the first %d",
            provider,
            upstream_id,
            len(urls),
            MAX_IMAGES,
        )
    return tuple(urls[:MAX_IMAGES])


def parse_json(raw: bytes | str | Mapping[str, Any]) -> Any:
    if isinstance(raw, Mapping):
        return raw
    return json.loads(raw)


def jsonable(value: Any) -> Any:
    """Catalog values as JSON: tuples become lists, Decimals numbers."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- the adapter -----------------------------------------------------------------


@dataclass(frozen=True)
class ErrorInfo:
    """The parts of a provider's error envelope the classifier reads."""

    code: str | None = None
    message: str | None = None
    type: str | None = None


class Adapter(ABC):
    """One provider. Build it with an `httpx.Client` from `gallery.providers.http`.

    The client carries the base URL (with any path prefix) and the key; the
    adapter appends its own paths.
    """

    name: ClassVar[str]
    create_path: ClassVar[str]
    # Whether the provider can call us back when a task ends. The callback is
    # only a hint: the pipeline re-reads the task with `fetch` before acting.
    accepts_callbacks: ClassVar[bool] = False

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.client.base_url}>"

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the interface ------------------------------------------------------------

    def supports(self, operation: str) -> bool:
        return operations.supports(self.name, operation)

    def submit(self, request: Request) -> Accepted:
        """Create the task. Sent at most once: see `Kind.AMBIGUOUS`."""
        self._check(request)
        try:
            body = self.build_body(request)
        except (KeyError, TypeError, ValueError) as exc:
            # Requests are validated by the catalog first; this is the backstop.
            raise ProviderError(
                Kind.INVALID_REQUEST,
                f"The request does not fit {self.name}'s API ({type(exc).__name__}: {exc})",
                code="unbuildable_request",
                provider=self.name,
            ) from None
        response = self._send("POST", self.create_path, body=body, creating=True)
        if not response.is_success:
            raise self._http_error(response, creating=True)
        try:
            data = self.unwrap(parse_json(response.content))
        except ValueError:
            data = None
        if not isinstance(data, Mapping):
            raise self._ambiguous(
                "unreadable_response",
                f"The provider answered HTTP {response.status_code} with a body that is not "
                "a task; the task may exist.",
                response.status_code,
            )
        if not text(data.get("status")):
            data = {**data, "status": "pending"}  # just made: queued until it says otherwise
        accepted = self.parse_accepted(data)
        if accepted is not None:
            return accepted
        info = self.error_info(data)
        if info.code or info.message:
            # A 2xx that carries an error and no task id: refused, nothing made.
            # Classified as the 400 it means; the real status is kept.
            raise self._error(response.status_code, info, retry_after=None, read_as=400)
        raise self._ambiguous(
            "missing_task_id",
            f"The provider answered HTTP {response.status_code} without a task id; "
            "the task may exist.",
            response.status_code,
        )

    def fetch(self, upstream_id: str) -> Snapshot:
        if not isinstance(upstream_id, str) or not upstream_id.strip():
            raise ProviderError(
                Kind.NOT_FOUND, "No task id to look up", code="missing_task_id", provider=self.name
            )
        path = self.task_path(quote(upstream_id.strip(), safe=""))
        response = self._send("GET", path, creating=False)
        if not response.is_success:
            raise self._http_error(response, creating=False)
        try:
            data = self.unwrap(parse_json(response.content))
        except ValueError:
            data = None
        if not isinstance(data, Mapping):
            raise ProviderError(
                Kind.UNAVAILABLE,
                "The provider's task answer is not a JSON object",
                code="unreadable_response",
                http_status=response.status_code,
                provider=self.name,
            )
        return self.parse_task(data, upstream_id=upstream_id)

    def parse_callback(self, body: bytes | str | Mapping[str, Any]) -> Snapshot:
        """A callback body as a snapshot. Callbacks are unsigned (providers.md §2.3):
        treat the result as a hint and `fetch` the task before acting on it."""
        try:
            data = self.unwrap(parse_json(body))
        except ValueError:
            data = None
        if not isinstance(data, Mapping):
            raise ProviderError(
                Kind.INVALID_REQUEST,
                "The callback body is not a JSON object",
                code="bad_callback",
                provider=self.name,
            )
        upstream_id = self.task_id_of(data)
        if upstream_id is None:
            raise ProviderError(
                Kind.INVALID_REQUEST,
                "The callback body names no task",
                code="bad_callback",
                provider=self.name,
            )
        return self.parse_task(data, upstream_id=upstream_id)

    # -- what each provider fills in --------------------------------------------------

    @abstractmethod
    def build_body(self, request: Request) -> dict[str, Any]:
        """The JSON body of the create request (public for the contract tests)."""

    @abstractmethod
    def task_path(self, quoted_id: str) -> str: ...

    @abstractmethod
    def parse_accepted(self, data: Mapping[str, Any]) -> Accepted | None:
        """The create answer, or None when it names no task."""

    @abstractmethod
    def parse_task(self, data: Mapping[str, Any], *, upstream_id: str) -> Snapshot: ...

    @abstractmethod
    def classify(self, http_status: int | None, info: ErrorInfo) -> Kind:
        """The kind for an error answer (http_status None: a failed task's error)."""

    def task_id_of(self, data: Mapping[str, Any]) -> str | None:
        return text(data.get("id"))

    def unwrap(self, data: Any) -> Any:
        return data

    def error_info(self, data: Mapping[str, Any]) -> ErrorInfo:
        """The error envelope: `{error: {code, message, type}}` or `{error: "text"}`."""
        error = data.get("error")
        if isinstance(error, Mapping):
            message = error.get("message")
            if not isinstance(message, str):
                message = error.get("error_message")
            return ErrorInfo(
                code=text(error.get("code")),
                message=self._clean(message),
                type=text(error.get("type")),
            )
        if isinstance(error, str) and error.strip():
            return ErrorInfo(message=self._clean(error))
        for key in ("detail", "message"):  # gateways: {"detail": ...}, {"message": ...}
            if isinstance(data.get(key), str) and data[key].strip():
                return ErrorInfo(code=text(data.get("code")), message=self._clean(data[key]))
        return ErrorInfo()

    # -- shared building blocks -----------------------------------------------------------

    def snapshot(
        self,
        *,
        upstream_id: str,
        raw_status: Any,
        progress: int | None,
        urls: Iterable[Any],
        error: ErrorInfo | None,
        cost: Cost | None = None,
    ) -> Snapshot:
        """Normalise one reading: status words, progress bounds, URL list, failure reason."""
        word = text(raw_status) or ""
        status = self.status_of(word, upstream_id)
        found = image_urls(urls, provider=self.name, upstream_id=upstream_id)
        task_error: TaskError | None = None
        if word.lower() in CANCELLED_WORDS:
            status = Status.FAILED
            error = error or ErrorInfo(code="cancelled", message="The provider cancelled the task")
        if status is Status.COMPLETED and not found:
            # No images is no result: as evolink's generation_failed_no_content,
            # unless the provider said why (SeaCloud reports errors on COMPLETED).
            status = Status.FAILED
            if error is None or not (error.code or error.message):
                error = ErrorInfo(
                    code="no_images",
                    message="The provider reported the task complete but returned no images",
                )
        if status is Status.FAILED:
            info = error if error and (error.code or error.message) else None
            if info is None:
                task_error = TaskError(
                    Kind.UNAVAILABLE, None, "The provider reported the task failed without a reason"
                )
            else:
                task_error = TaskError(
                    self.classify(None, info),
                    info.code,
                    info.message or f"The task failed ({info.code})",
                )
            found = ()
        if status is Status.COMPLETED:
            value = 100
        elif status is Status.FAILED:
            value = progress if progress is not None else 0
        else:
            # A running task is never shown as done, whatever the provider rounds to.
            value = min(progress if progress is not None else 0, 99)
        return Snapshot(
            upstream_id=upstream_id,
            status=status,
            progress=max(0, min(100, value)),
            image_urls=found,
            error=task_error,
            upstream_status=word,
            cost=cost,
        )

    def status_of(self, word: str, upstream_id: str) -> Status:
        status = STATUS_WORDS.get(word.lower())
        if status is not None:
            return status
        if word.lower() not in CANCELLED_WORDS:
            log.warning(
                "%s: unknown status %r for task %s; treating it as running",
                self.name,
                word,
                upstream_id,
            )
        return Status.RUNNING

    def _check(self, request: Request) -> None:
        if request.provider != self.name:
            raise ProviderError(
                Kind.INVALID_REQUEST,
                f"This request is for {request.provider}, not {self.name}",
                code="wrong_provider",
                provider=self.name,
            )
        if not self.supports(request.operation):
            raise ProviderError(
                Kind.INVALID_REQUEST,
                f"{self.name} does not offer {request.operation}",
                code="unsupported_operation",
                provider=self.name,
            )

    def _clean(self, message: Any) -> str | None:
        if not isinstance(message, str) or not message.strip():
            return None
        cleaned = redact(message.strip(), self.client)
        return cleaned if len(cleaned) <= MAX_MESSAGE else cleaned[: MAX_MESSAGE - 1] + "…"

    def _send(self, method: str, path: str, *, body: Any = None, creating: bool) -> httpx.Response:
        """The one place an adapter touches the network.

        The transport itself retries only connection failures, which happen
        before a byte is sent. Anything after that is reported, never retried:
        for a create, as AMBIGUOUS, because the provider may have the task.
        """
        try:
            return self.client.request(method, path, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Not sent: safe to try again later, for creates too.
            raise ProviderError(
                Kind.UNAVAILABLE,
                f"Could not connect to {self.name} ({type(exc).__name__})",
                code=_exc_code(exc),
                provider=self.name,
            ) from None
        except httpx.HTTPError as exc:
            if creating:
                raise self._ambiguous(
                    _exc_code(exc),
                    f"The request was sent but no answer came back ({type(exc).__name__}); "
                    "the task may exist. It was not re-sent.",
                    None,
                ) from None
            raise ProviderError(
                Kind.UNAVAILABLE,
                f"No answer from {self.name} ({type(exc).__name__})",
                code=_exc_code(exc),
                provider=self.name,
            ) from None

    def _ambiguous(self, code: str, message: str, http_status: int | None) -> ProviderError:
        log.warning("%s: create request has an unknown fate (%s)", self.name, code)
        return ProviderError(
            Kind.AMBIGUOUS, message, code=code, http_status=http_status, provider=self.name
        )

    def _http_error(self, response: httpx.Response, *, creating: bool) -> ProviderError:
        status = response.status_code
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if creating and status in GATEWAY_TIMEOUTS:
            # A gateway gave up waiting for the provider, which may still have made the task.
            return self._ambiguous(
                f"http_{status}",
                f"The provider's gateway timed out (HTTP {status}); the task may exist. "
                "It was not re-sent.",
                status,
            )
        try:
            data = self.unwrap(parse_json(response.content))
        except ValueError:
            data = None
        info = self.error_info(data) if isinstance(data, Mapping) else ErrorInfo()
        if 300 <= status < 400:
            info = ErrorInfo(
                code=info.code or f"http_{status}",
                message=f"Unexpected redirect (HTTP {status}); check the provider's base URL",
            )
        return self._error(status, info, retry_after=retry_after)

    def _error(
        self,
        status: int,
        info: ErrorInfo,
        *,
        retry_after: float | None,
        read_as: int | None = None,
    ) -> ProviderError:
        kind = self.classify(read_as or status, info)
        message = info.message or _DEFAULT_MESSAGES.get(kind, f"HTTP {status}")
        return ProviderError(
            kind,
            message,
            code=info.code,
            http_status=status,
            retry_after=retry_after,
            provider=self.name,
        )


# HTTP statuses that mean "a proxy stopped waiting": 504, Cloudflare's 524.
GATEWAY_TIMEOUTS = frozenset({504, 524})

_DEFAULT_MESSAGES = {
    Kind.INVALID_REQUEST: "The provider refused the request",
    Kind.CONTENT_POLICY: "The provider's content policy blocked the request",
    Kind.AUTH: "The provider rejected the team's API key",
    Kind.ACCESS_DENIED: "The team's API key may not use this model",
    Kind.INSUFFICIENT_QUOTA: "The team's provider account has run out of credit",
    Kind.RATE_LIMITED: "Too many requests to the provider",
    Kind.UNAVAILABLE: "The provider is unavailable",
    Kind.NOT_FOUND: "The provider does not know this task",
}


def _exc_code(exc: Exception) -> str:
    # ReadTimeout -> read_timeout, RemoteProtocolError -> remote_protocol_error
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def status_kind(http_status: int | None) -> Kind | None:
    """The kind an HTTP status implies on its own (the fallback of every classifier)."""
    if http_status is None:
        return None
    if http_status == 401:
        return Kind.AUTH
    if http_status == 402:
        return Kind.INSUFFICIENT_QUOTA
    if http_status == 403:
        return Kind.ACCESS_DENIED
    if http_status in (404, 410):
        return Kind.NOT_FOUND
    if http_status == 429:
        return Kind.RATE_LIMITED
    if http_status == 408 or http_status >= 500 or 300 <= http_status < 400:
        return Kind.UNAVAILABLE
    if 400 <= http_status < 500:
        return Kind.INVALID_REQUEST
    return None


# Words Midjourney and its resellers use when moderation refuses a prompt or an
# image ("[Banned prompt detected]", "[Image denied]", providers.md §4). Used
# only when a provider gives no code that says so.
_POLICY_WORDS = ("content policy", "banned", "moderation", "nsfw", "safety", "image denied")


def looks_like_policy(message: str | None) -> bool:
    lowered = (message or "").lower()
    return any(word in lowered for word in _POLICY_WORDS)
