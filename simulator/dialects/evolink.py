"""evolink.ai: ``POST /v1/images/generations``, ``GET /v1/tasks/{id}``.

Sources: the evolink OpenAPI files in shared/openapi, get-task-detail.json and
error-codes.mdx of the evolink docs, providers.md §2. Two error styles are
documented and both are reproduced: the create endpoint answers
``{error:{code:"invalid_request", message, type}}`` (string codes), the task
endpoint ``{error:{code:404, message, type:"not_found_error", param}}``
(the HTTP status as an integer code).
"""

from __future__ import annotations

import math
import re
import secrets
import string
import time
from decimal import Decimal
from typing import Any

from ..operations import CreateRequest, SimError
from .base import Dialect, ErrorReply, TaskView, retry_after_header
from .unified import parse_unified

_ALPHABET = string.ascii_lowercase + string.digits

# kind -> (status, code, type) for the create endpoint (string codes).
_CREATE_ERRORS: dict[str, tuple[int, str, str]] = {
    "unauthorized": (401, "unauthorized", "authentication_error"),
    "insufficient_credits": (402, "insufficient_quota", "insufficient_quota"),
    "model_access_denied": (403, "model_access_denied", "invalid_request_error"),
    # "Upscaling an already-upscaled image returns 403" (mj-v7-upscale); the code
    # is not documented, so the generic one is used.
    "upscale_of_upscale": (403, "invalid_request", "invalid_request_error"),
    "rate_limited": (429, "rate_limit_exceeded", "rate_limit_error"),
    "not_found": (404, "not_found", "not_found_error"),
}
_SERVER_ERRORS: dict[int, tuple[str, str]] = {
    500: ("internal_error", "api_error"),
    502: ("upstream_error", "upstream_error"),
    503: ("service_unavailable", "service_unavailable_error"),
}
# status -> type for the task endpoint (integer codes), get-task-detail.json.
_POLL_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "internal_server_error",
    502: "upstream_error",
    503: "service_unavailable_error",
}
# error-codes.mdx has no bare "generation_failed"; its closest code is this one.
_FAILURE_CODES = {"generation_failed": "generation_failed_no_content"}


def credits_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class Evolink(Dialect):
    name = "evolink"
    create_path = "/v1/images/generations"
    poll_pattern = re.compile(r"/v1/tasks/([^/]+)")
    supports_callbacks = True

    def new_task_id(self) -> str:
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        return f"task-unified-{int(time.time())}-{suffix}"

    def valid_task_id(self, task_id: str) -> bool:
        return task_id.startswith("task-unified-")

    def parse_create(self, body: Any, *, strict_callbacks: bool) -> CreateRequest:
        return parse_unified(body, strict_callbacks=strict_callbacks)

    def _common(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            "created": int(task.created_at),
            "id": task.id,
            "model": task.model,
            "object": "image.generation.task",
            "progress": view.progress,
            "status": view.status,
            "type": "image",
        }

    def create_response(self, view: TaskView) -> dict[str, Any]:
        body = self._common(view)
        body["task_info"] = {"can_cancel": True, "estimated_time": view.estimated_time}
        body["usage"] = {
            "billing_rule": "per_call",
            "credits_reserved": credits_number(view.task.price),
            "user_group": "default",
        }
        return body

    def task_body(self, view: TaskView) -> dict[str, Any]:
        body = self._common(view)
        body["task_info"] = {"can_cancel": view.status in ("pending", "processing")}
        if view.status == "completed":
            body["results"] = list(view.urls)
        if view.status == "failed":
            code = view.failure_code or "generation_failed"
            body["error"] = {
                "code": _FAILURE_CODES.get(code, code),
                "message": view.failure_message,
                "type": "task_error",
            }
        return body

    def error(self, err: SimError, endpoint: str, model: str | None = None) -> ErrorReply:
        kind = "unauthorized" if err.kind.startswith("unauthorized") else err.kind
        status = self._status(kind, err)
        headers = retry_after_header(err)
        if endpoint == "poll":
            error: dict[str, Any] = {
                "code": status,
                "message": err.message,
                "type": _POLL_TYPES.get(status, "api_error"),
            }
            if status in (400, 404):
                error["param"] = "task_id"
            if status == 429 and err.retry_after is not None:
                error["fallback_suggestion"] = f"retry after {math.ceil(err.retry_after)} seconds"
            return ErrorReply(status, {"error": error}, headers)
        if kind == "server_error":
            code, error_type = _SERVER_ERRORS.get(status, ("internal_error", "api_error"))
        elif kind in _CREATE_ERRORS:
            _, code, error_type = _CREATE_ERRORS[kind]
        else:
            code, error_type = "invalid_request", "invalid_request_error"
        error = {"code": code, "message": err.message, "type": error_type}
        return ErrorReply(status, {"error": error}, headers)

    def _status(self, kind: str, err: SimError) -> int:
        if err.status is not None:
            return err.status
        if kind in _CREATE_ERRORS:
            return _CREATE_ERRORS[kind][0]
        if kind == "server_error":
            return 500
        return 400
