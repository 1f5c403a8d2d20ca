"""The evolink dialect against evolink's own OpenAPI files (vendored in tests/specs/openapi)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from simclient import OPENAPI_DIR, Api


def schema(file: str, name: str) -> dict[str, Any]:
    document = yaml.safe_load(Path(OPENAPI_DIR / file).read_text())
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; keep $refs resolvable.
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def validate(instance: Any, file: str, name: str) -> None:
    jsonschema.Draft202012Validator(schema(file, name)).validate(instance)


def examples(file: str) -> list[dict[str, Any]]:
    document = yaml.safe_load(Path(OPENAPI_DIR / file).read_text())
    body = document["paths"]["/v1/images/generations"]["post"]["requestBody"]
    return [e["value"] for e in body["content"]["application/json"]["examples"].values()]


def test_the_documented_generate_examples_validate_and_are_accepted(evolink: Api) -> None:
    for example in examples("evolink-mj-v7.yaml"):
        validate(example, "evolink-mj-v7.yaml", "ImageGenerationRequest")
        response = evolink.create(example)
        assert response.status_code == 200, response.text
        validate(response.json(), "evolink-mj-v7.yaml", "ImageGenerationResponse")


def test_the_documented_remix_and_retexture_examples_are_accepted(evolink: Api) -> None:
    parent = evolink.run({"model": "mj-v7", "prompt": "a cat on a balcony"})["id"]
    for file in ("evolink-mj-v7-remix.yaml", "evolink-mj-v7-retexture.yaml"):
        for example in examples(file):
            if "task_id" in example.get("model_params", {}):
                example["model_params"]["task_id"] = parent
            validate(example, file, "ImageGenerationRequest")
            response = evolink.create(example)
            assert response.status_code == 200, response.text
            validate(response.json(), file, "ImageGenerationResponse")


@pytest.mark.parametrize("speed", ["draft", "fast", "turbo"])
def test_create_requests_with_a_callback_and_their_responses_validate(
    evolink: Api, speed: str
) -> None:
    request = {
        "model": "mj-v7",
        "prompt": "a harbour at night --ar 16:9 --s 500",
        "model_params": {"speed": speed},
        "callback_url": "https://your-domain.com/webhooks/image-task-completed",
    }
    validate(request, "evolink-mj-v7.yaml", "ImageGenerationRequest")
    response = evolink.create(request)
    validate(response.json(), "evolink-mj-v7.yaml", "ImageGenerationResponse")
    assert (
        response.json()["usage"]["credits_reserved"]
        == {"draft": 2.7, "fast": 5.4, "turbo": 10.8}[speed]
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "mj-v7"}, 400),
        ({"model": "mj-v7", "prompt": "x" * 9000}, 400),
    ],
)
def test_error_responses_validate_against_error_response(
    evolink: Api, body: dict[str, Any], status: int
) -> None:
    response = evolink.create(body)
    assert response.status_code == status
    validate(response.json(), "evolink-mj-v7.yaml", "ErrorResponse")


def test_the_unauthorized_error_matches_the_documented_example(sim: Any) -> None:
    wrong = Api(sim, "evolink", key="nope")
    response = wrong.create({"model": "mj-v7", "prompt": "cat"})
    validate(response.json(), "evolink-mj-v7.yaml", "ErrorResponse")
    assert response.json() == {
        "error": {
            "code": "unauthorized",
            "message": "Invalid or expired token",
            "type": "authentication_error",
        }
    }
