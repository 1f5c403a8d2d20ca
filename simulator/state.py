"""What the HTTP front (`server`) and the control API (`control`) read of a
running simulator: `SimState`, the parts `app.Simulator` holds, and the request
log they share.

It sits below all three, so imports flow one way (app -> server -> control ->
state) and neither the server nor the control API needs the module that wires
them together.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .callbacks import CallbackDispatcher
    from .config import SimConfig
    from .dialects import Dialect
    from .engine import Engine
    from .faults import FaultBoard
    from .store import Store


class SimState(Protocol):
    """A running simulator's parts, as `app.Simulator` holds them."""

    config: SimConfig
    store: Store
    faults: FaultBoard
    dialects: dict[str, Dialect]
    requests: RequestLog
    callbacks: CallbackDispatcher
    engine: Engine
    base_url: str


class RequestLog:
    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def list(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._entries)
        since = int(filters.get("since", 0))
        out = []
        for entry in entries:
            if entry["seq"] <= since:
                continue
            if any(
                filters.get(k) and entry.get(k) != filters[k]
                for k in ("dialect", "method", "endpoint", "task_id")
            ):
                continue
            if filters.get("path") and filters["path"] not in entry["path"]:
                continue
            out.append(entry)
        limit = filters.get("limit")
        return out[-int(limit) :] if limit else out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
