"""POST /api/v1/batches: a JSON list of rows becomes a batch under a cap, or is
refused whole with every problem named by row and column; documented."""

from __future__ import annotations

import pytest

from gallery.models import ApiToken, Batch, Job, LedgerEntry, Membership, Project
from gallery.studio import batches
from tests.api.conftest import Api
from tests.factories import fund

pytestmark = pytest.mark.django_db

URL = "/api/v1/batches"
FAST = 79


def rows(n: int) -> list[dict]:
    return [{"prompt": f"a chair, view {i}", "aspect_ratio": "4:3", "name": f"chair {i}"}
            for i in range(1, n + 1)]  # fmt: skip


def test_a_list_of_rows_becomes_a_batch_and_its_id_is_returned(alice_api):
    body = {"name": "Chairs", "cap": 1000, "rows": [*rows(2), {"prompt": "a stool", "repeat": 3}]}
    response = alice_api.post(URL, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    batch = Batch.objects.get()
    assert answer == {
        "object": "batch",
        "id": batch.pk,
        "name": "Chairs",
        "status": "running",
        "cap": 1000,
        "rows": 3,
        "jobs": 5,
        "total_credits": 5 * FAST,
        "url": f"http://testserver/t/acme/batches/{batch.pk}/",
    }
    made = list(batches.jobs_of(batch).order_by("pk"))
    assert len(made) == 4  # alice's in-flight cap; the poller feeds the rest as slots free
    assert made[0].prompt == "a chair, view 1 --ar 4:3"
    assert made[0].batch_link.row.name == "chair 1"


def test_a_bad_row_refuses_the_whole_batch_naming_row_and_column(alice_api):
    body = {
        "name": "x",
        "cap": 100,
        "rows": [*rows(2), {"prompt": "a lamp", "aspect_ratio": "wide"}],
    }
    response = alice_api.post(URL, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["param"] == "rows[2].aspect_ratio"
    assert "Row 3, aspect ratio: Write it as width:height" in error["issues"][0]["message"]
    assert Batch.objects.count() == 0 and Job.objects.count() == 0
    assert LedgerEntry.objects.filter(kind="reserve").count() == 0


def test_the_schema_refuses_an_unknown_speed_and_a_missing_cap(alice_api):
    response = alice_api.post(URL, {"name": "x", "rows": [{"prompt": "a", "speed": "slow"}]})
    assert response.status_code == 400
    params = {issue["param"] for issue in response.json()["error"]["issues"]}
    assert "cap" in params


def test_a_viewer_cannot_run_a_batch(dave_api):
    response = dave_api.post(URL, {"name": "x", "cap": 100, "rows": rows(1)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_access_denied"


def test_without_a_token_it_is_refused(client):
    response = client.post(URL, {}, content_type="application/json")
    assert response.status_code == 401


def test_the_openapi_document_describes_it(alice_api):
    document = alice_api.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/batches"]["post"]
    assert operation["operationId"] == "createBatch"
    assert "never spends past it" in operation["description"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "429"}


def test_rows_go_to_their_project_and_the_rest_to_the_tokens(alice, team):
    spring, autumn = (Project.objects.create(team=team, name=n) for n in ("Spring", "Autumn"))
    fund(alice, team)
    membership = Membership.objects.get(user=alice, team=team)
    api = Api(ApiToken.issue(membership, "ci", project=autumn)[1])
    body = {"name": "Mixed", "cap": 1000, "rows": [{"prompt": "a cat", "project": "spring"},
                                                   {"prompt": "a dog"}]}  # fmt: skip
    assert api.post(URL, body).status_code == 200
    assert dict(Job.objects.values_list("prompt", "project")) == {
        "a cat": spring.pk,
        "a dog": autumn.pk,
    }
    body["rows"] = [{"prompt": "a fox", "project": "Winter"}]
    refused = api.post(URL, body)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "rows[0].project"
