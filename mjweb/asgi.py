"""The web process's application (gunicorn with mjweb.serving.Worker, see bin/serve).

Why ASGI in front of a WSGI site: a live page holds one long stream open
(issue 18). Under WSGI a held response pins a request thread for its whole life,
so 2 processes × 8 threads would carry 16 open pages and then serve nothing else.
Here every request still goes to the same WSGI Django (mjweb.wsgi: same
middleware, whitenoise, per-thread persistent DB connections), run by a bounded
pool of WEB_THREADS threads per process (a2wsgi). Only the holding of a stream
leaves that pool: the live stream view answers as any view does, naming its
subscription in the private response header X-Mjweb-Stream; the dispatcher
strips that header, sends the view's body, and then keeps the connection on the
event loop with the live hub (`hold`), costing no thread and no DB connection.

Requests that check a password (the sign-in forms' and password change's
POSTs) run in a lane of their own, a second pool of
MJWEB_PASSWORD_CHECKS_PER_PROCESS threads: forty sign-ins at once (an attack,
or a team arriving at nine) queue in that lane, each answered in turn, while
pages and /healthz keep the main pool. Sharing one pool, a burst held every
thread and a page waited behind it (issue 23: /healthz took 230 ms).

The access log is written here, because uvicorn's own bypasses gunicorn.conf.py:
gunicorn's default format, to the `gunicorn.access` logger (so --access-logfile
still decides where it goes), every atom with its URL credentials redacted
(gallery/net/redact.py) and the client address as the throttles see it.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ
from django.conf import settings
from django.urls import reverse

from mjweb.env import env_int
from mjweb.wsgi import application as django_application  # sets Django up

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STREAM_HEADER = b"x-mjweb-stream"
HUB = "gallery.studio.live.hub"
# gunicorn's default access_log_format
ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
access_log = logging.getLogger("gunicorn.access")


def hub_name() -> str:
    """The live hub module; tests of the serving layer put a fake in its place."""
    return getattr(settings, "MJWEB_LIVE_HUB", HUB)


def stop_streams() -> None:
    """End every stream this process holds (it is stopping). A hub never imported
    here holds none, and is not imported now just to say so."""
    hub: ModuleType | None = sys.modules.get(hub_name())
    if hub is not None:
        hub.stop()


class _Response:
    """What the access line needs to know about one response."""

    def __init__(self) -> None:
        self.status = 500  # what the client gets if the app fails before answering
        self.sent = 0
        self.token = ""


# The URLs whose POST checks a password (forms_auth's throttled forms).
PASSWORD_URLS = ("login", "admin:login", "password_change")


@functools.cache
def password_paths() -> frozenset[str]:
    return frozenset(reverse(name) for name in PASSWORD_URLS)


class Dispatcher:
    def __init__(self, wsgi_app: Callable, *, threads: int, password_threads: int = 1) -> None:
        self.wsgi = WSGIMiddleware(wsgi_app, workers=threads)
        self.passwords = WSGIMiddleware(wsgi_app)
        self.passwords.executor = ThreadPoolExecutor(
            max_workers=password_threads, thread_name_prefix="WSGI-passwords"
        )

    def lane(self, scope: Scope) -> WSGIMiddleware:
        """The pool a request runs in: its own for a password check."""
        if scope["method"] == "POST" and scope["path"] in password_paths():
            return self.passwords
        return self.wsgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _Response()

        async def counted(message: Message) -> None:
            response.sent += len(message.get("body", b""))
            await send(message)

        async def forward(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                headers = message["headers"]
                for name, value in headers:
                    if name == STREAM_HEADER:
                        response.token = value.decode("latin-1")
                if response.token:
                    # The view's Content-Length (CommonMiddleware's) is only its
                    # first part's: without it the stream goes out chunked.
                    headers = [h for h in headers if h[0] not in (STREAM_HEADER, b"content-length")]
                    message = {**message, "headers": headers}
            elif response.token and not message.get("more_body", False):
                # The view's body is only the start of a stream: the hub ends it.
                if not message.get("body"):
                    return
                message = {**message, "more_body": True}
            await counted(message)

        try:
            await self.lane(scope)(scope, receive, forward)
            if response.token:
                hub = importlib.import_module(hub_name())
                await hub.hold(response.token, counted, receive)
        finally:
            log_access(scope, response)


async def lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: the hub starts with its first stream, and the
    worker ends the streams on SIGTERM (mjweb.serving)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def log_access(scope: Scope, response: _Response) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    # Imported here, not above: throttle loads a model, so Django must be set up
    # first (importing mjweb.wsgi does it).
    from gallery.net.redact import redact
    from gallery.net.throttle import address_in

    try:
        environ = build_environ(scope, None)
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope.get("raw_path") or scope["path"].encode()
        target = target.decode("latin-1") + (f"?{query}" if query else "")
        atoms = {
            "h": address_in(
                environ,
                trusted_proxies=settings.MJWEB_TRUSTED_PROXIES,
                header=settings.MJWEB_PROXY_HEADER,
            )
            or "-",
            "l": "-",
            "u": "-",
            "t": time.strftime("[%d/%b/%Y:%H:%M:%S %z]"),
            "r": f"{scope['method']} {target} HTTP/{scope['http_version']}",
            "s": str(response.status),
            "b": str(response.sent),
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }
        access_log.info(ACCESS_FORMAT, {key: redact(value) for key, value in atoms.items()})
    except Exception:  # a log line is never worth a failed request
        logging.getLogger("gunicorn.error").exception("access log line failed")


# The pool every request's Django runs in: WEB_THREADS per process, as gthread
# had; beside it the password lane, as wide as one process may check at once.
application = Dispatcher(
    django_application,
    threads=env_int("WEB_THREADS", 8, minimum=1),
    password_threads=settings.MJWEB_PASSWORD_CHECKS_PER_PROCESS,
)

# The URLconf (every view module, the API and its schemas) is loaded here, as
# the worker boots, rather than by the first request it serves: that request
# (often a load balancer's /healthz) took half a second.
password_paths()
