"""The image page as the one place for an image: star, collection, share link,
download, private and delete with Undo, each as an htmx swap of the page's
actions panel with a plain POST + redirect behind it, and its error in place."""

from __future__ import annotations

import pytest

from gallery.models import Collection, Job, ShareLink, Star
from tests.factories import finished_job

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def act(client, image, action: str, *, htmx: bool = True, **data):
    """POST one of the organise actions as the image page's form does: naming the image."""
    urls = {
        "star": f"/t/acme/jobs/{image.job_id}/star/",
        "delete": f"/t/acme/jobs/{image.job_id}/delete/",
        "restore": f"/t/acme/jobs/{image.job_id}/restore/",
        "private": f"/t/acme/jobs/{image.job_id}/private/",
        "collect": f"/t/acme/jobs/{image.job_id}/collect/",
        "share": f"/t/acme/images/{image.pk}/share/",
    }
    return client.post(urls[action], {"image": image.pk, **data}, headers=HTMX if htmx else {})


def panel(response) -> str:
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "<html" not in html and 'id="image-actions"' in html
    return html


# --- the page --------------------------------------------------------------------------


def test_the_page_offers_every_action_to_the_author(alice_client, alice, team):
    image = finished_job(alice, team).images.get(index=1)
    Collection.objects.create(team=team, owner=alice, name="Coastlines")
    html = alice_client.get(f"/t/acme/images/{image.pk}/").content.decode()
    assert 'id="image-actions"' in html
    for label in ("☆ Star", "Add to collection", "Share link", "Make private", "Delete"):
        assert label in html, label
    assert f'href="/t/acme/images/{image.pk}/download/"' in html
    assert f'<input type="hidden" name="image" value="{image.pk}">' in html


def test_a_teammate_gets_no_private_toggle_and_no_delete(bob_client, alice, bob, team):
    image = finished_job(alice, team).images.first()
    html = bob_client.get(f"/t/acme/images/{image.pk}/").content.decode()
    assert "☆ Star" in html and "Share link" in html
    assert "Make private" not in html and ">Delete<" not in html


def test_a_viewer_may_star_and_download_but_not_share_or_collect(dave_client, alice, team):
    image = finished_job(alice, team).images.first()
    Collection.objects.create(team=team, owner=alice, name="Coastlines")
    html = dave_client.get(f"/t/acme/images/{image.pk}/").content.decode()
    assert "☆ Star" in html and f"/t/acme/images/{image.pk}/download/" in html
    assert "Share link" not in html and "Add to collection" not in html


def test_the_image_opens_at_full_size_from_a_link_to_the_original(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    html = alice_client.get(f"/t/acme/images/{image.pk}/").content.decode()
    # Without JavaScript the link opens the original at 100%; with it, it toggles in place.
    assert f'<a class="stage-link" href="/m/{image.original.name}" data-stage-toggle' in html


# --- star ------------------------------------------------------------------------------


def test_star_from_the_image_page_answers_htmx_with_the_panel(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    html = panel(act(alice_client, image, "star"))
    assert 'aria-pressed="true"' in html and "★ Starred" in html
    assert Star.objects.filter(user=alice, job=image.job).exists()
    html = panel(act(alice_client, image, "star"))
    assert 'aria-pressed="false"' in html and "☆ Star" in html
    assert not Star.objects.filter(user=alice, job=image.job).exists()


def test_star_without_javascript_comes_back_to_the_image_page(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    response = act(alice_client, image, "star", htmx=False)
    assert response.status_code == 302 and response.url == f"/t/acme/images/{image.pk}/"


def test_the_gallerys_star_still_answers_with_its_button(alice_client, alice, team):
    job = finished_job(alice, team)
    response = alice_client.post(f"/t/acme/jobs/{job.pk}/star/", headers=HTMX)
    html = response.content.decode()
    assert 'class="star-form"' in html and 'id="image-actions"' not in html


def test_an_image_of_another_job_gets_the_usual_answer(alice_client, alice, team):
    """The form names its image; an image that is not the job's changes nothing
    about where the answer goes (it is no way into another job)."""
    job, other = finished_job(alice, team), finished_job(alice, team)
    response = alice_client.post(
        f"/t/acme/jobs/{job.pk}/star/", {"image": other.images.first().pk}, headers=HTMX
    )
    assert 'class="star-form"' in response.content.decode()
    for junk in ("", "abc", "1e5", "²", "-3", "9" * 40):
        response = alice_client.post(f"/t/acme/jobs/{job.pk}/star/", {"image": junk})
        assert response.status_code == 302 and response.url == "/t/acme/", junk


def test_actions_reject_get(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    for action in ("star", "delete", "restore", "private", "collect"):
        assert alice_client.get(f"/t/acme/jobs/{image.job_id}/{action}/").status_code == 405


def test_anonymous_actions_are_sent_to_sign_in(client, alice, team):
    image = finished_job(alice, team).images.first()
    response = act(client, image, "star", htmx=False)
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert not Star.objects.exists()


def test_another_teams_image_is_404_for_every_action(carol_client, alice, team):
    image = finished_job(alice, team).images.first()
    for action in ("star", "delete", "private", "collect", "share"):
        assert act(carol_client, image, action).status_code == 404, action
    assert not Star.objects.exists() and not ShareLink.objects.exists()
    assert Job.objects.get(pk=image.job_id).deleted_at is None


def test_another_team_cannot_restore_or_revoke(carol_client, alice, team):
    image = finished_job(alice, team).images.first()
    link = ShareLink.objects.create(image=image, created_by=alice)
    response = carol_client.post(f"/t/acme/shares/{link.pk}/revoke/", {"image": image.pk})
    assert response.status_code == 404 and ShareLink.objects.active().filter(pk=link.pk).exists()
    image.job.soft_delete()
    assert act(carol_client, image, "restore").status_code == 404
    assert Job.objects.get(pk=image.job_id).deleted_at is not None


def test_a_teammates_private_job_is_404_for_every_action(bob_client, alice, team):
    image = finished_job(alice, team, private=True).images.first()
    for action in ("star", "delete", "private", "collect", "share"):
        assert act(bob_client, image, action).status_code == 404, action
    assert not Star.objects.exists()


# --- delete and Undo ---------------------------------------------------------------------


def test_delete_shows_deleted_and_undo_in_place_and_undo_restores(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    html = panel(act(alice_client, image, "delete"))
    assert "Deleted" in html and ">Undo<" in html
    assert f'hx-post="/t/acme/jobs/{image.job_id}/restore/"' in html
    assert Job.objects.get(pk=image.job_id).deleted_at is not None

    html = panel(act(alice_client, image, "restore"))
    assert ">Delete<" in html and ">Undo<" not in html
    assert Job.objects.get(pk=image.job_id).deleted_at is None


def test_delete_without_javascript_leads_to_the_page_with_undo(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    response = act(alice_client, image, "delete", htmx=False)
    assert response.status_code == 302 and response.url == f"/t/acme/images/{image.pk}/"
    page = alice_client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200 and "Deleted" in html and ">Undo<" in html
    assert "Edit this image" not in html  # no edits of a deleted image
    response = act(alice_client, image, "restore", htmx=False)
    assert response.status_code == 302 and response.url == f"/t/acme/images/{image.pk}/"
    assert Job.objects.get(pk=image.job_id).deleted_at is None


def test_a_deleted_image_page_is_404_to_teammates_who_cannot_restore_it(
    bob_client, alice, bob, team
):
    image = finished_job(alice, team).images.first()
    image.job.soft_delete()
    assert bob_client.get(f"/t/acme/images/{image.pk}/").status_code == 404


def test_delete_refused_in_place_for_a_teammate(bob_client, alice, bob, team):
    image = finished_job(alice, team).images.first()
    response = act(bob_client, image, "delete")
    assert response.status_code == 403 and response["X-Error-In-Place"] == "1"
    assert "Only the author or a team admin can delete a job" in response.content.decode()
    assert "<html" not in response.content.decode()
    assert Job.objects.get(pk=image.job_id).deleted_at is None


def test_an_action_on_a_job_deleted_meanwhile_is_404_in_place(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    image.job.soft_delete()
    response = act(alice_client, image, "star")
    assert response.status_code == 404 and response["X-Error-In-Place"] == "1"
    assert "no longer there" in response.content.decode()


# --- private ---------------------------------------------------------------------------


def test_the_author_makes_it_private_and_shares_it_again_in_place(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    ShareLink.objects.create(image=image, created_by=alice)
    html = panel(act(alice_client, image, "private"))
    assert "Share with the team" in html and "1 share link was revoked" in html
    assert Job.objects.get(pk=image.job_id).private
    html = panel(act(alice_client, image, "private"))
    assert "Make private" in html and not Job.objects.get(pk=image.job_id).private


def test_private_without_javascript_comes_back_to_the_image_page(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    response = act(alice_client, image, "private", htmx=False)
    assert response.status_code == 302 and response.url == f"/t/acme/images/{image.pk}/"


def test_only_the_author_may_toggle_private_and_the_error_is_in_place(bob_client, alice, bob, team):
    image = finished_job(alice, team).images.first()
    response = act(bob_client, image, "private")
    assert response.status_code == 403 and response["X-Error-In-Place"] == "1"
    assert "Only the author can make a job private" in response.content.decode()
    assert not Job.objects.get(pk=image.job_id).private


# --- collections and share links ----------------------------------------------------------


def test_add_to_a_collection_in_place(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    board = Collection.objects.create(team=team, owner=alice, name="Coastlines")
    html = panel(act(alice_client, image, "collect", collection=board.pk))
    assert "Added to Coastlines." in html
    assert board.items.filter(job=image.job).exists()
    response = act(alice_client, image, "collect", htmx=False, collection=board.pk)
    assert response.status_code == 302 and response.url == f"/t/acme/images/{image.pk}/"


def test_a_collection_that_is_not_there_is_404_in_place(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    response = act(alice_client, image, "collect", collection="nope")
    assert response.status_code == 404 and response["X-Error-In-Place"] == "1"


def test_share_link_and_revoke_in_place(alice_client, alice, team):
    image = finished_job(alice, team).images.get(index=2)
    html = panel(act(alice_client, image, "share"))
    link = ShareLink.objects.active().get(image=image)
    assert f"/s/{link.slug}/" in html and "Stop sharing" in html
    response = alice_client.post(
        f"/t/acme/shares/{link.pk}/revoke/", {"image": image.pk}, headers=HTMX
    )
    html = panel(response)
    assert "The share link no longer works." in html and f"/s/{link.slug}/" not in html
    assert not ShareLink.objects.active().filter(image=image).exists()


def test_share_without_javascript_comes_back_to_the_image_page(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    response = act(alice_client, image, "share", htmx=False)
    assert response.status_code == 302 and response.url == f"/t/acme/images/{image.pk}/"


def test_a_private_jobs_image_is_not_shared_and_says_why_in_place(alice_client, alice, team):
    image = finished_job(alice, team, private=True).images.first()
    response = act(alice_client, image, "share")
    assert response.status_code == 403 and response["X-Error-In-Place"] == "1"
    assert "share the job with the team first" in response.content.decode()


# --- download ----------------------------------------------------------------------------


def test_download_is_the_original_as_an_attachment(alice_client, alice, team):
    job = finished_job(alice, team)
    image = job.images.get(index=2)
    response = alice_client.get(f"/t/acme/images/{image.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="mjweb-{job.pk}-3.png"'
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == image.original.open("rb").read()


def test_download_rejects_post(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    assert alice_client.post(f"/t/acme/images/{image.pk}/download/").status_code == 405


def test_download_needs_sign_in(client, alice, team):
    image = finished_job(alice, team).images.first()
    response = client.get(f"/t/acme/images/{image.pk}/download/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_download_of_another_teams_or_a_private_image_is_404(
    carol_client, bob_client, alice, bob, team
):
    shared = finished_job(alice, team).images.first()
    private = finished_job(alice, team, private=True).images.first()
    for slug in ("acme", "other"):
        assert carol_client.get(f"/t/{slug}/images/{shared.pk}/download/").status_code == 404
    assert bob_client.get(f"/t/acme/images/{private.pk}/download/").status_code == 404


def test_download_of_an_image_not_stored_says_so(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    type(image).objects.filter(pk=image.pk).update(status="lost", original="")
    response = alice_client.get(f"/t/acme/images/{image.pk}/download/")
    assert response.status_code == 404
