"""A script written for the aggregator works against mjweb by changing its base URL.

The create call is the Python example of the reAPI MJ V7 page (the seed
`../shared/seeds/004_*.txt`, "Quick example"), character for character; the
poll-and-download part follows the same page's prose ("poll GET
/api/v1/tasks/:task_id until status is completed, then read the image
URLs") with evolink's `results` field. Only the base URL and the key are
swapped, by plain text replacement, and the script runs against a live
server while the test drives the job through the pipeline and the upstream
simulator, as the worker and the poller would.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.storage import default_storage

from gallery.models import Job, LedgerEntry
from tests.api.conftest import issue
from tests.factories import fund
from tests.pipeline.conftest import run_until_final

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

# Verbatim from the seed, which lost its indentation; inside brackets Python does not mind.
SEED_CREATE = """\
import requests
resp = requests.post(
"https://reapi.ai/api/v1/images/generations",
headers={
"Authorization": "Bearer rk_live_xxx",
"Content-Type": "application/json",
},
json={
"model": "mj-v7",
"prompt": "a serene Japanese garden with cherry blossoms --ar 16:9 --s 500",
"model_params": {"speed": "fast"},
},
timeout=30,
)
task_id = resp.json()["id"]
"""

POLL_AND_DOWNLOAD = """\
import time
while True:
    task = requests.get(
        "https://reapi.ai/api/v1/tasks/" + task_id,
        headers={"Authorization": "Bearer rk_live_xxx"},
        timeout=30,
    ).json()
    if task["status"] in ("completed", "failed"):
        break
    time.sleep(0.5)
images = [requests.get(url, timeout=60).content for url in task["results"]]
"""


def swapped(script: str, base_url: str, key: str) -> str:
    return script.replace("https://reapi.ai", base_url).replace("rk_live_xxx", key)


def test_the_seeds_python_example_creates_polls_and_downloads(
    sim, live_server, alice, team, settings, tmp_path
):
    fund(alice, team, 5000)
    key = issue(alice, team, name="seed example")
    script = swapped(SEED_CREATE + POLL_AND_DOWNLOAD, live_server.url, key)
    assert script.count(live_server.url) == 2 and "rk_live" not in script
    scope: dict = {}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            exec(script, scope)  # noqa: S102 - the point is to run the snippet as written
        except BaseException as exc:
            failure.append(exc)

    client = threading.Thread(target=run, daemon=True)
    client.start()
    job = _wait_for_job(timeout=15)
    job = run_until_final(job)  # what the worker and the poller do
    client.join(timeout=30)
    assert not client.is_alive() and not failure, failure

    assert scope["resp"].status_code == 200
    assert scope["task_id"] == f"task-unified-mjw-{job.pk}"
    assert scope["task"]["status"] == "completed"
    assert job.status == "completed" and job.user == alice and job.team == team
    stored = []
    for image in job.images.order_by("index"):
        with default_storage.open(image.original.name) as fh:
            stored.append(fh.read())
    assert scope["images"] == stored and len(stored) == 4
    assert all(data.startswith(b"\x89PNG") for data in scope["images"])
    charged = LedgerEntry.objects.filter(job=job).values_list("kind", flat=True)
    assert sorted(charged) == ["reserve", "settle"]


def _wait_for_job(timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.first()
        if job is not None:
            return job
        time.sleep(0.05)
    raise AssertionError("the snippet's POST made no job")
