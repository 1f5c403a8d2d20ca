"""The team API's OpenAPI 3.1 document, and the same facts arranged for the docs page.

Built from the code it describes, so it cannot drift: the models, enums and
ranges come from the operation catalog (`gallery.operations`), the error
codes, types and statuses from `gallery.api`, the task id pattern and the
status words from there too. A schemathesis run in the test suite checks the
views against this document (tests/api/test_api_schemathesis.py).
"""

from __future__ import annotations

import json
from typing import Any

from gallery import api, operations
from gallery.operations import OPERATIONS, PROVIDERS
from gallery.prompt import MAX_PROMPT_LENGTH

JSON = "application/json"
MODELS = list(OPERATIONS)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _choices(name: str) -> list[str]:
    """Every value the catalog allows for a choice parameter, across operations."""
    seen: list[str] = []
    for op in OPERATIONS.values():
        spec = op.param(name)
        for choice in spec.choices if spec else ():
            if choice not in seen:
                seen.append(choice)
    return seen


def _scale_range() -> tuple[float, float]:
    specs = [op.param("scale") for op in OPERATIONS.values() if op.param("scale")]
    return (
        float(min(s.minimum for s in specs if s and s.minimum is not None)),
        float(max(s.maximum for s in specs if s and s.maximum is not None)),
    )


# --- schemas --------------------------------------------------------------------------


def _schemas() -> dict[str, Any]:
    low, high = _scale_range()
    speeds = list(dict.fromkeys(s for op in OPERATIONS.values() for s in op.speeds))
    # The catalog's bounds, so a client knows them before a 400 tells it.
    box = {"type": "integer", "minimum": 1, "maximum": operations.MAX_SIDE}
    low_offset, high_offset = operations.BOX_RANGES["x"]
    offset = {"type": "integer", "minimum": low_offset, "maximum": high_offset}
    first_point, last_point = operations.MASK_POINT_RANGE
    return {
        "ImageGenerationRequest": {
            "type": "object",
            "required": ["model"],
            "properties": {
                "model": {
                    "type": "string",
                    "enum": MODELS,
                    "description": "The operation, as evolink names it. Which fields each one "
                    "needs is in the model table of the docs page.",
                },
                "prompt": {
                    "type": "string",
                    "maxLength": MAX_PROMPT_LENGTH,
                    "description": "Native Midjourney V7 syntax: [image URLs] text --param value. "
                    "Required for mj-v7, remix, edit, retexture and upload-paint; optional for "
                    "variation, pan, outpaint and inpaint; not allowed for the rest. One "
                    "request makes one task: permutation braces {a, b} and --repeat (which "
                    "the web create bar expands into several jobs) are refused with 400 "
                    "invalid_request, param prompt; send one request per prompt.",
                },
                "image_urls": {
                    "type": "array",
                    "maxItems": 1,
                    "items": {"type": "string", "format": "uri"},
                    "description": "Exactly one public http(s) image URL for mj-v7-remove-bg, "
                    "mj-v7-retexture and mj-v7-upload-paint; not allowed otherwise.",
                },
                "model_params": _ref("ModelParams"),
                "callback_url": {
                    "type": "string",
                    "format": "uri",
                    "maxLength": api.MAX_CALLBACK_URL,
                    "description": "https URL mjweb POSTs the task body to when the task is "
                    "completed, failed or cancelled and billed: 10 s per attempt, retried after "
                    "1 s, 2 s and 4 s, any 2xx is success. Private and local addresses are "
                    "refused.",
                },
                "provider": {
                    "type": "string",
                    "enum": list(PROVIDERS),
                    "description": "Which aggregator runs the task. Default: the site's default "
                    "provider, or for an edit the provider that made its parent.",
                },
            },
        },
        "ModelParams": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "task_id": {
                    "type": "string",
                    "description": "For edits: the mjweb task id (task-unified-mjw-…) of a "
                    "completed task in your team, from this API or the gallery.",
                },
                "image_number": {
                    "type": "integer",
                    "enum": list(operations.IMAGE_NUMBERS),
                    "description": "For edits: which image of the parent grid (default 0).",
                },
                "speed": {
                    "type": "string",
                    "enum": speeds,
                    "description": "draft only for mj-v7; edits take fast or turbo (default fast).",
                },
                "type": {
                    "type": "string",
                    "enum": _choices("type"),
                    "description": "mj-v7-variation: subtle | strong; "
                    "mj-v7-upscale: standard | creative.",
                },
                "mode": {"type": "string", "enum": _choices("mode"), "description": "mj-v7-remix."},
                "direction": {
                    "type": "string",
                    "enum": _choices("direction"),
                    "description": "mj-v7-pan.",
                },
                "scale": {
                    "type": "number",
                    "minimum": low,
                    "maximum": high,
                    "description": "mj-v7-pan (1.1-3) and mj-v7-outpaint (1.1-2); default 1.5.",
                },
                "mask": _ref("Mask"),
                "canvas": {
                    "type": "object",
                    "required": ["width", "height"],
                    "additionalProperties": False,
                    "properties": {"width": box, "height": box},
                    "description": "mj-v7-edit and mj-v7-upload-paint: the canvas in pixels.",
                },
                "img_pos": {
                    "type": "object",
                    "required": ["width", "height", "x", "y"],
                    "additionalProperties": False,
                    "properties": {
                        "width": box,
                        "height": box,
                        "x": offset,
                        "y": offset,
                    },
                    "description": "mj-v7-edit and mj-v7-upload-paint: where the source image "
                    "sits on the canvas.",
                },
            },
        },
        "Mask": {
            "description": "Polygons (points is a flat x1, y1, x2, y2, … list) or a mask image "
            "URL (white is repainted), not both.",
            "oneOf": [
                {
                    "type": "object",
                    "required": ["areas"],
                    "additionalProperties": False,
                    "properties": {
                        "areas": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": operations.MAX_MASK_AREAS,
                            "items": {
                                "type": "object",
                                "required": ["width", "height", "points"],
                                "additionalProperties": False,
                                "properties": {
                                    "width": box,
                                    "height": box,
                                    "points": {
                                        "type": "array",
                                        "minItems": 6,
                                        "maxItems": operations.MAX_MASK_NUMBERS,
                                        "items": {
                                            "type": "number",
                                            "minimum": first_point,
                                            "maximum": last_point,
                                        },
                                        "description": "At most "
                                        f"{operations.MAX_MASK_NUMBERS} numbers in all areas "
                                        "together.",
                                    },
                                },
                            },
                        }
                    },
                },
                {
                    "type": "object",
                    "required": ["url"],
                    "additionalProperties": False,
                    "properties": {"url": {"type": "string", "format": "uri"}},
                },
            ],
        },
        "Task": {
            "type": "object",
            "description": "evolink's task object. The create answer, the poll answer and the "
            "callback body are all this.",
            "required": [
                "id",
                "object",
                "model",
                "status",
                "progress",
                "created",
                "type",
                "provider",
                "task_info",
                "results",
                "error",
                "usage",
            ],
            "properties": {
                "id": {"type": "string", "pattern": r"^task-unified-mjw-[1-9][0-9]*$"},
                "object": {"type": "string", "enum": ["image.generation.task"]},
                "model": {"type": "string", "enum": MODELS},
                "status": {
                    "type": "string",
                    "enum": list(dict.fromkeys(api.STATUSES.values())),
                    "description": "pending: waiting to be sent (also while it waits in line "
                    "behind your in-flight cap); processing: the provider is "
                    "working, or mjweb is storing the images; completed: results are ready; "
                    "failed: see error (a cancelled task is failed with request_cancelled).",
                },
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "created": {"type": "integer", "description": "Unix time."},
                "type": {"type": "string", "enum": ["image"]},
                "provider": {"type": "string", "enum": list(PROVIDERS)},
                "task_info": {
                    "type": "object",
                    "required": ["can_cancel", "estimated_time"],
                    "properties": {
                        "can_cancel": {
                            "type": "boolean",
                            "description": "Whether it can still be cancelled (in the gallery).",
                        },
                        "estimated_time": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "Seconds, the provider's estimate once it has one.",
                        },
                    },
                },
                "results": {
                    "type": "array",
                    "maxItems": 4,
                    "items": {"type": "string", "format": "uri"},
                    "description": "mjweb's own copies of the images, in grid order, once "
                    "completed. A plain GET fetches them, so keep the URLs private. They are "
                    "short-lived (MJWEB_API_FILE_URL_SECONDS, an hour by default; then 410 "
                    "url_expired): read the task again for fresh ones. Moderation can leave "
                    "fewer than four.",
                },
                "error": {"anyOf": [{"type": "null"}, _ref("TaskError")]},
                "usage": _ref("Usage"),
            },
        },
        "TaskError": {
            "type": "object",
            "required": ["code", "message", "type"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": sorted(
                        {
                            *api.TASK_ERROR_CODES.values(),
                            "request_cancelled",
                            "generation_timeout",
                            "unknown_error",
                        }
                    ),
                },
                "message": {"type": "string"},
                "type": {"type": "string", "enum": ["task_error"]},
            },
        },
        "Usage": {
            "type": "object",
            "required": ["billing_rule", "credits_reserved", "credits_charged", "user_group"],
            "properties": {
                "billing_rule": {"type": "string", "enum": ["per_call"]},
                "credits_reserved": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Credits held for the task (1 credit = $0.001).",
                },
                "credits_charged": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "description": "What it finally cost: the reservation when completed, "
                    "0 when failed or cancelled (refunded), null while in flight.",
                },
                "user_group": {"type": "string"},
            },
        },
        "Balance": {
            "type": "object",
            "required": [
                "object",
                "team",
                "user",
                "role",
                "credits",
                "reserved",
                "spent_this_month",
                "in_flight",
                "limits",
            ],
            "properties": {
                "object": {"type": "string", "enum": ["balance"]},
                "team": {"type": "string"},
                "user": {"type": "string"},
                "role": {"type": "string", "enum": ["admin", "member", "viewer"]},
                "credits": {"type": "integer", "minimum": 0, "description": "Spendable now."},
                "reserved": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Held by tasks in flight (already taken out of credits).",
                },
                "spent_this_month": {"type": "integer"},
                "in_flight": {"type": "integer", "minimum": 0},
                "limits": {
                    "type": "object",
                    "required": [
                        "monthly",
                        "monthly_remaining",
                        "team_monthly",
                        "team_monthly_remaining",
                        "max_in_flight",
                        "requests_per_window",
                        "window_seconds",
                    ],
                    "properties": {
                        "monthly": {"type": ["integer", "null"]},
                        "monthly_remaining": {"type": ["integer", "null"], "minimum": 0},
                        "team_monthly": {"type": ["integer", "null"]},
                        "team_monthly_remaining": {"type": ["integer", "null"], "minimum": 0},
                        "max_in_flight": {"type": "integer", "minimum": 0},
                        "requests_per_window": {"type": "integer", "minimum": 1},
                        "window_seconds": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
        "ErrorResponse": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "type", "param"],
                    "properties": {
                        "code": {"type": "string", "enum": list(api.ERROR_STATUS)},
                        "message": {"type": "string"},
                        "type": {"type": "string", "enum": sorted(set(api.ERROR_TYPES.values()))},
                        "param": {
                            "type": ["string", "null"],
                            "description": "The offending request field, header or prompt "
                            "flag (e.g. prompt, task_id, --ar, Idempotency-Key).",
                        },
                        "issues": {
                            "type": "array",
                            "description": "Every problem found, for 400s from validation.",
                            "items": _ref("Issue"),
                        },
                    },
                }
            },
        },
        "Issue": {
            "type": "object",
            "required": ["code", "param", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "The validator's code, e.g. "
                    "param_out_of_range, image_without_text, parent_not_draft.",
                },
                "param": {"type": "string"},
                "message": {"type": "string"},
            },
        },
    }


# --- responses --------------------------------------------------------------------------

_ERROR_EXAMPLES: dict[str, tuple[str, str | None]] = {
    "invalid_request": ("--s must be between 0 and 1000 (got 5000)", "--s"),
    "unauthorized": ("Invalid token", None),
    "insufficient_quota": (
        "This costs 80 credits and you have 12. Ask a team admin for more.",
        None,
    ),
    "model_access_denied": ("Viewers cannot generate", None),
    "task_not_found": ("Task not found", None),
    "not_found": ("No such file", None),
    "rate_limit_exceeded": (
        "Too many requests: a token may make 120 per 60 s. Try again in 17 s.",
        None,
    ),
    "internal_error": ("Internal server error", None),
}
_ERROR_WHEN: dict[str, str] = {
    "invalid_request": "The body, a field, a header or the prompt is wrong; message and param "
    "say which (the same checks as the web form).",
    "unauthorized": "No token, not 'Bearer <token>', or a token that is unknown, revoked or "
    "expired.",
    "insufficient_quota": "Not enough credits, or the task would pass your or your team's "
    "monthly limit.",
    "model_access_denied": "The token's owner is a viewer in this team: viewers cannot generate.",
    "task_not_found": "No such task in the token's team (another team's tasks are not found "
    "either).",
    "not_found": "No such endpoint or file, or a file URL whose job was deleted, made private "
    "or whose token was revoked.",
    "url_expired": "The file URL's time is up; read the task again for fresh result URLs.",
    "method_not_allowed": "Wrong HTTP method.",
    "rate_limit_exceeded": "Too many requests for this token in the window, or too many "
    "unknown tokens from your address. Wait Retry-After seconds. (Tasks past your in-flight "
    "cap are not refused: they are accepted as pending and wait in line.)",
    "internal_error": "An unexpected error in mjweb (it is logged). Retry a create with the "
    "same Idempotency-Key: you get the task back if one was made.",
}
_RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests this token may make per window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer", "minimum": 0},
    },
}


def _error(code: str, description: str | None = None) -> dict[str, Any]:
    message, param = _ERROR_EXAMPLES.get(code, ("", None))
    response: dict[str, Any] = {
        "description": description or _ERROR_WHEN[code],
        "content": {
            JSON: {
                "schema": _ref("ErrorResponse"),
                "example": {
                    "error": {
                        "code": code,
                        "message": message,
                        "type": api.ERROR_TYPES[code],
                        "param": param,
                    }
                },
            }
        },
    }
    if code == "rate_limit_exceeded":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            },
            **_RATE_HEADERS,
        }
    if code == "unauthorized":
        response["headers"] = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    return response


def _errors(*codes: str) -> dict[str, Any]:
    """Responses for these codes, one per status (a status shared by two codes
    lists both in its description)."""
    out: dict[str, Any] = {}
    for code in codes:
        status = str(api.ERROR_STATUS[code])
        if status in out:
            out[status]["description"] += " Or: " + _ERROR_WHEN[code]
        else:
            out[status] = _error(code)
    return out


def _prompt_too_long() -> dict[str, Any]:
    """The one invalid_request with a status of its own: the prompt is longer
    than the limit, which the message names; nothing is cut to fit."""
    response = _error(
        "invalid_request",
        f"The prompt is longer than {MAX_PROMPT_LENGTH} characters; the message names the "
        "limit and the length sent. Nothing is cut to fit: shorten the prompt.",
    )
    example = response["content"][JSON]["example"]["error"]
    example["message"] = f"The prompt is 9000 characters long; the limit is {MAX_PROMPT_LENGTH}"
    example["param"] = "prompt"
    return response


_AUTH_ERRORS = ("unauthorized", "rate_limit_exceeded", "internal_error")


def _task_example(status: str = "completed", **changes: Any) -> dict[str, Any]:
    example = {
        "id": "task-unified-mjw-42",
        "object": "image.generation.task",
        "model": "mj-v7",
        "status": status,
        "progress": {"pending": 0, "processing": 40}.get(status, 100),
        "created": 1767225600,
        "type": "image",
        "provider": "evolink",
        "task_info": {"can_cancel": status == "pending", "estimated_time": 45},
        "results": [],
        "error": None,
        "usage": {
            "billing_rule": "per_call",
            "credits_reserved": 80,
            "credits_charged": None,
            "user_group": "default",
        },
    }
    if status == "completed":
        example["results"] = [
            f"https://mjweb.example.org/api/v1/files/{n}.7.1kX3aB.SIGNATURE.png"
            for n in (101, 102, 103, 104)
        ]
        example["usage"] = {**example["usage"], "credits_charged": 80}
    if status == "failed":
        example["error"] = {
            "code": "content_policy_violation",
            "message": "Content policy violation.",
            "type": "task_error",
        }
        example["usage"] = {**example["usage"], "credits_charged": 0}
    example.update(changes)
    return example


REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "text_to_image": {
        "summary": "Text to image",
        "value": {
            "model": "mj-v7",
            "prompt": "A cinematic shot of a Maine Coon cat on a neon-lit balcony "
            "--ar 16:9 --s 500",
            "model_params": {"speed": "fast"},
        },
    },
    "image_to_image": {
        "summary": "Image prompt, with a callback",
        "value": {
            "model": "mj-v7",
            "prompt": "https://example.com/ref.jpg A sunset landscape in watercolor --iw 1.5",
            "model_params": {"speed": "turbo"},
            "callback_url": "https://example.com/webhooks/mjweb",
        },
    },
    "upscale": {
        "summary": "Upscale image 1 of an earlier task",
        "value": {
            "model": "mj-v7-upscale",
            "model_params": {
                "task_id": "task-unified-mjw-42",
                "image_number": 1,
                "type": "creative",
            },
        },
    },
    "pan": {
        "summary": "Pan right",
        "value": {
            "model": "mj-v7-pan",
            "model_params": {
                "task_id": "task-unified-mjw-42",
                "image_number": 0,
                "direction": "right",
                "scale": 2.0,
            },
        },
    },
    "inpaint": {
        "summary": "Vary region (inpaint) with a polygon",
        "value": {
            "model": "mj-v7-inpaint",
            "prompt": "Add a cherry blossom tree",
            "model_params": {
                "task_id": "task-unified-mjw-42",
                "image_number": 0,
                "mask": {
                    "areas": [
                        {
                            "width": 200,
                            "height": 200,
                            "points": [50, 50, 50, 250, 250, 250, 250, 50],
                        }
                    ]
                },
            },
        },
    },
    "edit": {
        "summary": "Canvas edit",
        "value": {
            "model": "mj-v7-edit",
            "prompt": "Beautiful mountain scenery background",
            "model_params": {
                "task_id": "task-unified-mjw-42",
                "canvas": {"width": 1024, "height": 1024},
                "img_pos": {"width": 512, "height": 512, "x": 256, "y": 256},
            },
        },
    },
    "retexture": {
        "summary": "Retexture a public image",
        "value": {
            "model": "mj-v7-retexture",
            "prompt": "made of polished brass",
            "image_urls": ["https://example.com/statue.png"],
        },
    },
}


def _paths() -> dict[str, Any]:
    bearer = [{"bearerAuth": []}]
    task_ok = {
        "description": "The task.",
        "headers": dict(_RATE_HEADERS),
        "content": {
            JSON: {
                "schema": _ref("Task"),
                "examples": {
                    "pending": {"summary": "Just created", "value": _task_example("pending")},
                    "completed": {"summary": "Completed", "value": _task_example()},
                    "failed": {"summary": "Failed (refunded)", "value": _task_example("failed")},
                },
            }
        },
    }
    created = {
        **task_ok,
        "description": "The task was created (credits reserved), or an Idempotency-Key "
        "repeated an earlier request and this is that task, as it is now.",
        "headers": {
            **_RATE_HEADERS,
            "Idempotent-Replayed": {
                "description": "true when this answer replays an earlier request's task.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
    }
    return {
        "/api/v1/images/generations": {
            "post": {
                "operationId": "createImageGeneration",
                "summary": "Create an image task",
                "description": "Creates a job in the team gallery under the token's owner: the "
                "same validation, prices, credits and monthly limits as the web form. Past your "
                "in-flight cap the task is still accepted (200, pending, credits reserved) and "
                "waits in line; it is sent when one of yours ends. Poll GET "
                "/api/v1/tasks/{task_id} or pass callback_url.",
                "security": bearer,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Any unique string per intended task (a UUID). Sending "
                        "the same key again returns the first task instead of creating and "
                        "charging a second one; with a different body it is a 400.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": api.MAX_IDEMPOTENCY_KEY,
                            "pattern": r"^[!-~]([ -~]*[!-~])?$",
                        },
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": _ref("ImageGenerationRequest"),
                            "examples": REQUEST_EXAMPLES,
                        }
                    },
                },
                "responses": {
                    "200": created,
                    **_errors(
                        "invalid_request",
                        "unauthorized",
                        "insufficient_quota",
                        "model_access_denied",
                        "rate_limit_exceeded",
                        "internal_error",
                    ),
                    str(api.PROMPT_TOO_LONG_STATUS): _prompt_too_long(),
                },
            }
        },
        "/api/v1/tasks/{task_id}": {
            "get": {
                "operationId": "getTask",
                "summary": "Read a task",
                "description": "Status, progress, results (mjweb's own image URLs, signed "
                "afresh for this token on every read and short-lived), error and usage. Any "
                "task of the token's team that its owner can see in the gallery, including ones "
                "made on the web.",
                "security": bearer,
                "parameters": [
                    {
                        "name": "task_id",
                        "in": "path",
                        "required": True,
                        "description": "The id from the create answer, e.g. task-unified-mjw-42.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": task_ok, **_errors("task_not_found", *_AUTH_ERRORS)},
            }
        },
        "/api/v1/balance": {
            "get": {
                "operationId": "getBalance",
                "summary": "Credits and limits",
                "description": "The token owner's credits in the token's team: spendable, held "
                "by tasks in flight, spent this month, and every limit that applies.",
                "security": bearer,
                "responses": {
                    "200": {
                        "description": "The balance.",
                        "headers": dict(_RATE_HEADERS),
                        "content": {
                            JSON: {
                                "schema": _ref("Balance"),
                                "example": {
                                    "object": "balance",
                                    "team": "demo",
                                    "user": "alice",
                                    "role": "admin",
                                    "credits": 4840,
                                    "reserved": 80,
                                    "spent_this_month": 160,
                                    "in_flight": 1,
                                    "limits": {
                                        "monthly": 2000,
                                        "monthly_remaining": 1840,
                                        "team_monthly": None,
                                        "team_monthly_remaining": None,
                                        "max_in_flight": 4,
                                        "requests_per_window": 120,
                                        "window_seconds": 60,
                                    },
                                },
                            }
                        },
                    },
                    **_errors(*_AUTH_ERRORS),
                },
            }
        },
        "/api/v1/files/{name}": {
            "get": {
                "operationId": "getResultFile",
                "summary": "A result image",
                "description": "The URLs in a task's results. The signed name is the "
                "credential (no header needed, as with evolink's CDN links). It covers the "
                "image, the token that read the task and the time of reading: it opens for "
                "MJWEB_API_FILE_URL_SECONDS (an hour by default), then answers 410 "
                "url_expired; read the task again for fresh URLs. Before that it answers 404 "
                "once the job is deleted, the token is revoked, or the token's owner may no "
                "longer see the job (a teammate's job made private).",
                "security": [],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "The image.",
                        "content": {
                            kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in ("image/png", "image/jpeg", "image/webp")
                        },
                    },
                    **_errors("not_found", "url_expired", "internal_error"),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                    **_errors("internal_error"),
                },
            }
        },
    }


def build(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with `server_url` (the site's root) as its server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mjweb team API",
            "version": "1.0.0",
            "description": "Midjourney V7 through your team's mjweb, in evolink's shapes: a "
            "script written for evolink (or reAPI) works by changing its base URL and key. "
            "Jobs, images and spend land in the team gallery and ledger under the token's "
            "owner. Errors use evolink's envelope {error: {code, message, type, param}}.",
        },
        "servers": [{"url": server_url, "description": "This mjweb"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal token (mjw_…) from the team's API tokens page. "
                    "It acts as you, in the team it was made in.",
                }
            },
            "schemas": _schemas(),
        },
    }


# --- the docs page --------------------------------------------------------------------------


def _type_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "enum" in schema:
        return " | ".join(json.dumps(v) if not isinstance(v, str) else v for v in schema["enum"])
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(_type_text(s) for s in schema.get("oneOf") or schema["anyOf"])
    kind = schema.get("type", "any")
    text = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array":
        text = f"array of {_type_text(schema.get('items', {}))}"
    bounds = [
        f"{label} {schema[key]}"
        for key, label in (
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("maxItems", "at most"),
        )
        if key in schema
    ]
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _fields(schema: dict[str, Any], schemas: dict[str, Any], prefix: str = "") -> list[dict]:
    """Rows for a schema's properties, descending into referenced objects once."""
    rows: list[dict] = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        target = prop
        if "$ref" in prop:
            target = schemas[prop["$ref"].rsplit("/", 1)[1]]
        rows.append(
            {
                "name": prefix + name,
                "type": _type_text(prop),
                "required": name in required,
                "description": prop.get("description") or target.get("description", ""),
            }
        )
        if "properties" in target and not prefix:
            rows += _fields(target, schemas, prefix=f"{prefix}{name}.")
    return rows


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def docs_context(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The document arranged for templates/gallery/api_docs.html."""
    schemas = document["components"]["schemas"]
    endpoints = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get(JSON)
            fields = []
            if body:
                target = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
                fields = _fields(target, schemas)
            responses = []
            for status, response in sorted(op["responses"].items()):
                content = response.get("content", {}).get(JSON, {})
                examples = [content["example"]] if "example" in content else []
                examples += [e["value"] for e in content.get("examples", {}).values()][:1]
                responses.append(
                    {
                        "status": status,
                        "description": response["description"],
                        "headers": list(response.get("headers", {})),
                        "example": _pretty(examples[0]) if examples else "",
                    }
                )
            endpoints.append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "auth": bool(op.get("security", document["security"])),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "type": _type_text(p["schema"]),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", ())
                    ],
                    "fields": fields,
                    "examples": [
                        {"title": e["summary"], "json": _pretty(e["value"])}
                        for e in (body or {}).get("examples", {}).values()
                    ],
                    "responses": responses,
                }
            )
    return {
        "document": document,
        "base_url": base_url,
        "endpoints": endpoints,
        "models": [
            {
                "id": op.id,
                "label": op.label,
                "source": {
                    "prompt": "text / image prompt",
                    "parent": "model_params.task_id (+ image_number)",
                    "image": "image_urls (one)",
                }[op.source],
                "prompt": op.prompt,
                "speeds": ", ".join(op.speeds) or "—",
                "params": ", ".join(f"{p.name}{'' if p.required else '?'}" for p in op.params)
                or "—",
                "providers": ", ".join(op.models),
            }
            for op in OPERATIONS.values()
        ],
        "errors": [
            {
                "status": status,
                "code": code,
                "type": api.ERROR_TYPES[code],
                "when": _ERROR_WHEN[code],
            }
            for code, status in api.ERROR_STATUS.items()
        ],
        "task_fields": _fields(schemas["Task"], schemas),
        "balance_fields": _fields(schemas["Balance"], schemas),
    }
