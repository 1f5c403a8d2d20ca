"""The team API's OpenAPI 3.1 document, and the same facts arranged for the docs page.

django-ninja builds the document from the endpoints (`gallery.api.views.api`) and
their pydantic schemas (`gallery.api.schemas`), which take their models,
enums and ranges from the operation catalog; this module adds what a schema
cannot say: each operation's words, its error answers (codes, types and
statuses from `gallery.api.translate`), the rate headers and the examples. A
schemathesis run in the test suite checks the views against the document
(tests/api/test_api_schemathesis.py).
"""

from __future__ import annotations

import json
from typing import Any

from ninja import NinjaAPI

from gallery.api import schemas as api_schemas
from gallery.api import translate as api
from gallery.catalog.operations import OPERATIONS
from gallery.catalog.prompt import MAX_PROMPT_LENGTH

JSON = "application/json"
API_PREFIX = "api/v1/"

DESCRIPTION = (
    "Midjourney V7 through your team's mjweb, in evolink's shapes: a script written for "
    "evolink (or reAPI) works by changing its base URL and key. Jobs, images and spend land "
    "in the team gallery and ledger under the token's owner. Errors use evolink's envelope "
    "{error: {code, message, type, param}}."
)
IDEMPOTENCY_KEY = (
    "Any unique string per intended task (a UUID). Sending the same key again returns the "
    "first task instead of creating and charging a second one; with a different body it is "
    "a 400."
)
TASK_ID = f"The id from the create answer, e.g. {api.task_id(42)}."


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
    """What the document adds to ninja's entry for an error status (whose schema is
    `api_schemas.ErrorResponse`)."""
    message, param = _ERROR_EXAMPLES.get(code, ("", None))
    response: dict[str, Any] = {
        "description": description or _ERROR_WHEN[code],
        "content": {
            JSON: {
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


def _errors(*codes: str) -> dict[int, Any]:
    """Responses for these codes, one per status (a status shared by two codes
    lists both in its description)."""
    out: dict[int, Any] = {}
    for code in codes:
        status = api.ERROR_STATUS[code]
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


def _task_ok(created: bool = False) -> dict[str, Any]:
    ok: dict[str, Any] = {
        "description": "The task.",
        "headers": dict(_RATE_HEADERS),
        "content": {
            JSON: {
                "examples": {
                    "pending": {"summary": "Just created", "value": _task_example("pending")},
                    "completed": {"summary": "Completed", "value": _task_example()},
                    "failed": {"summary": "Failed (refunded)", "value": _task_example("failed")},
                },
            }
        },
    }
    if created:
        ok["description"] = (
            "The task was created (credits reserved), or an Idempotency-Key repeated an "
            "earlier request and this is that task, as it is now."
        )
        ok["headers"] = {
            **_RATE_HEADERS,
            "Idempotent-Replayed": {
                "description": "true when this answer replays an earlier request's task.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        }
    return ok


_BALANCE_EXAMPLE = {
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
}

_BATCH_EXAMPLE = {
    "object": "batch",
    "id": 12,
    "name": "Spring product shots",
    "status": "running",
    "cap": 4000,
    "rows": 40,
    "jobs": 46,
    "total_credits": 3634,
    "url": "https://mjweb.example.com/t/demo/batches/12/",
}

# Each endpoint's words, answer and error codes, by operationId.
_OPERATIONS: dict[str, dict[str, Any]] = {
    "createImageGeneration": {
        "summary": "Create an image task",
        "description": "Creates a job in the team gallery under the token's owner: the same "
        "validation, prices, credits and monthly limits as the web form. Past your in-flight "
        "cap the task is still accepted (200, pending, credits reserved) and waits in line; it "
        "is sent when one of yours ends. Poll GET /api/v1/tasks/{task_id} or pass callback_url.",
        "model": api_schemas.Task,
        "ok": _task_ok(created=True),
        "errors": (
            "invalid_request",
            "unauthorized",
            "insufficient_quota",
            "model_access_denied",
            "rate_limit_exceeded",
            "internal_error",
        ),
    },
    "getTask": {
        "summary": "Read a task",
        "description": "Status, progress, results (mjweb's own image URLs, signed afresh for "
        "this token on every read and short-lived), error and usage. Any task of the token's "
        "team that its owner can see in the gallery, including ones made on the web.",
        "model": api_schemas.Task,
        "ok": _task_ok(),
        "errors": ("task_not_found", *_AUTH_ERRORS),
    },
    "getBalance": {
        "summary": "Credits and limits",
        "description": "The token owner's credits in the token's team: spendable, held by "
        "tasks in flight, spent this month, and every limit that applies.",
        "model": api_schemas.Balance,
        "ok": {
            "description": "The balance.",
            "headers": dict(_RATE_HEADERS),
            "content": {JSON: {"example": _BALANCE_EXAMPLE}},
        },
        "errors": _AUTH_ERRORS,
    },
    "createBatch": {
        "summary": "Run a batch of rows",
        "description": "A table as a JSON list of rows (prompt; optional aspect_ratio, speed, "
        "provider, project, reference_url, repeat, name), run as jobs under a spending cap, "
        "as on the site's batch page. Every row is checked and priced first: if any is "
        "refused, nothing is made and each problem is listed in `issues`, its param naming "
        "the row and column (rows[3].speed). Jobs are made a few at a time, as many as your "
        "in-flight cap, each only if its reservation fits under the cap: a batch never spends "
        "past it, and rows past it are not run (status capped). Its results form a collection "
        "named after it; follow it on its page (url) or read its jobs in the gallery.",
        "model": api_schemas.BatchCreated,
        "ok": {
            "description": "The batch, started.",
            "headers": dict(_RATE_HEADERS),
            "content": {JSON: {"example": _BATCH_EXAMPLE}},
        },
        "errors": (
            "invalid_request",
            "unauthorized",
            "model_access_denied",
            "rate_limit_exceeded",
            "internal_error",
        ),
    },
    "getResultFile": {
        "summary": "A result image",
        "description": "The URLs in a task's results. The signed name is the credential (no "
        "header needed, as with evolink's CDN links). It covers the image, the token that read "
        "the task and the time of reading: it opens for MJWEB_API_FILE_URL_SECONDS (an hour by "
        "default), then answers 410 url_expired; read the task again for fresh URLs. Before "
        "that it answers 404 once the job is deleted, the token is revoked, or the token's "
        "owner may no longer see the job (a teammate's job made private).",
        "model": None,
        "ok": {
            "description": "The image.",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("image/png", "image/jpeg", "image/webp")
            },
        },
        "errors": ("not_found", "url_expired", "internal_error"),
    },
    "getOpenApi": {
        "summary": "This document",
        "description": "",
        "model": None,
        "ok": {
            "description": "The OpenAPI 3.1 document.",
            "content": {JSON: {"schema": {"type": "object"}}},
        },
        "errors": ("internal_error",),
    },
}


def operation(operation_id: str) -> dict[str, Any]:
    """The keyword arguments of ninja's route decorator that document `operation_id`:
    its answer schemas by status and what the document says beyond them."""
    spec = _OPERATIONS[operation_id]
    errors = _errors(*spec["errors"])
    if operation_id == "createImageGeneration":
        errors[api.PROMPT_TOO_LONG_STATUS] = _prompt_too_long()
    extra: dict[str, Any] = {"responses": {200: spec["ok"], **errors}}
    if operation_id == "createImageGeneration":
        extra["requestBody"] = {"content": {JSON: {"examples": REQUEST_EXAMPLES}}}
    return {
        "operation_id": operation_id,
        "summary": spec["summary"],
        "description": spec["description"],
        "response": {200: spec["model"], **dict.fromkeys(errors, api_schemas.ErrorResponse)},
        "openapi_extra": extra,
    }


def build(team_api: NinjaAPI, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `team_api` (whose routes read `operation`
    above) as served, with `server_url` (the site's root) as its server."""
    document = team_api.get_openapi_schema(path_prefix=API_PREFIX)
    document = json.loads(json.dumps(document))  # status codes as JSON has them: strings
    document["servers"] = [{"url": server_url, "description": "This mjweb"}]
    return document


# --- the docs page --------------------------------------------------------------------------


def _bounds(schema: dict[str, Any]) -> str:
    shown = [
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
    return f" ({', '.join(shown)})" if shown else ""


def _type_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "const" in schema:
        return str(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) if not isinstance(v, str) else v for v in schema["enum"])
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        # pydantic writes an optional field as anyOf [it, null]; its bounds sit outside.
        present = [v for v in variants if v.get("type") != "null"]
        text = " or ".join(_type_text(v) for v in present) + _bounds(schema)
        return text + (" or null" if len(present) < len(variants) else "")
    kind = schema.get("type", "any")
    text = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array":
        text = f"array of {_type_text(schema.get('items', {}))}"
    return text + _bounds(schema)


def _object(prop: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The object a property holds: itself, or what it (or its non-null variant) refers to."""
    variants = [prop, *(prop.get("anyOf") or ())]
    refs = [v["$ref"] for v in variants if "$ref" in v]
    return schemas[refs[0].rsplit("/", 1)[1]] if len(refs) == 1 else prop


def _fields(schema: dict[str, Any], schemas: dict[str, Any], prefix: str = "") -> list[dict]:
    """Rows for a schema's properties, descending into referenced objects once."""
    rows: list[dict] = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        target = _object(prop, schemas)
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


def _responses(op: dict[str, Any]) -> list[dict[str, Any]]:
    """An operation's answers by status, each with its first example."""
    rows = []
    for status, response in sorted(op["responses"].items()):
        content = response.get("content", {}).get(JSON, {})
        examples = [content["example"]] if "example" in content else []
        examples += [e["value"] for e in content.get("examples", {}).values()][:1]
        rows.append(
            {
                "status": status,
                "description": response["description"],
                "headers": list(response.get("headers", {})),
                "example": _pretty(examples[0]) if examples else "",
            }
        )
    return rows


def _parameters(op: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": p["name"],
            "where": p["in"],
            "required": p.get("required", False),
            "type": _type_text(p["schema"]),
            "description": p.get("description", ""),
        }
        for p in op.get("parameters", ())
    ]


def _endpoint(path: str, method: str, op: dict[str, Any], schemas: dict[str, Any]) -> dict:
    """One operation of the document as the docs page shows it."""
    body = op.get("requestBody", {}).get("content", {}).get(JSON)
    fields = []
    if body:
        fields = _fields(schemas[body["schema"]["$ref"].rsplit("/", 1)[1]], schemas)
    return {
        "id": op["operationId"],
        "method": method.upper(),
        "path": path,
        "summary": op["summary"],
        "description": op.get("description", ""),
        "auth": bool(op.get("security")),
        "parameters": _parameters(op),
        "fields": fields,
        "examples": [
            {"title": e["summary"], "json": _pretty(e["value"])}
            for e in (body or {}).get("examples", {}).values()
        ],
        "responses": _responses(op),
    }


_SOURCES = {
    "prompt": "text / image prompt",
    "parent": "model_params.task_id (+ image_number)",
    "image": "image_urls (one)",
}


def _models() -> list[dict[str, Any]]:
    """The catalog's operations, one row each for the docs page's model table."""
    return [
        {
            "id": op.id,
            "label": op.label,
            "source": _SOURCES[op.source],
            "prompt": op.prompt,
            "speeds": ", ".join(op.speeds) or "—",
            "params": ", ".join(f"{p.name}{'' if p.required else '?'}" for p in op.params) or "—",
            "providers": ", ".join(op.models),
        }
        for op in OPERATIONS.values()
    ]


def docs_context(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The document arranged for templates/gallery/api_docs.html."""
    schemas = document["components"]["schemas"]
    return {
        "document": document,
        "base_url": base_url,
        "endpoints": [
            _endpoint(path, method, op, schemas)
            for path, methods in document["paths"].items()
            for method, op in methods.items()
        ],
        "models": _models(),
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
