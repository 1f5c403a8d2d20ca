"""The ``/_sim/...`` control endpoint: JSON in, JSON out, no authentication (loopback tool).

Every route is listed in README.md ("Control endpoint").
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from . import operations as ops
from .operations import FAILURE_CODES

if TYPE_CHECKING:
    from .state import SimState

Reply = tuple[int, Any]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ControlError(400, "body is not JSON") from exc
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def _one(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in query.items() if v}


def handle_control(
    sim: SimState, method: str, path: str, query: dict[str, list[str]], raw: bytes
) -> Reply:
    try:
        return _route(sim, method, path.rstrip("/"), _one(query), raw)
    except ControlError as exc:
        return exc.status, {"error": str(exc)}
    except ValueError as exc:
        return 400, {"error": str(exc)}


def _route(sim: SimState, method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
    parts = path.split("/")[2:]  # after "", "_sim"
    head = parts[0] if parts else ""
    if head in ("", "health") and method == "GET":
        return 200, {"ok": True, "base_url": sim.base_url, "time": time.time()}
    if head == "config" and method == "GET":
        return 200, _config(sim)
    if head == "reset" and method == "POST":
        return _reset(sim, _json(raw))
    if head == "faults":
        return _faults(sim, method, parts[1:], raw)
    if head == "outages":
        return _outages(sim, method, parts[1:], raw)
    if head == "requests":
        if method == "GET":
            entries = sim.requests.list(query)
            return 200, {"count": len(entries), "requests": entries}
        if method == "DELETE":
            sim.requests.clear()
            return 200, {"ok": True}
    if head == "callbacks":
        if method == "GET":
            attempts = [
                a
                for a in list(sim.callbacks.attempts)
                if not query.get("task_id") or a["task_id"] == query["task_id"]
            ]
            return 200, {
                "count": len(attempts),
                "pending": sim.callbacks.pending(),
                "attempts": attempts,
            }
        if method == "DELETE":
            sim.callbacks.clear_log()
            return 200, {"ok": True}
    if head == "keys":
        return _keys(sim, method, parts[1:], raw)
    if head == "timing":
        if method == "POST":
            sim.config.timing.update(_json(raw))
        if method in ("GET", "POST"):
            return 200, sim.config.timing.as_dict()
    if head == "tasks":
        return _tasks(sim, method, parts[1:], query, raw)
    if head == "prices" and method == "GET":
        return 200, _prices()
    if head == "statement" and method == "GET":
        return 200, _statement(sim, query)
    raise ControlError(404, f"no control route {method} {path}")


def _config(sim: SimState) -> dict[str, Any]:
    cfg = sim.config
    return {
        "base_url": sim.base_url,
        "data_dir": str(cfg.data_dir),
        "keys": sim.store.all_keys(),
        "initial_balance": str(cfg.initial_balance),
        "timing": cfg.timing.as_dict(),
        "strict_callbacks": cfg.strict_callbacks,
        "reapi_error_codes": cfg.reapi_error_codes,
        "fetch_sources": cfg.fetch_sources,
        "faults": sim.faults.snapshot(),
        "dialects": {name: f"{sim.base_url}/{name}" for name in sim.dialects},
    }


def _reset(sim: SimState, body: dict[str, Any]) -> Reply:
    sim.faults.clear()
    sim.requests.clear()
    sim.callbacks.clear_log()
    if body.get("timing"):
        sim.config.timing.update(body["timing"])
    if body.get("tasks"):
        sim.store.delete_all_tasks()
    return 200, {"ok": True}


def _faults(sim: SimState, method: str, rest: list[str], raw: bytes) -> Reply:
    if method == "GET":
        return 200, sim.faults.snapshot()
    if method == "DELETE":
        sim.faults.clear(rest[0] if rest else None)
        return 200, sim.faults.snapshot()
    body = _json(raw)
    if rest:  # POST /_sim/faults/NAME {spec}
        body = {rest[0]: body}
    if method == "POST":
        sim.faults.merge(body)
    elif method == "PUT":
        sim.faults.replace(body)
    else:
        raise ControlError(405, "use GET, POST, PUT or DELETE")
    return 200, sim.faults.snapshot()


def _outages(sim: SimState, method: str, rest: list[str], raw: bytes) -> Reply:
    if method == "GET" and not rest:
        return 200, {"outages": sim.faults.outages()}
    if len(rest) != 1:
        raise ControlError(404, "use /_sim/outages/DIALECT")
    if method == "POST":
        sim.faults.set_outage(rest[0], _json(raw))
    elif method == "DELETE":
        sim.faults.set_outage(rest[0], None)
    else:
        raise ControlError(405, "use GET /_sim/outages, POST or DELETE /_sim/outages/DIALECT")
    return 200, {"outages": sim.faults.outages()}


def _keys(sim: SimState, method: str, rest: list[str], raw: bytes) -> Reply:
    if not rest:
        if method != "GET":
            raise ControlError(405, "use GET /_sim/keys or POST /_sim/keys/KEY")
        return 200, {"keys": {key: sim.engine.balances(key) for key in sim.store.all_keys()}}
    key = rest[0]
    if method == "POST":
        body = _json(raw)
        sim.store.ensure_keys([key])
        if "balance" in body:
            try:
                value = Decimal(str(body["balance"]))
            except InvalidOperation as exc:
                raise ControlError(400, "balance must be a number") from exc
            dialect = body.get("dialect")
            if dialect is not None and dialect not in sim.dialects:
                raise ControlError(400, f"unknown dialect {dialect!r}")
            sim.engine.set_balance(key, dialect, value)
        if "denied_models" in body:
            sim.store.set_denied_models(key, [str(m) for m in body["denied_models"]])
    elif method != "GET":
        raise ControlError(405, "use GET or POST")
    if not sim.store.key_exists(key):
        raise ControlError(404, f"unknown key {key!r}")
    return 200, {
        "key": key,
        "balances": sim.engine.balances(key),
        "denied_models": sim.store.denied_models(key),
        "ledger": sim.store.ledger(key),
    }


def _tasks(sim: SimState, method: str, rest: list[str], query: dict[str, str], raw: bytes) -> Reply:
    engine = sim.engine
    if not rest:
        if method != "GET":
            raise ControlError(405, "use GET")
        tasks = sim.store.list_tasks(int(query.get("limit", 200)))
        if query.get("dialect"):
            tasks = [t for t in tasks if t.dialect == query["dialect"]]
        return 200, {"tasks": [engine.internal_state(t) for t in tasks]}
    task = sim.store.get_task(rest[0])
    if task is None:
        raise ControlError(404, f"unknown task {rest[0]!r}")
    action = rest[1] if len(rest) > 1 else None
    if action is None and method == "GET":
        return 200, engine.internal_state(task)
    if method != "POST":
        raise ControlError(405, "use POST for task actions")
    if action == "complete":
        task = engine.finalize(task.id) or task
    elif action == "fail":
        code = str(_json(raw).get("code", "generation_failed"))
        if code not in FAILURE_CODES:
            raise ControlError(400, f"code must be one of {', '.join(FAILURE_CODES)}")
        task = engine.finalize(task.id, fail_code=code) or task
    elif action == "expire":
        engine.expire_urls(task.id)
        task = sim.store.get_task(task.id) or task
    else:
        raise ControlError(404, f"unknown task action {action!r}")
    return 200, engine.internal_state(task)


UNITS = {"evolink": "credits", "reapi": "credits", "vtrix": "USD"}


def _month_bounds(month: str) -> tuple[float, float]:
    """[start, end) of a UTC calendar month "YYYY-MM", as epoch seconds."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ControlError(400, "month must be YYYY-MM") from exc
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.timestamp(), end.timestamp()


def _statement(sim: SimState, query: dict[str, str]) -> dict[str, Any]:
    """The account statement a provider would keep for one key: every task it
    billed in a month, per dialect, with what it charged and refunded."""
    key = query.get("key") or ""
    if not sim.store.key_exists(key):
        raise ControlError(404, f"unknown key {key!r}")
    dialects = [query["dialect"]] if query.get("dialect") else list(sim.dialects)
    if any(d not in sim.dialects for d in dialects):
        raise ControlError(400, f"unknown dialect {query['dialect']!r}")
    month = query.get("month") or datetime.now(UTC).strftime("%Y-%m")
    start, end = _month_bounds(month)
    rows = sim.store.statement(key, start, end)
    out: dict[str, Any] = {}
    for dialect in dialects:
        tasks = [r for r in rows if r["dialect"] == dialect]
        charged = sum((r["charged"] for r in tasks), Decimal(0))
        refunded = sum((r["refunded"] for r in tasks), Decimal(0))
        out[dialect] = {
            "unit": UNITS[dialect],
            "charged": str(charged),
            "refunded": str(refunded),
            "net": str(charged - refunded),
            "tasks": [_statement_row(r) for r in tasks],
        }
    return {"key": key, "month": month, "dialects": out}


def _statement_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "charged": str(row["charged"]),
        "refunded": str(row["refunded"]),
        "net": str(row["charged"] - row["refunded"]),
    }


def _prices() -> dict[str, Any]:
    out: dict[str, Any] = {"evolink": {}, "reapi": {}, "vtrix": {}}
    for op in ops.OPERATIONS:
        speeds = ("draft", "fast", "turbo") if op == ops.GENERATE else ("fast", "turbo")
        if op in ops.FLAT_PRICE_OPS:
            speeds = ("fast",)
        for dialect in out:
            row = {}
            for speed in speeds:
                req = ops.CreateRequest(operation=op, model=op, prompt="x", speed=speed)
                row[speed if op not in ops.FLAT_PRICE_OPS else "flat"] = str(
                    ops.price(dialect, req, oref=False)
                )
            if op == ops.UPSCALE:
                req = ops.CreateRequest(operation=op, model=op, params={"type": "creative"})
                row["creative"] = str(ops.price(dialect, req, oref=False))
            out[dialect][op] = row
    return {
        "unit": UNITS,
        "oref_factor": 2,
        "prices": out,
    }
