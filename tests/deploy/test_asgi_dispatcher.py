"""mjweb.asgi, in process: every request goes to the WSGI site unchanged, a stream
response is handed to the live hub (a fake here: tests/deploy/serving_stubs.py)
without its private header, and each request gets one redacted access line."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mjweb.asgi import Dispatcher, application, password_paths
from tests.deploy import serving_stubs
from tests.factories import finished_job
from tests.loops import run_elsewhere

INVITE = "Zq81-never-a-real-token-but-still-secret"


def scope(path: str = "/", *, query: bytes = b"", headers=(), client=("10.0.0.9", 5000)) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }


def call(app, request: dict) -> list[dict]:
    """Run one request through `app`; the client disconnects once the body ended
    or, for a held stream, after the hub's first heartbeat."""
    sent: list[dict] = []

    async def run() -> None:
        heartbeat = asyncio.Event()
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await heartbeat.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if b": hb" in message.get("body", b""):
                heartbeat.set()

        await asyncio.wait_for(app(request, receive, send), timeout=30)

    run_elsewhere(asyncio.run, run())
    return sent


def body_of(sent: list[dict]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def wsgi_app(status="200 OK", headers=(), chunks=(b"hello ", b"world")):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain"), *headers])
        return list(chunks)

    return app


@pytest.fixture
def fake_hub(settings):
    settings.MJWEB_LIVE_HUB = "tests.deploy.serving_stubs"
    serving_stubs.held.clear()
    return serving_stubs


def test_a_page_passes_through_as_the_wsgi_site_answered_it(fake_hub):
    sent = call(Dispatcher(wsgi_app(headers=[("X-Other", "1")]), threads=2), scope("/page/"))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    assert (b"x-other", b"1") in sent[0]["headers"]
    assert body_of(sent) == b"hello world"
    assert sent[-1].get("more_body", False) is False
    assert fake_hub.held == []


def test_a_stream_response_is_held_by_the_hub_without_its_private_header(fake_hub):
    # Django's CommonMiddleware gives the view's body its length; the stream goes on.
    headers = [("X-Mjweb-Stream", "tok3n"), ("Content-Length", "13")]
    app = wsgi_app(headers=headers, chunks=[b"retry: 2000\n\n"])
    sent = call(Dispatcher(app, threads=2), scope("/t/acme/live/stream/"))
    start, *bodies = sent
    assert start["status"] == 200
    names = {name for name, _ in start["headers"]}
    assert b"x-mjweb-stream" not in names
    assert b"content-length" not in names
    assert (b"content-type", b"text/plain") in start["headers"]
    assert fake_hub.held == ["tok3n"]
    # The view's body, then the hub's heartbeat, on one open response: the WSGI
    # side's final empty message did not end it.
    assert [m["body"] for m in bodies] == [b"retry: 2000\n\n", b": hb\n\n"]
    assert all(m.get("more_body") for m in bodies)


def test_the_password_lane_takes_the_posts_of_every_form_that_checks_a_password():
    assert password_paths() == {"/accounts/login/", "/admin/login/", "/accounts/password/"}
    app = Dispatcher(wsgi_app(), threads=1)
    for path in password_paths():
        assert app.lane({**scope(path), "method": "POST"}) is app.passwords
        assert app.lane(scope(path)) is app.wsgi  # showing the form checks nothing
    assert app.lane({**scope("/t/acme/jobs/"), "method": "POST"}) is app.wsgi


def test_a_page_is_answered_while_every_password_thread_is_busy(fake_hub):
    """Sign-ins run in a lane of their own: a burst of them waits there, and a
    page (or /healthz) does not queue behind it in the main pool."""
    release = threading.Event()
    seen: list[str] = []

    def app(environ, start_response):
        seen.append(f"{environ['REQUEST_METHOD']} {threading.current_thread().name}")
        if environ["REQUEST_METHOD"] == "POST":
            release.wait(timeout=20)  # a password being checked
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    dispatcher = Dispatcher(app, threads=1, password_threads=1)
    sign_in = {**scope("/accounts/login/"), "method": "POST"}

    async def run() -> list[dict]:
        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def ignore(message: dict) -> None:
            pass

        burst = [asyncio.create_task(dispatcher(sign_in, receive, ignore)) for _ in range(3)]
        while not seen:  # until the burst has taken the lane's one thread
            await asyncio.sleep(0.001)
        page: list[dict] = []

        async def keep(message: dict) -> None:
            page.append(message)

        try:
            await asyncio.wait_for(dispatcher(scope("/healthz"), receive, keep), timeout=10)
        finally:
            release.set()
            await asyncio.gather(*burst)
        return page

    page = run_elsewhere(asyncio.run, run())
    assert page[0]["status"] == 200 and body_of(page) == b"ok"
    # The page came in while the first sign-in was still being checked.
    assert seen[0].startswith("POST WSGI-passwords") and seen[1].startswith("GET WSGI_")
    assert [s.split()[0] for s in seen[2:]] == ["POST", "POST"]
    assert all("passwords" in s for s in seen if s.startswith("POST"))


def test_the_dispatcher_answers_lifespan_itself():
    received = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict] = []

    async def receive():
        return next(received)

    async def send(message):
        sent.append(message)

    run_elsewhere(
        asyncio.run, Dispatcher(wsgi_app(), threads=1)({"type": "lifespan"}, receive, send)
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_each_request_gets_one_access_line_redacted_with_the_throttles_address(
    fake_hub, settings, caplog
):
    settings.MJWEB_TRUSTED_PROXIES = 1
    caplog.set_level(logging.INFO, logger="gunicorn.access")
    app = Dispatcher(wsgi_app(headers=[("X-Mjweb-Stream", "t")], chunks=[b"x"]), threads=1)
    forwarded = (b"x-forwarded-for", b"1.1.1.1, 203.0.113.7")
    referer = (b"referer", f"http://h/invite/{INVITE}/".encode())
    call(app, scope(f"/invite/{INVITE}/", query=b"a=1", headers=[forwarded, referer]))
    [line] = [r.getMessage() for r in caplog.records if r.name == "gunicorn.access"]
    assert INVITE not in line
    assert line.startswith("203.0.113.7 - - [")
    # Written when the stream ended: its bytes are the view's and the hub's.
    assert '"GET /invite/[redacted]/?a=1 HTTP/1.1" 200 7 "http://h/invite/[redacted]/" "-"' in (
        line
    )


@pytest.mark.django_db(transaction=True)
def test_a_large_media_file_leaves_in_chunks_not_whole(alice, team):
    """No wsgi.file_wrapper under a2wsgi: Django iterates the file, block by block,
    each block one body message (one hop from its thread to the event loop, so
    blocks of 64 KB, not Django's 4 KB); the file is never read whole into memory."""
    image = finished_job(alice, team, images=1).images.get()
    path = Path(django_settings.MEDIA_ROOT) / image.original.name
    data = bytes(range(256)) * (8 * 4096)  # 8 MiB
    path.write_bytes(data)
    client = Client()
    client.force_login(alice)
    name = django_settings.SESSION_COOKIE_NAME
    cookie = (b"cookie", f"{name}={client.cookies[name].value}".encode())
    sent = call(application, scope(f"/m/{image.original.name}", headers=[cookie]))
    assert sent[0]["status"] == 200
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    assert b"".join(bodies) == data
    assert max(map(len, bodies)) == 64 * 1024
    assert len(bodies) == len(data) // (64 * 1024)
