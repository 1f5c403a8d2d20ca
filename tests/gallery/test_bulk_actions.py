"""Star, collect, delete (with Undo) many jobs at once from the gallery's
selection bar: one request, the single-job rules for each job, all or nothing."""

from __future__ import annotations

import re

import pytest

from gallery.models import Collection, CollectionItem, Job, Star
from gallery.studio.views.organise import BULK_LIMIT
from tests.factories import finished_job

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ACTIONS = ("star", "collect", "delete", "restore")


def bulk(client, action: str, jobs, *, htmx: bool = False, **data):
    ids = [str(getattr(job, "pk", job)) for job in jobs]
    return client.post(
        f"/t/acme/jobs/bulk/{action}/", {"ids": ids, **data}, headers=HTMX if htmx else {}
    )


def oob_cards(html: str) -> list[int]:
    return sorted(
        int(pk)
        for pk in re.findall(r'<article class="job-card[^"]*" id="job-(\d+)"[^>]*hx-swap-oob', html)
    )


@pytest.fixture
def three(alice, bob, team) -> list[Job]:
    return [finished_job(alice, team, images=1), finished_job(bob, team, images=1),
            finished_job(alice, team, images=1)]  # fmt: skip


def test_bulk_star_stars_every_selected_job_once(alice_client, alice, three):
    Star.objects.create(user=alice, job=three[0])  # starred already: stays starred, once
    response = bulk(alice_client, "star", three)
    assert response.status_code == 302 and response.url == "/t/acme/"
    assert sorted(Star.objects.filter(user=alice).values_list("job_id", flat=True)) == sorted(
        job.pk for job in three
    )
    page = alice_client.get("/t/acme/").content.decode()
    assert "Starred 3 jobs." in page


def test_bulk_star_answers_htmx_with_the_cards_out_of_band(alice_client, three):
    html = bulk(alice_client, "star", three, htmx=True).content.decode()
    assert "<html" not in html
    assert oob_cards(html) == sorted(job.pk for job in three)
    assert html.count('aria-label="Unstar this job"') == 3
    assert html.lstrip().startswith("<span>Starred 3 jobs.</span>")  # into the bar's status


@pytest.mark.parametrize("action", ACTIONS)
def test_bulk_actions_reject_get(alice_client, action):
    assert alice_client.get(f"/t/acme/jobs/bulk/{action}/").status_code == 405


@pytest.mark.parametrize("action", ACTIONS)
def test_bulk_actions_send_anonymous_visitors_to_sign_in(client, three, action):
    response = bulk(client, action, three)
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("action", ["star", "delete", "collect"])
def test_another_teams_job_among_the_selection_touches_nothing(
    alice_client, alice, carol, other_team, team, three, action
):
    theirs = finished_job(carol, other_team, images=1)
    board = Collection.objects.create(team=team, owner=alice, name="Board")
    response = bulk(alice_client, action, [*three, theirs], collection=board.pk)
    assert response.status_code == 404
    assert "1 of the selected jobs is no longer there, or not yours to see" in (
        response.content.decode()
    )
    assert "Nothing was changed" in response.content.decode()
    assert not Star.objects.exists() and not CollectionItem.objects.exists()
    assert not Job.objects.filter(deleted_at__isnull=False).exists()


def test_a_teammates_private_job_cannot_be_acted_on_in_bulk(alice_client, bob, team, three):
    secret = finished_job(bob, team, images=1)
    Job.objects.filter(pk=secret.pk).update(private=True)
    response = bulk(alice_client, "delete", [three[0], secret])
    assert response.status_code == 404
    assert not Job.objects.filter(deleted_at__isnull=False).exists()


def test_a_selection_over_the_limit_is_refused_naming_the_limit(alice_client, alice, team):
    job = finished_job(alice, team, images=1)
    ids = [job.pk, *range(10**6, 10**6 + BULK_LIMIT)]
    response = bulk(alice_client, "star", ids, htmx=True)
    assert response.status_code == 400
    text = response.content.decode()
    assert f"at most {BULK_LIMIT} jobs at a time" in text and f"{BULK_LIMIT + 1} were" in text
    assert response["X-Error-In-Place"] == "1" and "data-error-message" in text
    assert not Star.objects.exists()


@pytest.mark.parametrize(("ids", "message"), [([], "Select at least one job"), (["abc"], "job")])
def test_an_empty_or_malformed_selection_is_a_400_in_words(alice_client, ids, message):
    response = bulk(alice_client, "star", ids)
    assert response.status_code == 400 and message in response.content.decode()


def test_a_member_cannot_bulk_delete_a_teammates_job_and_nothing_is_deleted(bob_client, three):
    response = bulk(bob_client, "delete", three, htmx=True)  # two of the three are alice's
    assert response.status_code == 403
    text = response.content.decode()
    assert "Only the author or a team admin can delete a job" in text
    assert "Nothing was deleted" in text and "2 of the selected" in text
    assert not Job.objects.filter(deleted_at__isnull=False).exists()


def test_a_job_in_progress_cannot_be_bulk_deleted(alice_client, alice, team, three):
    running = finished_job(alice, team, images=0)
    Job.objects.filter(pk=running.pk).update(status="running", credits_charged=None)
    response = bulk(alice_client, "delete", [three[0], running])
    assert response.status_code == 403
    assert "still in progress cannot be deleted" in response.content.decode()
    assert not Job.objects.filter(deleted_at__isnull=False).exists()


def test_an_admin_bulk_deletes_and_undoes_in_place(alice_client, bob_client, three):
    html = bulk(alice_client, "delete", three, htmx=True).content.decode()
    assert Job.objects.filter(deleted_at__isnull=False).count() == 3
    assert oob_cards(html) == sorted(job.pk for job in three)
    assert html.count("Deleted.") == 3  # each card says so, with its own Undo
    assert "Deleted 3 jobs." in html
    undo = re.search(r'<form[^>]*hx-post="/t/acme/jobs/bulk/restore/".*?</form>', html, re.S)
    sent = sorted(int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', undo.group(0)))
    assert sent == sorted(job.pk for job in three)

    html = bulk(alice_client, "restore", sent, htmx=True).content.decode()
    assert not Job.objects.filter(deleted_at__isnull=False).exists()
    assert oob_cards(html) == sent and "Restored 3 jobs." in html
    assert "status-completed" in html
    shown = bob_client.get("/t/acme/").content.decode()
    assert all(f'id="job-{pk}"' in shown for pk in sent)


def test_without_javascript_bulk_delete_points_to_the_trash(alice_client, three):
    page = bulk(alice_client, "delete", three[:2])
    assert page.status_code == 302
    assert "Deleted 2 jobs. Restore them from the trash" in (
        alice_client.get("/t/acme/").content.decode()
    )


def test_bulk_restore_follows_the_trash_rules(alice_client, bob_client, three):
    for job in three:
        job.soft_delete()
    response = bulk(bob_client, "restore", three)  # bob may restore only his own
    assert response.status_code == 404
    assert Job.objects.filter(deleted_at__isnull=False).count() == 3
    assert bulk(bob_client, "restore", [three[1]]).status_code == 302
    assert Job.objects.filter(deleted_at__isnull=False).count() == 2


def test_bulk_collect_adds_each_job_once(bob_client, bob, team, three):
    board = Collection.objects.create(team=team, owner=bob, name="Coastlines")
    CollectionItem.objects.create(collection=board, job=three[0], added_by=bob)
    html = bulk(bob_client, "collect", three, htmx=True, collection=board.pk).content.decode()
    assert "Added 3 jobs to Coastlines." in html
    assert sorted(board.items.values_list("job_id", flat=True)) == sorted(j.pk for j in three)


def test_a_viewer_cannot_bulk_collect(dave_client, dave, team, three):
    board = Collection.objects.create(team=team, owner=dave, name="Mine")
    response = bulk(dave_client, "collect", three, collection=board.pk)
    assert response.status_code == 403 and not CollectionItem.objects.exists()


def test_bulk_collect_into_someone_elses_private_board_is_404(bob_client, alice, team, three):
    board = Collection.objects.create(team=team, owner=alice, name="Hers", private=True)
    assert bulk(bob_client, "collect", three, collection=board.pk).status_code == 404
    assert bulk(bob_client, "collect", three, collection="x").status_code == 404
    assert not CollectionItem.objects.exists()


def test_the_gallery_offers_a_checkbox_per_card_and_states_the_limit(alice_client, three):
    html = alice_client.get("/t/acme/").content.decode()
    boxes = re.findall(r'<input type="checkbox" name="ids" value="(\d+)" form="bulk-form"', html)
    assert sorted(map(int, boxes)) == sorted(job.pk for job in three)
    assert f"up to {BULK_LIMIT} at a time" in html


def test_bulk_deleted_cards_keep_their_shapes(alice_client, three):
    for job, (width, height) in zip(three, [(1456, 816), (1024, 1024), (1024, 1024)], strict=True):
        job.images.update(width=width, height=height)  # one wide, two square
    gallery = alice_client.get("/t/acme/").content.decode()
    card = r'<article class="job-card (r\d+) {}" id="job-(\d+)"'
    before = {int(pk): ratio for ratio, pk in re.findall(card.format('[^"]*'), gallery)}
    html = bulk(alice_client, "delete", three, htmx=True).content.decode()
    after = {int(pk): ratio for ratio, pk in re.findall(card.format("deleted"), html)}
    assert after == before and len(set(after.values())) == 2  # the wide one stays wide
