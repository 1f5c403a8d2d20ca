"""References no job uses are deleted after the retention period; one a job
names (prompt, --sref/--oref, source URL) stays as long as the job. The
clock is always given: `now=`, or a fixed `timezone.now` for the poller."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image as PILImage

from gallery.models import Job
from gallery.net.uploads import clean_upload
from gallery.studio import public_urls, references
from tests.factories import finished_job

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 5, 1, 15, 30, tzinfo=UTC)


def reference(user, colour: tuple[int, int, int], now: datetime = T0) -> str:
    data = io.BytesIO()
    PILImage.new("RGB", (32, 24), colour).save(data, "PNG")
    return references.store(user.pk, clean_upload(data.getvalue()), now=now)


def url(name: str) -> str:
    return public_urls.signed_url(name)


def test_a_reference_no_job_uses_is_deleted_once_the_retention_period_is_over(alice):
    name = reference(alice, (1, 2, 3))
    assert references.expire(now=T0 + timedelta(days=7)) == 0
    assert default_storage.exists(name)
    assert references.expire(now=T0 + timedelta(days=8)) == 1
    assert not default_storage.exists(name)
    assert references.usage(alice.pk) == 0


def test_the_retention_period_is_a_setting(alice, settings):
    settings.MJWEB_UPLOAD_RETENTION_DAYS = 2
    name = reference(alice, (1, 2, 3))
    assert references.expire(now=T0 + timedelta(days=2)) == 0
    assert references.expire(now=T0 + timedelta(days=3)) == 1
    assert not default_storage.exists(name)


def test_references_named_by_jobs_stay_and_the_others_go(alice, bob, team):
    in_prompt = reference(alice, (10, 0, 0))
    as_sref = reference(alice, (20, 0, 0))
    as_source = reference(alice, (30, 0, 0))
    by_teammate = reference(alice, (40, 0, 0))
    in_deleted_job = reference(alice, (50, 0, 0))
    unused = reference(alice, (60, 0, 0))
    finished_job(alice, team, prompt=f"{url(in_prompt)} a lighthouse", images=0)
    finished_job(alice, team, prompt=f"a lighthouse --sref {url(as_sref)}", images=0)
    finished_job(alice, team, operation="mj-v7-retexture", source_urls=[url(as_source)], images=0)
    finished_job(bob, team, prompt=f"a cat --oref {url(by_teammate)}", images=0)
    finished_job(alice, team, prompt=f"{url(in_deleted_job)} a dog", images=0).soft_delete()
    Job.objects.update(created=T0 + timedelta(hours=1))  # made the day the files were

    assert references.expire(now=T0 + timedelta(days=30)) == 1

    assert not default_storage.exists(unused)
    for kept in (in_prompt, as_sref, as_source, by_teammate, in_deleted_job):
        assert default_storage.exists(kept), kept


def test_a_reference_stays_while_its_job_exists_however_long(alice, team):
    name = reference(alice, (7, 7, 7))
    finished_job(alice, team, prompt=f"{url(name)} a lighthouse", images=0)
    Job.objects.update(created=T0 + timedelta(hours=1))
    for years in (1, 5):
        assert references.expire(now=T0 + timedelta(days=365 * years)) == 0
    assert default_storage.exists(name)


def test_uploading_the_same_file_on_a_later_day_keeps_a_fresh_copy(alice):
    old = reference(alice, (9, 9, 9))
    later = T0 + timedelta(days=6)
    new = reference(alice, (9, 9, 9), now=later)
    assert new != old
    references.expire(now=later + timedelta(days=2))
    assert not default_storage.exists(old)
    assert default_storage.exists(new)  # the URL just handed out still works


def test_one_members_expiry_leaves_another_members_recent_files(alice, bob):
    old = reference(alice, (1, 1, 1))
    recent = reference(bob, (2, 2, 2), now=T0 + timedelta(days=9))
    assert references.expire(now=T0 + timedelta(days=10)) == 1
    assert not default_storage.exists(old)
    assert default_storage.exists(recent)


def test_nothing_to_expire_before_the_first_upload():
    assert references.expire(now=T0) == 0


@pytest.mark.django_db(transaction=True)
def test_the_pollers_sweep_deletes_expired_references(alice, monkeypatch):
    stale = reference(alice, (3, 3, 3), now=T0)
    fresh = reference(alice, (4, 4, 4), now=T0 + timedelta(days=29))
    monkeypatch.setattr(timezone, "now", lambda: T0 + timedelta(days=30))
    call_command("poller", "--once", stdout=io.StringIO())
    assert not default_storage.exists(stale)
    assert default_storage.exists(fresh)
