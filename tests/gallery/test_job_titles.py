"""Edits read as what they are: every job has a title from the catalog and
carries the prompt its lineage began with, the card shows both and the
parent's thumbnail, and a search for the first prompt finds every edit."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gallery.catalog import operations
from gallery.catalog.operations import OPERATIONS, Request
from gallery.models import CreditAccount, Image, Job, Membership
from gallery.studio import pipeline, public_urls
from gallery.studio.views.images import describe
from tests.factories import finished_job, fund

pytestmark = pytest.mark.django_db

LIGHTHOUSE = "a lighthouse at dusk"

TITLES = [
    ("mj-v7", {}, ""),
    ("mj-v7-upscale", {"type": "creative"}, "Upscale (Creative)"),
    ("mj-v7-upscale", {"type": "standard"}, "Upscale (Subtle)"),
    ("mj-v7-upscale", {}, "Upscale (Subtle)"),
    ("mj-v7-variation", {"type": "strong"}, "Vary (Strong)"),
    ("mj-v7-variation", {"type": "subtle"}, "Vary (Subtle)"),
    ("mj-v7-variation", {}, "Vary (Subtle)"),
    ("mj-v7-remix", {"mode": "strong"}, "Remix (Strong)"),
    ("mj-v7-remix", {"mode": "subtle"}, "Remix (Subtle)"),
    ("mj-v7-remix", {}, "Remix (Strong)"),
    ("mj-v7-pan", {"direction": "left", "scale": 1.5}, "Pan left ×1.5"),
    ("mj-v7-pan", {"direction": "up", "scale": 2}, "Pan up ×2"),
    ("mj-v7-pan", {"direction": "right", "scale": 2.25}, "Pan right ×2.25"),
    ("mj-v7-pan", {}, "Pan down ×1.5"),
    ("mj-v7-outpaint", {"scale": 2}, "Zoom out ×2"),
    ("mj-v7-outpaint", {"scale": 2.0}, "Zoom out ×2"),
    ("mj-v7-outpaint", {"scale": 1.5}, "Zoom out ×1.5"),
    ("mj-v7-outpaint", {}, "Zoom out ×1.5"),
    ("mj-v7-inpaint", {"mask": {"areas": []}}, "Vary region"),
    ("mj-v7-edit", {}, "Edit"),
    ("mj-v7-enhance", {}, "Enhance"),
    ("mj-v7-retexture", {}, "Retexture"),
    ("mj-v7-remove-bg", {}, "Remove background"),
    ("mj-v7-upload-paint", {}, "Upload & paint"),
]


@pytest.mark.parametrize(("operation", "params", "expected"), TITLES)
def test_the_catalog_titles_every_operation_and_variant(operation, params, expected):
    assert operations.title(operation, params) == expected


def test_every_operation_of_the_catalog_has_a_title_case():
    assert {op for op, _, _ in TITLES} == set(OPERATIONS)


def test_labels_name_operations_and_leave_unknown_ids_alone():
    assert operations.label("mj-v7-remove-bg") == "Remove background"
    assert operations.label("mj-v7") == "Generate"
    assert operations.label("mj-v9-teleport") == "mj-v9-teleport"


def test_the_image_page_describes_jobs_with_the_catalogs_words(alice, team):
    zoom = finished_job(alice, team, operation="mj-v7-outpaint", params={"scale": 2}, prompt="")
    pan = finished_job(
        alice, team, operation="mj-v7-pan", params={"direction": "left", "scale": 1.5}
    )
    assert describe(zoom) == "Zoom out ×2"
    assert describe(pan) == "Pan left ×1.5"
    assert describe(finished_job(alice, team)) == "Generate"  # a lineage step still has a name
    assert describe(finished_job(alice, team, speed="draft")) == "Draft"


# --- stored at creation -------------------------------------------------------------------


@pytest.fixture
def member(alice, team, monkeypatch) -> Membership:
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    fund(alice, team, 5000)
    CreditAccount.objects.filter(membership__user=alice).update(max_in_flight=20)
    return Membership.objects.get(user=alice, team=team)


def create(member: Membership, parent: Image | None = None, **fields) -> Job:
    request = Request(provider="evolink", **fields)
    if parent is not None:
        request = Request(
            provider="evolink",
            parent_task_id=parent.job.upstream_id,
            image_number=parent.index,
            **fields,
        )
    job = pipeline.create(member, pipeline.Draft(request=request, parent=parent))
    job.refresh_from_db()
    return job


def test_a_generation_has_no_title_and_its_own_prompt_as_root(member):
    job = create(member, operation="mj-v7", prompt=f"{LIGHTHOUSE} --ar 3:2", speed="fast")
    assert job.title == ""
    assert job.root_prompt == LIGHTHOUSE  # the readable prompt, without --parameters


def test_edits_are_titled_and_inherit_the_root_prompt_down_the_lineage(member, alice, team):
    base = finished_job(alice, team, prompt=f"{LIGHTHOUSE} --ar 3:2")
    Job.objects.filter(pk=base.pk).update(root_prompt=LIGHTHOUSE)
    upscale = create(
        member, base.images.get(index=2), operation="mj-v7-upscale", params={"type": "creative"}
    )
    assert (upscale.title, upscale.root_prompt) == ("Upscale (Creative)", LIGHTHOUSE)
    Job.objects.filter(pk=upscale.pk).update(status=Job.Status.COMPLETED, upstream_id="task-up")
    Image.objects.create(job=upscale, index=0, status="stored", upstream_url="https://x.org/u")
    upscale.refresh_from_db()
    pan = create(
        member,
        upscale.images.get(),
        operation="mj-v7-pan",
        params={"direction": "left", "scale": 1.5},
    )
    assert (pan.title, pan.root_prompt) == ("Pan left ×1.5", LIGHTHOUSE)


def test_an_edit_of_a_job_from_before_titles_takes_its_parents_prompt(member, alice, team):
    base = finished_job(alice, team, prompt=f"{LIGHTHOUSE} --ar 3:2")  # root_prompt never filled
    vary = create(member, base.images.first(), operation="mj-v7-variation", params={})
    assert (vary.title, vary.root_prompt) == ("Vary (Subtle)", LIGHTHOUSE)


def test_a_retexture_of_a_gallery_image_inherits_through_its_signed_url(member, alice, team):
    base = finished_job(alice, team, prompt=f"{LIGHTHOUSE} --ar 3:2")
    Job.objects.filter(pk=base.pk).update(root_prompt=LIGHTHOUSE)
    url = public_urls.signed_url(base.images.first().original.name)
    job = create(member, operation="mj-v7-retexture", prompt="made of glass", image_urls=(url,))
    assert (job.title, job.root_prompt) == ("Retexture", LIGHTHOUSE)


# --- search and the card ---------------------------------------------------------------


def lighthouse_family(alice, team) -> tuple[Job, Job, Job]:
    base = finished_job(alice, team, prompt=f"{LIGHTHOUSE} --ar 3:2")
    Job.objects.filter(pk=base.pk).update(root_prompt=LIGHTHOUSE)
    upscale = finished_job(
        alice,
        team,
        operation="mj-v7-upscale",
        prompt="",
        parent=base.images.get(index=1),
        params={"type": "creative"},
        images=1,
    )
    remix = finished_job(
        alice,
        team,
        operation="mj-v7-remix",
        prompt="as a watercolour",
        parent=base.images.get(index=0),
        params={"mode": "strong"},
    )
    Job.objects.filter(pk=upscale.pk).update(title="Upscale (Creative)", root_prompt=LIGHTHOUSE)
    Job.objects.filter(pk=remix.pk).update(title="Remix (Strong)", root_prompt=LIGHTHOUSE)
    finished_job(alice, team, prompt="a harbour at noon")
    return base, upscale, remix


def card_ids(html: str) -> list[int]:
    return sorted(
        int(pk) for pk in re.findall(r'<article class="job-card[^"]*" id="job-(\d+)"', html)
    )


def card_of(html: str, job: Job) -> str:
    start = html.index(f'id="job-{job.pk}"')
    return html[start : html.index("</article>", start)]


@pytest.mark.db_sensitive
def test_a_search_for_the_first_prompt_finds_its_edits(alice_client, alice, team):
    base, upscale, remix = lighthouse_family(alice, team)
    html = alice_client.get("/t/acme/", {"q": "lighthouse dusk"}).content.decode()
    assert card_ids(html) == sorted([base.pk, upscale.pk, remix.pk])


@pytest.mark.db_sensitive
def test_a_search_still_matches_an_edits_own_prompt(alice_client, alice, team):
    _, _, remix = lighthouse_family(alice, team)
    html = alice_client.get("/t/acme/", {"q": "watercolour"}).content.decode()
    assert card_ids(html) == [remix.pk]


def test_an_edits_card_shows_its_title_root_prompt_and_parents_thumbnail(alice_client, alice, team):
    base, upscale, _ = lighthouse_family(alice, team)
    card = card_of(alice_client.get("/t/acme/").content.decode(), upscale)
    parent = base.images.get(index=1)
    assert 'aria-label="Upscale (Creative) · a lighthouse at dusk, by alice"' in card
    assert re.search(r'class="job-link"[^>]*>Upscale \(Creative\)</a>', card)
    assert f'<span class="job-root">{LIGHTHOUSE}</span>' in card
    assert re.search(
        rf'<a class="parent-link" href="/t/acme/images/{parent.pk}/"[^>]*>'
        rf'<img src="/m/{re.escape(parent.thumbnail.name)}"',
        card,
    )
    assert "mj-v7-upscale" not in card
    assert "alice · Upscale (Creative) ·" in card  # the byline


def test_a_generations_card_keeps_its_prompt_as_title(alice_client, alice, team):
    base, _, _ = lighthouse_family(alice, team)
    card = card_of(alice_client.get("/t/acme/").content.decode(), base)
    assert f'aria-label="{LIGHTHOUSE}, by alice"' in card
    assert "parent-link" not in card and "job-root" not in card


@pytest.mark.db_sensitive
def test_a_parent_now_private_to_someone_else_shows_no_thumbnail(
    alice_client, bob_client, bob, team
):
    _, upscale, _ = lighthouse_family(bob, team)
    Job.objects.filter(pk=upscale.parent.job_id).update(private=True)
    assert "parent-link" in card_of(bob_client.get("/t/acme/").content.decode(), upscale)
    # alice may no longer see the parent: no thumbnail of it, no link to a 404
    assert "parent-link" not in card_of(alice_client.get("/t/acme/").content.decode(), upscale)


def test_parent_thumbnails_cost_no_query_per_card(alice_client, alice, team):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get("/t/acme/").status_code == 200
        return len(ctx.captured_queries)

    lighthouse_family(alice, team)
    queries()  # the first visit makes the member's account
    few = queries()
    for _ in range(3):
        lighthouse_family(alice, team)
    assert queries() == few


def test_the_job_page_is_headed_by_its_title(alice_client, alice, team):
    _, upscale, _ = lighthouse_family(alice, team)
    html = alice_client.get(f"/t/acme/jobs/{upscale.pk}/").content.decode()
    assert re.search(r"<h1>Upscale \(Creative\)</h1>", html)
    assert LIGHTHOUSE in html


def test_the_operation_filter_offers_labels(alice_client, alice, team):
    html = alice_client.get("/t/acme/").content.decode()
    assert '<option value="mj-v7-remove-bg">Remove background</option>' in html
    assert ">mj-v7-remove-bg<" not in html


# --- the data migration ------------------------------------------------------------------


@pytest.mark.db_sensitive
def test_the_migration_fills_titles_and_root_prompts_of_existing_jobs(alice, team):
    base = finished_job(alice, team, prompt=f"{LIGHTHOUSE} --ar 3:2")
    zoom = finished_job(
        alice,
        team,
        operation="mj-v7-outpaint",
        prompt="",
        parent=base.images.first(),
        params={"scale": 2},
    )
    pan = finished_job(
        alice,
        team,
        operation="mj-v7-pan",
        prompt="",
        parent=zoom.images.first(),
        params={"direction": "left", "scale": 1.5},
    )
    other = finished_job(alice, team, prompt="a harbour")
    bg = finished_job(alice, team, operation="mj-v7-remove-bg", prompt="")
    named = finished_job(alice, team, operation="mj-v7-enhance", prompt="")
    Job.objects.filter(pk=named.pk).update(title="Kept", root_prompt="kept")
    migration = importlib.import_module("gallery.migrations.0011_fill_job_titles")
    migration.fill_titles(apps, None, batch=2)  # batches smaller than the lineage
    found = {j.pk: (j.title, j.root_prompt) for j in Job.objects.all()}
    assert found[base.pk] == ("", LIGHTHOUSE)
    assert found[zoom.pk] == ("Zoom out ×2", LIGHTHOUSE)
    assert found[pan.pk] == ("Pan left ×1.5", LIGHTHOUSE)
    assert found[other.pk] == ("", "a harbour")
    assert found[bg.pk] == ("Remove background", "")
    assert found[named.pk] == ("Kept", "kept")  # a filled row is left as it is


def test_the_migrations_frozen_titles_match_the_catalog_today():
    migration = importlib.import_module("gallery.migrations.0011_fill_job_titles")
    for operation, params, expected in TITLES:
        assert migration.frozen_title(operation, params) == expected
