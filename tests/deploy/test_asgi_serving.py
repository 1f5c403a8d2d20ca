"""The web process as bin/serve starts it (gunicorn, mjweb.serving.Worker,
mjweb.asgi, two processes) on the test database: the site's pages, static files,
media and headers as before; held streams take no request thread; and a stop
with streams open ends them with `bye` and the process within gunicorn's
graceful timeout. Streams are held by the fake hub (tests/deploy/serving_stubs.py)
behind a test URL that answers as the live stream view does."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

from tests.factories import finished_job
from tests.pipeline.stack import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
WEB = ("mjweb.asgi:application", "-k", "mjweb.serving.Worker")
GRACEFUL_TIMEOUT = 20  # gunicorn's --graceful-timeout in these tests


@dataclass
class Site:
    base: str
    port: int
    proc: subprocess.Popen
    out: Path
    err: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(
    tmp_path: Path, *, stubs: bool = False, workers: int = 2, **extra_env: str
) -> Iterator[Site]:
    """The web server as bin/serve starts it, on the test database and media."""
    port = free_port()
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "MJWEB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **extra_env,
    }
    if stubs:
        env["DJANGO_SETTINGS_MODULE"] = "tests.deploy.serving_settings"
    # bin/serve's command line.
    command = [GUNICORN, *WEB, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--access-logfile", "-", "--graceful-timeout", str(GRACEFUL_TIMEOUT)]
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not start: {err.read_text()}") from None
                time.sleep(0.1)
        yield Site(f"http://127.0.0.1:{port}", port, proc, out, err)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=GRACEFUL_TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def signed_in(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {name: client.cookies[name].value}


def open_stream(port: int) -> socket.socket:
    """A raw stream, read until the hub's first heartbeat: it is held."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(b"GET /test-stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    seen = b""
    while b": hb\n\n" not in seen:
        chunk = sock.recv(4096)
        assert chunk, f"the stream ended before it was held: {seen!r}"
        seen += chunk
    head = seen.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200") and b"x-mjweb-stream" not in head, head
    return sock


def threads_of_workers(master: int) -> int:
    """Threads in all of gunicorn's worker processes (the master's children)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == master:
                status = (stat.parent / "status").read_text()
                total += int(status.split("Threads:")[1].split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def read_to_end(sock: socket.socket) -> bytes:
    seen = b""
    while chunk := sock.recv(4096):
        seen += chunk
    return seen


def test_pages_static_files_media_and_headers_are_served_as_before(tmp_path, alice, team):
    image = finished_job(alice, team, images=1).images.get()
    stored = (Path(settings.MEDIA_ROOT) / image.original.name).read_bytes()
    with served(tmp_path) as site, httpx.Client(base_url=site.base) as client:
        login = client.get("/accounts/login/")
        assert login.status_code == 200
        assert "script-src 'self' 'nonce-" in login.headers["content-security-policy"]
        assert login.headers["x-frame-options"] == "DENY"
        assert "server" not in login.headers  # no uvicorn banner
        css = client.get("/static/css/app.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert css.content == (ROOT / "static" / "css" / "app.css").read_bytes()
        client.cookies.update(signed_in(alice))
        gallery = client.get(f"/t/{team.slug}/")
        assert gallery.status_code == 200
        assert "content-security-policy" in gallery.headers
        assert f"/m/{image.thumbnail.name}" in gallery.text
        media = client.get(f"/m/{image.original.name}")
        assert media.status_code == 200 and media.content == stored
        assert media.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert client.get("/m/not/there.png").status_code == 404
    access = site.out.read_text()
    assert f'"GET /t/{team.slug}/ HTTP/1.1" 200' in access
    assert '"GET /static/css/app.css HTTP/1.1" 200' in access


def test_held_streams_take_no_request_thread_from_the_pages(tmp_path, alice, team):
    # 2 processes x WEB_THREADS 4 = 8 threads for Django; 50 streams are held
    # beside them, and pages are still answered.
    with served(tmp_path, stubs=True, WEB_THREADS="4") as site:
        streams = [open_stream(site.port) for _ in range(50)]
        try:
            # Each held stream costs no thread: far fewer threads than streams.
            assert threads_of_workers(site.proc.pid) < 50
            with httpx.Client(base_url=site.base, cookies=signed_in(alice), timeout=30) as c:
                statuses = [c.get(f"/t/{team.slug}/").status_code for _ in range(20)]
            assert statuses == [200] * 20
        finally:
            for sock in streams:
                sock.close()


def test_a_stop_ends_the_open_streams_with_bye_and_the_process_in_time(tmp_path):
    with served(tmp_path, stubs=True) as site:
        streams = [open_stream(site.port) for _ in range(10)]
        site.proc.send_signal(signal.SIGTERM)
        rests = [read_to_end(sock) for sock in streams]
        # gunicorn kills a worker still running at the graceful timeout; it never had to.
        assert site.proc.wait(timeout=GRACEFUL_TIMEOUT) == 0
    for rest in rests:
        assert rest.endswith(b"event: bye\ndata:\n\n\r\n0\r\n\r\n"), rest  # chunked, ended
    assert "SIGKILL" not in site.err.read_text()
    assert "timeout graceful shutdown exceeded" not in site.err.read_text()
