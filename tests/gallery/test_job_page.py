"""The job page and cancelling a job."""

from __future__ import annotations

import pytest

from gallery.credits import ledger
from gallery.models import Job, Membership
from tests.factories import fund, reserved_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(alice, team) -> Job:
    """alice's queued job: she was granted 1000 credits, and 79 are reserved."""
    fund(alice, team, 1000)
    return reserved_job(alice, team, prompt="a fox --ar 3:2")


def test_it_shows_the_job_with_its_cost_and_events(job, alice_client, alice, team):
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "a fox" in html and "79 reserved" in html
    assert "<strong>created</strong> — Reserved 79 credits" in html
    assert "Cancel job" in html


def test_a_teammate_sees_it_but_cannot_cancel_it(job, bob_client, alice, bob, team):
    html = bob_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "a fox" in html and "Cancel job" not in html
    assert bob_client.post(f"/t/acme/jobs/{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.status == "queued"


def test_another_team_gets_404(job, carol_client, alice, team):
    assert carol_client.get(f"/t/acme/jobs/{job.pk}/").status_code == 404
    assert carol_client.get(f"/t/other/jobs/{job.pk}/").status_code == 404
    assert carol_client.post(f"/t/other/jobs/{job.pk}/cancel/").status_code == 404


def test_cancelling_a_queued_job_refunds_it_once(job, alice_client, alice, team):
    response = alice_client.post(f"/t/acme/jobs/{job.pk}/cancel/", follow=True)
    assert "Cancelled; 79 credits refunded." in response.content.decode()
    alice_client.post(f"/t/acme/jobs/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.entries.filter(kind="refund").count() == 1
    assert ledger.account_for(Membership.objects.get(user=alice, team=team)).balance == 1000


def test_cancelling_a_running_job_only_asks(job, alice_client, alice, team):
    Job.objects.filter(pk=job.pk).update(status="running", upstream_id="task-unified-1")
    response = alice_client.post(f"/t/acme/jobs/{job.pk}/cancel/", follow=True)
    assert "its images will be kept" in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == ("running", True)
    assert not job.entries.filter(kind="refund").exists()


def test_cancel_rejects_get(job, alice_client, alice, team):
    assert alice_client.get(f"/t/acme/jobs/{job.pk}/cancel/").status_code == 405


def test_the_header_shows_the_balance_on_every_team_page(job, alice_client, alice, team):
    for url in (f"/t/acme/jobs/{job.pk}/", "/t/acme/members/", "/t/acme/collections/"):
        assert "<strong>921</strong> credits" in alice_client.get(url).content.decode(), url
