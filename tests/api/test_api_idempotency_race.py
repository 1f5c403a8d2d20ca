"""One Idempotency-Key sent many times at once: real requests on threads, each
with its own database connection, against the real view and the real database
(run on PostgreSQL by `make test`). However the requests interleave: one job,
one task row, one reservation, one queue entry, and every answer is that task."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django_q.models import OrmQ

from gallery.models import ApiTask, Job, LedgerEntry, Team
from tests.api.conftest import Api, issue
from tests.factories import fund
from tests.ledger.test_ledger_concurrency import in_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

N = 8
KEY = {"Idempotency-Key": "render-race"}


def send_at_once(token: str, start: threading.Barrier) -> list:
    @in_thread
    def send(_: int):
        start.wait(timeout=30)
        return Api(token).create(**KEY)

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(send, range(N)))


def assert_one_task_for_all(responses) -> None:
    assert [r.status_code for r in responses] == [200] * N, [r.content for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    replayed = [r.get("Idempotent-Replayed") == "true" for r in responses]
    assert replayed.count(False) == 1  # the one that made it
    job = Job.objects.get()
    assert responses[0].json()["id"] == f"task-unified-mjw-{job.pk}"
    assert ApiTask.objects.filter(job=job).count() == 1
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", "amount")) == [
        ("grant", 10_000),
        ("reserve", -job.credits_reserved),
    ]
    assert [q.task["args"] for q in OrmQ.objects.all()] == [(job.pk,)]


def test_the_same_key_sent_at_once_makes_one_task_and_one_reserve(alice, team):
    fund(alice, team)
    responses = send_at_once(issue(alice, team), threading.Barrier(N))
    assert_one_task_for_all(responses)


def test_requests_that_all_missed_the_key_before_the_first_committed_get_its_task(alice, team):
    """The race forced: every request has looked for its key and found nothing,
    then waits for the team's lock (held here, as a long reservation would hold
    it) before making its job; let go, one makes the job and the others run into
    the database's unique key, and answer with the winner's task."""
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks and pg_stat_activity: PostgreSQL")
    fund(alice, team)
    token = issue(alice, team)
    held, release = threading.Event(), threading.Event()

    @in_thread
    def hold_the_team_lock() -> None:
        with transaction.atomic():
            Team.objects.select_for_update().get(pk=team.pk)
            held.set()
            release.wait(timeout=60)

    with ThreadPoolExecutor(max_workers=1) as holder:
        holding = holder.submit(hold_the_team_lock)
        assert held.wait(timeout=30)
        with ThreadPoolExecutor(max_workers=1) as sender:
            sending = sender.submit(send_at_once, token, threading.Barrier(N))
            try:
                wait_for_lock_waiters(N)
            finally:
                release.set()
            responses = sending.result(timeout=60)
        holding.result(timeout=60)
    assert_one_task_for_all(responses)


def wait_for_lock_waiters(n: int) -> None:
    """Until `n` other sessions wait for a row lock (the requests, at the team lock)."""
    deadline = time.monotonic() + 30
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0]
        if waiting >= n:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {n} requests reached the lock"
        time.sleep(0.05)
