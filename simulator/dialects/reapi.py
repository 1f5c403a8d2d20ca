"""reAPI: ``POST /api/v1/images/generations``, ``GET /api/v1/tasks/{id}``.

Sources: providers.md §3 and the reAPI MJ-V7 page (seed 004). Statuses are
``processing / completed / failed`` (no ``pending``), results are
``output.image_urls``, errors use ``{error:{code, message, request_id}}``.

Error codes: the errors page documents 5-digit numbers (10001-10005, 20002,
80006), the MJ-V7 page string codes (INVALID_REQUEST, ...). Numeric is the
default (it is what the documented example responses carry); start with
``--reapi-error-codes string`` to get the strings. Numbers the docs do not list
are the simulator's own, chosen in the documented category (README table).
No callback mechanism is documented, so none is sent.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

from ..operations import CreateRequest, SimError
from .base import Dialect, ErrorReply, TaskView, retry_after_header
from .unified import parse_unified

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"

# kind -> (status, numeric code, string code)
_ERRORS: dict[str, tuple[int, int, str]] = {
    "unauthorized_missing": (401, 10001, "UNAUTHORIZED"),
    "unauthorized_format": (401, 10002, "UNAUTHORIZED"),
    "unauthorized": (401, 10003, "UNAUTHORIZED"),
    "model_access_denied": (403, 10006, "FORBIDDEN"),
    "invalid_request": (400, 20001, "INVALID_REQUEST"),
    "missing_param": (400, 20002, "INVALID_REQUEST"),
    "invalid_param": (400, 20003, "INVALID_REQUEST"),
    "prompt_length": (400, 20003, "INVALID_REQUEST"),
    "unknown_model": (400, 20003, "INVALID_REQUEST"),
    "callback_url_invalid": (400, 20003, "INVALID_REQUEST"),
    "parent_invalid": (400, 20004, "INVALID_REQUEST"),
    "image_number_range": (400, 20003, "INVALID_REQUEST"),
    "not_draft": (400, 20005, "INVALID_REQUEST"),
    "retexture_followup": (400, 20005, "INVALID_REQUEST"),
    "upscale_of_upscale": (400, 20005, "INVALID_REQUEST"),
    "task_id_format": (404, 20006, "NOT_FOUND"),
    "not_found": (404, 20006, "NOT_FOUND"),
    "insufficient_credits": (402, 30001, "INSUFFICIENT_CREDITS"),
    "rate_limited": (429, 40001, "RATE_LIMITED"),
}
_SERVER_CODES = {500: 50001, 502: 50002, 503: 50003, 504: 50004}
_FAILURES: dict[str, tuple[int, str, str]] = {
    "content_policy_violation": (
        80006,
        "CONTENT_POLICY_VIOLATION",
        "Request violates content policy",
    ),
    "generation_failed": (80001, "UPSTREAM_ERROR", "Upstream generation failed"),
    "image_processing_error": (80002, "UPSTREAM_ERROR", "Input image could not be processed"),
    "generation_timeout": (80003, "UPSTREAM_ERROR", "Upstream generation timed out"),
    "service_error": (80004, "UPSTREAM_ERROR", "Upstream service error"),
}


def ulid_like() -> str:
    millis = int(time.time() * 1000)
    head = ""
    for _ in range(10):
        head = _CROCKFORD[millis % 32] + head
        millis //= 32
    return head + "".join(secrets.choice(_CROCKFORD) for _ in range(16))


class ReAPI(Dialect):
    name = "reapi"
    create_path = "/api/v1/images/generations"
    poll_pattern = re.compile(r"/api/v1/tasks/([^/]+)")
    supports_callbacks = False

    def __init__(self, codes: str = "numeric") -> None:
        self.codes = codes

    def new_task_id(self) -> str:
        return f"task_{ulid_like()}"

    def valid_task_id(self, task_id: str) -> bool:
        return task_id.startswith("task_")

    def parse_create(self, body: Any, *, strict_callbacks: bool) -> CreateRequest:
        req = parse_unified(body, strict_callbacks=False)
        # reAPI documents no callbacks: a callback_url is accepted and ignored.
        req.callback_url = None
        return req

    def create_response(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            "id": task.id,
            "model": task.model,
            "status": "processing",
            "created_at": int(task.created_at),
        }

    def task_body(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        # reAPI has no "pending": a queued task already reads "processing".
        status = "processing" if view.status == "pending" else view.status
        body: dict[str, Any] = {
            "id": task.id,
            "model": task.model,
            "status": status,
            "created_at": int(task.created_at),
            "output": None,
            "error": None,
        }
        if status == "completed":
            body["output"] = {"image_urls": list(view.urls)}
        if status == "failed":
            number, text, message = _FAILURES.get(
                view.failure_code or "generation_failed", _FAILURES["generation_failed"]
            )
            body["error"] = {
                "code": number if self.codes == "numeric" else text,
                "message": message,
            }
        return body

    def error(self, err: SimError, endpoint: str, model: str | None = None) -> ErrorReply:
        if err.kind == "server_error":
            status = err.status or 500
            number, text = _SERVER_CODES.get(status, 50001), "UPSTREAM_ERROR"
        else:
            status, number, text = _ERRORS.get(err.kind, (400, 20003, "INVALID_REQUEST"))
            status = err.status or status
        body = {
            "error": {
                "code": number if self.codes == "numeric" else text,
                "message": err.message,
                "request_id": f"req_{uuid.uuid4()}",
            }
        }
        return ErrorReply(status, body, retry_after_header(err))
