"""A provider's state over a sliding window, its circuit and its figures, on an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.providers import Kind, ProviderError
from gallery.studio import health
from gallery.studio.models.health import Outcome, ProviderCall, ProviderCircuit

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


def calls(outcome, n=1, *, at=T0, provider="evolink", latency=0.2):
    for _ in range(n):
        health.record(provider, "create", outcome, latency=latency, now=at)


def test_a_provider_nobody_called_is_healthy():
    assert health.state_of("reapi", now=T0) == health.HEALTHY


def test_three_outage_failures_in_a_row_mark_it_down():
    calls(Outcome.OK)
    calls(Outcome.SERVER_ERROR, 2)
    assert health.state_of("evolink", now=T0) != health.DOWN
    calls(Outcome.UNREACHABLE)
    assert health.state_of("evolink", now=T0) == health.DOWN


def test_refusals_of_bad_requests_are_no_outage():
    calls(Outcome.CLIENT_ERROR, 5)
    assert health.state_of("evolink", now=T0) == health.HEALTHY


def test_a_fifth_of_calls_failing_is_degraded_and_it_slides_out_of_the_window():
    calls(Outcome.OK, 3)
    calls(Outcome.RATE_LIMITED)
    assert health.state_of("evolink", now=T0) == health.DEGRADED
    later = T0 + health.WINDOW + timedelta(seconds=1)
    assert health.state_of("evolink", now=later) == health.HEALTHY


def test_slow_answers_are_degraded():
    calls(Outcome.OK, 4, latency=12)
    assert health.state_of("evolink", now=T0) == health.DEGRADED


def test_a_down_provider_lets_one_probe_through_per_back_off():
    calls(Outcome.SERVER_ERROR, 3)
    assert not health.allows_create("evolink", now=T0)
    due = T0 + health.FIRST_BACKOFF
    assert health.allows_create("evolink", now=due)
    assert not health.allows_create("evolink", now=due), "a second probe in the same back-off"
    circuit = ProviderCircuit.objects.get(provider="evolink")
    assert circuit.next_probe_at == due + 2 * health.FIRST_BACKOFF


def test_a_create_that_goes_through_closes_the_circuit():
    calls(Outcome.SERVER_ERROR, 3)
    assert health.close("evolink")
    assert health.allows_create("evolink", now=T0)
    assert not health.close("evolink")


def test_old_rows_are_pruned_as_new_ones_come(monkeypatch):
    monkeypatch.setattr(health, "PRUNE_EVERY", 1)
    calls(Outcome.OK, 2, at=T0 - health.KEEP - timedelta(minutes=1))
    calls(Outcome.OK, at=T0)
    assert list(ProviderCall.objects.values_list("at", flat=True)) == [T0]


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ProviderError(Kind.RATE_LIMITED, "slow down", http_status=429), Outcome.RATE_LIMITED),
        (ProviderError(Kind.UNAVAILABLE, "boom", http_status=503), Outcome.SERVER_ERROR),
        (ProviderError(Kind.UNAVAILABLE, "refused", code="connect_error"), Outcome.UNREACHABLE),
        (ProviderError(Kind.AMBIGUOUS, "no answer", code="read_timeout"), Outcome.UNREACHABLE),
        (ProviderError(Kind.INVALID_REQUEST, "bad", http_status=400), Outcome.CLIENT_ERROR),
    ],
)
def test_each_failure_counts_as_its_outcome(error, outcome):
    assert health.outcome_of(error) == outcome


def test_the_report_has_shares_percentiles_the_last_success_and_a_chart():
    calls(Outcome.OK, 3, latency=0.1, at=T0 - timedelta(minutes=1))
    calls(Outcome.SERVER_ERROR, latency=2, at=T0)
    (report,) = health.report(["evolink"], now=T0)
    assert report.state == health.DEGRADED
    assert report.shares["ok"] == 0.75
    assert (report.p50_ms, report.p95_ms) == (100, 2000)
    assert report.last_success == T0 - timedelta(minutes=1)
    assert len(report.bars) == health.CHART_BUCKETS
    assert report.bars[-1]["height"] == 11.0  # a quarter of 44


def test_creates_refused_in_a_row_open_the_circuit_though_reads_go_through():
    for _ in range(health.DOWN_STREAK):
        health.record("evolink", "create", Outcome.RATE_LIMITED, latency=0.1, now=T0)
        health.record("evolink", "read", Outcome.OK, latency=0.1, now=T0)
    assert health.state_of("evolink", now=T0) == health.DOWN
