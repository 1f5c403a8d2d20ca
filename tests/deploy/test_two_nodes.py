"""Two complete nodes on loopback, sharing only what a real deployment shares:
PostgreSQL (bin/with-postgres), Redis as broker and cache (bin/with-redis) and
an S3-protocol bucket (moto's server mode, bin/with-s3). Each node is a web
server (gunicorn with uvicorn workers, as bin/serve), a django-q2 cluster and a
poller, with its own empty MEDIA_ROOT and var directory and no shared disk.
`make test` runs this once:

    bin/with-postgres bin/with-redis bin/with-s3 .venv/bin/pytest -m two_nodes

Proved: a job submitted on node A (team API) shows on node B's gallery page and
API; the images node A's cluster stored are served by node B; with node A's
cluster and poller killed with SIGKILL mid-run, every job still completes
through node B; check_ledger is clean; every image is in the bucket and no file
is on either node's disk.

Not covered: moto is not MinIO or AWS (see test_object_storage.py); the nodes
share this machine's clock and loopback network, so clock skew and network
partitions between nodes are not exercised; node A's web server stays up (the
load balancer in front is not simulated).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import boto3
import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from gallery.api import translate as api
from gallery.credits import ledger
from gallery.models import ApiToken, CreditAccount, Job, Membership
from tests.pipeline.stack import database_url

ROOT = Path(__file__).resolve().parents[2]
BUCKET = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
ENDPOINT = os.environ.get("AWS_S3_ENDPOINT_URL", "")
READY = bool(
    BUCKET and os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("post")
)

pytestmark = [
    pytest.mark.two_nodes,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not READY, reason="needs bin/with-postgres bin/with-redis bin/with-s3"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One machine's worth of mjweb: web, cluster, poller; its own disk."""

    def __init__(self, name: str, sim, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.media = home / "media"
        for folder in (self.media, home / "var"):
            folder.mkdir(parents=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DEBUG": "True",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(self.media),
            "MJWEB_VAR_DIR": str(home / "var"),
            "MJWEB_PUBLIC_URL": self.url,
            "EVOLINK_BASE_URL": sim.url("evolink"),
            "REAPI_BASE_URL": sim.url("reapi"),
            "VTRIX_BASE_URL": sim.url("vtrix"),
            "EVOLINK_API_KEY": "sim-key",
            "REAPI_API_KEY": "sim-key",
            "VTRIX_API_KEY": "sim-key",
            "MJWEB_QUEUE_RECHECK": "2",
            "MJWEB_SUBMIT_TIMEOUT": "3",
            "MJWEB_INGEST_RECHECK": "2",
            "MJWEB_WORKERS": "2",
            "WEB_THREADS": "4",
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.name = name

    def _start(self, role: str, args: list[str]) -> None:
        self.procs[role] = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start_web(self) -> None:
        bind = f"127.0.0.1:{self.port}"
        web = ["mjweb.asgi:application", "-k", "mjweb.serving.Worker"]  # as bin/serve
        self._start("web", ["-m", "gunicorn", *web, "--bind", bind])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code < 500:
                    return
            time.sleep(0.2)
        raise AssertionError(f"node {self.name}'s web server did not start")

    def start_workers(self) -> None:
        self._start("cluster", ["manage.py", "qcluster"])
        self._start("poller", ["manage.py", "poller", "--tick", "0.1", "--sweep", "0.5"])

    def kill(self, *roles: str) -> None:
        """SIGKILL to each role's whole process group, as a crash would."""
        for role in roles:
            proc = self.procs.pop(role)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()


@pytest.fixture
def nodes(sim, tmp_path):
    httpx.post(f"{ENDPOINT}/moto-api/reset", timeout=10).raise_for_status()
    s3().create_bucket(Bucket=BUCKET)
    a, b = Node("A", sim, tmp_path / "a"), Node("B", sim, tmp_path / "b")
    yield a, b
    a.stop()
    b.stop()


def s3():
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("AWS_S3_REGION_NAME", "us-east-1"),
    )


def bucket_keys() -> set[str]:
    pages = s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def wait_final(pks: list[int], timeout: float) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(Job.objects.filter(pk__in=pks).order_by("pk"))
        if len(jobs) == len(pks) and all(j.is_final for j in jobs):
            return jobs
        time.sleep(0.25)
    states = list(Job.objects.filter(pk__in=pks).values_list("pk", "status"))
    raise AssertionError(f"jobs not final after {timeout}s: {states}")


def wait_submitted(pks: list[int], timeout: float) -> None:
    """Until every job has reached the upstream (or ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = Job.objects.filter(pk__in=pks, status__in=["queued", "submitting"]).count()
        if not waiting:
            return
        time.sleep(0.1)
    raise AssertionError("jobs were not submitted in time")


def test_two_nodes_share_jobs_and_images_and_b_finishes_what_a_dropped(nodes, alice, team):
    a, b = nodes
    membership = Membership.objects.get(user=alice, team=team)
    ledger.grant(account=ledger.account_for(membership), amount=50_000, by=alice)
    CreditAccount.objects.filter(membership=membership).update(max_in_flight=20)
    _, token = ApiToken.issue(membership, "two nodes")
    bearer = {"Authorization": f"Bearer {token}"}
    browser = Client()
    browser.force_login(alice)
    session = {"sessionid": browser.cookies["sessionid"].value}

    # Node A alone does the work at first; node B only serves.
    a.start_web()
    a.start_workers()
    b.start_web()
    body = {"model": "mj-v7", "prompt": "a lighthouse on node A", "model_params": {"speed": "fast"}}
    created = httpx.post(f"{a.url}/api/v1/images/generations", json=body, headers=bearer)
    assert created.status_code == 200, created.text
    (first,) = wait_final([api.job_pk(created.json()["id"])], timeout=90)
    assert first.status == "completed", first.error_message
    assert first.events.filter(kind="stored").exists()

    # Node B shows it: the gallery page, the API, and the images A stored.
    page = httpx.get(f"{b.url}/t/acme/", cookies=session)
    assert page.status_code == 200 and "a lighthouse on node A" in page.text
    task = httpx.get(f"{b.url}/api/v1/tasks/{created.json()['id']}", headers=bearer).json()
    assert task["status"] == "completed" and len(task["results"]) == 4
    for result in task["results"]:
        assert result.startswith(f"{b.url}/api/v1/files/")
        assert httpx.get(result).status_code == 200  # streamed by B from the bucket
    image = first.images.get(index=0)
    shown = httpx.get(f"{b.url}/m/{image.thumbnail.name}", cookies=session)
    assert shown.status_code == 302 and shown.headers["Location"].startswith(f"{ENDPOINT}/")
    assert httpx.get(shown.headers["Location"]).status_code == 200

    # Both nodes work; A's cluster and poller die mid-run; B finishes everything.
    b.start_workers()
    pks = []
    for n in range(6):
        body["prompt"] = f"a fox number {n} [sim:duration=4]"
        response = httpx.post(f"{a.url}/api/v1/images/generations", json=body, headers=bearer)
        assert response.status_code == 200, response.text
        pks.append(api.job_pk(response.json()["id"]))
    wait_submitted(pks, timeout=60)
    a.kill("cluster", "poller")
    assert Job.objects.filter(pk__in=pks).exclude(status__in=Job.FINAL).exists()  # mid-run
    final = wait_final(pks, timeout=120)
    assert [j.status for j in final] == ["completed"] * 6, [j.error_message for j in final]

    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
    stored = [im for job in [*final, first] for im in job.images.filter(status="stored")]
    assert len(stored) == 7 * 4
    names = {name for im in stored for name in (im.original.name, im.thumbnail.name)}
    assert names <= bucket_keys()
    for node in (a, b):
        assert [p for p in node.media.rglob("*") if p.is_file()] == []
