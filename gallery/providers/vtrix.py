"""Vtrix (doc.vtrix.ai): `POST /model/v1/generation`, `GET /model/v1/generation/task/{id}`.

providers.md §1.2. The same operations under other names (`midjourney_*`,
from the catalog), camelCase fields (`jobId`, `imageNo`, `remixPrompt`,
`imgPos`), integer enums (the catalog's `vtrix_codes`), no `speed` field: the
speed travels as a native flag in the prompt text, as with any Midjourney
prompt. Results are `output[].content[].url`; its `usage.cost` (USD, a string,
on a completed task) is reported as the snapshot's `cost` for reconciliation,
never billed: what a job costs is what it reserved.

Where the sources disagree the adapter accepts both (§1.2):
- the create body is flat in the docs and `{"model", "input": [{"params"}]}`
  in the official CLI [UNCONFIRMED]: `body_style` picks what is sent (flat,
  as documented, by default); answers are read in either shape;
- `error` is an object `{code, error_message}` in the docs, a string in the
  CLI; the task id is `id` in the CLI, `task_id` in a docs example;
- statuses are pending/processing/completed/failed in the docs, in_progress
  in the CLI; `progress` is a 0-1 float in the CLI (read as a fraction when it
  is at most 1, as a percentage above that);
- callbacks: a per-request `callback` is documented, its payload is
  [UNCONFIRMED]; `parse_callback` reads it as a task body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import httpx

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

# canonical param name -> Vtrix field name
FIELD_NAMES: Mapping[str, str] = {"img_pos": "imgPos"}
# Speed flags already in a prompt are replaced by the request's speed.
_SPEED_FLAG = re.compile(r"(?:^|\s)--(?:draft|fast|turbo|relax)(?=\s|$)", re.IGNORECASE)
# Per-model codes end in three digits: 098 "generation failed", 099 "service
# unavailable" (seed 001, midjourney_remix); the rest are validation errors.
SERVER_SUFFIXES = frozenset({"098", "099"})
_BALANCE_WORDS = ("balance", "insufficient", "credit", "quota", "payment")
_RESULT_KEYS = ("status", "output", "error", "id", "task_id")


def with_speed(prompt: str, speed: str | None) -> str:
    prompt = " ".join(_SPEED_FLAG.sub(" ", prompt).split())
    return f"{prompt} --{speed}" if speed and prompt else prompt


def classify_vtrix(http_status: int | None, info: ErrorInfo) -> Kind:
    code = (info.code or "").strip()
    if http_status == 403 or code == "403":
        # "403 insufficient balance or permission denied": both are the
        # account's, only the message tells them apart.
        lowered = (info.message or "").lower()
        if any(word in lowered for word in _BALANCE_WORDS):
            return Kind.INSUFFICIENT_QUOTA
        return Kind.ACCESS_DENIED
    by_status = status_kind(http_status)
    if by_status not in (None, Kind.INVALID_REQUEST):
        return by_status  # 401, 404, 429, 5xx say more than any per-model code
    if code.isdigit() and len(code) > 3:
        # Leading zeros do not survive JSON: 004011005 arrives as 4011005.
        if code[-3:] in SERVER_SUFFIXES:
            return Kind.CONTENT_POLICY if looks_like_policy(info.message) else Kind.UNAVAILABLE
        return Kind.INVALID_REQUEST
    if by_status is None and code.isdigit():
        by_status = status_kind(int(code))  # gateway errors repeat the HTTP status as code
    if by_status is not None:
        if by_status is Kind.INVALID_REQUEST and looks_like_policy(info.message):
            return Kind.CONTENT_POLICY
        return by_status
    if looks_like_policy(info.message):
        return Kind.CONTENT_POLICY
    return Kind.UNAVAILABLE


class VtrixAdapter(Adapter):
    name = "vtrix"
    create_path = "/model/v1/generation"
    accepts_callbacks = True  # per-request `callback`; payload [UNCONFIRMED]

    def __init__(
        self, client: httpx.Client, *, body_style: Literal["flat", "wrapped"] = "flat"
    ) -> None:
        super().__init__(client)
        self.body_style = body_style

    def build_body(self, request: Request) -> dict[str, Any]:
        op = request.spec
        speed = request.effective_speed()
        prompt = request.prompt.strip() if op.prompt != "absent" else ""
        fields: dict[str, Any] = {}
        if not op.needs_parent:
            fields["text"] = with_speed(prompt, speed)
        else:
            fields["jobId"] = request.parent_task_id
            fields["imageNo"] = request.image_number if request.image_number is not None else 0
            if prompt:
                fields["remixPrompt"] = with_speed(prompt, speed)
            for name, value in request.resolved_params().items():
                spec = op.param(name)
                if spec is None:
                    continue
                if spec.vtrix_codes:
                    value = spec.vtrix_codes[value]
                fields[FIELD_NAMES.get(name, name)] = jsonable(value)
        if request.callback_url:
            fields["callback"] = request.callback_url
        model = model_id(self.name, op.id)
        if self.body_style == "wrapped":
            return {"model": model, "input": [{"params": fields}]}
        return {"model": model, **fields}

    def task_path(self, quoted_id: str) -> str:
        return f"/model/v1/generation/task/{quoted_id}"

    def unwrap(self, data: Any) -> Any:
        """One flat task object from any of the shapes seen: flat, `{data: {...}}`,
        or with the fields inside `input[].params`."""
        if not isinstance(data, Mapping):
            return data
        merged = dict(data)
        inner = merged.get("data")
        if isinstance(inner, Mapping) and not any(key in merged for key in _RESULT_KEYS):
            merged = {**merged, **inner}
        wrapped = merged.get("input")
        if isinstance(wrapped, list):
            for block in wrapped:
                params = block.get("params") if isinstance(block, Mapping) else None
                if isinstance(params, Mapping):
                    for key, value in params.items():
                        merged.setdefault(key, value)
        return merged

    def task_id_of(self, data: Mapping[str, Any]) -> str | None:
        return text(data.get("id")) or text(data.get("task_id")) or text(data.get("request_id"))

    def parse_accepted(self, data: Mapping[str, Any]) -> Accepted | None:
        upstream_id = self.task_id_of(data)
        if upstream_id is None:
            return None
        snap = self.parse_task(data, upstream_id=upstream_id)
        return Accepted(upstream_id=upstream_id, status=snap.status, progress=snap.progress)

    def parse_task(self, data: Mapping[str, Any], *, upstream_id: str) -> Snapshot:
        return self.snapshot(
            upstream_id=upstream_id,
            raw_status=data.get("status"),
            progress=percent(data.get("progress"), fraction=True),
            urls=list(_urls(data.get("output"))),
            error=self.error_info(data) if data.get("error") else None,
            cost=_usd(data.get("usage")),
        )

    def classify(self, http_status: int | None, info: ErrorInfo) -> Kind:
        return classify_vtrix(http_status, info)


def _urls(output: Any) -> Iterator[str]:
    """`output[].content[].url` (docs), tolerating a bare object for the list and
    a `url` directly on an output item; video items are skipped."""
    items = [output] if isinstance(output, Mapping) else output
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, Mapping):
            continue
        content = item.get("content")
        entries = content if isinstance(content, list) else [item]
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            kind = str(entry.get("type") or "image").lower()
            url = entry.get("url")
            if "image" in kind and isinstance(url, str):
                yield url


def _usd(usage: Any) -> Cost | None:
    # usage.cost, a USD string, only when completed (providers.md §1.2).
    if not isinstance(usage, Mapping):
        return None
    amount = decimal(usage.get("cost"))
    return Cost(amount, "usd") if amount is not None else None
