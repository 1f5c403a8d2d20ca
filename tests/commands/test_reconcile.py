"""manage.py reconcile against the simulator's statement, with its faults."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import Job, Membership
from gallery.studio import pipeline, reconcile
from tests.pipeline.conftest import control, run_until, run_until_final

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def account(sim, settings) -> str:
    """A provider account (key) of this test's own, with its statement configured,
    so the shared simulator's other tasks stay off it."""
    key = f"recon-{uuid.uuid4().hex[:10]}"
    control(sim, f"/_sim/keys/{key}", {"balance": "1000000"})
    settings.PROVIDERS = {
        name: {**conf, "api_key": key, "statement_url": f"{sim.base_url}/_sim/statement"}
        for name, conf in settings.PROVIDERS.items()
    }
    return key


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=5000, by=alice, reason="test")
    return account


def create(alice, team, prompt: str, provider: str = "evolink") -> Job:
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(operation="mj-v7", provider=provider, prompt=prompt, speed="fast")
    return pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=prompt))


def run(*args: str) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def this_month() -> str:
    return timezone.now().strftime("%Y-%m")


@pytest.mark.parametrize("provider", ["evolink", "reapi", "vtrix"])
def test_completed_failed_and_moderated_jobs_reconcile_without_differences(
    account, funded, alice, team, provider
):
    done = run_until_final(create(alice, team, "a harbour", provider))
    failed = run_until_final(create(alice, team, "a storm [sim:fail]", provider))
    moderated = run_until_final(create(alice, team, "a beach [sim:images=2]", provider))
    assert [done.status, failed.status, moderated.status] == ["completed", "failed", "completed"]
    report = reconcile.report_for(provider, this_month())
    assert report.statement and report.differences == []
    assert (report.tasks, report.jobs) == (3, 3)
    # Failures refunded on both sides; partial moderation charged on both.
    assert report.charged == done.credits_charged + moderated.credits_charged
    assert report.provider_refunded > 0
    assert report.provider_net == report.provider_billed - report.provider_refunded
    assert report.margin_usd is not None
    assert "no differences" in run("--provider", provider, "--month", this_month())


def test_a_create_whose_answer_was_lost_is_listed_and_explained(account, funded, alice, team):
    job = run_until_final(create(alice, team, "a lighthouse [sim:drop]"))
    assert (job.status, job.error_kind, job.upstream_id) == ("failed", "ambiguous", "")
    report = reconcile.report_for("evolink", this_month())
    [diff] = report.differences
    assert (diff.job_id, diff.charged, diff.provider_net) == (job.pk, 0, Decimal("5.4"))
    assert diff.cause == reconcile.LOST_ANSWER and diff.task_id
    output = run("--provider", "evolink")
    assert f"explained task {diff.task_id} (job {job.pk})" in output


def test_a_task_that_finished_after_our_deadline_is_listed_and_explained(
    sim, account, funded, alice, team
):
    job = run_until(create(alice, team, "a slow tide [sim:hold]", "vtrix"), ["running"])
    Job.objects.filter(pk=job.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    pipeline.reap()
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "deadline")
    control(sim, f"/_sim/tasks/{job.upstream_id}/complete", {})  # it finishes upstream, late
    [diff] = reconcile.report_for("vtrix", this_month()).differences
    assert (diff.task_id, diff.cause) == (job.upstream_id, reconcile.LATE)
    assert diff.provider_net == Decimal("0.087318")
    assert "UNEXPLAINED" not in run("--provider", "vtrix")


def test_a_billed_task_no_job_accounts_for_makes_the_command_fail(
    sim, account, funded, alice, team
):
    run_until_final(create(alice, team, "a harbour", "reapi"))
    # Someone used the account's key outside mjweb: billed, and no job names it.
    response = httpx.post(
        f"{sim.url('reapi')}/api/v1/images/generations",
        json={"model": "mj-v7", "prompt": "made elsewhere"},
        headers={"Authorization": f"Bearer {account}"},
    )
    stray = response.json()["id"]
    report = reconcile.report_for("reapi", this_month())
    [diff] = report.unexplained
    assert (diff.task_id, diff.job_id, diff.provider_net) == (stray, None, Decimal(88))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 unexplained"):
        call_command("reconcile", "--provider", "reapi", stdout=out, stderr=err)
    assert f"UNEXPLAINED task {stray} (no job)" in out.getvalue()


def test_a_charged_job_missing_from_the_statement_is_unexplained(account, funded, alice, team):
    job = run_until_final(create(alice, team, "a harbour"))
    real = job.upstream_id
    Job.objects.filter(pk=job.pk).update(upstream_id="task-unified-0-notthere")
    # Both sides now hold a task the other does not: two unexplained differences.
    found = {
        (d.task_id, d.job_id, d.charged)
        for d in reconcile.report_for("evolink", this_month()).unexplained
    }
    assert found == {("task-unified-0-notthere", job.pk, job.credits_charged), (real, None, 0)}


def test_without_a_statement_it_says_what_it_cannot_see_and_sums_reported_costs(
    sim, funded, alice, team, settings
):
    run_until_final(create(alice, team, "a harbour", "vtrix"))
    report = reconcile.report_for("vtrix", this_month())
    assert not report.statement
    assert (report.jobs, report.reported, report.unit) == (1, Decimal("0.087318"), "usd")
    output = run("--provider", "vtrix")
    assert "no statement available" in output and "0.087318 usd" in output


def test_a_month_that_is_not_one_is_refused() -> None:
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("reconcile", "--month", "2026-13", stdout=StringIO())


def test_an_unreadable_statement_fails_the_command(sim, settings) -> None:
    settings.PROVIDERS = {
        name: {**conf, "statement_url": f"{sim.base_url}/_sim/nothing-here"}
        for name, conf in settings.PROVIDERS.items()
    }
    err = StringIO()
    with pytest.raises(CommandError, match="1 unreadable"):
        call_command("reconcile", "--provider", "evolink", stdout=StringIO(), stderr=err)
    assert "statement unreadable" in err.getvalue()
