"""Secret URLs (invites, signed files, share links, callbacks, token
parameters) are logged with the secret replaced by a marker."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from gallery.net.redact import MARK, RedactSecrets, redact

SECRET = "Kq3xZ9_s3cr3t-T0ken"

CASES = [
    pytest.param(f"/invite/{SECRET}/", "/invite/[redacted]/", id="invite"),
    pytest.param(f"/api/v1/files/42.{SECRET}.png", "/api/v1/files/[redacted]", id="api file"),
    pytest.param(f"/s/{SECRET}/", "/s/[redacted]/", id="share page"),
    pytest.param(f"/s/{SECRET}/thumb", "/s/[redacted]/thumb", id="share file"),
    pytest.param(
        f"/p/1kTz.{SECRET}/references/7/20260501-1234-ab.png",
        "/p/[redacted]/references/7/20260501-1234-ab.png",
        id="signed reference",
    ),
    pytest.param(
        f"/p/1kTz.{SECRET}/originals/ab/cd.png", "/p/[redacted]/originals/ab/cd.png", id="source"
    ),
    pytest.param(
        f"/callbacks/evolink/12/{SECRET}", "/callbacks/evolink/12/[redacted]", id="callback"
    ),
    pytest.param(f"/t/acme/?token={SECRET}", "/t/acme/?token=[redacted]", id="token param"),
    pytest.param(f"/x/?a=1&key={SECRET}&b=2", "/x/?a=1&key=[redacted]&b=2", id="key param"),
    pytest.param(f"/x/?api_key={SECRET}", "/x/?api_key=[redacted]", id="api_key param"),
    pytest.param(f"/x/?ACCESS_TOKEN={SECRET}", "/x/?ACCESS_TOKEN=[redacted]", id="upper case"),
    pytest.param(
        f"/x/?X-Amz-Signature={SECRET}&X-Amz-Date=1",
        "/x/?X-Amz-Signature=[redacted]&X-Amz-Date=1",
        id="presigned S3",
    ),
    pytest.param(f"token={SECRET}&page=2", "token=[redacted]&page=2", id="bare query string"),
    # Where URLs appear in log lines: request lines, Referers, Django's messages.
    pytest.param(
        f"GET /invite/{SECRET}/?next=/t/acme/ HTTP/1.1",
        "GET /invite/[redacted]/?next=/t/acme/ HTTP/1.1",
        id="request line",
    ),
    pytest.param(
        f"https://studio.example.com:8443/invite/{SECRET}/",
        "https://studio.example.com:8443/invite/[redacted]/",
        id="referer",
    ),
    pytest.param(
        f"http://studio.example.com/s/{SECRET}/?key={SECRET}",
        "http://studio.example.com/s/[redacted]/?key=[redacted]",
        id="referer with both",
    ),
    pytest.param(
        f"Not Found: /api/v1/files/{SECRET}", "Not Found: /api/v1/files/[redacted]", id="django"
    ),
    pytest.param(
        f'"GET /s/{SECRET}/full HTTP/1.1" 200 1234',
        '"GET /s/[redacted]/full HTTP/1.1" 200 1234',
        id="runserver",
    ),
]


@pytest.mark.parametrize(("logged", "expected"), CASES)
def test_the_secret_part_of_each_kind_of_url_is_redacted(logged, expected):
    assert redact(logged) == expected
    assert SECRET not in redact(logged)


@pytest.mark.parametrize(
    "text",
    [
        "/t/acme/",
        "/t/acme/jobs/12/",
        "/t/s/jobs/",  # a team called "s" is not a share link
        "/t/invite/members/",
        "/t/acme/invites/3/revoke/",
        "/t/acme/images/5/share/",
        "/t/acme/?q=cat&monkey=1&page=2",
        "/static/app.css",
        "/api/v1/tasks/mj-123",
        "/healthz",
        "200",
        "-",
        "Mozilla/5.0 (X11; Linux x86_64)",
    ],
)
def test_urls_without_secrets_are_logged_as_they_are(text):
    assert redact(text) == text


def test_an_already_redacted_line_stays_the_same():
    once = redact(f"GET /invite/{SECRET}/?token={SECRET} HTTP/1.1")
    assert redact(once) == once
    assert once.count(MARK) == 2


def test_the_filter_redacts_a_record_with_arguments():
    path = f"/invite/{SECRET}/"
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (path,), None
    )
    assert RedactSecrets().filter(record) is True
    assert record.getMessage() == "Not Found: /invite/[redacted]/"


@pytest.mark.django_db
def test_djangos_request_log_never_holds_an_invite_token(caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().get(f"/invite/{SECRET}/")
    assert response.status_code == 404
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Not Found: /invite/[redacted]/"]
    assert SECRET not in caplog.text


def test_djangos_request_and_server_loggers_carry_the_filter():
    for name in ("django.request", "django.server"):
        assert any(isinstance(f, RedactSecrets) for f in logging.getLogger(name).filters), name
