"""Input that used to answer 500 on the gallery's views: a request id reused in
another team, impossible filter dates, job numbers past any 64-bit column.
Each is now refused in words with a 4xx, and nothing of another team shows."""

from __future__ import annotations

import pytest

from gallery.credits import ledger
from gallery.models import Job, Membership, Role
from tests.conftest import add
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


@pytest.fixture
def in_both_teams(alice, team, other_team):
    """alice is also a member of carol's team, with credits in both."""
    add(other_team, alice, Role.MEMBER)
    for where in (team, other_team):
        account = ledger.account_for(Membership.objects.get(user=alice, team=where))
        ledger.grant(account=account, amount=1000, by=alice)
    return alice


def generate(client, slug: str, prompt: str, **headers):
    data = {"prompt": prompt, "speed": "fast", "client_request_id": "same-id"}
    return client.post(f"/t/{slug}/jobs/", data, headers=headers)


@pytest.mark.db_sensitive
@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_a_request_id_used_in_another_team_is_refused_without_showing_that_job(
    alice_client, in_both_teams, other_team, no_queue, headers
):
    first = generate(alice_client, "acme", "a secret lighthouse")
    assert first.status_code == 302
    mine = Job.objects.get()
    response = generate(alice_client, "other", "a harbour", **headers)
    html = response.content.decode()
    assert response.status_code == 409
    assert "already used in another team" in html
    assert "secret lighthouse" not in html and f"/jobs/{mine.pk}/" not in html
    assert not Job.objects.filter(team=other_team).exists()


@pytest.mark.db_sensitive
def test_the_same_request_id_in_the_same_team_is_still_one_job(
    alice_client, in_both_teams, no_queue
):
    generate(alice_client, "acme", "a lighthouse")
    assert generate(alice_client, "acme", "a lighthouse").status_code == 302
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("since", "2026-02-30"), ("until", "2026-13-01"), ("since", "99999-01-01")],
)
def test_an_impossible_filter_date_is_an_error_on_the_page(alice_client, alice, team, field, value):
    job = finished_job(alice, team, images=1, prompt="a cat --ar 1:1")
    response = alice_client.get("/t/acme/", {field: value, "q": "cat"})
    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="f-{field}-error"' in html
    assert "must be a date as YYYY-MM-DD" in html
    assert f'id="job-{job.pk}"' in html  # the other filters still apply
    # The page's live stream does not carry the bad date along.
    assert f"{field}={value}" not in html.split('id="live-stream"', 1)[1].split(">", 1)[0]


@pytest.mark.parametrize("collection", ["abc", "1e5", "99999999999999999999999", "\u0661", ""])
def test_collecting_into_something_that_is_no_collection_number_is_404(
    alice_client, alice, team, collection
):
    job = finished_job(alice, team, images=0)
    response = alice_client.post(f"/t/acme/jobs/{job.pk}/collect/", {"collection": collection})
    assert response.status_code == 404
