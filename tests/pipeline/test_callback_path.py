"""The simulator calls the app back; the app re-reads the task at once."""

from __future__ import annotations

import time

import pytest

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import Job, Membership
from gallery.studio import pipeline
from tests.pipeline.conftest import control

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]


def test_a_callback_arrives_and_schedules_an_immediate_read(
    sim, live_server, settings, alice, team
):
    settings.MJWEB_PUBLIC_URL = live_server.url
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=1000, by=alice)
    request = Request(operation="mj-v7", provider="evolink", prompt="a cat [sim:duration=3]")
    job = pipeline.create(membership, pipeline.Draft(request=request))
    pipeline.run_submit(job.pk)
    job.refresh_from_db()
    assert job.status == "running"
    sent = control(sim, "/_sim/requests?dialect=evolink&endpoint=create&limit=5")["requests"][-1]
    assert sent["body"]["callback_url"].startswith(f"{live_server.url}/callbacks/evolink/{job.pk}/")
    deadline = time.monotonic() + 15
    while not job.events.filter(kind="callback").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    job.refresh_from_db()
    callback = job.events.get(kind="callback")
    assert callback.message == "read scheduled"
    assert job.next_poll_at <= callback.at  # the next read is due at once
    pipeline.refresh(job.pk)
    pipeline.ingest(job.pk)
    job.refresh_from_db()
    assert job.status == "completed"


def test_no_callback_url_is_sent_when_the_site_is_not_reachable(sim, settings, alice, team):
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "evolink": {"base_url": "https://api.evolink.ai", "api_key": "x"},
    }
    settings.MJWEB_PUBLIC_URL = "http://192.168.1.10:8000"
    job = Job(pk=1, provider="evolink")
    assert pipeline.callback_url(job, "t") is None
    settings.MJWEB_PUBLIC_URL = "https://mjweb.example.org"
    assert pipeline.callback_url(job, "t") == "https://mjweb.example.org/callbacks/evolink/1/t"
