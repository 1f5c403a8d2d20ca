"""Two identical Generate posts at the same moment (a double click without
JavaScript: the browser sends the form twice) make one job, one reserve, and
neither answer is an error: the request id is looked up again under the
team's lock, where the second finds the job the first made."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gallery.credits import ledger
from gallery.models import Job, LedgerEntry, Membership
from tests.conftest import client_for
from tests.ledger.test_ledger_concurrency import in_thread

pytestmark = pytest.mark.django_db(transaction=True)
AT_ONCE = 4


def test_identical_generates_at_once_make_one_job_and_none_fails(alice, team, monkeypatch):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=1000, by=alice)
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    start = threading.Barrier(AT_ONCE)
    data = {"prompt": "a lighthouse --ar 16:9", "speed": "fast", "client_request_id": "same"}

    @in_thread
    def post(_: int) -> int:
        client = client_for(alice)
        start.wait(timeout=30)
        return client.post("/t/acme/jobs/", data).status_code

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        statuses = list(pool.map(post, range(AT_ONCE)))
    assert statuses == [302] * AT_ONCE
    assert Job.objects.count() == 1
    assert LedgerEntry.objects.filter(account=account, kind="reserve").count() == 1
