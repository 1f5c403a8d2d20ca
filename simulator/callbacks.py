"""Callback delivery with evolink's documented schedule.

evolink: fired once the task is completed or failed, body identical to
``GET /v1/tasks/{id}``, 10 s timeout per attempt, any 2xx is success, otherwise
up to 3 retries at 1 s / 2 s / 4 s after each failure (providers.md §2.3).
Vtrix documents a per-request ``callback`` but not its payload or retries; the
simulator sends its task body on the same schedule (an assumption, see README).

Deliveries run on a small pool so one slow receiver cannot hold up the others;
a scheduler thread owns the timetable.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from .config import Timing
from .store import Store, Task

log = logging.getLogger("simulator.callbacks")


@dataclass
class Delivery:
    task_id: str
    url: str
    kind: str  # final | duplicate | stale
    attempt: int = 1
    unreachable: bool = False
    copy: int = 1


@dataclass(order=True)
class _Slot:
    when: float
    seq: int
    delivery: Delivery = field(compare=False)


class CallbackDispatcher:
    def __init__(
        self,
        store: Store,
        timing: Timing,
        body_for: Callable[[str, str], dict[str, Any] | None],
        log_size: int = 5000,
    ) -> None:
        self.store = store
        self.timing = timing
        self.body_for = body_for
        self.attempts: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._heap: list[_Slot] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sim-callback")
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(trust_env=False, follow_redirects=False)
        self._attempt_seq = itertools.count(1)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        if self._thread:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def schedule(self, task: Task, plan: dict[str, Any]) -> None:
        """Queue the deliveries for a task that just reached a final state."""
        if not task.callback_url:
            return
        now = time.time()
        unreachable = bool(plan.get("unreachable"))
        for copy in range(1, int(plan.get("copies", 1)) + 1):
            kind = "final" if copy == 1 else "duplicate"
            self._push(
                now, Delivery(task.id, task.callback_url, kind, unreachable=unreachable, copy=copy)
            )
        if plan.get("out_of_order"):
            # A stale "processing" body that arrives after the final one.
            stale = Delivery(task.id, task.callback_url, "stale", unreachable=unreachable)
            self._push(now + 0.05, stale)

    def resume_pending(self) -> None:
        """After a restart: deliver callbacks whose task finished but were never confirmed."""
        rows = self.store.query(
            "SELECT id FROM tasks WHERE callback_state = 'pending' AND status != 'running'"
        )
        for row in rows:
            task = self.store.get_task(row["id"])
            if task and task.callback_url:
                self._push(time.time(), Delivery(task.id, task.callback_url, "final"))

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def clear_log(self) -> None:
        self.attempts.clear()

    def _push(self, when: float, delivery: Delivery) -> None:
        with self._cv:
            heapq.heappush(self._heap, _Slot(when, next(self._seq), delivery))
            self._cv.notify()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cv:
                while not self._stop.is_set():
                    if self._heap and self._heap[0].when <= time.time():
                        slot = heapq.heappop(self._heap)
                        break
                    timeout = self._heap[0].when - time.time() if self._heap else None
                    self._cv.wait(timeout)
                else:
                    return
            try:
                self._pool.submit(self._deliver, slot.delivery)
            except RuntimeError:
                return  # pool shut down while stopping

    def _deliver(self, delivery: Delivery) -> None:
        body = self.body_for(delivery.task_id, delivery.kind)
        started = time.time()
        record: dict[str, Any] = {
            "seq": next(self._attempt_seq),
            "task_id": delivery.task_id,
            "url": delivery.url,
            "kind": delivery.kind,
            "copy": delivery.copy,
            "attempt": delivery.attempt,
            "at": started,
            "body": body,
            "status": None,
            "error": None,
            "ok": False,
        }
        if body is None:
            record["error"] = "task vanished"
        elif delivery.unreachable:
            record["error"] = "connection refused (simulated: callback_unreachable)"
        else:
            try:
                response = self._client.post(
                    delivery.url,
                    json=body,
                    timeout=self.timing.callback_timeout,
                    headers={"User-Agent": "mjweb-upstream-simulator"},
                )
                record["status"] = response.status_code
                record["ok"] = 200 <= response.status_code < 300
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
        record["elapsed"] = time.time() - started
        self.attempts.append(record)
        if record["ok"]:
            if delivery.kind == "final":
                self.store.update_task(delivery.task_id, callback_state="delivered")
            return
        delays = self.timing.retry_delays()
        if delivery.attempt <= len(delays) and body is not None:
            retry = Delivery(
                delivery.task_id,
                delivery.url,
                delivery.kind,
                delivery.attempt + 1,
                delivery.unreachable,
                delivery.copy,
            )
            self._push(time.time() + delays[delivery.attempt - 1], retry)
        elif delivery.kind == "final":
            self.store.update_task(delivery.task_id, callback_state="failed")
