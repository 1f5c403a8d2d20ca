"""POST /api/v1/images/generations: evolink's create call, answered by the pipeline."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from gallery.credits import ledger
from gallery.models import ApiTask, ApiToken, Job, LedgerEntry, Membership, Role, Team
from tests.api.conftest import GENERATE, Api, issue
from tests.factories import finished_job, fund, in_flight_job, membership

pytestmark = pytest.mark.django_db

URL = "/api/v1/images/generations"


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


# --- the happy path ------------------------------------------------------------------------


def test_it_creates_a_job_in_the_team_gallery_under_the_token_owner(alice_api, alice, team):
    response = alice_api.create()
    assert response.status_code == 200
    task = response.json()
    job = Job.objects.get()
    assert (job.team, job.user, job.operation, job.provider) == (team, alice, "mj-v7", "evolink")
    assert job.prompt_raw == GENERATE["prompt"] and job.speed == "fast"
    assert task["id"] == f"task-unified-mjw-{job.pk}"
    assert task["object"] == "image.generation.task" and task["type"] == "image"
    assert (task["model"], task["status"], task["progress"]) == ("mj-v7", "pending", 0)
    assert task["created"] == int(job.created.timestamp())
    assert task["task_info"] == {"can_cancel": True, "estimated_time": 45}
    assert task["usage"]["credits_reserved"] == job.credits_reserved > 0
    assert task["usage"]["credits_charged"] is None
    reserve = LedgerEntry.objects.get(job=job)
    assert (reserve.kind, reserve.amount) == ("reserve", -job.credits_reserved)
    assert ApiTask.objects.get(job=job).token.membership.user == alice
    assert response["Cache-Control"] == "no-store"
    assert int(response["X-RateLimit-Remaining"]) == int(response["X-RateLimit-Limit"]) - 1


def test_the_job_its_task_row_charge_and_queue_entry_are_one_transaction(
    alice_api, alice, team, monkeypatch
):
    from django_q.models import OrmQ

    balance = ledger.account_for(membership(alice, team)).balance
    alice_api.create()
    job = Job.objects.get()
    queued = [q.task for q in OrmQ.objects.all()]
    assert [(t["func"], t["args"]) for t in queued] == [("gallery.tasks.submit_job", (job.pk,))]

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ApiTask.objects, "create", broken)
    response = alice_api.create({**GENERATE, "prompt": "a second lighthouse"})
    assert response.status_code == 500 and error(response)["code"] == "internal_error"
    # Nothing of the second request is left: no job, no charge, no queued submit.
    assert list(Job.objects.values_list("pk", flat=True)) == [job.pk]
    assert LedgerEntry.objects.filter(kind="reserve").count() == 1
    assert ledger.account_for(membership(alice, team)).balance == balance - job.credits_reserved
    assert OrmQ.objects.count() == 1


def test_the_job_shows_in_the_team_gallery(alice_api, alice_client):
    alice_api.create()
    page = alice_client.get("/t/acme/")
    assert "a lighthouse at dusk" in page.content.decode()


@pytest.fixture
def parents(alice, team):
    return {
        "fast": finished_job(alice, team),
        "draft": finished_job(alice, team, speed="draft"),
    }


def _body(model: str, parents: dict) -> dict:
    fast = f"task-unified-mjw-{parents['fast'].pk}"
    mask = {"areas": [{"width": 200, "height": 200, "points": [50, 50, 50, 250, 250, 250]}]}
    canvas = {"width": 1024, "height": 1024}
    img_pos = {"width": 512, "height": 512, "x": 256, "y": 256}
    source = ["https://images.example.org/statue.png"]
    return {
        "mj-v7": {"prompt": "a fox --ar 3:2", "model_params": {"speed": "draft"}},
        "mj-v7-variation": {"model_params": {"task_id": fast, "image_number": 1, "type": "strong"}},
        "mj-v7-upscale": {"model_params": {"task_id": fast, "image_number": 2, "type": "creative"}},
        "mj-v7-remix": {
            "prompt": "as a watercolor",
            "model_params": {"task_id": fast, "mode": "subtle", "speed": "turbo"},
        },
        "mj-v7-enhance": {
            "model_params": {
                "task_id": f"task-unified-mjw-{parents['draft'].pk}",
                "image_number": 3,
            }
        },
        "mj-v7-pan": {"model_params": {"task_id": fast, "direction": "left", "scale": 2}},
        "mj-v7-outpaint": {"model_params": {"task_id": fast, "image_number": 1, "scale": 1.5}},
        "mj-v7-inpaint": {"prompt": "a tree", "model_params": {"task_id": fast, "mask": mask}},
        "mj-v7-edit": {
            "prompt": "mountains",
            "model_params": {"task_id": fast, "canvas": canvas, "img_pos": img_pos},
        },
        "mj-v7-remove-bg": {"image_urls": source},
        "mj-v7-retexture": {"prompt": "made of brass", "image_urls": source},
        "mj-v7-upload-paint": {
            "prompt": "a hat",
            "image_urls": source,
            "model_params": {"mask": mask, "canvas": canvas, "img_pos": img_pos},
        },
    }[model]


ALL_MODELS = [
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


@pytest.mark.parametrize("model", ALL_MODELS)
def test_all_twelve_models_become_jobs_with_their_parameters(alice_api, parents, model):
    body = {"model": model, **_body(model, parents)}
    response = alice_api.create(body)
    assert response.status_code == 200, response.json()
    assert response.json()["model"] == model
    job = Job.objects.get(operation=model, api_task__isnull=False)
    params = dict(body.get("model_params", {}))
    task_id = params.pop("task_id", None)
    params.pop("speed", None)
    if task_id:
        parent_job = parents["draft" if model == "mj-v7-enhance" else "fast"]
        assert job.parent.job == parent_job
        assert job.parent.index == params.get("image_number", 0)
    else:
        assert job.parent is None
    assert {k: job.params[k] for k in params} == params
    assert job.source_urls == body.get("image_urls", [])


def test_an_edit_goes_to_the_provider_that_made_its_parent(alice_api, alice, team):
    parent = finished_job(alice, team, provider="reapi")
    body = {"model": "mj-v7-upscale", "model_params": {"task_id": f"task-unified-mjw-{parent.pk}"}}
    assert alice_api.create(body).json()["provider"] == "reapi"


def test_a_teammates_public_job_can_be_edited(alice_api, bob, team):
    parent = finished_job(bob, team)
    body = {"model": "mj-v7-upscale", "model_params": {"task_id": f"task-unified-mjw-{parent.pk}"}}
    assert alice_api.create(body).status_code == 200


def test_the_provider_can_be_chosen(alice_api):
    assert alice_api.create({**GENERATE, "provider": "vtrix"}).json()["provider"] == "vtrix"


def test_without_a_provider_a_generation_goes_to_the_teams_first(alice_api, team, settings):
    settings.PROVIDERS = {
        name: {"base_url": f"http://127.0.0.1:1/{name}", "api_key": "k"}
        for name in ("evolink", "reapi", "vtrix")
    }
    team.set_provider_order(["reapi", "evolink", "vtrix"], failover=True)
    assert alice_api.create(GENERATE).json()["provider"] == "reapi"


# --- validation: the linter's and the catalog's issues --------------------------------------


def test_the_linters_first_issue_is_the_400s_message_and_param(alice_api):
    response = alice_api.create({"model": "mj-v7", "prompt": "a cat --s 5000 --c 900"})
    assert response.status_code == 400
    err = error(response)
    assert err["code"] == "invalid_request" and err["type"] == "invalid_request_error"
    assert err["param"] == "--s"
    assert err["message"] == "--s must be between 0 and 1000 (got 5000)"
    assert [(i["code"], i["param"]) for i in err["issues"]] == [
        ("param_out_of_range", "--s"),
        ("param_out_of_range", "--c"),
    ]
    assert not Job.objects.exists() and not LedgerEntry.objects.filter(kind="reserve").exists()


@pytest.mark.parametrize(
    ("body", "param", "issue"),
    [
        ({"model": "mj-v8"}, "model", "unknown_operation"),
        ({"prompt": "a cat"}, "model", "required"),
        ({"model": "mj-v7"}, "prompt", "required"),
        ({"model": "mj-v7", "prompt": "https://x.org/a.png"}, "prompt", "image_without_text"),
        ({"model": "mj-v7", "prompt": "a cat", "provider": "midjourney"}, "provider", None),
        ({"model": "mj-v7-retexture", "prompt": "brass"}, "image_urls", "required"),
        (
            {
                "model": "mj-v7-retexture",
                "prompt": "brass",
                "image_urls": ["http://10.0.0.1/a.png"],
            },
            "image_urls",
            "url_not_public",
        ),
        (
            {
                "model": "mj-v7-remove-bg",
                "image_urls": ["https://x.org/a.png"],
                "provider": "vtrix",
            },
            "model",
            "unsupported_operation",
        ),
        ({"model": "mj-v7-upscale"}, "task_id", "required"),
        ({"model": "mj-v7", "prompt": "a cat", "model_params": {"speed": "warp"}}, "speed", None),
        ({"model": "mj-v7", "prompt": "a cat", "model_params": {"zoom": 2}}, "zoom", None),
    ],
)
def test_catalog_errors_name_the_offending_parameter(alice_api, body, param, issue):
    response = alice_api.create(body)
    assert response.status_code == 400, response.json()
    err = error(response)
    assert (err["code"], err["param"]) == ("invalid_request", param)
    if issue:
        assert err["issues"][0]["code"] == issue


@pytest.mark.parametrize(
    ("params", "param", "issue"),
    [
        ({"image_number": 7}, "image_number", "invalid_choice"),
        ({"scale": 5}, "scale", "param_out_of_range"),
        ({"direction": "diagonal"}, "direction", "invalid_choice"),
        ({"speed": "draft"}, "speed", "invalid_choice"),
    ],
)
def test_edit_parameters_are_checked_against_the_catalog(
    alice_api, alice, team, params, param, issue
):
    parent = finished_job(alice, team)
    body = {
        "model": "mj-v7-pan",
        "prompt": "more sky",
        "model_params": {"task_id": f"task-unified-mjw-{parent.pk}", **params},
    }
    err = error(alice_api.create(body))
    assert (err["param"], err["issues"][0]["code"]) == (param, issue)


def _edit(task_id: str, **params) -> dict:
    return {"model": "mj-v7-upscale", "model_params": {"task_id": task_id, **params}}


def test_a_parent_from_another_team_is_refused_like_a_missing_one(alice_api, carol, other_team):
    theirs = finished_job(carol, other_team)
    foreign = error(alice_api.create(_edit(f"task-unified-mjw-{theirs.pk}")))
    missing = error(alice_api.create(_edit(f"task-unified-mjw-{theirs.pk + 1000}")))
    assert foreign["param"] == missing["param"] == "task_id"
    assert foreign["message"].replace(str(theirs.pk), "N") == missing["message"].replace(
        str(theirs.pk + 1000), "N"
    )
    assert not Job.objects.filter(api_task__isnull=False).exists()


def test_a_teammates_private_job_is_not_a_parent(alice_api, bob, team):
    private = finished_job(bob, team, private=True)
    assert error(alice_api.create(_edit(f"task-unified-mjw-{private.pk}")))["param"] == "task_id"


def test_a_parent_that_has_not_completed_is_refused(alice_api, alice, team):
    running = in_flight_job(alice, team)
    err = error(alice_api.create(_edit(f"task-unified-mjw-{running.pk}")))
    assert (err["param"], err["issues"][0]["code"]) == ("task_id", "parent_not_completed")


def test_an_image_the_parent_does_not_have_is_refused(alice_api, alice, team):
    moderated = finished_job(alice, team, images=2)
    err = error(alice_api.create(_edit(f"task-unified-mjw-{moderated.pk}", image_number=3)))
    assert (err["param"], err["issues"][0]["code"]) == ("image_number", "no_such_image")


def test_enhance_of_a_fast_parent_is_refused(alice_api, alice, team):
    parent = finished_job(alice, team, speed="fast")
    body = {"model": "mj-v7-enhance", "model_params": {"task_id": f"task-unified-mjw-{parent.pk}"}}
    assert error(alice_api.create(body))["issues"][0]["code"] == "parent_not_draft"


# --- bodies that must never become a 500 ------------------------------------------------------

MALFORMED: list[bytes] = [
    b"",
    b"not json",
    b"[]",
    b'"a string"',
    b"null",
    b"42",
    b"\xff\xfe\x00",
    b'{"model": "mj-v7", "prompt": "\\ud800 cat"}',
    b'{"model": "mj-v7", "prompt": NaN}',
    b'{"model": "mj-v7-remove-bg", "image_urls": ["https://x.org/a\\u0000.png"]}',
    b'{"model": "mj-v7", "prompt": "a cat", "callback_url": "https://x.org/\\u0000"}',
    b'{"model": "mj-v7", "prompt": "a cat", "model_params": {"\\u0000": 1}}',
    b'{"model": "mj-v7", "prompt": "a cat", "model_params": {"scale": Infinity}}',
    b'{"model": 5}',
    b'{"model": ["mj-v7"]}',
    b'{"model": "mj-v7", "prompt": ["a", "cat"]}',
    b'{"model": "mj-v7", "prompt": {"text": "a cat"}}',
    b'{"model": "mj-v7", "prompt": "a cat", "model_params": []}',
    b'{"model": "mj-v7", "prompt": "a cat", "model_params": {"speed": 5}}',
    b'{"model": "mj-v7", "prompt": "a cat", "model_params": {"speed": ["fast"]}}',
    b'{"model": "mj-v7", "prompt": "a cat", "image_urls": "https://x.org/a.png"}',
    b'{"model": "mj-v7-retexture", "prompt": "a", "image_urls": [1, 2]}',
    b'{"model": "mj-v7-upscale", "model_params": {"task_id": 42}}',
    b'{"model": "mj-v7-upscale", "model_params": {"task_id": "task-unified-mjw-1", '
    b'"image_number": "1"}}',
    b'{"model": "mj-v7-upscale", "model_params": {"task_id": "x", "image_number": true}}',
    b'{"model": "mj-v7-upscale", "model_params": {"task_id": "x", "type": {"a": 1}}}',
    b'{"model": "mj-v7-pan", "model_params": {"task_id": "task-unified-mjw-1", "scale": "big"}}',
    b'{"model": "mj-v7-pan", "model_params": {"task_id": "x", "scale": 1e400}}',
    b'{"model": "mj-v7-pan", "model_params": {"task_id": "x", "scale": ' + b"9" * 4000 + b"}}",
    b'{"model": "mj-v7", "prompt": "a", "x": ' + b"9" * 5000 + b"}",
    b'{"model": "mj-v7-edit", "prompt": "a", "model_params": {"task_id": "x", "canvas": [1]}}',
    b'{"model": "mj-v7-inpaint", "model_params": {"task_id": "x", "mask": "everything"}}',
    b'{"model": "mj-v7", "prompt": "a cat", "callback_url": 5}',
    b'{"model": "mj-v7", "prompt": "a cat", "provider": ["evolink"]}',
    # A well-formed body whose prompt is too long is a 422: test_api_prompt_limit.py.
    b"[" * 100_000 + b"]" * 100_000,
    b'{"model": "mj-v7-retexture", "prompt": "a", "image_urls": ["https://x.org/a.png"]'
    b", " + b'"image_urls": ["' + b"h" * 10 + b'"]}',
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_body_is_a_400_in_evolinks_envelope(alice_api, raw):
    response = alice_api.post(URL, raw=raw)
    assert response.status_code == 400, response.content[:300]
    err = error(response)
    assert err["code"] == "invalid_request" and err["message"]
    assert not Job.objects.exists()


def test_a_body_over_the_upload_limit_is_a_400(alice_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({**GENERATE, "prompt": "a" * 2000}).encode()
    assert error(alice_api.post(URL, raw=raw))["message"] == "The request body is too large"


def test_an_unknown_top_level_field_is_ignored_as_evolink_does(alice_api):
    assert alice_api.create({**GENERATE, "n": 4, "user": "x"}).status_code == 200


# --- who may create -----------------------------------------------------------------------


def test_without_a_token_it_is_a_401_with_a_bearer_challenge(db):
    response = Api(None).create()
    assert response.status_code == 401
    assert error(response)["code"] == "unauthorized"
    assert error(response)["type"] == "authentication_error"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "mjw_abc", "Bearer mjw_wrong", "Bearer x" * 300],
)
def test_a_malformed_or_unknown_token_is_a_401(alice_api, header):
    response = alice_api.client.post(
        URL,
        json.dumps(GENERATE),
        content_type="application/json",
        headers={"Authorization": header},
    )
    assert response.status_code == 401 and error(response)["code"] == "unauthorized"


def test_a_revoked_token_is_a_401(alice_api):
    ApiToken.objects.get().revoke()
    response = alice_api.create()
    assert response.status_code == 401
    assert error(response)["message"] == "This token was revoked"


def test_an_expired_token_is_a_401(alice, team):
    fund(alice, team)
    api = Api(issue(alice, team, expires_in=timedelta(days=1)))
    assert api.create().status_code == 200
    ApiToken.objects.update(expires_at=ApiToken.objects.get().created)
    response = api.create({**GENERATE, "prompt": "another"})
    assert response.status_code == 401 and error(response)["message"] == "This token has expired"


def test_a_deactivated_users_token_is_a_401(alice_api, alice):
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert alice_api.create().status_code == 401


def test_a_session_cookie_is_not_a_credential(alice_client):
    response = alice_client.post(URL, json.dumps(GENERATE), content_type="application/json")
    assert response.status_code == 401


def test_a_viewers_token_is_a_403(dave_api):
    response = dave_api.create()
    assert response.status_code == 403
    assert error(response)["code"] == "model_access_denied"
    assert not Job.objects.exists()


def test_a_token_stops_working_when_its_owner_leaves_the_team(bob, team):
    api = Api(issue(bob, team))
    Membership.objects.filter(user=bob, team=team).delete()
    assert api.create().status_code == 401


def test_the_token_records_when_it_was_last_used(alice_api):
    assert ApiToken.objects.get().last_used_at is None
    alice_api.create()
    assert ApiToken.objects.get().last_used_at is not None


def test_the_token_never_appears_in_logs(alice_api, caplog):
    caplog.set_level(logging.DEBUG)
    alice_api.create()
    alice_api.create({"model": "mj-v7", "prompt": "--s 5000"})
    ApiToken.objects.get().revoke()
    alice_api.create()
    assert caplog.records
    assert alice_api.token not in caplog.text


# --- budgets and fairness, as on the web --------------------------------------------------


def test_too_few_credits_is_a_402(bob, team):
    api = Api(issue(bob, team))
    response = api.create()
    assert response.status_code == 402
    assert error(response)["code"] == "insufficient_quota"
    assert error(response)["type"] == "insufficient_quota"
    assert not Job.objects.exists()


def test_a_monthly_limit_is_a_402(alice_api, alice, team):
    ledger.account_for(membership(alice, team)).__class__.objects.update(monthly_limit=10)
    response = alice_api.create()
    assert response.status_code == 402 and "monthly limit" in error(response)["message"]


def test_the_team_limit_is_a_402_too(alice_api, team):
    Team.objects.filter(pk=team.pk).update(monthly_limit=10)
    assert alice_api.create().status_code == 402


def test_past_the_in_flight_cap_a_task_is_200_pending_and_waits(alice_api, alice, team):
    account = ledger.account_for(membership(alice, team))
    account.__class__.objects.filter(pk=account.pk).update(max_in_flight=2)
    for n in range(2):
        assert alice_api.create({**GENERATE, "prompt": f"cat {n}"}).status_code == 200
    response = alice_api.create({**GENERATE, "prompt": "one too many"})
    assert response.status_code == 200 and "Retry-After" not in response
    assert response.json()["status"] == "pending"
    assert Job.objects.count() == 3 and Job.objects.waiting().count() == 1


def test_the_per_token_rate_limit_is_a_429_with_retry_after(alice_api, alice, team, settings):
    settings.MJWEB_API_RATE_LIMIT = 3
    bad = {"model": "mj-v7", "prompt": "--s 5000"}  # cheap requests that still count
    statuses = [alice_api.create(bad).status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    response = alice_api.create()
    assert response.status_code == 429
    assert error(response)["type"] == "rate_limit_error"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response["X-RateLimit-Remaining"] == "0"
    assert not Job.objects.exists()
    other = Api(issue(alice, team, name="second"))
    assert other.create().status_code == 200  # the limit is per token


# --- idempotency ----------------------------------------------------------------------------


def test_an_idempotency_key_returns_the_first_task_and_charges_once(alice_api):
    first = alice_api.create(**{"Idempotency-Key": "render-42"})
    again = alice_api.create(**{"Idempotency-Key": "render-42"})
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Job.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="reserve").count() == 1
    assert Job.objects.get().client_request_id == "idem:render-42"


def test_without_a_key_a_retry_makes_a_second_task(alice_api):
    alice_api.create()
    alice_api.create()
    assert Job.objects.count() == 2


def test_a_key_reused_with_a_different_body_is_a_400(alice_api):
    alice_api.create(**{"Idempotency-Key": "k1"})
    response = alice_api.create(
        {**GENERATE, "prompt": "a different cat"}, **{"Idempotency-Key": "k1"}
    )
    assert response.status_code == 400
    assert error(response)["param"] == "Idempotency-Key"
    assert Job.objects.count() == 1


def test_a_long_key_is_hashed_and_still_deduplicates(alice_api):
    key = "k" * 200
    first = alice_api.create(**{"Idempotency-Key": key}).json()["id"]
    assert alice_api.create(**{"Idempotency-Key": key}).json()["id"] == first
    stored = Job.objects.get().client_request_id
    assert stored.startswith("idem:sha256:") and len(stored) == 64


@pytest.mark.parametrize("key", ["k" * 256, " padded "])
def test_a_malformed_key_is_a_400(alice_api, key):
    err = error(alice_api.create(**{"Idempotency-Key": key}))
    assert err["param"] == "Idempotency-Key"


def test_the_same_key_in_another_team_is_a_400_not_a_500(alice, team, other_team):
    Membership.objects.create(team=other_team, user=alice, role=Role.MEMBER)
    fund(alice, team)
    fund(alice, other_team)
    here, there = Api(issue(alice, team)), Api(issue(alice, other_team))
    assert here.create(**{"Idempotency-Key": "same"}).status_code == 200
    response = there.create(**{"Idempotency-Key": "same"})
    assert response.status_code == 400 and error(response)["param"] == "Idempotency-Key"


# The same key sent many times at once (real requests racing): test_api_idempotency_race.py


# --- callback_url -----------------------------------------------------------------------------


def test_an_https_callback_url_is_kept_for_delivery(alice_api):
    url = "https://hooks.example.org/mjweb?secret=abc"
    alice_api.create({**GENERATE, "callback_url": url})
    task = ApiTask.objects.get()
    assert (task.callback_url, task.callback_state) == (url, "pending")


def test_without_a_callback_url_nothing_is_pending(alice_api):
    alice_api.create()
    assert ApiTask.objects.get().callback_state == ""


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/x",
        "https://10.0.0.5/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
        "https://intranet/x",
        "https://user:pw@hooks.example.org/x",
        "ftp://hooks.example.org/x",
        "https://hooks.example.org/" + "a" * 2048,
        "not a url",
    ],
)
def test_a_callback_url_that_is_not_public_https_is_a_400(alice_api, url):
    response = alice_api.create({**GENERATE, "callback_url": url})
    assert response.status_code == 400, url
    assert error(response)["param"] == "callback_url"
    assert not Job.objects.exists()


def test_the_configured_loopback_upstream_may_receive_callbacks(alice_api, settings):
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "evolink": {"base_url": "http://127.0.0.1:8801/evolink", "api_key": "sim-key"},
    }
    url = "http://127.0.0.1:8801/evolink/hook"  # under its base URL's path only
    assert alice_api.create({**GENERATE, "callback_url": url}).status_code == 200
    assert ApiTask.objects.get().callback_url == url


# --- the method ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_a_405_in_the_envelope(alice_api, method):
    response = getattr(alice_api.client, method)(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert error(response)["code"] == "method_not_allowed"
