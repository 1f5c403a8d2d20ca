"""Request parsing shared by evolink and reAPI, which use the same ``mj-v7*`` schema.

Field rules follow the evolink OpenAPI files and providers.md §2.5 / §3.5:
required fields, enums (with their defaults), ranges, and the documented
"1 image + no text" rule. Anything wrong raises a SimError whose ``kind`` each
dialect turns into its own status and code.
"""

from __future__ import annotations

from typing import Any

from .. import operations as ops
from ..operations import CreateRequest, SimError
from .base import callback_url_problem

SPEED_ENUM_GENERATE = ("draft", "fast", "turbo")
SPEED_ENUM_EDIT = ("fast", "turbo")


def missing(name: str) -> SimError:
    return SimError("missing_param", f"Missing required parameter: {name}", field=name)


def invalid(name: str, detail: str) -> SimError:
    return SimError("invalid_param", f"Invalid parameter {name}: {detail}", field=name)


def enum(params: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.get(name, default)
    if value is None:
        return default
    if value not in allowed:
        raise invalid(f"model_params.{name}", f"must be one of {', '.join(allowed)}")
    return str(value)


def number(params: dict[str, Any], name: str, low: float, high: float, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"model_params.{name}", "must be a number")
    if not low <= value <= high:
        raise invalid(f"model_params.{name}", f"must be between {low} and {high}")
    return float(value)


def image_number(params: dict[str, Any]) -> int:
    value = params.get("image_number", 0)
    if isinstance(value, bool) or value not in (0, 1, 2, 3):
        raise invalid("model_params.image_number", "must be one of 0, 1, 2, 3")
    return int(value)


def positive_int(obj: dict[str, Any], name: str, path: str, *, allow_negative: bool = False) -> int:
    if name not in obj:
        raise missing(f"{path}.{name}")
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{path}.{name}", "must be an integer")
    if not allow_negative and value <= 0:
        raise invalid(f"{path}.{name}", "must be positive")
    if abs(value) > ops.MAX_CANVAS:
        raise invalid(f"{path}.{name}", f"must not exceed {ops.MAX_CANVAS}")
    return value


def canvas(value: Any, path: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise invalid(path, "must be an object with width and height")
    return {k: positive_int(value, k, path) for k in ("width", "height")}


def img_pos(value: Any, path: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise invalid(path, "must be an object with width, height, x and y")
    pos = {k: positive_int(value, k, path) for k in ("width", "height")}
    pos.update({k: positive_int(value, k, path, allow_negative=True) for k in ("x", "y")})
    return pos


def mask(value: Any, path: str, *, area_range: tuple[int, int] | None = None) -> dict[str, Any]:
    """``{areas:[{width,height,points}]}`` or ``{url}``, mutually exclusive (oneOf)."""
    if not isinstance(value, dict):
        raise invalid(path, "must be an object with areas or url")
    has_areas, has_url = "areas" in value, "url" in value
    if has_areas == has_url:
        raise invalid(path, "give exactly one of areas or url")
    if has_url:
        url = value["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid(f"{path}.url", "must be a public http(s) URL")
        return {"url": url}
    areas = value["areas"]
    if not isinstance(areas, list) or not areas:
        raise invalid(f"{path}.areas", "must be a non-empty array")
    clean = []
    for i, area in enumerate(areas):
        where = f"{path}.areas[{i}]"
        if not isinstance(area, dict):
            raise invalid(where, "must be an object")
        width = positive_int(area, "width", where)
        height = positive_int(area, "height", where)
        if area_range and not (
            area_range[0] <= width <= area_range[1] and area_range[0] <= height <= area_range[1]
        ):
            raise invalid(where, f"width and height must be {area_range[0]}-{area_range[1]}")
        points = area.get("points")
        if (
            not isinstance(points, list)
            or len(points) < 6
            or len(points) % 2
            or any(isinstance(p, bool) or not isinstance(p, int | float) for p in points)
        ):
            raise invalid(f"{where}.points", "must be x1,y1,x2,y2,... with at least 3 points")
        clean.append({"width": width, "height": height, "points": points})
    return {"areas": clean}


def check_prompt(prompt: Any, *, required: bool, name: str = "prompt") -> str | None:
    if prompt is None or prompt == "":
        if required:
            raise missing(name)
        return None
    if not isinstance(prompt, str):
        raise invalid(name, "must be a string")
    if len(prompt) > ops.MAX_PROMPT:
        raise SimError(
            "prompt_length", f"{name} must be at most {ops.MAX_PROMPT} characters", field=name
        )
    return prompt


def check_image_prompt_rule(prompt: str) -> None:
    """V7: image URLs at the start; 1 image + no text is invalid, 2+ without text is fine."""
    parsed = ops.parse_prompt(prompt)
    if not parsed.text and len(parsed.image_urls) == 1:
        raise SimError("invalid_param", "A single image prompt needs a text description")
    if not parsed.text and not parsed.image_urls:
        raise SimError("missing_param", "prompt must contain a text description", field="prompt")


def source_urls(value: Any) -> list[str]:
    if value is None:
        raise missing("image_urls")
    if not isinstance(value, list) or not value:
        raise invalid("image_urls", "must be an array with one URL")
    if len(value) > 1:
        raise invalid("image_urls", "accepts at most 1 item")
    url = value[0]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise invalid("image_urls", "must be a public http(s) URL (no base64 or data: URIs)")
    return [url]


def parse_unified(body: Any, *, strict_callbacks: bool) -> CreateRequest:
    if not isinstance(body, dict):
        raise SimError("invalid_request", "Request body must be a JSON object")
    model = body.get("model")
    if model is None:
        raise missing("model")
    if model not in ops.OPERATIONS:
        raise SimError("unknown_model", f"Unsupported model: {model}", field="model")
    params = body.get("model_params") or {}
    if not isinstance(params, dict):
        raise invalid("model_params", "must be an object")
    callback = body.get("callback_url")
    if callback is not None:
        problem = callback_url_problem(callback, strict=strict_callbacks)
        if problem:
            raise SimError("callback_url_invalid", problem, field="callback_url")

    req = CreateRequest(operation=model, model=model, callback_url=callback)
    op = model
    prompt_required = op in (ops.GENERATE, ops.REMIX, ops.EDIT, ops.RETEXTURE, ops.UPLOAD_PAINT)
    prompt_allowed = op not in (ops.UPSCALE, ops.ENHANCE, ops.REMOVE_BG)
    prompt = check_prompt(body.get("prompt"), required=prompt_required)
    # upscale / enhance / remove-bg take no prompt; the real API ignores one.
    req.prompt = prompt if prompt_allowed else None
    if op == ops.GENERATE:
        assert prompt is not None
        check_image_prompt_rule(prompt)
        req.speed = enum(params, "speed", SPEED_ENUM_GENERATE, "fast")
    elif op not in (ops.UPSCALE, ops.ENHANCE, ops.REMOVE_BG):
        req.speed = enum(params, "speed", SPEED_ENUM_EDIT, "fast")
    if req.prompt:
        ops.parse_prompt(req.prompt)  # flag ranges

    if op in ops.PARENT_OPS:
        task_id = params.get("task_id")
        if task_id is None or task_id == "":
            raise missing("model_params.task_id")
        if not isinstance(task_id, str):
            raise invalid("model_params.task_id", "must be a string")
        req.parent_id = task_id
        req.image_number = image_number(params)
    if op == ops.VARIATION:
        req.params["type"] = enum(params, "type", ("subtle", "strong"), "subtle")
    elif op == ops.UPSCALE:
        req.params["type"] = enum(params, "type", ("standard", "creative"), "standard")
    elif op == ops.REMIX:
        req.params["mode"] = enum(params, "mode", ("strong", "subtle"), "strong")
    elif op == ops.PAN:
        req.params["direction"] = enum(params, "direction", ("down", "right", "up", "left"), "down")
        req.params["scale"] = number(params, "scale", 1.1, 3.0, 1.5)
    elif op == ops.OUTPAINT:
        req.params["scale"] = number(params, "scale", 1.1, 2.0, 1.5)
    elif op == ops.INPAINT:
        if "mask" not in params:
            raise missing("model_params.mask")
        req.params["mask"] = mask(params["mask"], "model_params.mask")
    elif op in (ops.EDIT, ops.UPLOAD_PAINT):
        if op == ops.UPLOAD_PAINT:
            if "mask" not in params:
                raise missing("model_params.mask")
            req.params["mask"] = mask(params["mask"], "model_params.mask")
        elif params.get("mask") is not None:
            req.params["mask"] = mask(params["mask"], "model_params.mask")
        for name in ("canvas", "img_pos"):
            if name not in params:
                raise missing(f"model_params.{name}")
        req.params["canvas"] = canvas(params["canvas"], "model_params.canvas")
        req.params["img_pos"] = img_pos(params["img_pos"], "model_params.img_pos")
    if op in ops.IMAGE_URL_OPS:
        req.image_urls = source_urls(body.get("image_urls"))
    return req
