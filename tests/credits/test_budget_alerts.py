"""Budget alerts: each threshold (80 % and 100 % by default) alerts once per
period, to the admins and the member in the app, by email, and to the
budget's webhook through the SSRF guard."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone
from django_q.models import OrmQ

from gallery.catalog import operations
from gallery.credits import alerts, ledger
from gallery.models import Budget, BudgetAlert, Job, Notice
from gallery.studio import pipeline
from tests.credits.conftest import HTMX
from tests.factories import Clock, account_of, at, fund, make_job, membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(at("UTC", 2026, 6, 10, 12))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def spend(user, team, cost: int) -> list[BudgetAlert]:
    """Reserve a job of `cost`, then run the alert task as a worker would."""
    job = make_job(user, team, credits=cost, created=timezone.now())
    ledger.reserve(job=job, account=account_of(user, team))
    return alerts.check_job(job.pk)


def test_each_threshold_alerts_once_per_period(clock, alice, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100)
    assert spend(bob, team, 79) == []
    assert [a.threshold for a in spend(bob, team, 2)] == [80]
    assert spend(bob, team, 1) == []  # 82 %: 80 % was sent already this month
    assert [a.threshold for a in spend(bob, team, 18)] == [100]
    assert BudgetAlert.objects.count() == 2

    clock.set(at("UTC", 2026, 7, 1, 0, 1))  # a new month: the thresholds alert again
    assert [a.threshold for a in spend(bob, team, 100)] == [80, 100]
    assert sorted(BudgetAlert.objects.values_list("threshold", flat=True)) == [80, 80, 100, 100]


def test_running_the_task_twice_alerts_once(clock, alice, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100)
    job = make_job(bob, team, credits=90, created=timezone.now())
    ledger.reserve(job=job, account=account_of(bob, team))
    assert len(alerts.check_job(job.pk)) == 1
    assert alerts.check_job(job.pk) == []
    assert Notice.objects.count() == 2 and len(mail.outbox) == 1


def test_admins_and_the_member_get_a_notice_and_an_email(clock, alice, bob, carol, team):
    fund(bob, team)
    Budget.objects.create(team=team, membership=membership(bob, team), period="week", limit=50)
    spend(bob, team, 45)
    text = "The weekly budget of bob has reached 80 %: 45 of 50 credits used this week."
    assert sorted(Notice.objects.values_list("membership__user__username", "text")) == [
        ("alice", text),
        ("bob", text),
    ]
    (email,) = mail.outbox
    assert sorted(email.to) == ["alice@example.org", "bob@example.org"]
    assert email.subject == "[Acme Studio] Budget alert: 80 %" and email.body == text


def test_nothing_spent_alerts_nobody_even_against_a_budget_of_zero(clock, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=0)
    assert spend(bob, team, 0) == []
    assert not Notice.objects.exists()


def test_custom_thresholds_and_none(clock, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100, thresholds=[50])
    assert [a.threshold for a in spend(bob, team, 100)] == [50]
    Budget.objects.update(thresholds=[])
    Budget.objects.create(team=team, period="week", limit=1000, thresholds=[])
    assert spend(bob, team, 0) == []


def test_a_create_under_a_budget_queues_the_alert_task_and_one_without_does_not(bob, team):
    fund(bob, team)
    request = operations.Request(operation="mj-v7", provider="evolink", prompt="a", speed="fast")
    pipeline.create(membership(bob, team), pipeline.Draft(request=request))
    assert "gallery.tasks.budget_alerts" not in {t.func() for t in OrmQ.objects.all()}
    Budget.objects.create(team=team, limit=10_000)
    job = pipeline.create(membership(bob, team), pipeline.Draft(request=request))
    tasks = [(t.func(), t.task["args"][0]) for t in OrmQ.objects.all()]
    assert ("gallery.tasks.budget_alerts", job.pk) in tasks
    assert Job.objects.count() == 2


# --- the webhook ---------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings) -> Iterator[str]:
    """A loopback server configured as the evolink upstream at /evolink: the
    guard's one allowance for a loopback URL (tests/security/test_callback_allowance.py)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "evolink": {"base_url": f"{origin}/evolink", "api_key": "sim-key"},
    }
    Receiver.bodies = []
    yield origin
    server.shutdown()


def test_the_webhook_gets_the_alert_through_the_guard(clock, bob, team, receiver):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100, webhook_url=f"{receiver}/evolink/budget-hook")
    (alert,) = spend(bob, team, 85)
    assert Receiver.bodies == [
        {
            "type": "budget.alert",
            "team": "acme",
            "budget": "the team's monthly budget",
            "period_start": "2026-06-01T00:00:00+00:00",
            "threshold": 80,
            "used": 85,
            "limit": 100,
            "message": alerts.message(alert),
        }
    ]
    alert.refresh_from_db()
    assert alert.webhook_result == "HTTP 204"


def test_a_webhook_to_a_private_address_is_refused_and_recorded(clock, bob, team, receiver):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100, webhook_url=f"{receiver}/elsewhere")
    (alert,) = spend(bob, team, 85)
    alert.refresh_from_db()
    assert alert.webhook_result.startswith("refused: the URL")
    assert Receiver.bodies == []
    assert Notice.objects.exists()  # the other channels still told people


# --- notices in the app --------------------------------------------------------------------


def test_notices_show_on_my_credits_and_are_marked_read(clock, bob_client, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100)
    spend(bob, team, 100)
    html = bob_client.get("/t/acme/credits/").content.decode()
    assert "has reached 100 %: 100 of 100 credits used this month." in html
    assert "Mark all read" in html
    response = bob_client.post("/t/acme/notices/read/", headers=HTMX)
    assert response.status_code == 200 and "Mark all read" not in response.content.decode()
    assert not Notice.objects.filter(membership__user=bob, read_at__isnull=True).exists()


def test_marking_read_takes_a_post_and_touches_only_ones_own(
    clock, bob_client, carol_client, alice, bob, team
):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100)
    spend(bob, team, 100)
    assert bob_client.get("/t/acme/notices/read/").status_code == 405
    assert carol_client.post("/t/acme/notices/read/").status_code == 404
    assert bob_client.post("/t/acme/notices/read/").status_code == 302
    assert Notice.objects.filter(membership__user=alice, read_at__isnull=True).count() == 2


def test_the_budget_form_takes_only_an_https_webhook(alice_client, team):
    data = {"applies_to": "team", "period": "month", "limit": "100"}
    response = alice_client.post(
        "/t/acme/budgets/set/", {**data, "webhook_url": "http://example.org/hook"}, headers=HTMX
    )
    assert response.status_code == 400 and "must start with https://" in response.content.decode()
    alice_client.post("/t/acme/budgets/set/", {**data, "webhook_url": "https://example.org/h"})
    assert Budget.objects.get().webhook_url == "https://example.org/h"
