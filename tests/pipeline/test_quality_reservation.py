"""The price the create bar shows for a --q prompt is what Generate reserves
(issue 23, item 11): both come from one quote."""

from __future__ import annotations

import re

import pytest

from gallery.credits import ledger
from gallery.models import Job, LedgerEntry, Membership

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def funded(alice, team, settings):
    settings.MJWEB_PROVIDER = "evolink"
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=5000, by=alice)
    return account


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    """Nothing is sent upstream: the reservation is all these tests look at."""
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


def shown_price(client, prompt: str) -> int:
    html = client.post("/t/acme/check/", {"prompt": prompt, "speed": "fast"}).content.decode()
    return int(re.search(r"(\d+) credits", html).group(1))


@pytest.mark.parametrize(
    ("prompt", "credits"),
    [("a lighthouse", 79), ("a lighthouse --q 2", 158), ("a lighthouse --quality 4", 316)],
)
def test_generate_reserves_the_price_the_create_bar_showed(
    alice_client, funded, prompt: str, credits: int
):
    assert shown_price(alice_client, prompt) == credits
    data = {"prompt": prompt, "speed": "fast", "client_request_id": f"q-{credits}"}
    assert alice_client.post("/t/acme/jobs/", data, headers=HTMX).status_code == 200
    job = Job.objects.get(client_request_id=f"q-{credits}")
    assert job.credits_reserved == credits
    assert LedgerEntry.objects.get(job=job, kind="reserve").amount == -credits
