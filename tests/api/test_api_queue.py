"""Past the in-flight cap the team API answers 200 with a pending task that
waits in line, instead of 429 (issue 16); 429 stays for rate limits."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.management import call_command

from gallery.api.translate import task_id
from gallery.models import CreditAccount, Job, LedgerEntry
from tests.api.conftest import Api, issue
from tests.conftest import client_for, control
from tests.factories import fund, membership
from tests.ledger.test_ledger_concurrency import in_thread
from tests.pipeline.stack import Processes

CAP = 4
JOBS = 12


def capped(user, team, cap: int = CAP) -> Api:
    fund(user, team, amount=50_000)
    CreditAccount.objects.filter(membership=membership(user, team)).update(max_in_flight=cap)
    return Api(issue(user, team))


def body(n: int) -> dict:
    return {"model": "mj-v7", "prompt": f"fox {n} [sim:duration=1]", "model_params": {}}


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at one instant (an end before a start at a tie)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.django_db(transaction=True)
@pytest.mark.db_sensitive
def test_twelve_at_once_are_all_accepted_and_never_more_than_four_run_upstream(
    sim, settings, tmp_path, alice, team
):
    api = capped(alice, team)
    start = threading.Barrier(JOBS)

    @in_thread
    def send(n: int):
        start.wait(timeout=30)
        response = Api(api.token).create(body(n))
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        answers = list(pool.map(send, range(JOBS)))
    assert [status for status, _ in answers] == [200] * JOBS, answers
    assert {task["status"] for _, task in answers} == {"pending"}
    assert Job.objects.waiting().count() == JOBS - CAP

    procs = Processes(sim, tmp_path / "media")
    procs.start()
    try:
        deadline = time.monotonic() + 180
        while Job.objects.exclude(status="completed").exists():
            assert time.monotonic() < deadline, list(Job.objects.values_list("pk", "status"))
            time.sleep(0.3)
    finally:
        procs.stop()

    creates = control(sim, "/_sim/requests?dialect=evolink&endpoint=create&limit=1000")["requests"]
    task_ids = [r["task_id"] for r in creates if r["status"] == 200]
    assert len(task_ids) == JOBS  # each job sent once
    tasks = [control(sim, f"/_sim/tasks/{task_id}") for task_id in task_ids]
    assert most_at_once([(t["created_at"], t["completed_at"]) for t in tasks]) == CAP
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_a_waiting_task_cancelled_is_refunded_exactly_once(alice, team, monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    api = capped(alice, team, cap=1)
    api.create(body(1))
    waiting = api.create(body(2)).json()
    assert waiting["status"] == "pending"
    job = Job.objects.waiting().get()
    assert waiting["id"] == task_id(job.pk)
    balance = CreditAccount.objects.get(membership__user=alice).balance
    web = client_for(alice)
    for _ in range(2):  # pressed twice
        web.post(f"/t/acme/jobs/{job.pk}/cancel/")
    refunds = LedgerEntry.objects.filter(job=job, kind="refund")
    assert list(refunds.values_list("amount", flat=True)) == [job.credits_reserved]
    after = CreditAccount.objects.get(membership__user=alice).balance
    assert after == balance + job.credits_reserved
    task = api.get(f"/api/v1/tasks/{waiting['id']}").json()
    assert task["status"] == "failed" and task["error"]["code"] == "request_cancelled"
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
