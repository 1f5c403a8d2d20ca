"""The short soak: twenty members use the whole site for 45 seconds, each
holding the gallery's live stream, through the web server as deployed
(gunicorn with uvicorn workers), the cluster and the poller, while the
simulator injects faults. The long one is `make soak`; both are bench/soak.py.

It runs as a separate program on its own scratch database (a new database on
the PostgreSQL server when DATABASE_URL is set), so it needs no test database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db_sensitive

EVERY_ACTION = {
    "sign in",
    "gallery",
    "stream",
    "make private",
    "generate",
    "check prompt",
    "job page",
    "image page",
    "thumbnail",
    "my credits",
    "outsider probe",
}


@pytest.fixture(scope="module")
def soak(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("soak") / "figures.json"
    args = ["--members", "20", "--seconds", "45", "--drain", "150", "--json", str(out)]
    run = subprocess.run(
        [sys.executable, "bench/soak.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), f"the soak did not finish:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    figures = json.loads(out.read_text())
    figures["output"] = run.stdout[-4000:]
    return figures


def test_the_site_answers_every_request_without_an_error(soak):
    assert soak["requests"] > 300, soak["output"]
    assert soak["errors"] == 0, "\n".join(soak["first_errors"])


def test_every_member_holds_a_stream_that_never_carries_another_members_private_job(soak):
    assert soak["streams"] == 20 and not soak["streams_without_hello"], soak["output"]
    assert soak["private_jobs"] > 0, soak["output"]  # the check below had something to check
    assert soak["private_leaks"] == [], soak["private_leaks"]


def test_every_kind_of_visit_happened(soak):
    assert set(soak["by_action"]) >= EVERY_ACTION, soak["output"]


def test_the_injected_faults_really_struck(soak):
    assert soak["upstream_faults_seen"] > 0, soak["output"]
    assert soak["failed"] > 0, soak["output"]  # [sim:fail] prompts and task_failure


def test_every_job_ends_and_every_failure_is_refunded(soak):
    assert soak["jobs_not_final"] == 0, soak["output"]
    assert soak["jobs_completed"] >= 20, soak["output"]
    assert soak["failed_and_refunded"] == soak["failed"], soak["output"]


def test_the_ledger_adds_up_and_no_image_is_lost(soak):
    assert soak["ledger_ok"], soak["ledger_problems"]
    assert soak["images_missing_files"] == 0, soak["output"]
    assert soak["images"].get("pending", 0) == 0, soak["output"]
