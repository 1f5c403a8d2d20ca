"""HTTP front: routing, auth, faults, the request log and file downloads.

Standard library ``ThreadingHTTPServer``: one thread per connection is plenty
for loopback tests and demos, lets a "slow" fault simply sleep in its own
thread, and lets a "drop" fault close the raw socket, which frameworks tend to
hide. HTTP/1.1 keep-alive is on because real clients (httpx) reuse connections.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .control import handle_control
from .operations import SimError

if TYPE_CHECKING:
    from .dialects import Dialect
    from .state import SimState

log = logging.getLogger("simulator")

MAX_BODY = 4 * 1024 * 1024
_MARKER_RE = re.compile(r"\[sim:(http|slow|drop)(?:=([^\]]*))?\]", re.IGNORECASE)
_FILE_RE = re.compile(r"/files/([A-Za-z0-9_-]+)\.png")


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: SimState) -> None:
        self.sim = sim
        self.stopping = threading.Event()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that
        # can stall for seconds on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


def _mask_headers(headers: Any) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            out[name] = f"{scheme} ***" if token else "***"
        else:
            out[name] = value
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle on, keep-alive clients
    # wait ~40 ms for a delayed ACK on every response.
    disable_nagle_algorithm = True
    server: SimHTTPServer
    server_version = "mjweb-simulator"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.sim.config.quiet:
            super().log_message(format, *args)

    # -- plumbing ------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise SimError("invalid_request", "Request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = dict(headers or {})
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._status = status

    def _drop(self) -> None:
        """Close the TCP connection without a byte of response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._status = None

    def _sleep(self, seconds: float) -> None:
        self.server.stopping.wait(seconds)

    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        started = time.time()
        split = urlsplit(self.path)
        path = split.path
        self._status: int | None = None
        entry: dict[str, Any] = {
            "time": started,
            "method": method,
            "path": path,
            "query": split.query,
            "headers": _mask_headers(self.headers),
            "dialect": None,
            "endpoint": None,
            "body": None,
            "fault": None,
            "task_id": None,
        }
        try:
            raw = self._read_body()
        except SimError:
            self._send(413, {"error": "request body too large"})
            return
        if raw:
            try:
                entry["body"] = json.loads(raw)
            except ValueError:
                entry["body"] = raw.decode("utf-8", "replace")
        if path == "/_sim" or path.startswith("/_sim/"):
            query = parse_qs(split.query)
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if "key" not in query and scheme.lower() == "bearer" and token.strip():
                # The statement is read as a provider's would be: with the account's key.
                query["key"] = [token.strip()]
            status, body = handle_control(sim, method, path, query, raw)
            self._send(status, body)
            return
        try:
            self._route(method, path, raw, entry)
        except (BrokenPipeError, ConnectionResetError):
            self._status = None
        except Exception:
            # A bug must still look like an upstream 500, never a hung connection.
            log.exception("unhandled error for %s %s", method, path)
            if self._status is None and not self.close_connection:
                with contextlib.suppress(OSError):
                    self._send(500, {"error": {"message": "simulator internal error"}})
        finally:
            entry["status"] = self._status
            entry["duration_ms"] = round((time.time() - started) * 1000, 2)
            if entry["endpoint"] is not None or entry["dialect"] is not None:
                sim.requests.add(entry)

    def _route(self, method: str, path: str, raw: bytes, entry: dict[str, Any]) -> None:
        sim = self.server.sim
        file_match = _FILE_RE.fullmatch(path)
        if file_match and method in ("GET", "HEAD"):
            entry["endpoint"] = "files"
            self._serve_file(file_match.group(1), entry)
            return
        prefix, _, rest = path.lstrip("/").partition("/")
        dialect = sim.dialects.get(prefix)
        if dialect is None:
            self._send(404, {"error": {"message": f"No route for {path}"}})
            return
        entry["dialect"] = dialect.name
        sub = "/" + rest
        task_id = dialect.match_poll(sub)
        if sub == dialect.create_path:
            endpoint = "create"
        elif task_id is not None:
            endpoint = "poll"
        else:
            reply = dialect.error(SimError("not_found", f"No route for {path}"), "poll")
            self._send(reply.status, reply.body, reply.headers)
            return
        expected = "POST" if endpoint == "create" else "GET"
        if method != expected:
            self._send(
                405, {"error": {"message": f"Use {expected} for {path}"}}, {"Allow": expected}
            )
            return
        entry["endpoint"] = endpoint
        entry["task_id"] = task_id
        if self._outage(dialect, endpoint, entry):
            return
        if self._http_faults(dialect, endpoint, entry):
            return
        markers = (
            {
                m.group(1).lower(): m.group(2) or ""
                for m in _MARKER_RE.finditer(raw.decode("utf-8", "replace"))
            }
            if endpoint == "create"
            else {}
        )
        if "http" in markers:
            status = int(markers["http"]) if markers["http"].isdigit() else 500
            if status != 429 and not 500 <= status <= 599:
                status = 500
            err = (
                SimError("rate_limited", "Too many requests, please try again later", retry_after=1)
                if status == 429
                else SimError("server_error", "Internal server error", status=status)
            )
            entry["fault"] = "marker:http"
            self._error(dialect, err, endpoint)
            return
        if markers.get("drop") == "before":
            entry["fault"] = "marker:drop"
            self._drop()
            return
        try:
            api_key = self._auth()
            if endpoint == "create":
                status, body = self._create(dialect, api_key, raw, entry)
            else:
                assert task_id is not None
                status, body = self._poll(dialect, api_key, task_id)
        except SimError as err:
            model = entry["body"].get("model") if isinstance(entry["body"], dict) else None
            self._error(dialect, err, endpoint, model if isinstance(model, str) else None)
            return
        if "slow" in markers:
            entry["fault"] = "marker:slow"
            self._sleep(float(markers["slow"] or 30))
        if "drop" in markers:
            entry["fault"] = "marker:drop"
            self._drop()
            return
        late = self._late_faults(dialect, endpoint, entry)
        if late == "drop":
            return
        self._send(status, body)

    def _outage(self, dialect: Dialect, endpoint: str, entry: dict[str, Any]) -> bool:
        """The whole dialect is down or throttled (True: answered), or slow (it sleeps,
        then the request goes on)."""
        spec = self.server.sim.faults.outage(dialect.name)
        if spec is None:
            return False
        entry["fault"] = f"outage:{spec['mode']}"
        if spec["mode"] == "slow":
            self._sleep(spec["delay"])
            return False
        if spec["mode"] == "rate_limit":
            err = SimError(
                "rate_limited",
                "Too many requests, please try again later",
                retry_after=spec["retry_after"],
            )
        else:
            err = SimError("server_error", "Service temporarily unavailable", status=503)
        self._error(dialect, err, endpoint)
        return True

    def _http_faults(self, dialect: Dialect, endpoint: str, entry: dict[str, Any]) -> bool:
        """Faults that strike before the request is processed; True when one answered."""
        faults = self.server.sim.faults
        if self._drop_when(endpoint) == "before" and faults.hit(
            "drop", dialect=dialect.name, scope=endpoint
        ):
            entry["fault"] = "drop"
            self._drop()
            return True
        spec = faults.hit("rate_limit", dialect=dialect.name, scope=endpoint)
        if spec:
            entry["fault"] = "rate_limit"
            err = SimError(
                "rate_limited",
                "Too many requests, please try again later",
                retry_after=spec["retry_after"],
            )
            self._error(dialect, err, endpoint)
            return True
        spec = faults.hit("server_error", dialect=dialect.name, scope=endpoint)
        if spec:
            entry["fault"] = "server_error"
            self._error(
                dialect,
                SimError("server_error", "Internal server error", status=spec["status"]),
                endpoint,
            )
            return True
        return False

    def _drop_when(self, endpoint: str) -> str | None:
        # Read without consuming: "drop" strikes either before or after processing.
        spec = self.server.sim.faults.snapshot()["active"].get("drop")
        return spec.get("when", "before") if spec else None

    def _late_faults(self, dialect: Dialect, endpoint: str, entry: dict[str, Any]) -> str | None:
        """Faults that strike after the request was processed: the work is done, the reply is
        late or lost (the case that makes a careless client pay twice)."""
        faults = self.server.sim.faults
        spec = faults.hit("slow", dialect=dialect.name, scope=endpoint)
        if spec:
            entry["fault"] = "slow"
            self._sleep(spec["delay"])
        if self._drop_when(endpoint) == "after" and faults.hit(
            "drop", dialect=dialect.name, scope=endpoint
        ):
            entry["fault"] = "drop"
            self._drop()
            return "drop"
        return None

    def _error(
        self, dialect: Dialect, err: SimError, endpoint: str, model: str | None = None
    ) -> None:
        reply = dialect.error(err, endpoint, model)
        self._send(reply.status, reply.body, dict(reply.headers))

    def _auth(self) -> str:
        header = self.headers.get("Authorization")
        if header is None:
            raise SimError("unauthorized_missing", "Missing Authorization header")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise SimError("unauthorized_format", "Authorization header is not Bearer <key>")
        if not self.server.sim.store.key_exists(token):
            raise SimError("unauthorized", "Invalid or expired token")
        return token

    def _create(
        self, dialect: Dialect, api_key: str, raw: bytes, entry: dict[str, Any]
    ) -> tuple[int, Any]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError as exc:
            raise SimError("invalid_request", "Request body is not valid JSON") from exc
        sim = self.server.sim
        req = dialect.parse_create(body, strict_callbacks=sim.config.strict_callbacks)
        task, view = sim.engine.create(dialect, api_key, req, body)
        entry["task_id"] = task.id
        return 200, dialect.create_response(view)

    def _poll(self, dialect: Dialect, api_key: str, task_id: str) -> tuple[int, Any]:
        sim = self.server.sim
        if not dialect.valid_task_id(task_id):
            raise SimError("task_id_format", f"Invalid task ID format: {task_id}")
        task = sim.engine.lookup(dialect.name, api_key, task_id)
        if task is None:
            raise SimError("not_found", "Task not found or expired")
        sim.store.count_poll(task_id)
        return 200, dialect.task_body(sim.engine.view(task))

    def _serve_file(self, token: str, entry: dict[str, Any]) -> None:
        sim = self.server.sim
        faults = sim.faults
        if self._drop_when("files") == "before" and faults.hit("drop", scope="files"):
            entry["fault"] = "drop"
            self._drop()
            return
        spec = faults.hit("server_error", scope="files")
        if spec:
            entry["fault"] = "server_error"
            self._send(spec["status"], {"error": "upstream storage error"})
            return
        path = sim.engine.serve_file(token)
        if path is None:
            self._send(404, {"error": "not found or expired"})
            return
        data = path.read_bytes()
        spec = faults.hit("slow", scope="files")
        if spec:
            entry["fault"] = "slow"
            self._sleep(spec["delay"])
        if self._drop_when("files") == "after" and faults.hit("drop", scope="files"):
            entry["fault"] = "drop"
            self._drop()
            return
        self._send(
            200, data, {"Content-Type": "image/png", "Cache-Control": "private, max-age=86400"}
        )
