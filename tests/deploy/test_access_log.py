"""gunicorn, started as bin/serve starts it (the project's gunicorn.conf.py,
read from the working directory), logs no invite token, signed file URL or
other URL credential: neither in the access log nor in Django's own log."""

from __future__ import annotations

import httpx
import pytest

from gallery.api import translate as api
from gallery.models import ApiToken, Invite, Membership, Role
from tests.deploy.test_asgi_serving import served
from tests.factories import finished_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_access_log_holds_no_invite_token_or_file_signature(tmp_path, alice, team):
    _, token = Invite.create(team=team, role=Role.MEMBER, note="", created_by=alice)
    image = finished_job(alice, team, images=1).images.get()
    api_token, _ = ApiToken.issue(Membership.objects.get(user=alice, team=team), "script")
    file_name = api.file_name(image, api_token.pk)
    forged = "Zq81-never-a-real-token-but-still-secret"
    with served(tmp_path, workers=1) as site, httpx.Client(base_url=site.base) as client:
        base = site.base
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
    access, server = site.out.read_text(), site.err.read_text()
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
    forged = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}  # the client wrote 1.1.1.1
    with served(tmp_path, workers=1, MJWEB_TRUSTED_PROXIES=proxies) as site:
        assert httpx.get(f"{site.base}/healthz", headers=forged).status_code == 200
    out = site.out
    ours = out.read_text().splitlines()[-1]  # after the start-up probes, without a header
    assert ours.startswith(f"{logged} ") and "GET /healthz" in ours, ours
    assert "1.1.1.1" not in out.read_text()
