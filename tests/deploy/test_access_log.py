"""gunicorn, started as bin/serve starts it (the project's gunicorn.conf.py,
read from the working directory), logs no invite token, signed file URL or
other URL credential: neither in the access log nor in Django's own log."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from gallery.api import translate as api
from gallery.models import ApiToken, Invite, Membership, Role
from tests.factories import finished_job
from tests.pipeline.stack import database_url

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
WEB = ("mjweb.asgi:application", "-k", "mjweb.serving.Worker")

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(tmp_path: Path, port: int, **extra_env: str):
    """One worker on the test database; yields the files stdout and stderr go to."""
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "MJWEB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **extra_env,
    }
    # The command line of bin/serve, less the worker count.
    command = [GUNICORN, *WEB, "--bind", f"127.0.0.1:{port}", "--access-logfile", "-"]
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
        yield out, err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_access_log_holds_no_invite_token_or_file_signature(tmp_path, alice, team):
    _, token = Invite.create(team=team, role=Role.MEMBER, note="", created_by=alice)
    image = finished_job(alice, team, images=1).images.get()
    api_token, _ = ApiToken.issue(Membership.objects.get(user=alice, team=team), "script")
    file_name = api.file_name(image, api_token.pk)
    forged = "Zq81-never-a-real-token-but-still-secret"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gunicorn(tmp_path, port) as (out, err), httpx.Client(base_url=base) as client:
        assert client.get(f"/invite/{token}/").status_code == 200
        assert client.get(f"/api/v1/files/{file_name}").status_code == 200
        # The invite page's own assets are fetched with it as the Referer.
        client.get("/healthz", headers={"Referer": f"{base}/invite/{token}/"})
        # Mistyped or stale credentials are logged as 404s, by Django too.
        assert client.get(f"/invite/{forged}/").status_code == 404
        assert client.get(f"/s/{forged}/").status_code == 404
        assert client.get(f"/p/{forged}/references/1/x.png").status_code == 404
        assert client.post(f"/callbacks/evolink/{image.job_id}/{forged}").status_code == 404
        client.get(f"/t/acme/?token={forged}")
    access, server = out.read_text(), err.read_text()
    signature = file_name.split(".")[3]  # image.token.timestamp.signature.ext
    for secret in (token, signature, forged):
        assert secret not in access
        assert secret not in server
    lines = access.splitlines()
    assert any('"GET /invite/[redacted]/ HTTP/1.1" 200' in line for line in lines), access
    assert any('"GET /api/v1/files/[redacted] HTTP/1.1" 200' in line for line in lines), access
    assert any(f'"{base}/invite/[redacted]/"' in line for line in lines), access  # the Referer
    assert "Not Found: /s/[redacted]/" in server


@pytest.mark.parametrize(
    ("proxies", "logged"),
    [("0", "127.0.0.1"), ("1", "203.0.113.7")],
    ids=["no proxy: the peer", "one proxy: the address it forwarded"],
)
def test_the_access_log_names_the_client_address_the_throttles_use(tmp_path, proxies, logged):
    port = free_port()
    forged = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}  # the client wrote 1.1.1.1
    with gunicorn(tmp_path, port, MJWEB_TRUSTED_PROXIES=proxies) as (out, _err):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", headers=forged).status_code == 200
    ours = out.read_text().splitlines()[-1]  # after the start-up probes, without a header
    assert ours.startswith(f"{logged} ") and "GET /healthz" in ours, ours
    assert "1.1.1.1" not in out.read_text()
