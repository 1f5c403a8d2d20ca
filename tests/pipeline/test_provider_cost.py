"""What each provider says a task cost is recorded beside what the member was charged."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from gallery.catalog.operations import Request
from gallery.models import Membership
from gallery.providers.evolink import EvolinkAdapter
from gallery.providers.reapi import ReapiAdapter
from gallery.providers.vtrix import VtrixAdapter
from gallery.studio import pipeline
from tests.pipeline.conftest import run_until_final

FIXTURES = Path(__file__).parent.parent / "providers" / "fixtures"


def fixture(provider: str, name: str) -> dict:
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())["body"]


def test_vtrix_usage_cost_on_a_completed_task_is_read_as_usd() -> None:
    with VtrixAdapter(httpx.Client()) as adapter:
        snapshot = adapter.parse_task(fixture("vtrix", "task_completed"), upstream_id="t")
    assert snapshot.cost is not None
    assert (snapshot.cost.amount, snapshot.cost.unit) == (Decimal("0.087318"), "usd")


def test_a_vtrix_task_without_usage_reports_no_cost() -> None:
    with VtrixAdapter(httpx.Client()) as adapter:
        snapshot = adapter.parse_task({"status": "processing", "progress": 0.5}, upstream_id="t")
    assert snapshot.cost is None


def test_evolink_credits_reserved_is_read_wherever_it_appears() -> None:
    body = {"id": "task-unified-1", "status": "processing", "usage": {"credits_reserved": 5.4}}
    with EvolinkAdapter(httpx.Client()) as adapter:
        accepted = adapter.parse_accepted(body)
        snapshot = adapter.parse_task(body, upstream_id="task-unified-1")
    assert accepted is not None and accepted.cost is not None
    assert (accepted.cost.amount, accepted.cost.unit) == (Decimal("5.4"), "credits")
    assert snapshot.cost == accepted.cost


def test_an_unreadable_cost_is_no_cost_rather_than_an_error() -> None:
    body = {"status": "completed", "results": ["https://x/1.png"], "usage": {"cost": "n/a"}}
    with VtrixAdapter(httpx.Client()) as adapter:
        assert adapter.parse_task(body, upstream_id="t").cost is None
    with ReapiAdapter(httpx.Client()) as adapter:
        assert adapter.parse_task(body, upstream_id="t").cost is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "cost", "unit"),
    [
        ("evolink", Decimal("5.4"), "credits"),  # credits_reserved on the create answer
        ("vtrix", Decimal("0.087318"), "usd"),  # usage.cost on the completed task
        ("reapi", None, ""),  # reAPI reports no per-task cost
    ],
)
def test_the_job_keeps_the_providers_reported_cost_beside_its_charge(
    sim, funded, alice, team, provider, cost, unit
):
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(operation="mj-v7", provider=provider, prompt="a quiet harbour", speed="fast")
    job = pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=request.prompt))
    job = run_until_final(job)
    assert job.status == "completed", job.error_message
    assert job.credits_charged == job.credits_reserved > 0
    assert job.provider_cost == cost
    assert job.provider_cost_unit == unit
