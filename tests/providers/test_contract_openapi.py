"""Contract tests: every request body the adapters build is one the provider documents.

- evolink `mj-v7`, `mj-v7-remix`, `mj-v7-retexture`: the seed OpenAPI schemas
  (shared/openapi, vendored in tests/specs/openapi), made strict (no property the
  schema does not name).
- the other evolink operations, all reAPI operations, all Vtrix operations:
  schemas written below from the documented tables (providers.md §2.5, §3.5 and
  SEED-004, §1.2 and SEED-001), strict in the same way.

Requests are enumerated over every documented choice and drawn at random with
hypothesis; each is first checked valid by the operation catalog.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery.catalog.operations import OPERATIONS, Request, supports, validate
from gallery.providers import adapter_class
from gallery.providers.http import make_client

# Vendored copies of the providers' documents (tests/specs/README.md): a plain clone passes.
OPENAPI_DIR = Path(__file__).resolve().parents[1] / "specs" / "openapi"
SEEDED = {
    "mj-v7": "evolink-mj-v7.yaml",
    "mj-v7-remix": "evolink-mj-v7-remix.yaml",
    "mj-v7-retexture": "evolink-mj-v7-retexture.yaml",
}

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that names its properties."""
    if isinstance(schema, dict):
        out = {key: strict(value) for key, value in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def seed_schema(operation: str) -> dict[str, Any]:
    spec = yaml.safe_load((OPENAPI_DIR / SEEDED[operation]).read_text())
    request = spec["paths"]["/v1/images/generations"]["post"]["requestBody"]
    ref = request["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[-1]
    schema = copy.deepcopy(spec["components"]["schemas"][name])
    return strict({**schema, "components": spec["components"]})


def check(schema: dict[str, Any], body: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(body)


# --- the documented tables as schemas ----------------------------------------------------

INT = {"type": "integer"}
TASK_ID = {"type": "string", "minLength": 1}
IMAGE_NUMBER = {"type": "integer", "enum": [0, 1, 2, 3]}
EDIT_SPEED = {"type": "string", "enum": ["fast", "turbo"]}
PROMPT = {"type": "string", "minLength": 1, "maxLength": 8192}
CALLBACK_URL = {"type": "string", "format": "uri", "maxLength": 2048}
SOURCE_URLS = {
    "type": "array",
    "items": {"type": "string", "format": "uri"},
    "minItems": 1,
    "maxItems": 1,
}


def mask_schema(size: tuple[int, int] | None = None) -> dict[str, Any]:
    side: dict[str, Any] = {"type": "integer", "exclusiveMinimum": 0}
    if size:
        side = {"type": "integer", "minimum": size[0], "maximum": size[1]}
    area = {
        "type": "object",
        "required": ["width", "height", "points"],
        "properties": {
            "width": side,
            "height": side,
            "points": {"type": "array", "items": {"type": "number"}, "minItems": 6},
        },
    }
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["areas"],
                "properties": {"areas": {"type": "array", "items": area, "minItems": 1}},
            },
            {
                "type": "object",
                "required": ["url"],
                "properties": {"url": {"type": "string", "format": "uri"}},
            },
        ]
    }


CANVAS = {
    "type": "object",
    "required": ["width", "height"],
    "properties": {"width": INT, "height": INT},
}
IMG_POS = {
    "type": "object",
    "required": ["width", "height", "x", "y"],
    "properties": {"width": INT, "height": INT, "x": INT, "y": INT},
}


def unified(
    model: str,
    *,
    prompt: str | None,
    params: dict[str, Any] | None = None,
    required_params: tuple[str, ...] = (),
    image_urls: bool = False,
    parent: bool = True,
) -> dict[str, Any]:
    """providers.md §2.5 row -> a strict body schema (prompt: required|optional|None)."""
    properties: dict[str, Any] = {
        "model": {"const": model},
        "callback_url": CALLBACK_URL,
    }
    required = ["model"]
    if prompt is not None:
        properties["prompt"] = PROMPT
        if prompt == "required":
            required.append("prompt")
    if image_urls:
        properties["image_urls"] = SOURCE_URLS
        required.append("image_urls")
    model_params = dict(params or {})
    needed = list(required_params)
    if parent:
        model_params = {"task_id": TASK_ID, "image_number": IMAGE_NUMBER, **model_params}
        needed.insert(0, "task_id")
    if model_params:
        properties["model_params"] = {
            "type": "object",
            "required": needed,
            "properties": model_params,
        }
        if needed:
            required.append("model_params")
    return strict({"type": "object", "required": required, "properties": properties})


DOCUMENTED: dict[str, dict[str, Any]] = {
    "mj-v7-variation": unified(
        "mj-v7-variation",
        prompt="optional",
        params={"type": {"enum": ["subtle", "strong"]}, "speed": EDIT_SPEED},
    ),
    "mj-v7-upscale": unified(
        "mj-v7-upscale", prompt=None, params={"type": {"enum": ["standard", "creative"]}}
    ),
    "mj-v7-enhance": unified("mj-v7-enhance", prompt=None),
    "mj-v7-pan": unified(
        "mj-v7-pan",
        prompt="optional",
        params={
            "direction": {"enum": ["down", "right", "up", "left"]},
            "scale": {"type": "number", "minimum": 1.1, "maximum": 3.0},
            "speed": EDIT_SPEED,
        },
    ),
    "mj-v7-outpaint": unified(
        "mj-v7-outpaint",
        prompt="optional",
        params={"scale": {"type": "number", "minimum": 1.1, "maximum": 2.0}, "speed": EDIT_SPEED},
    ),
    "mj-v7-inpaint": unified(
        "mj-v7-inpaint",
        prompt="optional",
        params={"mask": mask_schema(), "speed": EDIT_SPEED},
        required_params=("mask",),
    ),
    "mj-v7-edit": unified(
        "mj-v7-edit",
        prompt="required",
        params={"canvas": CANVAS, "img_pos": IMG_POS, "mask": mask_schema(), "speed": EDIT_SPEED},
        required_params=("canvas", "img_pos"),
    ),
    "mj-v7-remove-bg": unified("mj-v7-remove-bg", prompt=None, image_urls=True, parent=False),
    "mj-v7-upload-paint": unified(
        "mj-v7-upload-paint",
        prompt="required",
        image_urls=True,
        parent=False,
        params={"mask": mask_schema(), "canvas": CANVAS, "img_pos": IMG_POS, "speed": EDIT_SPEED},
        required_params=("mask", "canvas", "img_pos"),
    ),
}


def reapi_schema(operation: str) -> dict[str, Any]:
    """SEED-004: the same fields as evolink; no callback is documented (§3.4)."""
    schema = copy.deepcopy(seed_schema(operation) if operation in SEEDED else DOCUMENTED[operation])
    schema["properties"].pop("callback_url")
    return schema


VTRIX_CALLBACK = {"type": "string", "pattern": "^https?://"}
VTRIX_PROMPT = {"type": "string", "minLength": 1, "maxLength": 8192}


def vtrix(model: str, required: list[str], fields: dict[str, Any]) -> dict[str, Any]:
    """providers.md §1.2 model page -> a strict flat body schema."""
    properties = {"model": {"const": model}, "callback": VTRIX_CALLBACK, **fields}
    return strict({"type": "object", "required": ["model", *required], "properties": properties})


SECONDARY = {"jobId": TASK_ID, "imageNo": IMAGE_NUMBER}
VTRIX_MASK = mask_schema((500, 4096))
VTRIX: dict[str, dict[str, Any]] = {
    "mj-v7": vtrix("midjourney_diffusion", ["text"], {"text": VTRIX_PROMPT}),
    "mj-v7-upscale": vtrix(
        "midjourney_upscale",
        ["jobId", "imageNo", "type"],
        {**SECONDARY, "type": {"type": "integer", "enum": [0, 1, 2, 3]}},
    ),
    "mj-v7-variation": vtrix(
        "midjourney_variation",
        ["jobId", "imageNo", "type"],
        {**SECONDARY, "type": {"type": "integer", "enum": [0, 1]}, "remixPrompt": VTRIX_PROMPT},
    ),
    "mj-v7-remix": vtrix(
        "midjourney_remix",
        ["jobId", "imageNo", "remixPrompt"],
        {**SECONDARY, "remixPrompt": VTRIX_PROMPT, "mode": {"type": "integer", "enum": [0, 1]}},
    ),
    "mj-v7-inpaint": vtrix(
        "midjourney_inpaint",
        ["jobId", "imageNo", "mask"],
        {**SECONDARY, "mask": VTRIX_MASK, "remixPrompt": VTRIX_PROMPT},
    ),
    "mj-v7-outpaint": vtrix(
        "midjourney_outpaint",
        ["jobId", "imageNo", "scale"],
        {
            **SECONDARY,
            "scale": {"type": "number", "minimum": 1.1, "maximum": 2.0},
            "remixPrompt": VTRIX_PROMPT,
        },
    ),
    "mj-v7-edit": vtrix(
        "midjourney_edit",
        ["jobId", "imageNo", "canvas", "imgPos", "remixPrompt"],
        {
            **SECONDARY,
            "canvas": CANVAS,
            "imgPos": IMG_POS,
            "remixPrompt": VTRIX_PROMPT,
            "mask": VTRIX_MASK,
        },
    ),
}


def schema_for(provider: str, operation: str) -> dict[str, Any]:
    if provider == "vtrix":
        return VTRIX[operation]
    if provider == "reapi":
        return reapi_schema(operation)
    return seed_schema(operation) if operation in SEEDED else DOCUMENTED[operation]


# --- requests: every documented choice ----------------------------------------------------

PARENTS = {"evolink": "task-unified-1757165031-mjv7", "reapi": "task_01jabc", "vtrix": "task_3f2a"}
AREAS = {"areas": [{"width": 600, "height": 600, "points": [0, 0, 600, 0, 600, 600, 0, 600]}]}
MASK_URL = {"url": "https://example.com/mask.png"}
SOURCE = "https://example.com/photo.jpg"


def choices(operation: str, provider: str) -> Iterator[Request]:
    """Valid requests covering each speed, enum value, image number, prompt and callback."""
    op = OPERATIONS[operation]
    prompts = {"required": ["a quiet harbour --ar 3:2"], "optional": ["", "a quiet harbour"]}
    prompts["absent"] = [""]
    speeds: list[str | None] = [None, *op.speeds]
    variants: list[dict[str, Any]] = [{}]
    for spec in op.params:
        if spec.kind == "choice":
            variants = [{**v, spec.name: c} for v in variants for c in (None, *spec.choices)]
        elif spec.kind == "number":
            assert spec.minimum is not None and spec.maximum is not None
            values = (None, float(spec.minimum), 1.5, float(spec.maximum))
            variants = [{**v, spec.name: n} for v in variants for n in values]
        elif spec.kind == "mask":
            options = (AREAS, MASK_URL) if spec.required else (None, AREAS, MASK_URL)
            variants = [{**v, "mask": m} for v in variants for m in options]
        elif spec.kind == "canvas":
            variants = [{**v, "canvas": {"width": 2048, "height": 1024}} for v in variants]
        else:
            variants = [
                {**v, "img_pos": {"width": 1024, "height": 1024, "x": 512, "y": 0}}
                for v in variants
            ]
    numbers: list[int | None] = [None, 0, 1, 2, 3] if op.needs_parent else [None]
    callbacks = [None, "https://hooks.example.com/mjweb/cb"]
    for prompt, speed, params, number, callback in itertools.product(
        prompts[op.prompt], speeds, variants, numbers, callbacks
    ):
        yield Request(
            operation=operation,
            provider=provider,
            prompt=prompt,
            image_urls=(SOURCE,) if op.needs_image else (),
            parent_task_id=PARENTS[provider] if op.needs_parent else None,
            image_number=number,
            speed=speed if speed in op.speeds and (prompt or not op.speed_needs_prompt) else None,
            params={k: v for k, v in params.items() if v is not None},
            callback_url=callback,
        )


def adapter_for(provider: str) -> Any:
    client = make_client(
        "https://provider.example", "sk-contract", transport=httpx.MockTransport(_no_network)
    )
    return adapter_class(provider)(client)


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError("contract tests build bodies; they send nothing")


CASES = [
    (provider, operation)
    for provider in ("evolink", "reapi", "vtrix")
    for operation in OPERATIONS
    if supports(provider, operation)
]


@pytest.mark.parametrize(("provider", "operation"), CASES)
def test_every_request_body_matches_the_documented_schema(provider: str, operation: str) -> None:
    adapter = adapter_for(provider)
    schema = schema_for(provider, operation)
    count = 0
    for request in choices(operation, provider):
        errors = [i for i in validate(request) if i.severity == "error"]
        assert errors == [], (request, errors)
        check(schema, adapter.build_body(request))
        count += 1
    assert count >= 2


@pytest.mark.parametrize("operation", sorted(SEEDED))
def test_the_seed_schemas_are_made_strict(operation: str) -> None:
    # A property the schema does not name must fail: otherwise the check proves little.
    with pytest.raises(jsonschema.ValidationError):
        check(seed_schema(operation), {"model": operation, "prompt": "x", "seed": 1})


def test_the_seed_examples_pass_the_strict_schemas() -> None:
    for operation, file in SEEDED.items():
        spec = yaml.safe_load((OPENAPI_DIR / file).read_text())
        request = spec["paths"]["/v1/images/generations"]["post"]["requestBody"]
        for example in request["content"]["application/json"]["examples"].values():
            check(seed_schema(operation), example["value"])


def minimal(operation: str, provider: str) -> Request:
    """A request that chooses nothing it does not have to."""
    op = OPERATIONS[operation]
    required = {
        "mask": AREAS,
        "canvas": {"width": 2048, "height": 1024},
        "img_pos": {"width": 1024, "height": 1024, "x": 512, "y": 0},
    }
    return Request(
        operation=operation,
        provider=provider,
        prompt="a quiet harbour" if op.prompt == "required" else "",
        image_urls=(SOURCE,) if op.needs_image else (),
        parent_task_id=PARENTS[provider] if op.needs_parent else None,
        params={p.name: required[p.name] for p in op.params if p.required},
    )


@pytest.mark.parametrize(
    ("provider", "operation", "defaults"),
    [
        ("evolink", "mj-v7", {"speed": "fast"}),
        ("evolink", "mj-v7-variation", {"image_number": 0, "type": "subtle", "speed": "fast"}),
        ("evolink", "mj-v7-upscale", {"image_number": 0, "type": "standard"}),
        ("evolink", "mj-v7-remix", {"image_number": 0, "mode": "strong", "speed": "fast"}),
        ("evolink", "mj-v7-pan", {"image_number": 0, "direction": "down", "scale": 1.5}),
        ("evolink", "mj-v7-outpaint", {"image_number": 0, "scale": 1.5}),
        ("evolink", "mj-v7-retexture", {"speed": "fast"}),
        ("reapi", "mj-v7-pan", {"image_number": 0, "direction": "down", "scale": 1.5}),
        ("vtrix", "mj-v7-upscale", {"imageNo": 0, "type": 0}),
        ("vtrix", "mj-v7-variation", {"imageNo": 0, "type": 0}),
        ("vtrix", "mj-v7-remix", {"imageNo": 0, "mode": 0}),
        ("vtrix", "mj-v7-outpaint", {"imageNo": 0, "scale": 1.5}),
    ],
)
def test_documented_defaults_are_sent_explicitly(
    provider: str, operation: str, defaults: dict[str, Any]
) -> None:
    body = adapter_for(provider).build_body(minimal(operation, provider))
    sent = body if provider == "vtrix" else body.get("model_params", {})
    assert {k: sent[k] for k in defaults} == defaults


@pytest.mark.parametrize(
    ("provider", "operation", "change"),
    [
        ("evolink", "mj-v7", {"model_params": {"speed": "relax"}}),
        ("evolink", "mj-v7", {"callback_url": "not a url"}),
        ("evolink", "mj-v7-remix", {"model_params": {"task_id": "t", "speed": "draft"}}),
        ("evolink", "mj-v7-retexture", {"image_urls": [SOURCE, SOURCE]}),
        ("evolink", "mj-v7-upscale", {"prompt": "x"}),
        ("evolink", "mj-v7-pan", {"model_params": {"task_id": "t", "scale": 3.5}}),
        ("evolink", "mj-v7-inpaint", {"model_params": {"task_id": "t", "mask": {}}}),
        ("evolink", "mj-v7-remove-bg", {"model_params": {"speed": "fast"}}),
        ("reapi", "mj-v7", {"callback_url": "https://hooks.example.com/cb"}),
        ("vtrix", "mj-v7-remix", {"mode": "strong"}),
        ("vtrix", "mj-v7-upscale", {"image_number": 0}),
        (
            "vtrix",
            "mj-v7-inpaint",
            {"mask": {"areas": [{"width": 200, "height": 200, "points": [0] * 6}]}},
        ),
        ("vtrix", "mj-v7", {"callback": "ftp://x"}),
    ],
)
def test_the_schemas_refuse_what_the_docs_do_not_allow(
    provider: str, operation: str, change: dict[str, Any]
) -> None:
    body = adapter_for(provider).build_body(minimal(operation, provider))
    check(schema_for(provider, operation), body)
    with pytest.raises(jsonschema.ValidationError):
        check(schema_for(provider, operation), {**body, **change})


# --- random requests ------------------------------------------------------------------------


@st.composite
def any_request(draw: st.DrawFn) -> Request:
    provider, operation = draw(st.sampled_from(CASES))
    options = list(choices(operation, provider))
    request = draw(st.sampled_from(options))
    words = draw(st.lists(st.sampled_from(["fog", "harbour", "neon", "ink", "owl"]), max_size=4))
    if words and request.spec.prompt != "absent":
        flags = draw(st.sampled_from(["", " --ar 16:9", " --s 250 --chaos 10", " --raw"]))
        request = Request(**{**request.__dict__, "prompt": " ".join(words) + flags})
    return request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_request())
def test_random_valid_requests_build_documented_bodies(request: Request) -> None:
    assert [i for i in validate(request) if i.severity == "error"] == []
    body = adapter_for(request.provider).build_body(request)
    check(schema_for(request.provider, request.operation), body)
    if request.provider == "vtrix":
        wrapped = adapter_class("vtrix")(adapter_for("vtrix").client, body_style="wrapped")
        inner = wrapped.build_body(request)["input"][0]["params"]
        check(VTRIX[request.operation], {"model": body["model"], **inner})
