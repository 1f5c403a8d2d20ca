"""Download ZIP of a selection, a collection or a filtered search: originals
under unique readable names and a manifest whose hashes match the bytes;
only what the member may see; large exports built by a worker in slices."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from gallery.models import Collection, CollectionItem, Export, Job, Membership, Project, Team
from gallery.studio import exports
from tests.factories import finished_job, many_jobs, stored_originals

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _all(member: Membership):
    return Job.objects.visible_in(member)


def download(client, **data):
    return client.post("/t/acme/exports/", data)


def unzip(response) -> zipfile.ZipFile:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return zipfile.ZipFile(io.BytesIO(body))


def manifest(archive: zipfile.ZipFile) -> list[dict]:
    return json.loads(archive.read("manifest.json"))


def images_of(archive: zipfile.ZipFile) -> list[str]:
    return [n for n in archive.namelist() if not n.startswith("manifest.")]


def assert_hashes_match(archive: zipfile.ZipFile) -> None:
    rows = manifest(archive)
    assert sorted(row["file"] for row in rows) == sorted(images_of(archive))
    for row in rows:
        assert hashlib.sha256(archive.read(row["file"])).hexdigest() == row["sha256"]


def test_a_selection_streams_a_zip_with_originals_and_a_manifest(alice_client, alice, team):
    fox = finished_job(alice, team, images=2, prompt="a red fox in snow --ar 3:2 --s 250")
    other = finished_job(alice, team, images=1, prompt="a blue whale")
    response = download(alice_client, scope="selection", ids=[fox.pk, other.pk])
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert 'filename="acme-2-selected-jobs.zip"' in response["Content-Disposition"]
    archive = unzip(response)
    assert archive.testzip() is None
    assert sorted(images_of(archive)) == sorted(
        [
            f"{fox.pk:04d}-a-red-fox-in-snow-1.png",
            f"{fox.pk:04d}-a-red-fox-in-snow-2.png",
            f"{other.pk:04d}-a-blue-whale-1.png",
        ]
    )
    assert_hashes_match(archive)
    row = next(r for r in manifest(archive) if r["job"] == fox.pk and r["image"] == 2)
    stored = fox.images.get(index=1)
    assert row["sha256"] == stored.sha256  # the bytes are the stored original's
    assert row["prompt"] == "a red fox in snow --ar 3:2 --s 250"
    assert row["operation_label"] == "Generate" and row["author"] == "alice"
    assert row["job_credits_charged"] == fox.credits_charged
    assert row["parent_job"] is None
    table = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert {r["file"] for r in table} == set(images_of(archive))
    assert {r["sha256"] for r in table} == {r["sha256"] for r in manifest(archive)}


def test_the_manifest_names_an_edits_parent_job_and_image(alice_client, alice, team):
    source = finished_job(alice, team, images=4)
    upscale = finished_job(
        alice, team, images=1, operation="upscale", parent=source.images.get(index=2)
    )
    archive = unzip(download(alice_client, scope="selection", ids=[upscale.pk]))
    (row,) = manifest(archive)
    assert (row["parent_job"], row["parent_image"]) == (source.pk, 3)
    assert row["operation"] == "upscale"


def test_the_manifest_names_each_jobs_project(alice_client, alice, team):
    spring = Project.objects.create(team=team, name="Spring")
    placed = finished_job(alice, team, images=1, prompt="a chair")
    Job.objects.filter(pk=placed.pk).update(project=spring)
    loose = finished_job(alice, team, images=1, prompt="a stool")
    archive = unzip(download(alice_client, scope="selection", ids=[placed.pk, loose.pk]))
    named = {r["job"]: r["project"] for r in manifest(archive)}
    assert named == {placed.pk: "Spring", loose.pk: ""}
    table = csv.DictReader(io.StringIO(archive.read("manifest.csv").decode()))
    assert {r["project"] for r in table} == {"Spring", ""}


def test_a_prompt_that_looks_like_a_formula_is_quoted_in_the_csv(alice_client, alice, team):
    job = finished_job(alice, team, images=1, prompt="=HYPERLINK(1) a fox")
    archive = unzip(download(alice_client, scope="selection", ids=[job.pk]))
    (row,) = csv.DictReader(io.StringIO(archive.read("manifest.csv").decode()))
    assert row["prompt"] == "'=HYPERLINK(1) a fox"
    assert manifest(archive)[0]["prompt"] == "=HYPERLINK(1) a fox"  # JSON keeps it as it is


def test_a_collection_zip_leaves_out_a_teammates_private_job_and_deleted_jobs(
    alice_client, alice, bob, team
):
    board = Collection.objects.create(team=team, owner=alice, name="Client review")
    shown = finished_job(alice, team, images=1, prompt="shown")
    private = finished_job(bob, team, images=1, prompt="bobs secret", private=True)
    deleted = finished_job(alice, team, images=1, prompt="deleted")
    deleted.soft_delete()
    for job in (shown, private, deleted):
        CollectionItem.objects.create(collection=board, job=job, added_by=alice)
    response = download(alice_client, scope="collection", collection=board.pk)
    assert 'filename="acme-client-review.zip"' in response["Content-Disposition"]
    archive = unzip(response)
    assert images_of(archive) == [f"{shown.pk:04d}-shown-1.png"]
    assert "secret" not in archive.read("manifest.csv").decode()


def test_the_private_job_is_in_its_authors_own_zip(bob_client, alice, bob, team):
    board = Collection.objects.create(team=team, owner=alice, name="Board")
    private = finished_job(bob, team, images=1, prompt="bobs secret", private=True)
    CollectionItem.objects.create(collection=board, job=private, added_by=bob)
    archive = unzip(download(bob_client, scope="collection", collection=board.pk))
    assert images_of(archive) == [f"{private.pk:04d}-bobs-secret-1.png"]


def test_a_filtered_search_zips_only_the_jobs_it_shows(alice_client, alice, team):
    fox = finished_job(alice, team, images=1, prompt="a fox")
    finished_job(alice, team, images=1, prompt="a whale")
    response = download(alice_client, scope="search", q="fox")
    assert 'filename="acme-search-for-fox.zip"' in response["Content-Disposition"]
    assert images_of(unzip(response)) == [f"{fox.pk:04d}-a-fox-1.png"]


def test_a_filtered_gallery_offers_its_zip_and_an_unfiltered_one_does_not(
    alice_client, alice, team
):
    finished_job(alice, team, images=1, prompt="a fox")
    filtered = alice_client.get("/t/acme/?q=fox").content.decode()
    assert 'name="scope" value="search"' in filtered and 'name="q" value="fox"' in filtered
    assert 'name="scope" value="search"' not in alice_client.get("/t/acme/").content.decode()
    # The selection bar's button posts the same form's ids.
    assert 'formaction="/t/acme/exports/" name="scope" value="selection"' in filtered


def test_a_collection_page_has_a_download_zip_form(alice_client, alice, team):
    board = Collection.objects.create(team=team, owner=alice, name="Board")
    CollectionItem.objects.create(
        collection=board, job=finished_job(alice, team, images=1), added_by=alice
    )
    page = alice_client.get(f"/t/acme/collections/{board.pk}/").content.decode()
    assert 'name="scope" value="collection"' in page and f'value="{board.pk}"' in page


def test_another_teams_job_in_a_selection_refuses_the_whole_zip(alice_client, alice, carol, team):
    theirs = finished_job(carol, Team.objects.get(slug="other"), images=1)
    ours = finished_job(alice, team, images=1)
    response = download(alice_client, scope="selection", ids=[ours.pk, theirs.pk])
    assert response.status_code == 404
    assert "no longer there, or not yours to see" in response.content.decode()


def test_a_teammates_private_job_in_a_selection_refuses_the_zip(alice_client, bob, team):
    private = finished_job(bob, team, images=1, private=True)
    assert download(alice_client, scope="selection", ids=[private.pk]).status_code == 404


def test_another_teams_collection_is_not_found(alice_client, carol, other_team):
    board = Collection.objects.create(team=other_team, owner=carol, name="Theirs")
    response = download(alice_client, scope="collection", collection=board.pk)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({}, 400, "the scope must be"),
        ({"scope": "everything"}, 400, "the scope must be"),
        ({"scope": "selection"}, 400, "Select at least one job first."),
        (
            {"scope": "collection", "collection": "abc"},
            400,
            "The collection must be a whole number",
        ),
        ({"scope": "search", "since": "2026-02-30"}, 400, "The start date"),
    ],
)
def test_a_request_it_cannot_do_is_refused_in_words(alice_client, data, status, words):
    response = download(alice_client, **data)
    assert response.status_code == status
    assert words in response.content.decode()


def test_a_refusal_for_htmx_is_a_message_in_place(alice_client):
    response = alice_client.post("/t/acme/exports/", {"scope": "nope"}, headers=HTMX)
    assert response.status_code == 400 and "<html" not in response.content.decode().lower()


def test_jobs_without_a_stored_image_have_nothing_to_download(alice_client, alice, team):
    job = finished_job(alice, team, images=0)
    response = download(alice_client, scope="selection", ids=[job.pk])
    assert response.status_code == 400
    assert "there is no stored image to download" in response.content.decode()


def test_the_zip_url_takes_only_a_post_from_a_member(alice_client, carol_client, client):
    assert alice_client.get("/t/acme/exports/").status_code == 405
    assert carol_client.post("/t/acme/exports/", {"scope": "search"}).status_code == 404
    assert client.post("/t/acme/exports/", {"scope": "search"}).status_code == 302


# --- large exports: a worker builds them -------------------------------------------------


@pytest.fixture
def small_stream(settings):
    settings.MJWEB_EXPORT_STREAM_MAX = 3


def test_two_thousand_images_with_one_prompt_get_two_thousand_unique_names(
    alice, alice_client, team, small_stream
):
    jobs = many_jobs(team, [alice], 500, prompt="a red fox in snow --ar 1:1")
    stored_originals(jobs)
    response = download(alice_client, scope="search", q="fox")
    export = Export.objects.get()
    assert response.status_code == 302 and response.url == f"/t/acme/exports/{export.pk}/"
    assert export.total == 2000 and export.status == "queued"
    assert exports.build(export.pk, slice_seconds=3600) == 2000
    export.refresh_from_db()
    assert export.status == "ready" and export.done == 2000 and export.skipped == 0
    with default_storage.open(export.file) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    names = images_of(archive)
    assert len(names) == 2000 and len({n.lower() for n in names}) == 2000
    assert all("-a-red-fox-in-snow-" in name for name in names)
    assert_hashes_match(archive)
    assert export.part_path("zip.part").exists() is False  # the part-built files are gone


def test_a_build_in_slices_goes_on_where_the_last_slice_stopped(alice, team, small_stream):
    jobs = many_jobs(team, [alice], 25, prompt="a fox")
    stored_originals(jobs)
    member = Membership.objects.get(user=alice, team=team)
    export = exports.start(member, "All jobs", exports.plan_for(_all(member)))
    ticks = iter(range(0, 10_000, 10))  # every checkpoint looks 10 "seconds" later
    runs = []
    while True:
        runs.append(exports.build(export.pk, clock=lambda: next(ticks), slice_seconds=15))
        export.refresh_from_db()
        if export.status != "queued":
            break
    assert runs == [40, 40, 20] and export.runs == 3
    with default_storage.open(export.file) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert archive.testzip() is None and len(images_of(archive)) == 100
    assert_hashes_match(archive)


def test_a_job_made_private_after_the_export_was_asked_for_is_left_out(
    alice, bob, team, small_stream
):
    mine = finished_job(alice, team, images=2, prompt="mine")
    bobs = finished_job(bob, team, images=2, prompt="bobs")
    member = Membership.objects.get(user=alice, team=team)
    plan = exports.plan_for(_all(member))
    export = exports.start(member, "All jobs", plan)
    bobs.make_private()
    exports.build(export.pk)
    export.refresh_from_db()
    assert (export.status, export.total, export.skipped, export.written) == ("ready", 4, 2, 2)
    with default_storage.open(export.file) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert {row["job"] for row in manifest(archive)} == {mine.pk}


def test_an_export_of_a_member_removed_meanwhile_fails_and_is_not_built(alice, bob, team):
    bobs = Membership.objects.get(user=bob, team=team)
    finished_job(bob, team, images=1)
    export = exports.start(bobs, "All jobs", exports.plan_for(_all(bobs)))
    bobs.removed_at = timezone.now()
    bobs.save()
    assert exports.build(export.pk) == 0
    export.refresh_from_db()
    assert export.status == "failed" and "no longer a member" in export.error


def test_a_second_worker_steps_aside_while_the_first_holds_the_export(alice, team):
    member = Membership.objects.get(user=alice, team=team)
    finished_job(alice, team, images=1)
    export = exports.start(member, "All jobs", exports.plan_for(_all(member)))
    assert Export.objects.claim(export.pk)
    assert exports.build(export.pk) == 0  # the lease is the first one's
    assert exports.recover() == 0
    later = timezone.now() + timedelta(minutes=2)
    assert exports.recover(later) == 1  # its worker died: queued again
    export.refresh_from_db()
    assert export.status == "queued" and exports.build(export.pk) == 1


# --- the export's page and its download -------------------------------------------------


@pytest.fixture
def ready(alice, team) -> Export:
    member = Membership.objects.get(user=alice, team=team)
    finished_job(alice, team, images=2, prompt="a fox")
    export = exports.start(member, "Search for fox", exports.plan_for(_all(member)))
    exports.build(export.pk)
    export.refresh_from_db()
    return export


def test_the_export_page_shows_progress_then_the_download(alice_client, alice, team):
    member = Membership.objects.get(user=alice, team=team)
    finished_job(alice, team, images=2)
    export = exports.start(member, "All jobs", exports.plan_for(_all(member)))
    page = alice_client.get(f"/t/acme/exports/{export.pk}/").content.decode()
    assert "0 of 2 images" in page and 'hx-trigger="every 2s"' in page
    exports.build(export.pk)
    fragment = alice_client.get(f"/t/acme/exports/{export.pk}/", headers=HTMX).content.decode()
    assert "<html" not in fragment and "Ready: 2 images" in fragment
    assert f"/t/acme/exports/{export.pk}/download/" in fragment and "every 2s" not in fragment


def test_the_ready_zip_downloads_as_an_attachment(alice_client, ready):
    response = alice_client.get(f"/t/acme/exports/{ready.pk}/download/")
    assert response.status_code == 200
    assert 'attachment; filename="acme-search-for-fox.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(images_of(archive)) == 2
    assert_hashes_match(archive)


def test_only_the_member_who_asked_sees_the_export(ready, bob_client, carol_client, client):
    for other in (bob_client, carol_client):
        assert other.get(f"/t/acme/exports/{ready.pk}/").status_code == 404
        assert other.get(f"/t/acme/exports/{ready.pk}/download/").status_code == 404
    assert client.get(f"/t/acme/exports/{ready.pk}/download/").status_code == 302


def test_a_member_removed_from_the_team_can_no_longer_download(ready, alice_client, alice, team):
    Membership.objects.filter(user=alice, team=team).update(removed_at=timezone.now())
    assert alice_client.get(f"/t/acme/exports/{ready.pk}/download/").status_code == 404


def test_an_export_past_its_keeping_time_is_deleted_by_the_sweep(alice_client, ready):
    name = ready.file
    assert default_storage.exists(name)
    assert exports.expire() == 0
    assert exports.expire(ready.expires_at + timedelta(seconds=1)) == 1
    assert not default_storage.exists(name)
    assert alice_client.get(f"/t/acme/exports/{ready.pk}/download/").status_code == 404
    page = alice_client.get(f"/t/acme/exports/{ready.pk}/").content.decode()
    assert "no longer kept" in page


def test_the_pages_only_answer_their_methods(alice_client, ready):
    assert alice_client.post(f"/t/acme/exports/{ready.pk}/").status_code == 405
    assert alice_client.post(f"/t/acme/exports/{ready.pk}/download/").status_code == 405


def test_a_searchs_zip_is_named_after_its_filters():
    from gallery.studio.views.exports import search_label

    assert search_label({}) == "All jobs"
    assert search_label({"q": "fox", "who": "bob", "starred": "1"}) == (
        "Search for fox, by bob, starred"
    )


def test_a_worker_whose_lease_ran_out_keeps_its_files_and_a_second_steps_aside(alice, team):
    """The lease says who may build; the files' lock says who is writing. A slow
    worker past its lease still holds the lock, so a second one, queued by the
    sweep, leaves the files alone instead of writing over them."""
    member = Membership.objects.get(user=alice, team=team)
    finished_job(alice, team, images=1)
    export = exports.start(member, "All jobs", exports.plan_for(_all(member)))
    held = exports.lock_parts(export)  # the slow worker's lock, in this process's other handle
    assert held is not None
    try:
        assert exports.build(export.pk) == 0
        assert not export.part_path("zip.part").exists()
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()
    assert exports.recover(timezone.now() + timedelta(minutes=2)) == 1
    assert exports.build(export.pk) == 1
    export.refresh_from_db()
    assert export.status == "ready" and not export.part_path("lock").exists()


def test_small_previews_can_be_chosen_instead_of_originals(alice_client, alice, team):
    job = finished_job(alice, team, images=2, prompt="a fox")
    archive = unzip(download(alice_client, scope="selection", ids=[job.pk], size="small"))
    assert sorted(images_of(archive)) == [
        f"{job.pk:04d}-a-fox-1.webp",
        f"{job.pk:04d}-a-fox-2.webp",
    ]
    assert_hashes_match(archive)
    thumb = job.images.get(index=0).thumbnail
    with default_storage.open(thumb.name) as handle:
        assert archive.read(f"{job.pk:04d}-a-fox-1.webp") == handle.read()


def test_an_unknown_size_is_refused_in_words(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    response = download(alice_client, scope="selection", ids=[job.pk], size="huge")
    assert response.status_code == 400
    assert "The size must be &quot;original&quot;" in response.content.decode()


def test_a_large_export_of_small_previews_is_built_with_them(alice, team, small_stream):
    member = Membership.objects.get(user=alice, team=team)
    finished_job(alice, team, images=4, prompt="a fox")
    plan = exports.plan_for(_all(member), "thumbnail")
    export = exports.start(member, "All jobs", plan, "small")
    assert exports.build(export.pk) == 4
    export.refresh_from_db()
    with default_storage.open(export.file) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert all(name.endswith(".webp") for name in images_of(archive))
    assert_hashes_match(archive)


@pytest.mark.django_db(transaction=True)  # the poller closes its connection between looks
def test_the_poller_deletes_kept_zips_and_requeues_abandoned_ones(ready, alice, team, monkeypatch):
    member = Membership.objects.get(user=alice, team=team)
    abandoned = exports.start(member, "All jobs", exports.plan_for(_all(member)))
    assert Export.objects.claim(abandoned.pk)  # a worker took it, then died
    name = ready.file
    later = ready.expires_at + timedelta(minutes=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    call_command("poller", "--once", stdout=io.StringIO())
    assert not default_storage.exists(name)
    assert Export.objects.get(pk=ready.pk).status == "expired"
    assert Export.objects.get(pk=abandoned.pk).status == "queued"  # and its task sent again
