"""The image page: who may open it, what it shows, and which edit buttons it
offers (each with its price, or off with the reason in words)."""

from __future__ import annotations

import pytest

from gallery.models import Job
from gallery.studio import public_urls
from tests.factories import finished_job, in_flight_job
from tests.images.conftest import Page

pytestmark = pytest.mark.django_db

# Every button of the panel, by its accessible name (DESIGN.md §5).
ALL_BUTTONS = (
    "Upscale (Subtle)",
    "Upscale (Creative)",
    "Vary (Subtle)",
    "Vary (Strong)",
    "Remix",
    "Pan left",
    "Pan right",
    "Pan up",
    "Pan down",
    "Zoom out 1.5×",
    "Zoom out 2×",
    "Zoom out (custom)",
    "Vary region",
    "Edit",
    "Enhance",
    "Retexture",
    "Remove background",
)


def page_of(client, image) -> Page:
    response = client.get(f"/t/acme/images/{image.pk}/")
    assert response.status_code == 200
    return Page(response.content.decode())


def state(page: Page, name: str) -> str:
    """ "on: <price>" or "off: <reason>" for the button named `name`."""
    found = page.button(name)
    assert found is not None, f"no button named {name!r}"
    attrs, _ = found
    return f"{'off' if 'disabled' in attrs else 'on'}: {page.described(attrs)}"


def test_it_shows_the_image_its_download_prompt_and_cost(alice_client, alice, team):
    job = finished_job(alice, team, prompt="a lighthouse at dusk --ar 3:2 --s 250")
    image = job.images.get(index=2)
    response = alice_client.get(f"/t/acme/images/{image.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'src="/m/{image.original.name}"' in html
    download = f"/t/acme/images/{image.pk}/download/"  # an attachment, see test_image_actions
    assert f'href="{download}" download="mjweb-{job.pk}-3.png"' in html
    assert "Download original" in html
    assert (
        '<p class="prompt-text" id="prompt-full">a lighthouse at dusk --ar 3:2 --s 250</p>' in html
    )
    assert "--s 250" in html and "79 credits" in html
    assert 'href="/t/acme/?prompt=a%20lighthouse%20at%20dusk%20--ar%203%3A2%20--s%20250"' in html
    assert ">Use again<" in html and ">Copy<" in html


def test_it_answers_only_get(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    assert alice_client.post(f"/t/acme/images/{image.pk}/").status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in(client, alice, team):
    image = finished_job(alice, team).images.first()
    response = client.get(f"/t/acme/images/{image.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_team_gets_404_for_the_page_and_every_action(carol_client, alice, team):
    image = finished_job(alice, team).images.first()
    for slug in ("acme", "other"):
        base = f"/t/{slug}/images/{image.pk}"
        assert carol_client.get(f"{base}/").status_code == 404
        assert carol_client.get(f"{base}/price/?operation=mj-v7-upscale").status_code == 404
        assert carol_client.get(f"{base}/children/").status_code == 404
        response = carol_client.post(f"{base}/edit/", {"operation": "mj-v7-upscale"})
        assert response.status_code == 404
    assert not Job.objects.filter(operation="mj-v7-upscale").exists()


def test_a_teammates_private_image_is_404(bob_client, alice, bob, team):
    image = finished_job(alice, team, private=True).images.first()
    assert bob_client.get(f"/t/acme/images/{image.pk}/").status_code == 404


def test_a_viewer_sees_the_image_but_no_edit_buttons_and_cannot_post(dave_client, alice, team):
    image = finished_job(alice, team).images.first()
    html = dave_client.get(f"/t/acme/images/{image.pk}/").content.decode()
    assert "viewers cannot edit them" in html
    page = Page(html)
    assert all(page.button(name) is None for name in ALL_BUTTONS)
    response = dave_client.post(
        f"/t/acme/images/{image.pk}/edit/", {"operation": "mj-v7-upscale", "type": "creative"}
    )
    assert response.status_code == 403
    assert "Viewers cannot edit images" in response.content.decode()


def test_every_operation_has_a_button_with_its_price(alice_client, alice, team):
    # evolink publishes only the plain generation's price: every edit is an estimate.
    page = page_of(alice_client, finished_job(alice, team).images.get(index=1))
    expected = {
        "Upscale (Subtle)": "on: 119 credits est.",
        "Upscale (Creative)": "on: 158 credits est.",
        "Vary (Subtle)": "on: 119 credits est.",
        "Vary (Strong)": "on: 119 credits est.",
        "Remix": "on: 119 credits est.",
        "Pan left": "on: 79 credits est.",
        "Pan down": "on: 79 credits est.",
        "Zoom out 2×": "on: 79 credits est.",
        "Zoom out (custom)": "on: 79 credits est.",
        "Vary region": "on: 119 credits est.",
        "Edit": "on: 119 credits est.",
        "Enhance": "off: Enhance only works on draft generations",
        "Retexture": "on: 119 credits est.",
        "Remove background": "on: 79 credits est.",
    }
    assert {name: state(page, name) for name in expected} == expected


def test_an_image_made_by_reapi_is_priced_at_reapis_prices(alice_client, alice, team):
    page = page_of(alice_client, finished_job(alice, team, provider="reapi").images.first())
    assert state(page, "Upscale (Subtle)") == "on: 131 credits"
    assert state(page, "Remove background") == "on: 88 credits"


def test_after_a_retexture_only_upscale_is_allowed(alice_client, alice, team):
    source = finished_job(alice, team).images.first()
    retexture = finished_job(
        alice,
        team,
        operation="mj-v7-retexture",
        prompt="made of glass",
        source_urls=[public_urls.signed_url(source.original.name)],
    )
    page = page_of(alice_client, retexture.images.first())
    assert state(page, "Upscale (Subtle)").startswith("on:")
    assert state(page, "Upscale (Creative)").startswith("on:")
    for name in ALL_BUTTONS[2:]:
        if name == "Enhance":
            continue  # off for its own reason: not a draft
        assert state(page, name) == "off: A retextured image can only be upscaled", name


def test_enhance_is_offered_only_on_a_draft(alice_client, alice, team):
    draft = finished_job(alice, team, speed="draft").images.first()
    assert state(page_of(alice_client, draft), "Enhance") == "on: 79 credits est."
    fast = finished_job(alice, team, speed="fast").images.first()
    assert state(page_of(alice_client, fast), "Enhance") == (
        "off: Enhance only works on draft generations"
    )


def test_an_upscale_cannot_be_upscaled_again_but_can_be_varied(alice_client, alice, team):
    parent = finished_job(alice, team).images.first()
    upscale = finished_job(
        alice, team, operation="mj-v7-upscale", prompt="", parent=parent, images=1
    ).images.get()
    page = page_of(alice_client, upscale)
    reason = "off: An upscaled image cannot be upscaled again"
    assert state(page, "Upscale (Subtle)") == reason
    assert state(page, "Upscale (Creative)") == reason
    assert state(page, "Vary (Strong)") == "on: 119 credits est."


def test_a_vtrix_image_has_no_buttons_for_what_vtrix_lacks(alice_client, alice, team):
    page = page_of(alice_client, finished_job(alice, team, provider="vtrix").images.first())
    for missing in ("Pan left", "Enhance", "Retexture", "Remove background"):
        assert page.button(missing) is None, missing
    for offered in ("Upscale (Creative)", "Vary (Subtle)", "Remix", "Zoom out 2×", "Edit"):
        assert state(page, offered).startswith("on:"), offered
    assert state(page, "Vary region").startswith("on:")


def test_a_job_still_running_offers_no_edit_yet(alice_client, alice, team):
    job = finished_job(alice, team, status=Job.Status.INGESTING)
    page = page_of(alice_client, job.images.first())
    assert state(page, "Upscale (Creative)") == (
        "off: The parent job has not completed yet; wait until it has images"
    )


def test_previous_and_next_follow_the_gallery_order(alice_client, alice, bob, team):
    older = finished_job(alice, team)
    hidden = finished_job(bob, team, private=True)  # bob's private job is not alice's to browse
    newer = finished_job(bob, team)
    assert hidden.pk
    html = alice_client.get(f"/t/acme/images/{newer.images.get(index=3).pk}/").content.decode()
    assert f'rel="prev" href="/t/acme/images/{newer.images.get(index=2).pk}/"' in html
    assert f'rel="next" href="/t/acme/images/{older.images.get(index=0).pk}/"' in html
    html = alice_client.get(f"/t/acme/images/{newer.images.get(index=0).pk}/").content.decode()
    assert 'rel="prev"' not in html and "aria-disabled" in html


def test_the_lineage_runs_from_the_first_prompt_to_the_children(alice_client, alice, bob, team):
    first = finished_job(alice, team, prompt="a harbour at dawn").images.get(index=1)
    varied = finished_job(
        alice, team, operation="mj-v7-variation", parent=first, prompt="", params={"type": "strong"}
    ).images.get(index=0)
    upscale = finished_job(
        bob, team, operation="mj-v7-upscale", parent=varied, prompt="", images=1
    ).images.get()
    zoom = finished_job(
        alice, team, operation="mj-v7-outpaint", parent=upscale, prompt="", params={"scale": 2}
    )
    removed = finished_job(
        alice,
        team,
        operation="mj-v7-remove-bg",
        prompt="",
        images=1,
        source_urls=[public_urls.signed_url(upscale.original.name)],
    )
    html = alice_client.get(f"/t/acme/images/{upscale.pk}/").content.decode()
    lineage = html[html.index('id="lineage-h"') :]
    assert lineage.index(f'href="/t/acme/images/{first.pk}/"') < lineage.index(
        f'href="/t/acme/images/{varied.pk}/"'
    )
    assert "<strong>Generate</strong>" in lineage and "<strong>Vary (Strong)</strong>" in lineage
    assert "a harbour at dawn" in lineage
    children = lineage[lineage.index('id="children"') :]
    assert f'href="/t/acme/jobs/{zoom.pk}/">Zoom out ×2</a>' in children
    assert f'href="/t/acme/jobs/{removed.pk}/">Remove background</a>' in children
    for image in zoom.images.all():
        assert f'href="/t/acme/images/{image.pk}/"' in children
    # The upscale has no prompt of its own: the page shows the one it comes from.
    assert '<p class="prompt-text" id="prompt-full">a harbour at dawn</p>' in html


def test_the_children_list_leaves_its_updates_to_the_page_s_live_stream(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    url = f"/t/acme/images/{image.pk}/children/"
    response = alice_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.content.decode()
    in_flight_job(alice, team, operation="mj-v7-upscale", parent=image, prompt="")
    html = alice_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "running 0%" in html
    assert "hx-trigger" not in html  # even with an edit running: no poll of its own


def test_the_live_price_names_problems_in_words(alice_client, alice, team):
    image = finished_job(alice, team).images.first()
    url = f"/t/acme/images/{image.pk}/price/"
    remix = alice_client.get(url, {"operation": "mj-v7-remix", "form": "remix", "prompt": ""})
    assert "Remix needs a prompt" in remix.content.decode()
    assert 'id="issues-remix" hx-swap-oob="true"' in remix.content.decode()
    turbo = alice_client.get(
        url, {"operation": "mj-v7-remix", "form": "remix", "prompt": "snow", "speed": "turbo"}
    )
    assert turbo.content.decode().startswith("turbo · ")
    zoom = alice_client.get(
        url, {"operation": "mj-v7-outpaint", "form": "zoom", "custom_scale": "3"}
    )
    assert zoom.status_code == 400  # the catalog's range, read before any arithmetic
    assert "The zoom must be a number from 1.1 to 2" in zoom.content.decode()
    odd = alice_client.get(url, {"operation": "mj-v7-upscale", "form": "<script>"})
    assert "<script>" not in odd.content.decode()
