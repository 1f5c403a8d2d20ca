"""GET /_sim/statement: the account statement a provider keeps, faults included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from simclient import HTTP, Api, Control


@pytest.fixture
def key(control: Control) -> str:
    """A key of its own, so the statement holds only this test's tasks."""
    name = f"stmt-{uuid.uuid4().hex[:8]}"
    control.post(f"/_sim/keys/{name}", {"balance": "1000"})
    return name


def statement(control: Control, key: str, **params: Any) -> dict[str, Any]:
    return dict(control.get("/_sim/statement", key=key, **params))


def test_it_lists_every_billed_task_with_its_charge_and_refund(
    sim: Any, control: Control, key: str
) -> None:
    api = Api(sim, "evolink", key)
    done = api.run({"model": "mj-v7", "prompt": "billed", "model_params": {"speed": "fast"}})
    failed = api.submit({"model": "mj-v7", "prompt": "refunded [sim:fail]"})
    control.post(f"/_sim/tasks/{failed}/complete")
    moderated = api.run({"model": "mj-v7", "prompt": "two left [sim:images=2]"})
    evolink = statement(control, key, dialect="evolink")["dialects"]["evolink"]
    rows = {row["task_id"]: row for row in evolink["tasks"]}
    assert set(rows) == {done["id"], failed, moderated["id"]}
    assert (rows[done["id"]]["charged"], rows[done["id"]]["net"]) == ("5.4", "5.4")
    assert rows[done["id"]]["status"] == "completed" and rows[done["id"]]["images"] == 4
    # Failures are refunded; partial moderation is not.
    assert (rows[failed]["refunded"], rows[failed]["net"]) == ("5.4", "0.0")
    assert rows[failed]["status"] == "failed" and rows[failed]["images"] == 0
    assert (rows[moderated["id"]]["net"], rows[moderated["id"]]["images"]) == ("5.4", 2)
    assert (evolink["charged"], evolink["refunded"], evolink["net"]) == ("16.2", "5.4", "10.8")
    assert evolink["unit"] == "credits"


def test_a_create_whose_answer_was_dropped_is_still_billed(
    sim: Any, control: Control, key: str
) -> None:
    control.faults(drop={"count": 1, "when": "after"})
    with pytest.raises(httpx.TransportError):
        Api(sim, "reapi", key).create({"model": "mj-v7", "prompt": "lost answer"})
    [row] = statement(control, key)["dialects"]["reapi"]["tasks"]
    assert (row["charged"], row["refunded"], row["status"]) == ("88", "0", "running")


def test_a_task_that_ends_late_is_billed_when_it_ends(sim: Any, control: Control, key: str) -> None:
    api = Api(sim, "vtrix", key)
    task = api.submit({"model": "midjourney_diffusion", "text": "slow [sim:hold]"})
    [row] = statement(control, key)["dialects"]["vtrix"]["tasks"]
    assert row["status"] == "running" and row["finished_at"] is None
    control.post(f"/_sim/tasks/{task}/complete")
    [row] = statement(control, key)["dialects"]["vtrix"]["tasks"]
    assert row["status"] == "completed" and row["finished_at"] >= row["created_at"]
    assert row["net"] == "0.087318"


def test_the_statement_is_by_month_and_by_key(sim: Any, control: Control, key: str) -> None:
    mine = Api(sim, "evolink", key).submit({"model": "mj-v7", "prompt": "this month"})
    now = datetime.now(UTC)
    assert statement(control, key, month=now.strftime("%Y-%m"))["dialects"]["evolink"]["tasks"]
    last_year = f"{now.year - 1}-{now.month:02d}"
    assert statement(control, key, month=last_year)["dialects"]["evolink"]["tasks"] == []
    other = statement(control, "other-key")["dialects"]["evolink"]["tasks"]
    assert mine not in {row["task_id"] for row in other}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"key": "nobody"}, 404),
        ({"month": "2026-13"}, 400),
        ({"dialect": "midjourney"}, 400),
    ],
)
def test_bad_statement_queries_are_refused_with_a_reason(
    control: Control, key: str, params: dict[str, str], status: int
) -> None:
    response = HTTP.get(control.base + "/_sim/statement", params={"key": key, **params})
    assert response.status_code == status
    assert response.json()["error"]
