"""The real thing: a django-q2 cluster and the poller as separate processes on
the test database, the simulator over HTTP, and workers killed with SIGKILL."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import Image, Job, Membership
from gallery.studio import pipeline
from tests.pipeline.stack import Processes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]


@pytest.fixture
def processes(sim, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    procs = Processes(sim, tmp_path / "media")
    yield procs
    procs.stop()


@pytest.fixture
def funded_member(alice, team):
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=50_000, by=alice)
    from gallery.models import CreditAccount

    CreditAccount.objects.filter(membership=membership).update(max_in_flight=20)
    return membership


def create(membership: Membership, prompt: str) -> Job:
    request = Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
    return pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=prompt))


def wait_until_final(jobs: list[Job], timeout: float) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = list(Job.objects.filter(pk__in=[j.pk for j in jobs]))
        if all(j.is_final for j in fresh):
            return fresh
        time.sleep(0.2)
    states = list(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("pk", "status"))
    raise AssertionError(f"jobs not final after {timeout}s: {states}")


def test_a_prompt_becomes_stored_images_through_the_real_queue(processes, funded_member):
    processes.start()
    job = create(funded_member, "a lighthouse at dusk --ar 3:2")
    (job,) = wait_until_final([job], timeout=60)
    assert job.status == "completed", job.error_message
    assert job.images.filter(status="stored").count() == 4
    assert set(job.events.values_list("kind", flat=True)) >= {"created", "submitted", "stored"}
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


def test_workers_killed_mid_run_leave_nothing_stuck_or_charged_twice(processes, funded_member):
    jobs = [create(funded_member, f"a fox number {n} [sim:duration=1.5]") for n in range(6)]
    processes.start()
    time.sleep(2.0)  # some submitted, some running, maybe one ingesting
    processes.kill()
    mid = dict(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("pk", "status"))
    processes.start()
    final = wait_until_final(jobs, timeout=90)
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
    assert {j.status for j in final} <= {"completed", "failed"}
    for job in final:
        if job.status == "failed":
            # Only a submit cut off mid-request may fail; it is refunded in full.
            assert job.error_code == "interrupted", (job.pk, mid[job.pk], job.error_message)
            assert job.entries.get(kind="refund").amount == job.credits_reserved
        else:
            assert job.images.filter(status="stored").count() == 4
    hashes = list(Image.objects.exclude(sha256="").values_list("sha256", flat=True))
    assert len(hashes) == len(set(hashes))
    assert sum(j.status == "completed" for j in final) >= 4, mid
