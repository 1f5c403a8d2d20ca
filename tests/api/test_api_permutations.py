"""The team API and Midjourney's batch syntax: one task per request, so a prompt
with permutation braces or --repeat is refused, saying so; without them
nothing changes."""

from __future__ import annotations

import pytest

from gallery.api.openapi import build
from gallery.api.schemas import BATCH_NOT_IN_API
from gallery.api.views.api import team_api
from gallery.models import Job, LedgerEntry

pytestmark = pytest.mark.django_db


def create(api, prompt: str, model: str = "mj-v7"):
    return api.create({"model": model, "prompt": prompt, "model_params": {"speed": "fast"}})


@pytest.mark.parametrize(
    "prompt",
    [
        "a {red, blue} bird",
        "a bird --ar {1:1, 16:9}",
        "a {bird {on a pier, in a tree}, cat}",
        "a bird --repeat 3",
        "a bird --r 2",
    ],
)
def test_batch_syntax_is_refused_saying_the_api_makes_one_task(alice_api, prompt):
    response = create(alice_api, prompt)
    assert response.status_code == 400
    err = response.json()["error"]
    assert (err["code"], err["param"], err["message"]) == (
        "invalid_request",
        "prompt",
        BATCH_NOT_IN_API,
    )
    assert [(i["code"], i["param"]) for i in err["issues"]] == [("unsupported_syntax", "prompt")]
    assert "one task per request" in err["message"] and "--repeat" in err["message"]
    assert not Job.objects.exists()
    assert not LedgerEntry.objects.filter(kind="reserve").exists()


def test_an_edit_with_braces_is_refused_the_same_way(alice_api):
    response = create(alice_api, "made of {brass, glass}", model="mj-v7-remix")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == BATCH_NOT_IN_API


def test_a_prompt_without_braces_makes_one_task_as_before(alice_api):
    response = create(alice_api, "a lighthouse, at dusk --ar 16:9 --raw")
    assert response.status_code == 200
    job = Job.objects.get()
    assert job.prompt_raw == "a lighthouse, at dusk --ar 16:9 --raw"
    assert response.json()["id"] == f"task-unified-mjw-{job.pk}"


def test_the_openapi_text_says_braces_and_repeat_are_refused():
    prompt = build(team_api, "http://testserver")["components"]["schemas"][
        "ImageGenerationRequest"
    ]["properties"]["prompt"]
    assert "permutation braces {a, b} and --repeat" in prompt["description"]
    assert "send one request per prompt" in prompt["description"]
