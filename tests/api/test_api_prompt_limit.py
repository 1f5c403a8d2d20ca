"""The team API refuses a prompt over the limit with 422, naming the limit."""

from __future__ import annotations

import pytest

from gallery.models import Job
from tests.api.conftest import GENERATE

pytestmark = pytest.mark.django_db
LONG = "a lighthouse " + "x" * (9000 - len("a lighthouse "))


def test_a_prompt_at_the_limit_is_accepted(alice_api):
    response = alice_api.create({**GENERATE, "prompt": LONG[:8192]})
    assert response.status_code == 200, response.content


def test_the_team_api_answers_422_naming_the_limit(alice_api):
    response = alice_api.create({**GENERATE, "prompt": LONG})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"] == "The prompt is 9000 characters long; the limit is 8192"
    assert error["param"] == "prompt"
    assert not Job.objects.exists()
