"""The OpenAPI document is served, rendered, and true: schemathesis fuzzes every
documented operation through the WSGI app and checks each answer against it."""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import checks

from gallery.api import openapi
from gallery.api import translate as api
from gallery.api.views.api import team_api
from gallery.models import CreditAccount
from tests.api.conftest import issue
from tests.factories import finished_job, fund

# Zero server errors and zero answers that break the schema; deliberately not
# positive_data_acceptance: a body can match the schema and still be refused
# (an upscale of a task that does not exist), which the schema cannot express.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
MAX_EXAMPLES = 40
SERVER = "http://testserver"  # per operation and mode; the whole run takes a few seconds


@pytest.fixture
def token(db, alice, team, settings) -> str:
    """alice, rich enough and with room in flight, so creations really succeed."""
    settings.MJWEB_API_RATE_LIMIT = 100_000
    account = fund(alice, team, 10_000_000)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=1000)
    finished_job(alice, team)  # something for task lookups and edits to find
    return issue(alice, team)


@pytest.fixture
def wsgi_app(db):
    """The real WSGI app (every middleware, no test client in between).

    As Django's test client does, keep the test's database connection open
    across requests: the handler would close it after each one, and with it
    the transaction the test runs in.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The document the site serves at /api/v1/openapi.json (a test below checks
# that they are the same); schemathesis 4's lazy fixture loader does not run
# on pytest 9, so it is built here rather than fetched.
schema = schemathesis.openapi.from_dict(openapi.build(team_api, SERVER))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@pytest.mark.django_db
def test_every_answer_matches_the_document_and_none_is_a_server_error(case, token, wsgi_app):
    case.call_and_validate(
        app=wsgi_app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
    )


@pytest.mark.django_db
def test_the_fuzzed_document_is_the_one_the_site_serves(client):
    assert client.get("/api/v1/openapi.json").json() == openapi.build(team_api, SERVER)


# --- the document itself ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_document_is_served_as_openapi_3_1_without_a_token():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://testserver", "description": "This mjweb"}]
    assert set(document["paths"]) == {
        "/api/v1/images/generations",
        "/api/v1/batches",
        "/api/v1/tasks/{task_id}",
        "/api/v1/balance",
        "/api/v1/files/{name}",
        "/api/v1/openapi.json",
    }


@pytest.mark.django_db
def test_the_document_is_valid_openapi_3_1_with_valid_json_schemas():
    from jsonschema import Draft202012Validator
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    document = openapi.build(team_api, SERVER)
    OPENAPI_31_VALIDATOR.validate(document)  # the OpenAPI 3.1 meta-schema schemathesis ships
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.django_db
def test_the_documented_errors_are_the_ones_the_views_return():
    document = openapi.build(team_api, "https://mjweb.example.org")
    error = document["components"]["schemas"]["ErrorResponse"]["properties"]["error"]
    assert set(error["properties"]["code"]["enum"]) == set(api.ERROR_STATUS)
    assert set(error["properties"]["type"]["enum"]) == set(api.ERROR_TYPES.values())
    for methods in document["paths"].values():
        for op in methods.values():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    example = response["content"]["application/json"]["example"]["error"]
                    expected = api.ERROR_STATUS[example["code"]]
                    if example["param"] == "prompt" and "the limit is" in example["message"]:
                        expected = api.PROMPT_TOO_LONG_STATUS  # its own status, same code
                    assert expected == int(status)
                    assert example["type"] == api.ERROR_TYPES[example["code"]]


@pytest.mark.django_db
def test_every_model_of_the_catalog_is_documented():
    document = openapi.build(team_api, "https://mjweb.example.org")
    request = document["components"]["schemas"]["ImageGenerationRequest"]
    assert request["properties"]["model"]["enum"] == [
        "mj-v7",
        "mj-v7-variation",
        "mj-v7-upscale",
        "mj-v7-remix",
        "mj-v7-enhance",
        "mj-v7-pan",
        "mj-v7-outpaint",
        "mj-v7-inpaint",
        "mj-v7-edit",
        "mj-v7-remove-bg",
        "mj-v7-retexture",
        "mj-v7-upload-paint",
    ]


# --- the docs page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_docs_page_renders_every_endpoint(bob_client):
    response = bob_client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    for path in ("/api/v1/images/generations", "/api/v1/tasks/{task_id}", "/api/v1/balance"):
        assert path in page
    assert "mj-v7-upload-paint" in page and "insufficient_quota" in page
    assert "http://testserver/api" in page  # the base URL to put in a script
    assert 'href="/t/acme/tokens/"' in page  # where to make a token


@pytest.mark.django_db
def test_the_docs_page_is_behind_sign_in_but_the_json_is_not(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.get("/api/v1/openapi.json").status_code == 200


@pytest.mark.django_db
def test_the_docs_page_has_no_inline_script_or_style(bob_client):
    page = bob_client.get("/api/docs/").content.decode()
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag
    assert " style=" not in page and "<style" not in page
    assert not re.search(r'<(script|link)\b[^>]*(src|href)="(https?:)?//', page)  # no CDN


@pytest.mark.django_db
def test_the_docs_page_takes_only_get(bob_client):
    assert bob_client.post("/api/docs/").status_code == 405
