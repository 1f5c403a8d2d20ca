"""A worker SIGKILLed while it builds a large export: the next run goes on
from the last checkpoint instead of starting over, and the ZIP is whole.

The worker is a real process on the test database running the task's entry
point (gallery.tasks.build_export). Its storage reads are slowed by 10 ms each
in that process only, so the kill lands mid-build on any machine; nothing of
the code under test is replaced."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from gallery.models import Export, Job, Membership
from gallery.studio import exports
from tests.factories import many_jobs, stored_originals
from tests.pipeline.stack import database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

WORKER = """
import sys, time
import django
django.setup()
from django.core.files.storage import default_storage
opened = default_storage.open
def slow_open(*args, **kwargs):
    time.sleep(0.01)
    return opened(*args, **kwargs)
default_storage.open = slow_open
from gallery import tasks
tasks.build_export(int(sys.argv[1]))
"""


def start_worker(export: Export) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MJWEB_EXPORT_DIR": str(settings.MJWEB_EXPORT_DIR),
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(export.pk)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_checkpoint(export: Export, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = Export.objects.filter(pk=export.pk).values_list("done", flat=True).get()
        if done >= at_least:
            return done
        time.sleep(0.02)
    raise AssertionError(f"no checkpoint of {at_least} entries after {timeout}s")


def test_a_worker_killed_mid_export_is_resumed_from_its_checkpoint(alice, team):
    jobs = many_jobs(team, [alice], 75, prompt="a red fox in snow")
    stored_originals(jobs)
    member = Membership.objects.get(user=alice, team=team)
    export = exports.start(member, "All jobs", exports.plan_for(Job.objects.visible_in(member)))
    assert export.total == 300
    worker = start_worker(export)
    try:
        wait_for_checkpoint(export, at_least=2 * exports.CHECKPOINT_EVERY)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    export.refresh_from_db()
    killed_at = export.done
    assert export.status == "building" and 0 < killed_at < export.total
    assert killed_at % exports.CHECKPOINT_EVERY == 0
    # The dead worker wrote past its last checkpoint; those bytes get cut off.
    assert export.part_path("zip.part").stat().st_size >= export.zip_bytes > 0

    assert exports.build(export.pk) == 0  # its lease still holds: nobody takes it yet
    assert exports.recover(timezone.now() + timedelta(minutes=2)) == 1
    written = exports.build(export.pk, slice_seconds=3600)

    export.refresh_from_db()
    assert export.status == "ready" and export.runs == 2
    assert written == export.total - killed_at  # went on from the checkpoint, not from 0
    with default_storage.open(export.file) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert archive.testzip() is None
    rows = json.loads(archive.read("manifest.json"))
    names = [n for n in archive.namelist() if not n.startswith("manifest.")]
    assert len(names) == len(set(names)) == len(rows) == 300
    for row in rows:
        assert hashlib.sha256(archive.read(row["file"])).hexdigest() == row["sha256"]
