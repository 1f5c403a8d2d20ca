"""What every dialect provides, and the task snapshot they all render from."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..operations import CreateRequest, SimError
from ..store import Task

FAILURE_MESSAGES = {
    "generation_failed": "Generation failed: the model returned no content.",
    "content_policy_violation": (
        "Content policy violation.\nYour request was blocked by safety filters."
    ),
    "image_processing_error": (
        "Image processing failed: the input image could not be downloaded or decoded."
    ),
    "generation_timeout": "Task processing timed out.",
    "service_error": "Internal service error.",
}


@dataclass
class TaskView:
    """A task as a client sees it at one instant."""

    task: Task
    status: str  # pending | processing | completed | failed
    progress: int  # 0-100
    urls: list[str] = field(default_factory=list)
    estimated_time: int = 0

    @property
    def failure_code(self) -> str | None:
        return self.task.error_code if self.status == "failed" else None

    @property
    def failure_message(self) -> str:
        code = self.task.error_code or "generation_failed"
        return self.task.error_message or FAILURE_MESSAGES.get(code, code)


@dataclass
class ErrorReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Dialect:
    name: str = ""
    create_path: str = ""
    poll_pattern: re.Pattern[str] = re.compile(r"$^")
    supports_callbacks: bool = False

    def match_poll(self, path: str) -> str | None:
        match = self.poll_pattern.fullmatch(path)
        return match.group(1) if match else None

    def new_task_id(self) -> str:
        raise NotImplementedError

    def valid_task_id(self, task_id: str) -> bool:
        return True

    def parse_create(self, body: Any, *, strict_callbacks: bool) -> CreateRequest:
        raise NotImplementedError

    def create_response(self, view: TaskView) -> dict[str, Any]:
        raise NotImplementedError

    def task_body(self, view: TaskView) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, err: SimError, endpoint: str, model: str | None = None) -> ErrorReply:
        raise NotImplementedError


def retry_after_header(err: SimError) -> dict[str, str]:
    if err.retry_after is None:
        return {}
    # Retry-After carries whole seconds (RFC 9110), so round up.
    return {"Retry-After": str(max(0, math.ceil(err.retry_after)))}


def callback_url_problem(url: Any, *, strict: bool) -> str | None:
    """Why a callback URL is refused, or None.

    ``strict`` applies evolink's documented rule (HTTPS only, no private
    addresses); by default loopback http is accepted because the app under test
    listens there.
    """
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url:
        return "callback URL must be a non-empty string"
    if len(url) > 2048:
        return "callback URL must not exceed 2048 characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "callback URL is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "callback URL must be an http(s) URL"
    if not strict:
        return None
    if parts.scheme != "https":
        return "callback URL must use HTTPS"
    if host == "localhost" or host.endswith(".localhost"):
        return "callbacks to private addresses are prohibited"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "callbacks to private addresses are prohibited"
    return None
