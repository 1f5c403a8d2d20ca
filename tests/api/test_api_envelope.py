"""The team API's answers stay evolink's, byte for byte, whatever library reads the
request; and the document's limits are the catalog's."""

from __future__ import annotations

import json

import pytest

from gallery.api import openapi
from gallery.api.views.api import team_api
from gallery.catalog import operations
from gallery.catalog.prompt import MAX_PROMPT_LENGTH
from tests.api.conftest import GENERATE

pytestmark = pytest.mark.django_db
URL = "/api/v1/images/generations"


def envelope(code: str, message: str, kind: str, param: str | None = None) -> bytes:
    """The error body as the API has always written it (Django's JsonResponse)."""
    error = {"code": code, "message": message, "type": kind, "param": param}
    return json.dumps({"error": error}).encode()


def test_a_body_that_is_not_json_is_the_same_400_bytes_as_ever(alice_api):
    response = alice_api.post(URL, raw=b"not json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.content == envelope(
        "invalid_request", "The request body must be valid JSON (UTF-8)", "invalid_request_error"
    )


def test_a_wrong_method_is_the_same_405_bytes_as_ever(alice_api):
    response = alice_api.get(URL)
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert response.content == envelope(
        "method_not_allowed", "Use POST here", "invalid_request_error"
    )


def test_a_missing_token_is_the_same_401_bytes_as_ever():
    from django.test import Client

    response = Client().get("/api/v1/balance")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="mjweb"'
    assert response.content == envelope(
        "unauthorized",
        "Missing Authorization header; send 'Authorization: Bearer <token>'",
        "authentication_error",
    )


def test_an_unknown_endpoint_is_the_same_404_bytes_as_ever(alice_api):
    response = alice_api.get("/api/v1/images")
    assert response.status_code == 404
    assert response.content == envelope("not_found", "No such endpoint", "invalid_request_error")


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"scale": "big"}, "scale"),
        ({"direction": 5}, "direction"),
        ({"canvas": [1]}, "canvas"),
        ({"image_number": 1.0}, "image_number"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_400_naming_its_field_never_a_422(
    alice_api, alice, team, params, param
):
    body = {"model": "mj-v7-pan", "model_params": {"task_id": "task-unified-mjw-1", **params}}
    response = alice_api.create(body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"], error["param"]) == (
        "invalid_request",
        "invalid_request_error",
        param,
    )
    assert error["issues"][0]["param"] == param and error["message"]


def test_a_failure_in_the_rate_counter_is_a_500_in_the_envelope(alice_api, monkeypatch):
    from gallery.api.views import api as api_views

    class BrokenCache:
        def get(self, key):
            raise ConnectionError("cache down")

    monkeypatch.setattr(api_views, "cache", BrokenCache())
    response = alice_api.create(GENERATE)
    assert response.status_code == 500
    assert response.content == envelope("internal_error", "Internal server error", "api_error")


def present(prop: dict) -> dict:
    """An optional property's schema without its null variant (pydantic writes anyOf)."""
    variants = [v for v in prop.get("anyOf", ()) if v.get("type") != "null"]
    return {**prop, **variants[0]} if variants else prop


def test_the_documents_limits_are_the_catalogs():
    schemas = openapi.build(team_api, "https://mjweb.example.org")["components"]["schemas"]
    request = {k: present(v) for k, v in schemas["ImageGenerationRequest"]["properties"].items()}
    params = {k: present(v) for k, v in schemas["ModelParams"]["properties"].items()}
    scales = [s for op in operations.OPERATIONS.values() if (s := op.param("scale"))]
    assert request["prompt"]["maxLength"] == MAX_PROMPT_LENGTH
    assert params["scale"]["minimum"] == float(min(s.minimum for s in scales))
    assert params["scale"]["maximum"] == float(max(s.maximum for s in scales))
    assert tuple(params["image_number"]["enum"]) == operations.IMAGE_NUMBERS
    assert tuple(request["provider"]["enum"]) == operations.PROVIDERS
    assert schemas["Canvas"]["properties"]["width"]["maximum"] == operations.MAX_SIDE


def test_a_refusal_inside_a_mask_names_the_mask_and_says_where(alice_api):
    area = {"width": 0, "height": 9, "points": [0, 0, 5, 0, 5, 5]}
    body = {
        "model": "mj-v7-inpaint",
        "model_params": {"task_id": "task-unified-mjw-1", "mask": {"areas": [area]}},
    }
    error = alice_api.create(body).json()["error"]
    assert error["param"] == "mask"
    assert error["message"].startswith("model_params.mask.areas.0.width: ")
    assert error["issues"][0]["code"] == "param_out_of_range"
