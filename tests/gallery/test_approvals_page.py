"""The admins' approvals page: waiting jobs by member, approved or declined
one click each or all of a member's at once."""

from __future__ import annotations

import pytest

from gallery.catalog import operations
from gallery.models import Job, LedgerEntry, Team
from gallery.studio import pipeline
from tests.factories import fund, membership

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def waiting_job(user, team, prompt="a red bird", **fields) -> Job:
    request = operations.Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
    return pipeline.create(
        membership(user, team), pipeline.Draft(request=request, prompt_raw=prompt)
    )


@pytest.fixture
def priced(team) -> Team:
    Team.objects.filter(pk=team.pk).update(approval_above=10)
    return team


def test_the_queue_lists_waiting_jobs_by_member_with_their_reason(alice_client, alice, bob, priced):
    fund(bob, priced)
    job = waiting_job(bob, priced)
    html = alice_client.get("/t/acme/approvals/").content.decode()
    assert f'id="awaiting-{job.pk}"' in html
    assert "more than the 10 the team approves" in html
    assert "Approve all of bob's" in html


def test_a_private_waiting_job_shows_no_prompt_to_the_admin(alice_client, bob, priced):
    fund(bob, priced)
    job = waiting_job(bob, priced, prompt="secret lighthouse")
    Job.objects.filter(pk=job.pk).update(private=True)
    html = alice_client.get("/t/acme/approvals/").content.decode()
    assert f'id="awaiting-{job.pk}"' in html and "A private job" in html
    assert "secret lighthouse" not in html


def test_one_click_approves_and_htmx_gets_the_queue_back(alice_client, bob, priced):
    fund(bob, priced)
    job = waiting_job(bob, priced)
    response = alice_client.post(f"/t/acme/approvals/{job.pk}/approve/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f"Approved job {job.pk}." in html and f'id="awaiting-{job.pk}"' not in html
    job.refresh_from_db()
    assert job.status == "queued"


def test_one_click_declines_and_refunds(alice_client, bob, priced):
    account = fund(bob, priced, 1000)
    job = waiting_job(bob, priced)
    assert alice_client.post(f"/t/acme/approvals/{job.pk}/decline/").status_code == 302
    job.refresh_from_db()
    account.refresh_from_db()
    assert job.status == "cancelled" and account.balance == 1000
    again = alice_client.post(f"/t/acme/approvals/{job.pk}/decline/", headers=HTMX)
    assert "already decided" in again.content.decode()
    assert LedgerEntry.objects.filter(job=job, kind="refund").count() == 1


def test_all_of_a_members_jobs_at_once(alice_client, alice, bob, priced):
    fund(bob, priced)
    fund(alice, priced)
    bobs = [waiting_job(bob, priced, prompt=f"bird {n}") for n in range(3)]
    alices = waiting_job(alice, priced)
    pk = membership(bob, priced).pk
    response = alice_client.post(f"/t/acme/approvals/members/{pk}/decline/", headers=HTMX)
    assert "Declined 3 of bob&#x27;s jobs." in response.content.decode()
    assert {j.status for j in Job.objects.filter(pk__in=[j.pk for j in bobs])} == {"cancelled"}
    alices.refresh_from_db()
    assert alices.status == "awaiting"


def test_members_viewers_strangers_and_anonymous_are_kept_out(
    client, bob_client, carol_client, bob, priced
):
    fund(bob, priced)
    job = waiting_job(bob, priced)
    assert client.get("/t/acme/approvals/").status_code == 302
    assert bob_client.get("/t/acme/approvals/").status_code == 403
    assert bob_client.post(f"/t/acme/approvals/{job.pk}/approve/").status_code == 403
    assert carol_client.post(f"/t/acme/approvals/{job.pk}/approve/").status_code == 404
    job.refresh_from_db()
    assert job.status == "awaiting"


def test_another_teams_job_is_not_found(alice_client, carol, other_team):
    Team.objects.filter(pk=other_team.pk).update(approval_above=10)
    fund(carol, other_team)
    theirs = waiting_job(carol, other_team)
    assert alice_client.post(f"/t/acme/approvals/{theirs.pk}/approve/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "awaiting"


def test_the_page_and_the_actions_take_one_method_each(alice_client, priced):
    assert alice_client.post("/t/acme/approvals/").status_code == 405
    assert alice_client.get("/t/acme/approvals/1/approve/").status_code == 405


def test_an_admin_sets_who_needs_approval_on_the_budgets_page(alice_client, bob, team):
    pk = membership(bob, team).pk
    data = {"approval_above": "300", "needs_approval": [str(pk)]}
    assert alice_client.post("/t/acme/budgets/approvals/", data).status_code == 302
    team.refresh_from_db()
    assert team.approval_above == 300
    assert membership(bob, team).account.needs_approval
    response = alice_client.post(
        "/t/acme/budgets/approvals/", {"approval_above": "-5"}, headers=HTMX
    )
    assert (
        response.status_code == 400 and 'id="id_approval_above_error"' in response.content.decode()
    )


def test_the_job_page_says_a_job_waits_for_approval_and_why(bob_client, bob, priced):
    fund(bob, priced)
    job = waiting_job(bob, priced)
    html = bob_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "Awaiting approval" in html
    assert "a team admin's approval: It costs 79 credits, more than the 10" in html
