"""Driving jobs through the pipeline as the worker and the poller would."""

from __future__ import annotations

import time

import pytest

from gallery.credits import ledger
from gallery.models import Job, Membership
from gallery.studio import pipeline
from tests.conftest import control  # noqa: F401 - re-exported for the tests here


@pytest.fixture
def funded(alice, team):
    """alice with 5,000 credits."""
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=5000, by=alice, reason="test")
    return account


def advance(job: Job) -> None:
    """One step of what the worker and the poller do, for the job's status."""
    if job.status == Job.Status.QUEUED:
        pipeline.run_submit(job.pk)
    elif job.status == Job.Status.RUNNING:
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
        pipeline.refresh(job.pk)
    elif job.status == Job.Status.INGESTING:
        pipeline.ingest(job.pk)


def run_until(job: Job, statuses, timeout: float = 20.0) -> Job:
    """Do what the worker and the poller do, until the job is in one of `statuses`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        advance(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job.pk} still {job.status} after {timeout}s")


def run_until_final(job: Job, timeout: float = 20.0) -> Job:
    """Do what the worker and the poller do, until the job ends."""
    return run_until(job, Job.FINAL, timeout)
