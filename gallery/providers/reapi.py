"""reAPI: `POST /api/v1/images/generations`, `GET /api/v1/tasks/{id}` (providers.md §3).

Same request dialect as evolink (same `mj-v7*` ids and `model_params`), so the
body comes from `unified_body`. Differences that matter:

- reAPI charges every successful POST and has no idempotency (§3.1): the
  shared `Adapter._send` never re-sends a create whose answer was lost.
- No callbacks are documented (§3.4, [UNCONFIRMED]): `callback_url` is not
  sent, `accepts_callbacks` is False, and `parse_callback` still reads a
  task-shaped body in case one ever arrives (the tolerant choice).
- Statuses are processing/completed/failed, no `pending` and no `progress`
  (§3.2). The processing body is [UNCONFIRMED]; `output`/`error` may be null
  or absent and both read the same.
- Error codes are 5-digit numbers whose first digit is the category (errors
  page), or strings on the MJ-V7 page (SEED-004); either may arrive, and a
  number may arrive as a string (§3.3).
- No per-task cost is returned on create or task (§3.1-3.2): snapshots carry
  no `cost`, and reconciliation prices reAPI tasks from its statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gallery.catalog.operations import Request
from gallery.providers.base import (
    Accepted,
    Adapter,
    ErrorInfo,
    Kind,
    Snapshot,
    looks_like_policy,
    percent,
    status_kind,
    text,
)
from gallery.providers.evolink import unified_body

# String codes of the MJ-V7 page (SEED-004), plus the obvious envelope words.
STRING_CODES: Mapping[str, Kind] = {
    "content_policy_violation": Kind.CONTENT_POLICY,
    "invalid_request": Kind.INVALID_REQUEST,
    "insufficient_credits": Kind.INSUFFICIENT_QUOTA,
    "upstream_error": Kind.UNAVAILABLE,
    "unauthorized": Kind.AUTH,
    "forbidden": Kind.ACCESS_DENIED,
    "not_found": Kind.NOT_FOUND,
    "rate_limited": Kind.RATE_LIMITED,
    "rate_limit_exceeded": Kind.RATE_LIMITED,
}
CONTENT_POLICY_CODE = 80006  # "Request violates content policy" (skill API.md)


def classify_reapi(http_status: int | None, info: ErrorInfo) -> Kind:
    code = (info.code or "").strip()
    if code.isdigit():
        number = int(code)
        if number == CONTENT_POLICY_CODE:
            return Kind.CONTENT_POLICY
        category = code[0] if len(code) == 5 else ""
        if category == "1":  # 10001-10005: missing, malformed, invalid, revoked key
            return Kind.ACCESS_DENIED if http_status == 403 else Kind.AUTH
        if category == "2":  # 2xxxx: validation (20002 missing parameter)
            return Kind.NOT_FOUND if http_status in (404, 410) else Kind.INVALID_REQUEST
        if category == "8" and http_status is None:
            # 8xxxx: task failures; only 80006 is documented as the user's fault.
            return Kind.CONTENT_POLICY if looks_like_policy(info.message) else Kind.UNAVAILABLE
    elif code.lower() in STRING_CODES:
        return STRING_CODES[code.lower()]
    by_status = status_kind(http_status)
    if by_status is not None:
        return by_status
    if looks_like_policy(info.message):
        return Kind.CONTENT_POLICY
    return Kind.UNAVAILABLE


class ReapiAdapter(Adapter):
    name = "reapi"
    create_path = "/api/v1/images/generations"
    accepts_callbacks = False

    def build_body(self, request: Request) -> dict[str, Any]:
        return unified_body(request, self.name, callback=False)

    def task_path(self, quoted_id: str) -> str:
        return f"/api/v1/tasks/{quoted_id}"

    def task_id_of(self, data: Mapping[str, Any]) -> str | None:
        # The docs read `id` but loosely call it task_id (§3.1).
        return text(data.get("id")) or text(data.get("task_id"))

    def parse_accepted(self, data: Mapping[str, Any]) -> Accepted | None:
        upstream_id = self.task_id_of(data)
        if upstream_id is None:
            return None
        snap = self.parse_task(data, upstream_id=upstream_id)
        return Accepted(upstream_id=upstream_id, status=snap.status, progress=snap.progress)

    def parse_task(self, data: Mapping[str, Any], *, upstream_id: str) -> Snapshot:
        output = data.get("output")
        urls = output.get("image_urls") if isinstance(output, Mapping) else None
        return self.snapshot(
            upstream_id=upstream_id,
            raw_status=data.get("status"),
            progress=percent(data.get("progress")),  # not documented; read if it ever appears
            urls=urls if isinstance(urls, list) else (),
            error=self.error_info(data) if data.get("error") else None,
        )

    def classify(self, http_status: int | None, info: ErrorInfo) -> Kind:
        return classify_reapi(http_status, info)
