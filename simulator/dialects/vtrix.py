"""Vtrix (doc.vtrix.ai): ``POST /model/v1/generation``, ``GET /model/v1/generation/task/{id}``.

Sources: providers.md §1.2 and seed 001 (``midjourney_remix``). camelCase fields
(``jobId``, ``imageNo``, ``remixPrompt``, ``imgPos``), integer enums, results in
``output[].content[].url``, ``usage.cost`` as a USD string, ``progress`` as a
0-1 float (the official CLI's reading), per-model numeric error codes.

Both documented body shapes are accepted: flat fields, and the CLI's
``{"model": ..., "input": [{"params": {...}}]}`` wrapper (providers.md §1.2).

Error codes: ``midjourney_diffusion`` (8004001xxx) and ``midjourney_remix``
(004011xxx) are documented; the other models' prefixes follow the same pattern
and are the simulator's own (README table). JSON has no leading zeros, so
004011001 travels as the integer 4011001, exactly as a documented ``code
integer`` must.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from .. import operations as ops
from ..operations import CreateRequest, SimError
from .base import Dialect, ErrorReply, TaskView, callback_url_problem, retry_after_header
from .unified import canvas, check_image_prompt_rule, img_pos, mask

# model -> (operation, error-code prefix)
MODELS: dict[str, tuple[str, str]] = {
    "midjourney_diffusion": (ops.GENERATE, "8004001"),
    "midjourney_upscale": (ops.UPSCALE, "004002"),
    "midjourney_variation": (ops.VARIATION, "004003"),
    "midjourney_inpaint": (ops.INPAINT, "004004"),
    "midjourney_outpaint": (ops.OUTPAINT, "004005"),
    "midjourney_edit": (ops.EDIT, "004006"),
    "midjourney_pan": (ops.PAN, "004007"),
    "midjourney_enhance": (ops.ENHANCE, "004008"),
    "midjourney_remix": (ops.REMIX, "004011"),
}
MODEL_OF_OPERATION = {op: model for model, (op, _) in MODELS.items()}

# Suffixes as documented for midjourney_remix, extended with 008/009 of our own.
TASK_ID_MISSING = 1
IMAGE_NO_MISSING = 2
IMAGE_NO_INVALID = 3
ENUM_INVALID = 4
PROMPT_MISSING = 5
PROMPT_LENGTH = 6
CALLBACK_INVALID = 7
PARAM_INVALID = 8  # simulator's own: scale, mask, canvas, imgPos, prompt flags
PARENT_INVALID = 9  # simulator's own: parent missing / not yours / not completed / not allowed
GENERATION_FAILED = 98
SERVICE_UNAVAILABLE = 99
# midjourney_diffusion documents 001 missing text, 002 invalid text length.
DIFFUSION = {
    PROMPT_MISSING: 1,
    PROMPT_LENGTH: 2,
    CALLBACK_INVALID: 3,
    PARAM_INVALID: 4,
    GENERATION_FAILED: 98,
    SERVICE_UNAVAILABLE: 99,
}

_UPSCALE_TYPES = {0: ("standard", 2), 1: ("creative", 2), 2: ("v5_2x", 2), 3: ("v5_4x", 4)}
_DIRECTIONS = {0: "down", 1: "right", 2: "up", 3: "left"}

_KIND_SUFFIX = {
    "missing_param": PARAM_INVALID,
    "invalid_param": PARAM_INVALID,
    "prompt_length": PROMPT_LENGTH,
    "callback_url_invalid": CALLBACK_INVALID,
    "parent_invalid": PARENT_INVALID,
    "image_number_range": IMAGE_NO_INVALID,
    "not_draft": PARENT_INVALID,
    "retexture_followup": PARENT_INVALID,
    "upscale_of_upscale": PARENT_INVALID,
}
_GATEWAY_STATUS = {
    "unauthorized": 401,
    "unauthorized_missing": 401,
    "unauthorized_format": 401,
    "insufficient_credits": 403,  # Vtrix: "403 insufficient balance or permission denied"
    "model_access_denied": 403,
    "not_found": 404,
    "task_id_format": 404,
    "rate_limited": 429,
    "unknown_model": 400,
    "invalid_request": 400,
}


def code_for(model: str, suffix: int) -> int:
    prefix = MODELS[model][1]
    if model == "midjourney_diffusion":
        suffix = DIFFUSION.get(suffix, suffix)
    return int(f"{prefix}{suffix:03d}")


def _err(model: str, suffix: int, message: str) -> SimError:
    return SimError("invalid_param", message, provider_code=code_for(model, suffix))


class Vtrix(Dialect):
    name = "vtrix"
    create_path = "/model/v1/generation"
    poll_pattern = re.compile(r"/model/v1/generation/task/([^/]+)")
    supports_callbacks = True

    def new_task_id(self) -> str:
        return f"task_{secrets.token_hex(12)}"

    def parse_create(self, body: Any, *, strict_callbacks: bool) -> CreateRequest:
        if not isinstance(body, dict):
            raise SimError("invalid_request", "Request body must be a JSON object")
        model = body.get("model")
        params: dict[str, Any] = {k: v for k, v in body.items() if k != "input"}
        wrapped = body.get("input")
        if isinstance(wrapped, list) and wrapped and isinstance(wrapped[0], dict):
            inner = wrapped[0].get("params", {})
            if isinstance(inner, dict):
                params.update(inner)
        if model not in MODELS:
            raise SimError("unknown_model", f"Unsupported model: {model}", field="model")
        op = MODELS[model][0]
        req = CreateRequest(operation=op, model=model)
        callback = params.get("callback")
        if callback is not None:
            if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
                raise _err(model, CALLBACK_INVALID, "Invalid callback URL")
            if callback_url_problem(callback, strict=False):
                raise _err(model, CALLBACK_INVALID, "Invalid callback URL")
            req.callback_url = callback

        if op == ops.GENERATE:
            text = self._text(model, params.get("text"), required=True)
            assert text is not None
            try:
                check_image_prompt_rule(text)
            except SimError as exc:
                raise _err(model, PARAM_INVALID, exc.message) from exc
            req.prompt = text
            req.speed = self._speed(model, text, allow_draft=True)
            return req

        req.parent_id = self._job_id(model, params)
        req.image_number = self._image_no(model, params)
        prompt_required = op in (ops.REMIX, ops.EDIT)
        if op not in (ops.UPSCALE, ops.ENHANCE):
            req.prompt = self._text(model, params.get("remixPrompt"), required=prompt_required)
            req.speed = self._speed(model, req.prompt or "", allow_draft=False)
        if op == ops.UPSCALE:
            kind = self._int_enum(model, params, "type", _UPSCALE_TYPES, required=True)
            req.params["type"], req.params["factor"] = _UPSCALE_TYPES[kind]
        elif op == ops.VARIATION:
            kind = self._int_enum(model, params, "type", {0: "subtle", 1: "strong"}, required=True)
            req.params["type"] = ("subtle", "strong")[kind]
        elif op == ops.REMIX:
            mode = self._int_enum(model, params, "mode", {0: "strong", 1: "subtle"}, default=0)
            req.params["mode"] = ("strong", "subtle")[mode]
        elif op == ops.PAN:
            direction = self._int_enum(model, params, "direction", _DIRECTIONS, default=0)
            req.params["direction"] = _DIRECTIONS[direction]
            req.params["scale"] = self._scale(model, params, 1.1, 3.0, required=False)
        elif op == ops.OUTPAINT:
            req.params["scale"] = self._scale(model, params, 1.1, 2.0, required=True)
        elif op == ops.INPAINT:
            if params.get("mask") is None:
                raise _err(model, PARAM_INVALID, "mask is required")
            req.params["mask"] = self._wrap(model, mask, params["mask"], "mask", (500, 4096))
        elif op == ops.EDIT:
            for name in ("canvas", "imgPos"):
                if params.get(name) is None:
                    raise _err(model, PARAM_INVALID, f"{name} is required")
            req.params["canvas"] = self._wrap(model, canvas, params["canvas"], "canvas")
            req.params["img_pos"] = self._wrap(model, img_pos, params["imgPos"], "imgPos")
            if params.get("mask") is not None:
                req.params["mask"] = self._wrap(model, mask, params["mask"], "mask", (500, 4096))
        return req

    # -- field helpers -------------------------------------------------------

    @staticmethod
    def _wrap(model: str, fn: Any, value: Any, path: str, *extra: Any) -> Any:
        try:
            if extra:
                return fn(value, path, area_range=extra[0])
            return fn(value, path)
        except SimError as exc:
            raise _err(model, PARAM_INVALID, exc.message) from exc

    @staticmethod
    def _text(model: str, value: Any, *, required: bool) -> str | None:
        if value is None or value == "":
            if required:
                raise _err(model, PROMPT_MISSING, "Prompt is missing")
            return None
        if not isinstance(value, str) or len(value) > ops.MAX_PROMPT:
            raise _err(model, PROMPT_LENGTH, "Prompt length must be between 1-8192 characters")
        return value

    @staticmethod
    def _speed(model: str, text: str, *, allow_draft: bool) -> str:
        try:
            flag = ops.parse_prompt(text).speed_flag
        except SimError as exc:
            raise _err(model, PARAM_INVALID, exc.message) from exc
        if flag == "draft" and not allow_draft:
            return "fast"
        return flag or "fast"

    @staticmethod
    def _job_id(model: str, params: dict[str, Any]) -> str:
        value = params.get("jobId")
        if value is None or value == "":
            raise _err(model, TASK_ID_MISSING, "Task ID missing")
        if not isinstance(value, str):
            raise _err(model, PARENT_INVALID, "jobId must be a string")
        return value

    @staticmethod
    def _image_no(model: str, params: dict[str, Any]) -> int:
        if "imageNo" not in params or params["imageNo"] is None:
            raise _err(model, IMAGE_NO_MISSING, "Image number missing")
        value = params["imageNo"]
        if isinstance(value, bool) or value not in (0, 1, 2, 3):
            raise _err(model, IMAGE_NO_INVALID, "Invalid image number: must be 0, 1, 2 or 3")
        return int(value)

    @staticmethod
    def _int_enum(
        model: str,
        params: dict[str, Any],
        name: str,
        allowed: dict[int, Any],
        *,
        required: bool = False,
        default: int = 0,
    ) -> int:
        if params.get(name) is None:
            if required:
                raise _err(model, ENUM_INVALID, f"{name} is required")
            return default
        value = params[name]
        if isinstance(value, bool) or value not in allowed:
            options = ", ".join(str(k) for k in allowed)
            raise _err(model, ENUM_INVALID, f"Invalid {name}: must be one of {options}")
        return int(value)

    @staticmethod
    def _scale(
        model: str, params: dict[str, Any], low: float, high: float, *, required: bool
    ) -> float:
        value = params.get("scale")
        if value is None:
            if required:
                raise _err(model, PARAM_INVALID, "scale is required")
            return 1.5
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise _err(model, PARAM_INVALID, f"scale must be a number between {low} and {high}")
        return float(value)

    # -- responses -----------------------------------------------------------

    def _common(self, view: TaskView) -> dict[str, Any]:
        task = view.task
        return {
            # The CLI reads "id", the docs' example shows "task_id": send both.
            "id": task.id,
            "task_id": task.id,
            "model": task.model,
            "status": view.status,
            "progress": round(view.progress / 100, 2),
            "created_at": int(task.created_at),
        }

    def create_response(self, view: TaskView) -> dict[str, Any]:
        return self._common(view)

    def task_body(self, view: TaskView) -> dict[str, Any]:
        body = self._common(view)
        body["metadata"] = {}
        if view.status == "completed":
            body["output"] = [{"content": [{"type": "image", "url": url} for url in view.urls]}]
            cost = view.task.price.quantize(Decimal("0.000001"))
            body["usage"] = {
                "cost": str(cost),
                "discount": 0,
                "quantity": 1,
                "unit_price": str(cost),
            }
        if view.status == "failed":
            suffix = GENERATION_FAILED
            if view.failure_code == "service_error":
                suffix = SERVICE_UNAVAILABLE
            body["error"] = {
                "code": code_for(view.task.model, suffix),
                "error_message": view.failure_message,
            }
        return body

    def error(self, err: SimError, endpoint: str, model: str | None = None) -> ErrorReply:
        headers = retry_after_header(err)
        if err.kind == "server_error":
            status = err.status or 500
            return ErrorReply(
                status, {"error": {"code": status, "error_message": err.message}}, headers
            )
        if err.provider_code is not None:
            return ErrorReply(
                400, {"error": {"code": err.provider_code, "error_message": err.message}}, headers
            )
        status = err.status or _GATEWAY_STATUS.get(err.kind)
        if status is None:
            model = model if model in MODELS else None
            suffix = _KIND_SUFFIX.get(err.kind, PARAM_INVALID)
            code = code_for(model, suffix) if model else 400
            return ErrorReply(400, {"error": {"code": code, "error_message": err.message}}, headers)
        return ErrorReply(
            status, {"error": {"code": status, "error_message": err.message}}, headers
        )
