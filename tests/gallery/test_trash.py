"""The team's trash: deleted jobs listed for those who may manage them,
restored or purged (files gone, the job row kept for the ledger), and purged
by the poller's sweep once they have lain there MJWEB_TRASH_DAYS."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from gallery.credits import ledger
from gallery.models import Image, Job, Membership
from gallery.studio import pipeline
from tests.factories import finished_job

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def deleted_job(user, team, *, images: int = 2, private: bool = False, ago=None) -> Job:
    job = finished_job(user, team, images=images)
    job.private = private
    job.deleted_at = timezone.now() - (ago or timedelta(0))
    job.save(update_fields=["private", "deleted_at"])
    return job


def files_of(job: Job) -> list[str]:
    names = job.images.values_list("original", "thumbnail")
    return sorted({name for pair in names for name in pair if name})


def membership(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


# --- who sees what -----------------------------------------------------------


def test_authors_see_their_own_deleted_jobs_and_admins_see_the_teams(alice, bob, team):
    alices = deleted_job(alice, team)
    bobs = deleted_job(bob, team)
    finished_job(bob, team)  # not deleted: never in the trash
    assert list(Job.objects.in_trash(membership(bob, team))) == [bobs]
    assert set(Job.objects.in_trash(membership(alice, team))) == {alices, bobs}


def test_an_admin_does_not_see_another_members_private_deleted_job(alice, bob, team):
    secret = deleted_job(bob, team, private=True)
    assert not Job.objects.in_trash(membership(alice, team)).exists()
    assert list(Job.objects.in_trash(membership(bob, team))) == [secret]


def test_the_trash_page_lists_rows_with_restore_and_purge(alice_client, alice, bob, team):
    job = deleted_job(bob, team)
    job.prompt = "a lighthouse at dusk --ar 16:9"
    job.save(update_fields=["prompt"])
    html = alice_client.get("/t/acme/trash/").content.decode()
    assert "a lighthouse at dusk" in html and "bob" in html
    assert f"/t/acme/trash/{job.pk}/restore/" in html
    assert f"/t/acme/trash/{job.pk}/purge/" in html
    assert "Delete forever" in html


def test_an_empty_trash_says_so(bob_client, alice, team):
    deleted_job(alice, team)  # alice's: not bob's to see
    html = bob_client.get("/t/acme/trash/").content.decode()
    assert "The trash is empty" in html


def test_the_gallery_links_to_the_trash(alice_client, alice):
    assert 'href="/t/acme/trash/"' in alice_client.get("/t/acme/").content.decode()


def test_a_stranger_gets_404_for_the_trash_and_its_actions(carol_client, alice, team):
    job = deleted_job(alice, team)
    assert carol_client.get("/t/acme/trash/").status_code == 404
    assert carol_client.post(f"/t/acme/trash/{job.pk}/restore/").status_code == 404
    assert carol_client.post(f"/t/other/trash/{job.pk}/purge/").status_code == 404
    assert Job.objects.get(pk=job.pk).deleted_at is not None


def test_a_member_cannot_restore_or_purge_someone_elses_job(bob_client, alice, team):
    job = deleted_job(alice, team)
    assert bob_client.post(f"/t/acme/trash/{job.pk}/restore/").status_code == 404
    assert bob_client.post(f"/t/acme/trash/{job.pk}/purge/").status_code == 404
    assert files_of(job) and all(default_storage.exists(n) for n in files_of(job))


def test_trash_actions_refuse_get(alice_client, alice, team):
    job = deleted_job(alice, team)
    assert alice_client.get(f"/t/acme/trash/{job.pk}/restore/").status_code == 405
    assert alice_client.get(f"/t/acme/trash/{job.pk}/purge/").status_code == 405
    assert alice_client.post("/t/acme/trash/").status_code == 405


# --- restore -----------------------------------------------------------------


def test_restoring_from_the_trash_brings_the_job_back(alice_client, alice, team):
    job = deleted_job(alice, team)
    response = alice_client.post(f"/t/acme/trash/{job.pk}/restore/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/trash/"
    assert Job.objects.get(pk=job.pk).deleted_at is None
    assert f"/t/acme/jobs/{job.pk}/" in alice_client.get("/t/acme/").content.decode()


def test_restore_over_htmx_answers_with_the_rows_new_state(alice_client, alice, team):
    job = deleted_job(alice, team)
    html = alice_client.post(f"/t/acme/trash/{job.pk}/restore/", headers=HTMX).content.decode()
    assert "Restored" in html and f'id="trash-{job.pk}"' in html
    assert "<html" not in html


# --- purge -------------------------------------------------------------------


def test_purge_removes_the_files_and_image_rows_and_keeps_the_job_row(
    alice, team, django_capture_on_commit_callbacks
):
    job = deleted_job(alice, team)
    names = files_of(job)
    assert names and all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        assert job.purge() is True
    assert not any(default_storage.exists(n) for n in names)
    assert not Image.objects.filter(job=job).exists()
    kept = Job.objects.get(pk=job.pk)  # the ledger refers to it
    assert kept.deleted_at is not None and kept.is_purged


def test_purge_is_idempotent(alice, team, django_capture_on_commit_callbacks):
    job = deleted_job(alice, team)
    with django_capture_on_commit_callbacks(execute=True):
        assert job.purge() is True
    with django_capture_on_commit_callbacks(execute=True):
        assert job.purge() is False
    assert job.events.filter(kind="purged").count() == 1


def test_a_job_that_is_not_deleted_is_never_purged(alice, team):
    job = finished_job(alice, team, images=1)
    assert job.purge() is False
    assert job.images.count() == 1 and not job.is_purged


def test_a_purged_job_cannot_be_restored_and_leaves_the_trash(alice_client, alice, team):
    job = deleted_job(alice, team)
    job.purge()
    assert job.restore() is False
    assert Job.objects.get(pk=job.pk).deleted_at is not None
    assert not Job.objects.in_trash(membership(alice, team)).exists()
    assert alice_client.post(f"/t/acme/trash/{job.pk}/restore/").status_code == 404


def test_an_image_an_edit_was_made_from_keeps_its_row_without_files(
    alice, bob, team, django_capture_on_commit_callbacks
):
    job = deleted_job(alice, team, images=1)
    parent = job.images.get()
    names = files_of(job)
    child = finished_job(bob, team, images=0)
    child.parent = parent
    child.save(update_fields=["parent"])
    with django_capture_on_commit_callbacks(execute=True):
        job.purge()
    parent.refresh_from_db()
    assert parent.original.name == "" and parent.thumbnail.name == ""
    assert parent.status == Image.Status.LOST
    assert Job.objects.get(pk=child.pk).parent_id == parent.pk  # the lineage still reads
    assert not any(default_storage.exists(n) for n in names)


def test_a_file_another_image_shares_stays(alice, team, django_capture_on_commit_callbacks):
    # Storage is content-addressed: the same picture in two jobs is one file.
    job = deleted_job(alice, team, images=1)
    kept = finished_job(alice, team, images=1)
    shared = job.images.get().original.name
    Image.objects.filter(job=kept).update(original=shared)
    with django_capture_on_commit_callbacks(execute=True):
        job.purge()
    assert default_storage.exists(shared)


def test_purge_keeps_the_ledger_exact(alice, team, django_capture_on_commit_callbacks):
    account = ledger.account_for(membership(alice, team))
    ledger.grant(account=account, amount=500, by=alice)
    job = deleted_job(alice, team)
    ledger.reserve(job=job, account=account)
    ledger.settle(job=job, account=account)
    before = list(account.entries.values_list("pk", "amount", "job_id"))
    with django_capture_on_commit_callbacks(execute=True):
        job.purge()
    assert list(account.entries.values_list("pk", "amount", "job_id")) == before


def test_purge_from_the_trash_page(alice_client, alice, team, django_capture_on_commit_callbacks):
    job = deleted_job(alice, team)
    names = files_of(job)
    with django_capture_on_commit_callbacks(execute=True):
        html = alice_client.post(f"/t/acme/trash/{job.pk}/purge/", headers=HTMX).content.decode()
    assert "Deleted forever" in html and f'id="trash-{job.pk}"' in html
    assert not any(default_storage.exists(n) for n in names)
    assert "The trash is empty" in alice_client.get("/t/acme/trash/").content.decode()


# --- the automatic purge -----------------------------------------------------


def test_the_sweep_purges_what_lay_in_the_trash_past_the_setting(
    alice, team, settings, django_capture_on_commit_callbacks
):
    settings.MJWEB_TRASH_DAYS = 30
    now = timezone.now()
    old = deleted_job(alice, team, ago=timedelta(days=31))
    recent = deleted_job(alice, team, ago=timedelta(days=29))
    live = finished_job(alice, team, images=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.purge_trash(now=now) == 1
    assert Job.objects.get(pk=old.pk).is_purged
    assert not Job.objects.get(pk=recent.pk).is_purged and recent.images.count() == 2
    assert live.images.count() == 1
    # A month later the other one goes too, and the first is not purged again.
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.purge_trash(now=now + timedelta(days=2)) == 1
    assert Job.objects.get(pk=recent.pk).is_purged


def test_the_setting_decides_how_long_the_trash_keeps(alice, team, settings):
    settings.MJWEB_TRASH_DAYS = 3
    job = deleted_job(alice, team, ago=timedelta(days=4))
    assert pipeline.purge_trash(now=timezone.now()) == 1
    assert Job.objects.get(pk=job.pk).is_purged


@pytest.mark.django_db(transaction=True)
def test_the_poller_runs_the_trash_purge_beside_the_reference_expiry(
    alice, team, settings, monkeypatch
):
    settings.MJWEB_TRASH_DAYS = 30
    t0 = timezone.now()
    job = deleted_job(alice, team)
    names = files_of(job)
    monkeypatch.setattr(timezone, "now", lambda: t0 + timedelta(days=31))
    call_command("poller", "--once", stdout=io.StringIO())
    assert Job.objects.get(pk=job.pk).is_purged
    assert not any(default_storage.exists(n) for n in names)


def test_the_undo_route_answers_404_for_a_purged_job(alice_client, alice, team):
    job = deleted_job(alice, team)
    job.purge()
    response = alice_client.post(f"/t/acme/jobs/{job.pk}/restore/", headers=HTMX)
    assert response.status_code == 404
    assert Job.objects.get(pk=job.pk).deleted_at is not None


def test_the_trash_page_costs_the_same_queries_for_one_row_or_many(alice_client, alice, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    deleted_job(alice, team)
    alice_client.get("/t/acme/trash/")  # the session learns the team: a write, once
    with CaptureQueriesContext(connection) as one:
        alice_client.get("/t/acme/trash/")
    for _ in range(5):
        deleted_job(alice, team)
    with CaptureQueriesContext(connection) as six:
        html = alice_client.get("/t/acme/trash/").content.decode()
    assert html.count('class="trash-row"') == 6
    assert len(six) == len(one)
