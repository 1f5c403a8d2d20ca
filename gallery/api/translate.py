"""The team API's translation layer: evolink's shapes in and out.

    parse_body()      request bytes -> a JSON object, or ApiError 400
    resolve_parent()  model_params.task_id (an mjweb task id) -> the job and image
    to_draft()        a validated request -> the `pipeline.Draft` the web form also makes
    task_body()       a Job -> evolink's task object (create, poll and callback)
    refused()         a `pipeline.Refused` -> the ApiError evolink would answer

Validation itself is not repeated here: the catalog and the prompt linter run
inside `pipeline.create`, and their first issue becomes the 400's message and
`param`. What they cannot be handed (a string where an object goes, a list
where a number goes) is refused before, by the pydantic schemas in
`gallery.api.schemas` that django-ninja applies, so no body can reach them and
crash. The endpoints in `gallery.api.views.api` do the HTTP; the OpenAPI document
(`gallery.api.openapi`) is built from the same schemas.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.urls import reverse

from gallery.api.models.tokens import ApiToken
from gallery.api.schemas import (
    ERROR_STATUS,
    ERROR_TYPES,
    MAX_CALLBACK_URL,
    STATUSES,
    TASK_ERROR_CODES,
    TASK_ID_PREFIX,
    ImageGenerationRequest,
)
from gallery.catalog import operations
from gallery.catalog.prompt import Code, Issue, check_url
from gallery.net import netguard
from gallery.studio import pipeline, public_urls
from gallery.studio.models.jobs import Image, Job
from gallery.teams.models.teams import Membership, Team

# --- task ids -------------------------------------------------------------------------

# evolink's ids look like "task-unified-1757165031-mjv7" and its docs say they
# start with "task-unified-"; ours keep that prefix, so a script that checks it
# still works, and "mjw-<job number>" says whose id it is.
_TASK_ID = re.compile(r"task-unified-mjw-([1-9][0-9]{0,17})")


def task_id(job_pk: int) -> str:
    return f"{TASK_ID_PREFIX}{job_pk}"


def job_pk(value: str) -> int | None:
    """The job number in an mjweb task id, or None if it is not one."""
    match = _TASK_ID.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


# --- errors ---------------------------------------------------------------------------

# evolink's envelope: {"error": {"code", "message", "type"}} with these codes
# and types (providers.md §2.1); `param` and `issues` are mjweb's additions.


class ApiError(Exception):
    """An answer in evolink's error envelope; `status` follows from `code`."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        issues: tuple[Issue, ...] = (),
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param
        self.issues = issues
        self.headers = dict(headers or {})
        self._status = status

    @property
    def status(self) -> int:
        return self._status or ERROR_STATUS[self.code]

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "type": ERROR_TYPES[self.code],
            "param": self.param,
        }
        if self.issues:
            error["issues"] = [
                {"code": str(i.code), "param": api_param(i.param), "message": i.message}
                for i in self.issues
            ]
        return {"error": error}


def invalid(message: str, param: str | None = None, issue_code: Code | None = None) -> ApiError:
    issues = (Issue(issue_code, param or "", message),) if issue_code else ()
    return ApiError("invalid_request", message, param=param, issues=issues)


def api_param(param: str) -> str:
    """The request field an issue names: the catalog's internal names become the
    API's ("operation" is `model`, "params" is `model_params`, the pipeline's
    "client_request_id" comes from `Idempotency-Key`); prompt flags
    ("--ar") and field names ("task_id", "scale") are already what a client sent."""
    names = {
        "operation": "model",
        "params": "model_params",
        "client_request_id": "Idempotency-Key",
    }
    return names.get(param, param)


PROMPT_TOO_LONG_STATUS = 422


def refused(exc: pipeline.Refused) -> ApiError:
    """The pipeline's refusal as evolink would answer it."""
    if exc.status == 402:
        return ApiError("insufficient_quota", exc.message)
    if exc.status == 403:
        return ApiError("model_access_denied", exc.message)
    if exc.issues:
        first = exc.issues[0]
        # A well-formed request whose prompt is too long: 422, so a client that
        # builds prompts can tell "shorten it" from a malformed body (400).
        too_long = first.code == Code.PROMPT_TOO_LONG
        return ApiError(
            "invalid_request",
            first.message,
            param=api_param(first.param),
            issues=exc.issues,
            status=PROMPT_TOO_LONG_STATUS if too_long else None,
        )
    return ApiError("invalid_request", exc.message, param="model")


# --- reading a request ------------------------------------------------------------------

# The shapes a request may take are pydantic schemas (`gallery.api.schemas`),
# which django-ninja validates; these are the limits they and the checks below share.
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"  # printable ASCII, no space at either end


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400, never a 500."""
    try:
        data = json.loads(raw, parse_constant=_no_constants)
        # A "\ud800" escape decodes to a lone surrogate, which no database
        # column can hold; find it here rather than at the INSERT.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeError and JSONDecodeError are ValueErrors
        raise invalid("The request body must be valid JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object")
    if _has_nul(data):
        # PostgreSQL text and jsonb cannot hold U+0000; refuse it before any column must.
        raise invalid("The request body must not contain NUL (\\u0000) characters")
    return data


def _has_nul(data: Any) -> bool:
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


# The API answers one task per request, as evolink does: a batch would need
# a different answer, and a script can loop. The web create bar expands them.


def request_digest(data: Mapping[str, Any]) -> str:
    """A fingerprint of a create request, to tell a retry from a reused key."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def client_request_id(key: str | None) -> str:
    """The pipeline's dedup key for an Idempotency-Key header ("" without one);
    the header's form is checked by the endpoint's schema.

    Keys up to 59 characters are kept readable ("idem:" + key, 64 at most);
    longer ones are hashed into the same 64 characters.
    """
    if not key:
        return ""
    if len(key) <= 59:
        return "idem:" + key
    return "idem:sha256:" + hashlib.sha256(key.encode()).hexdigest()[:52]


def check_callback_url(url: str | None) -> None:
    """evolink's rules for `callback_url` (providers.md §2.3): https, at most
    2048 characters, not a private or local address. Judged here without DNS;
    the delivery (`gallery.api.callbacks`) resolves the name and checks every
    address again. The only exception is a path under the base URL of a
    loopback upstream the operator configured (the simulator's /evolink/…),
    so the demo and tests can receive; never the rest of its origin, where
    the simulator's control API lives (`netguard.callback_allowance`)."""
    if url is None:
        return
    if len(url) > MAX_CALLBACK_URL:
        raise invalid(
            f"callback_url is longer than {MAX_CALLBACK_URL} characters",
            "callback_url",
            Code.INVALID_URL,
        )
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise invalid("callback_url is not a valid URL", "callback_url", Code.INVALID_URL) from None
    if netguard.callback_allowance(url):
        return
    if parsed.scheme != "https" or parsed.userinfo:
        raise invalid(
            "callback_url must be an https:// URL without a user name or password",
            "callback_url",
            Code.INVALID_URL,
        )
    problem = check_url(url)
    if problem is not None:
        code, reason = problem
        raise invalid(f"callback_url {reason}", "callback_url", code)


# --- parents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Parent:
    job: Job
    image: Image | None  # None when the job has no image at that number (yet)


def resolve_parent(membership: Membership, submission: ImageGenerationRequest) -> Parent | None:
    """The job named by model_params.task_id, among the jobs this person may see
    in this team. Another team's task gets the same answer as a missing one."""
    task = submission.params.task_id
    if not task:
        return None
    pk = job_pk(task)
    job = (
        Job.objects.visible_in(membership).filter(pk=pk).select_related("team").first()
        if pk
        else None
    )
    if job is None:
        raise invalid(
            f"No task {task[:80]!r} in this team; task_id must be the id of a "
            "completed mjweb task (task-unified-mjw-…)",
            "task_id",
            Code.INVALID_VALUE,
        )
    number = submission.params.image_number
    number = 0 if number is None else number
    image = job.images.filter(index=number).first() if number in operations.IMAGE_NUMBERS else None
    return Parent(job, image)


def to_request(
    submission: ImageGenerationRequest, parent: Parent | None, team: Team | None = None
) -> operations.Request:
    params = submission.params
    first = team.providers_in_order()[:1] if team is not None else []
    if submission.provider:
        provider = submission.provider
    elif parent is not None:
        provider = parent.job.provider  # an edit goes where its parent was made
    else:
        provider = first[0] if first else settings.MJWEB_PROVIDER  # the team's order
    parent_task = None
    if parent is not None:
        parent_task = parent.job.upstream_id or params.task_id
    elif params.task_id:
        parent_task = params.task_id
    return operations.Request(
        operation=submission.model,
        provider=provider,
        prompt=submission.prompt or "",
        image_urls=tuple(submission.image_urls or ()),
        parent_task_id=parent_task,
        image_number=params.image_number,
        speed=params.speed,
        params=params.catalog_params(),
    )


def to_draft(
    submission: ImageGenerationRequest,
    parent: Parent | None,
    client_request: str,
    team: Team | None = None,
) -> pipeline.Draft:
    """The Draft the pipeline validates; a parent without the asked-for image is
    judged by the catalog here (not completed yet, fewer images) and refused."""
    request = to_request(submission, parent, team)
    if parent is not None and parent.image is None:
        facts = operations.ParentFacts(
            provider=parent.job.provider,
            operation=parent.job.operation,
            speed=parent.job.speed or None,
            image_count=parent.job.images.count(),
            completed=parent.job.status == Job.Status.COMPLETED,
        )
        issues = tuple(i for i in operations.validate(request, facts) if i.severity == "error") or (
            Issue(Code.NO_SUCH_IMAGE, "image_number", "The parent task has no such image"),
        )
        raise refused(pipeline.Refused(issues[0].message, issues=issues))
    return pipeline.Draft(
        request=request,
        prompt_raw=submission.prompt or "",
        parent=parent.image if parent else None,
        client_request_id=client_request,
    )


# --- answering ------------------------------------------------------------------------

# Shown until the provider gives its own estimate; evolink's example figure.
DEFAULT_ESTIMATE_SECONDS = 45


def task_error(job: Job) -> dict[str, str] | None:
    if job.status == Job.Status.CANCELLED:
        message = "The task was cancelled."
        return {"code": "request_cancelled", "message": message, "type": "task_error"}
    if job.status != Job.Status.FAILED:
        return None
    if job.error_code == "deadline":
        code = "generation_timeout"
    else:
        code = TASK_ERROR_CODES.get(job.error_kind, "unknown_error")
    return {"code": code, "message": job.error_message or "The task failed.", "type": "task_error"}


def task_body(job: Job, file_url: Callable[[Image], str]) -> dict[str, Any]:
    """evolink's task object for `job`: the create answer, the poll answer and
    the callback body are all this. `results` lists mjweb's own copies of the
    images (`file_url`: short-lived, made afresh for each answer), in grid order."""
    estimate = (job.snapshot or {}).get("estimated_seconds") or DEFAULT_ESTIMATE_SECONDS
    completed = job.status == Job.Status.COMPLETED
    results = []
    if completed:
        stored = [i for i in job.images.all() if i.status == Image.Status.STORED]
        results = [file_url(i) for i in sorted(stored, key=lambda i: i.index)]
    return {
        "id": task_id(job.pk),
        "object": "image.generation.task",
        "model": job.operation,
        "status": STATUSES[job.status],
        "progress": 100 if completed else min(int(job.progress), 99),
        "created": int(job.created.timestamp()),
        "type": "image",
        "provider": job.provider,
        "task_info": {
            "can_cancel": job.status in (Job.Status.AWAITING, Job.Status.QUEUED),
            "estimated_time": max(0, round(float(estimate))),
            **(
                {"pending_reason": job.approval_reason} if job.status == Job.Status.AWAITING else {}
            ),
        },
        "results": results,
        "error": task_error(job),
        "usage": {
            "billing_rule": "per_call",
            "credits_reserved": job.credits_reserved,
            "credits_charged": job.credits_charged,
            "user_group": "default",
        },
    }


# --- result files ----------------------------------------------------------------------

# Result URLs are capabilities, as evolink's CDN links are: a plain GET with no
# header fetches them, so a script that downloads `results` works unchanged.
# They are short-lived: the name signs the image, the token that read the task
# and the time it was read (`public_urls.stamp`, the helper the upstream's
# reference links use, under a salt of its own), and reading the task again
# hands out fresh ones. Until it expires a URL opens only while that token is
# active and its owner may still see the job: deleting the job, making it
# private (for a teammate's token) or revoking the token cuts it at once.
_FILES_SALT = "gallery.api.files"
_FILE_NAME = re.compile(
    r"(?P<image>[1-9][0-9]{0,17})\.(?P<token>[1-9][0-9]{0,17})"
    r"\.(?P<stamp>[0-9A-Za-z]{1,12}\.[A-Za-z0-9_-]{20,100})(?:\.[a-z0-9]{1,5})?"
)


def file_url_seconds() -> int:
    return settings.MJWEB_API_FILE_URL_SECONDS


def file_name(image: Image, token_pk: int, now: datetime | None = None) -> str:
    """The last path segment of an image's API URL for this token:
    "<image>.<token>.<timestamp>.<signature>.<ext>"."""
    ext = image.original.name.rpartition(".")[2].lower() if "." in image.original.name else "png"
    value = f"{image.pk}.{token_pk}"
    return f"{value}.{public_urls.stamp(value, salt=_FILES_SALT, now=now)}.{ext}"


def file_url(base_url: str, image: Image, token_pk: int, now: datetime | None = None) -> str:
    """An image's API URL under `base_url` (the site as the client sees it),
    valid for `file_url_seconds()` from `now` for the token `token_pk`."""
    return base_url.rstrip("/") + reverse("api-file", args=[file_name(image, token_pk, now)])


def file_image(name: str, now: datetime | None = None) -> Image:
    """The stored image a result URL's name opens now; ApiError when forged or
    mangled (404), expired (410), or no longer for its token's owner to see (404)."""
    image_pk, token_pk = _verified_file_name(name, now)
    token = (
        ApiToken.objects.active(now).select_related("membership__user").filter(pk=token_pk).first()
    )
    image = None
    if token is not None and token.membership.user.is_active:
        visible = Job.objects.visible_in(token.membership)
        image = (
            Image.objects.filter(pk=image_pk, status=Image.Status.STORED, job__in=visible)
            .exclude(original="")
            .first()
        )
    if image is None:
        raise ApiError("not_found", "No such file")
    return image


def _verified_file_name(name: str, now: datetime | None) -> tuple[int, int]:
    """The image and token numbers a genuine, unexpired file name carries."""
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        raise ApiError("not_found", "No such file")
    value = f"{match['image']}.{match['token']}"
    age = public_urls.stamp_age(value, match["stamp"], salt=_FILES_SALT, now=now)
    if age is None:
        raise ApiError("not_found", "No such file")
    if age > file_url_seconds():
        raise ApiError(
            "url_expired",
            "This file URL has expired; read the task again (GET /api/v1/tasks/{id}) "
            "for fresh result URLs",
        )
    return int(match["image"]), int(match["token"])
