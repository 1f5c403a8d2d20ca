"""Helpers for the simulator tests: per-dialect clients, the control client, a callback
receiver. A module of its own (not conftest) so test files can import it unambiguously."""

from __future__ import annotations

import io
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from simulator import Simulator

DURATIONS = {"draft": 0.15, "turbo": 0.2, "fast": 0.25}
CALLBACK_DELAYS = (0.1, 0.2, 0.4)
KEYS = ("sim-key", "other-key")
# Half the default 1024: PNG encoding is most of the suite's CPU time. The default size
# is checked by its own test.
LONG_SIDE = 512

PATHS = {
    "evolink": ("/v1/images/generations", "/v1/tasks/{}"),
    "reapi": ("/api/v1/images/generations", "/api/v1/tasks/{}"),
    "vtrix": ("/model/v1/generation", "/model/v1/generation/task/{}"),
}
# One shared client: building an httpx.Client costs tens of milliseconds (TLS context),
# which adds up over hundreds of tests.
HTTP = httpx.Client(timeout=10)
# Vendored copies of the providers' documents (tests/specs/README.md): a plain clone passes.
OPENAPI_DIR = Path(__file__).resolve().parents[1] / "specs" / "openapi"


class Api:
    """One provider's API as the app sees it: a base URL and a key."""

    def __init__(self, sim: Simulator, dialect: str, key: str = "sim-key") -> None:
        self.sim = sim
        self.dialect = dialect
        self.base = sim.url(dialect)
        self.headers = {"Authorization": f"Bearer {key}"}
        self.http = HTTP

    def create(self, body: Any, **kwargs: Any) -> httpx.Response:
        url = self.base + PATHS[self.dialect][0]
        return HTTP.post(url, json=body, headers=self.headers, **kwargs)

    def poll(self, task_id: str, **kwargs: Any) -> httpx.Response:
        url = self.base + PATHS[self.dialect][1].format(task_id)
        return HTTP.get(url, headers=self.headers, **kwargs)

    def submit(self, body: Any) -> str:
        response = self.create(body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def wait(self, task_id: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.poll(task_id).json()
            if body["status"] in ("completed", "failed"):
                return dict(body)
            time.sleep(0.03)
        raise AssertionError(f"task {task_id} did not finish in {timeout} s")

    def run(self, body: Any) -> dict[str, Any]:
        """Create, then force completion through the control endpoint (no waiting)."""
        task_id = self.submit(body)
        self.sim_control().post(f"/_sim/tasks/{task_id}/complete")
        return self.wait(task_id)

    def sim_control(self) -> Control:
        return Control(self.sim)

    def close(self) -> None:
        pass  # the shared client stays open


def result_urls(dialect: str, body: dict[str, Any]) -> list[str]:
    if dialect == "evolink":
        return list(body.get("results") or [])
    if dialect == "reapi":
        return list((body.get("output") or {}).get("image_urls") or [])
    return [c["url"] for o in body.get("output") or [] for c in o["content"]]


def download(urls: list[str]) -> list[Image.Image]:
    images = []
    for url in urls:
        response = HTTP.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        image.load()
        assert image.format == "PNG"
        images.append(image)
    return images


class Control:
    def __init__(self, sim: Simulator) -> None:
        self.base = sim.base_url
        self.http = HTTP

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(self.base + path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        response = self.http.post(self.base + path, json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, **faults: Any) -> Any:
        return self.post("/_sim/faults", faults)

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.get(f"/_sim/tasks/{task_id}"))

    def wait_task(self, task_id: str, field: str, value: Any, timeout: float = 5) -> dict[str, Any]:
        """Wait until the simulator's internal state of a task shows ``field == value``."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.task(task_id)
            if state[field] == value or time.monotonic() > deadline:
                return state
            time.sleep(0.02)


class Receiver:
    """A callback endpoint on loopback that records every POST and answers as told."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.replies: deque[int] = deque()
        self.delay = 0.0
        self._cv = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                with receiver._cv:
                    status = receiver.replies.popleft() if receiver.replies else 200
                    receiver.calls.append({"at": time.time(), "body": body, "status": status})
                    receiver._cv.notify_all()
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.calls) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} callbacks, got {len(self.calls)}")
                self._cv.wait(remaining)
            return list(self.calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
