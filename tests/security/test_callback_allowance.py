"""API callbacks to the configured loopback upstream (the simulator in `make
run`) may reach its dialect paths only, never its control API (/_sim/…) or any
other path on the same origin: both when the URL is accepted and when it is sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gallery.api import callbacks as api_callbacks
from gallery.models import ApiTask, Job
from gallery.net import netguard
from tests.api.conftest import GENERATE, Api, issue
from tests.factories import fund

pytestmark = pytest.mark.django_db

SIM = "http://127.0.0.1:8801"


@pytest.fixture
def loopback_upstream(settings):
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "evolink": {"base_url": f"{SIM}/evolink", "api_key": "sim-key"},
        "reapi": {"base_url": f"{SIM}/reapi/", "api_key": "sim-key"},
    }


@pytest.fixture
def alice_api(alice, team) -> Api:
    fund(alice, team)
    return Api(issue(alice, team))


@pytest.mark.parametrize(
    "url",
    [
        f"{SIM}/_sim/keys/x",
        f"{SIM}/_sim",
        f"{SIM}/evolink/../_sim/keys/x",
        f"{SIM}/evolink/%2e%2e/_sim/keys/x",
        f"{SIM}/evolink%2f..%2f_sim/keys/x",
        f"{SIM}//_sim/keys/x",
        f"{SIM}/evolinkx/hook",
        f"{SIM}/evolink",
        f"{SIM}/hook",
        f"{SIM}/",
        f"{SIM}/vtrix/hook",  # vtrix is not configured on the loopback upstream
        "http://127.0.0.1:8802/evolink/hook",
        "http://localhost:8801/evolink/hook",
    ],
)
def test_a_callback_to_the_loopback_upstream_outside_its_dialect_paths_is_a_400(
    alice_api, loopback_upstream, url
):
    response = alice_api.create({**GENERATE, "callback_url": url})
    assert response.status_code == 400, url
    assert response.json()["error"]["param"] == "callback_url"
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "url", [f"{SIM}/evolink/hook", f"{SIM}/evolink/v1/hook?x=1", f"{SIM}/reapi/hook"]
)
def test_a_callback_to_a_dialect_path_of_the_loopback_upstream_is_accepted(
    alice_api, loopback_upstream, url
):
    assert alice_api.create({**GENERATE, "callback_url": url}).status_code == 200
    assert ApiTask.objects.get().callback_url == url


def test_an_upstream_at_the_root_of_its_origin_grants_callbacks_nothing(alice_api, settings):
    """Its dialect path would be the whole origin, so no loopback path is allowed."""
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "evolink": {"base_url": SIM, "api_key": "sim-key"},
    }
    response = alice_api.create({**GENERATE, "callback_url": f"{SIM}/hook"})
    assert response.status_code == 400


def test_fetching_from_the_loopback_upstream_still_covers_its_whole_origin(loopback_upstream):
    """Result images come from the simulator's /files/…: only callbacks are narrowed."""
    assert "127.0.0.1:8801" in netguard.allowed_upstreams()


class Receiver(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.paths.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings) -> Iterator[str]:
    """A loopback server configured as the evolink upstream at /evolink; yields its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PROVIDERS = {
        **settings.PROVIDERS,
        "evolink": {"base_url": f"{origin}/evolink", "api_key": "k"},
    }
    Receiver.paths.clear()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


def _finished_task(alice_api, callback_url: str) -> int:
    """An API job whose callback URL is stored as given (say, before this rule existed)."""
    created = alice_api.create().json()
    ApiTask.objects.update(callback_url=callback_url, callback_state="pending")
    Job.objects.update(status=Job.Status.FAILED, error_kind="unavailable", credits_charged=0)
    return int(created["id"].rsplit("-", 1)[1])


def test_a_stored_callback_to_the_simulators_control_api_is_never_sent(alice_api, receiver):
    api_callbacks.deliver(_finished_task(alice_api, f"{receiver}/_sim/keys/x"))
    assert Receiver.paths == []
    task = ApiTask.objects.get()
    assert task.callback_state == "failed" and task.callback_error.startswith("refused")


def test_a_callback_to_a_dialect_path_of_the_loopback_upstream_is_delivered(alice_api, receiver):
    api_callbacks.deliver(_finished_task(alice_api, f"{receiver}/evolink/hook"))
    assert Receiver.paths == ["/evolink/hook"]
    assert ApiTask.objects.get().callback_state == "delivered"
