"""Switchable misbehaviour, shared by the HTTP handler, the task engine and callbacks.

A fault is ``name -> spec``. Every spec may carry:

- ``fraction`` (0-1, default 1): share of matching events it hits, rolled with a
  seeded RNG so a run can be reproduced with ``--fault-seed``;
- ``count``: hit only the next N matching events, then switch itself off;
- ``dialect``: only ``evolink`` / ``reapi`` / ``vtrix``;
- ``scope`` (HTTP faults only): ``create``, ``poll``, ``files`` or ``any`` (default).

plus its own fields (``retry_after``, ``status``, ``delay``, ``when``, ``code``,
``images``, ``copies``), documented in README.md.

An *outage* is a whole dialect failing at once, beside the faults (one per
dialect, so evolink can be down while reAPI is slow): ``down`` answers every
create and status read with a quick 503, ``slow`` holds each answer ``delay``
seconds, ``rate_limit`` answers 429 with ``retry_after``. Files are not hit:
result images sit on the provider's CDN, which outlives an API outage.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

from .config import FAULT_NAMES

HTTP_FAULTS = ("rate_limit", "server_error", "slow", "drop")
SCOPES = ("create", "poll", "files", "any")
DIALECTS = ("evolink", "reapi", "vtrix")
OUTAGE_MODES = ("down", "slow", "rate_limit")


def validate_outage(dialect: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}")
    mode = spec.get("mode")
    if mode not in OUTAGE_MODES:
        raise ValueError(f"{dialect}.mode must be one of {', '.join(OUTAGE_MODES)}")
    clean: dict[str, Any] = {"mode": mode}
    if mode == "slow":
        clean["delay"] = float(spec.get("delay", 30))
        if not 0 <= clean["delay"] <= 600:
            raise ValueError(f"{dialect}.delay must be 0-600 seconds")
    if mode == "rate_limit":
        clean["retry_after"] = float(spec.get("retry_after", 1))
    return clean


def validate_spec(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    if name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    clean = dict(spec)
    fraction = float(clean.get("fraction", 1.0))
    if not 0 <= fraction <= 1:
        raise ValueError(f"{name}.fraction must be between 0 and 1")
    clean["fraction"] = fraction
    if "count" in clean and clean["count"] is not None:
        clean["count"] = int(clean["count"])
    scope = clean.get("scope", "any")
    if scope not in SCOPES:
        raise ValueError(f"{name}.scope must be one of {', '.join(SCOPES)}")
    clean["scope"] = scope
    if clean.get("dialect") not in (None, *DIALECTS):
        raise ValueError(f"{name}.dialect must be one of {', '.join(DIALECTS)}")
    if name == "server_error":
        status = int(clean.get("status", 500))
        if not 500 <= status <= 599:
            raise ValueError("server_error.status must be 5xx")
        clean["status"] = status
    if name == "rate_limit":
        clean["retry_after"] = float(clean.get("retry_after", 1))
    if name == "slow":
        clean["delay"] = float(clean.get("delay", 30))
    if name == "drop":
        when = clean.get("when", "before")
        if when not in ("before", "after"):
            raise ValueError("drop.when must be 'before' or 'after'")
        clean["when"] = when
    if name == "task_failure":
        clean["code"] = str(clean.get("code", "generation_failed"))
    if name == "moderation":
        images = int(clean.get("images", 2))
        if not 0 <= images <= 3:
            raise ValueError("moderation.images must be 0-3 (fewer than four)")
        clean["images"] = images
    if name == "callback_duplicate":
        clean["copies"] = max(2, int(clean.get("copies", 2)))
    return clean


class FaultBoard:
    def __init__(self, initial: Mapping[str, Mapping[str, Any]], seed: int | None) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, dict[str, Any]] = {}
        self._hits: dict[str, int] = {}
        self._outages: dict[str, dict[str, Any]] = {}
        self._rng = random.Random(seed)
        self.replace(initial)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "active": {k: dict(v) for k, v in self._faults.items()},
                "hits": dict(self._hits),
                "outages": {k: dict(v) for k, v in self._outages.items()},
            }

    def outages(self) -> dict[str, dict[str, Any] | None]:
        with self._lock:
            return {d: dict(self._outages[d]) if d in self._outages else None for d in DIALECTS}

    def set_outage(self, dialect: str, spec: Mapping[str, Any] | None) -> None:
        """Take a whole dialect away (or bring it back with ``None``)."""
        clean = None if spec is None else validate_outage(dialect, spec)
        if clean is None and dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}")
        with self._lock:
            if clean is None:
                self._outages.pop(dialect, None)
            else:
                self._outages[dialect] = clean

    def outage(self, dialect: str) -> dict[str, Any] | None:
        with self._lock:
            spec = self._outages.get(dialect)
            if spec is not None:
                key = f"outage:{spec['mode']}"
                self._hits[key] = self._hits.get(key, 0) + 1
            return dict(spec) if spec else None

    def replace(self, faults: Mapping[str, Mapping[str, Any]]) -> None:
        checked = {name: validate_spec(name, spec) for name, spec in faults.items()}
        with self._lock:
            self._faults = checked

    def merge(self, faults: Mapping[str, Mapping[str, Any] | None]) -> None:
        """Set the given faults; a ``null`` spec clears that one."""
        checked = {n: validate_spec(n, s) for n, s in faults.items() if s is not None}
        with self._lock:
            for name, spec in faults.items():
                if spec is None:
                    self._faults.pop(name, None)
            self._faults.update(checked)

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._faults.clear()
                self._hits.clear()
                self._outages.clear()
            else:
                self._faults.pop(name, None)

    def hit(
        self, name: str, *, dialect: str | None = None, scope: str | None = None
    ) -> dict[str, Any] | None:
        """Return the fault's spec if it strikes this event (and consume one ``count``)."""
        with self._lock:
            spec = self._faults.get(name)
            if spec is None:
                return None
            if spec.get("dialect") and dialect and spec["dialect"] != dialect:
                return None
            if scope and spec.get("scope", "any") not in ("any", scope):
                return None
            if spec["fraction"] < 1 and self._rng.random() >= spec["fraction"]:
                return None
            if spec.get("count") is not None:
                spec["count"] -= 1
                if spec["count"] <= 0:
                    del self._faults[name]
            self._hits[name] = self._hits.get(name, 0) + 1
            return dict(spec)
