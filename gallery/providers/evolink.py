"""evolink.ai: `POST /v1/images/generations`, `GET /v1/tasks/{id}` (providers.md §2).

The canonical request is evolink's own shape, so the body is nearly a copy:
`model`, `prompt`, `image_urls`, `model_params{task_id, image_number, speed,
type|mode|direction|scale|mask|canvas|img_pos}`, `callback_url`. Documented
defaults are sent explicitly (`Request.resolved_params`), which the OpenAPI
schemas allow. reAPI speaks the same request dialect and reuses `unified_body`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gallery.catalog.operations import Request, model_id
from gallery.providers.base import (
    Accepted,
    Adapter,
    Cost,
    ErrorInfo,
    Kind,
    Snapshot,
    decimal,
    jsonable,
    looks_like_policy,
    percent,
    status_kind,
    text,
)


def unified_body(request: Request, provider: str, *, callback: bool) -> dict[str, Any]:
    """The evolink/reAPI create body for `request` (providers.md §2.5, §3.5)."""
    op = request.spec
    body: dict[str, Any] = {"model": model_id(provider, op.id)}
    if op.prompt != "absent" and request.prompt.strip():
        body["prompt"] = request.prompt
    if op.needs_image:
        body["image_urls"] = list(request.image_urls)
    params: dict[str, Any] = {}
    if op.needs_parent:
        params["task_id"] = request.parent_task_id
        params["image_number"] = request.image_number if request.image_number is not None else 0
    speed = request.effective_speed()
    if speed is not None:
        params["speed"] = speed
    params.update(jsonable(request.resolved_params()))
    if params:
        body["model_params"] = params
    if callback and request.callback_url:
        body["callback_url"] = request.callback_url
    return body


# error.code (create errors and failed tasks, providers.md §2.1-2.2) -> kind.
CODES: Mapping[str, Kind] = {
    # create-time codes and types (OpenAPI ErrorResponse examples)
    "invalid_request": Kind.INVALID_REQUEST,
    "invalid_request_error": Kind.INVALID_REQUEST,
    "unauthorized": Kind.AUTH,
    "authentication_error": Kind.AUTH,
    "insufficient_quota": Kind.INSUFFICIENT_QUOTA,
    "insufficient_quota_error": Kind.INSUFFICIENT_QUOTA,
    "model_access_denied": Kind.ACCESS_DENIED,
    "permission_error": Kind.ACCESS_DENIED,
    "rate_limit_exceeded": Kind.RATE_LIMITED,
    "rate_limit_error": Kind.RATE_LIMITED,
    "not_found": Kind.NOT_FOUND,
    "not_found_error": Kind.NOT_FOUND,
    # "must start with 'task-unified-'": no such task can exist
    "invalid_task_id": Kind.NOT_FOUND,
    "internal_error": Kind.UNAVAILABLE,
    "internal_server_error": Kind.UNAVAILABLE,
    "api_error": Kind.UNAVAILABLE,
    "upstream_error": Kind.UNAVAILABLE,
    "service_unavailable_error": Kind.UNAVAILABLE,
    # task error codes, client side: "fix before retry" (error-codes.mdx)
    "content_policy_violation": Kind.CONTENT_POLICY,
    "invalid_parameters": Kind.INVALID_REQUEST,
    "image_processing_error": Kind.INVALID_REQUEST,
    "image_dimension_mismatch": Kind.INVALID_REQUEST,
    "request_cancelled": Kind.INVALID_REQUEST,
    # task error codes, server side: "retry"
    "generation_failed_no_content": Kind.UNAVAILABLE,
    "service_error": Kind.UNAVAILABLE,
    "generation_timeout": Kind.UNAVAILABLE,
    "resource_exhausted": Kind.UNAVAILABLE,
    "service_unavailable": Kind.UNAVAILABLE,
    "unknown_error": Kind.UNAVAILABLE,
    # its tip is "1-2 s between requests": a rate limit, not an empty account
    "quota_exceeded": Kind.RATE_LIMITED,
    "resource_not_found": Kind.NOT_FOUND,
}


def classify_unified(codes: Mapping[str, Kind], http_status: int | None, info: ErrorInfo) -> Kind:
    """Code first (a 403 can be an upscale of an upscale, not a denied key),
    then the HTTP status, then the error type, then the message."""
    if info.code and info.code.lower() in codes:
        return codes[info.code.lower()]
    by_status = status_kind(http_status)
    if by_status is not None:
        return by_status
    if info.type and info.type.lower() in codes:
        return codes[info.type.lower()]
    if looks_like_policy(info.message):
        return Kind.CONTENT_POLICY
    # A failed task with a code nobody documented: the server's side, try again.
    return Kind.UNAVAILABLE


class EvolinkAdapter(Adapter):
    name = "evolink"
    create_path = "/v1/images/generations"
    accepts_callbacks = True  # providers.md §2.3: callback_url, HTTPS, 3 retries

    def build_body(self, request: Request) -> dict[str, Any]:
        return unified_body(request, self.name, callback=True)

    def task_path(self, quoted_id: str) -> str:
        return f"/v1/tasks/{quoted_id}"

    def parse_accepted(self, data: Mapping[str, Any]) -> Accepted | None:
        upstream_id = text(data.get("id"))
        if upstream_id is None:
            return None
        info = data.get("task_info")
        estimate = decimal(info.get("estimated_time")) if isinstance(info, Mapping) else None
        snap = self._reading(data, upstream_id)
        return Accepted(
            upstream_id=upstream_id,
            status=snap.status,
            progress=snap.progress,
            estimated_seconds=float(estimate) if estimate is not None else None,
            cost=_credits(data.get("usage")),
        )

    def parse_task(self, data: Mapping[str, Any], *, upstream_id: str) -> Snapshot:
        return self._reading(data, upstream_id)

    def _reading(self, data: Mapping[str, Any], upstream_id: str) -> Snapshot:
        results = data.get("results")
        error = self.error_info(data) if data.get("error") else None
        return self.snapshot(
            upstream_id=upstream_id,
            raw_status=data.get("status"),
            progress=percent(data.get("progress")),
            urls=results if isinstance(results, list) else (),
            error=error,
            cost=_credits(data.get("usage")),
        )

    def classify(self, http_status: int | None, info: ErrorInfo) -> Kind:
        return classify_unified(CODES, http_status, info)


def _credits(usage: Any) -> Cost | None:
    # credits_reserved on the create answer (providers.md §2.1); read on a task
    # body too, should the provider ever repeat it there.
    if not isinstance(usage, Mapping):
        return None
    amount = decimal(usage.get("credits_reserved"))
    return Cost(amount, "credits") if amount is not None else None
