"""Upload & paint from the web (issue 16): a member's uploaded reference image,
placed on a canvas with the area to paint marked, becomes one job through the
pipeline, with one reserve, and the upstream request carries the upload's signed
URL. Only the member's own uploads; every refusal is said in place."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.credits import ledger
from gallery.models import Job, LedgerEntry, Membership
from gallery.providers import evolink
from gallery.studio import pipeline, public_urls
from tests.create.test_reference_limits import png_bytes

pytestmark = pytest.mark.django_db
PAGE = "/t/acme/upload-paint/"
PRICE = "/t/acme/upload-paint/price/"
HTMX = {"HX-Request": "true"}
AREAS = {"areas": [{"width": 96, "height": 72, "points": [0, 0, 40, 0, 40, 30, 0, 30]}]}


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=1000, by=alice)
    return account


def upload(client, size=(64, 48)) -> str:
    image = SimpleUploadedFile("ref.png", png_bytes((10, 120, 200), size), content_type="image/png")
    html = client.post("/t/acme/uploads/", {"image": image}, headers=HTMX).content.decode()
    return html.split('data-upload-url="', 1)[1].split('"')[0]


def form(src: str, **changes) -> dict:
    data = {
        "src": src,
        "operation": "mj-v7-upload-paint",
        "form": "paint",
        "client_request_id": "0123456789abcdef0123456789abcdef",
        "prompt": "a red hat",
        "speed": "fast",
        "canvas": json.dumps({"width": 96, "height": 72}),
        "img_pos": json.dumps({"width": 64, "height": 48, "x": 16, "y": 12}),
        "mask": json.dumps(AREAS),
    }
    return {**data, **changes}


def test_the_page_opens_the_canvas_editor_on_the_upload_with_its_price(alice_client):
    src = upload(alice_client)
    response = alice_client.get(PAGE, {"src": src})
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-canvas-editor data-mask-editor" in html
    assert "data-open-at-start" in html
    name = public_urls.name_from_url(src)
    assert "/p/" in html and name in html  # the upload itself, shown on the canvas
    # The image page's default placement: the upload centred on a canvas half as large again.
    assert 'viewBox="0 0 96 72"' in html and 'x="16" y="12" width="64" height="48"' in html
    assert "credits" in html.split('id="check-paint"', 1)[1].split("</output>", 1)[0]


def test_painting_makes_one_job_with_one_reserve_and_sends_the_signed_url(
    alice_client, alice, funded, monkeypatch
):
    src = upload(alice_client)
    queued = []
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: queued.append(a))
    response = alice_client.post(PAGE, form(src), headers=HTMX)
    assert response.status_code == 200, response.content.decode()
    job = Job.objects.get()
    assert "Upload &amp; paint" in response.content.decode()
    assert f"View job {job.pk}" in response.content.decode()
    assert response.headers["HX-Trigger"] == '{"credits-changed": {}}'
    assert (job.operation, job.user, job.parent) == ("mj-v7-upload-paint", alice, None)
    assert job.params["mask"] == AREAS and job.params["canvas"] == {"width": 96, "height": 72}
    assert LedgerEntry.objects.filter(account=funded, kind="reserve").count() == 1
    assert queued == [("gallery.tasks.submit_job", job.pk)]
    # The body sent upstream names the upload by its signed URL (the same file as the chip's).
    [sent] = job.source_urls
    assert public_urls.name_from_url(sent) == public_urls.name_from_url(src)
    body = evolink.unified_body(pipeline.request_for(job), "evolink", callback=False)
    assert body["model"] == "mj-v7-upload-paint" and body["image_urls"] == [sent]

    again = alice_client.post(PAGE, form(src), headers=HTMX)  # a double click: the same job
    assert again.status_code == 200 and Job.objects.count() == 1


def test_without_htmx_a_made_job_opens_its_page(alice_client, funded, monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    src = upload(alice_client)
    response = alice_client.post(PAGE, form(src))
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/t/acme/jobs/{job.pk}/"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"mask": ""}, "Mark the area to paint on the canvas first"),
        ({"prompt": ""}, "prompt"),
        (
            {"img_pos": json.dumps({"width": 64, "height": 48, "x": 500, "y": 12})},
            "outside",
        ),
        ({"canvas": "[1, 2"}, "could not be read"),
    ],
)
def test_a_bad_form_is_refused_in_place_and_nothing_is_charged(
    alice_client, funded, changes, words
):
    src = upload(alice_client)
    response = alice_client.post(PAGE, form(src, **changes), headers=HTMX)
    assert response.status_code in (400, 422)
    html = response.content.decode()
    assert 'role="alert"' in html and words in html
    assert Job.objects.count() == 0
    assert not LedgerEntry.objects.filter(account=funded, kind="reserve").exists()


def test_without_htmx_a_refusal_is_shown_on_the_page(alice_client, funded):
    src = upload(alice_client)
    response = alice_client.post(PAGE, form(src, mask=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Mark the area to paint on the canvas first" in html
    assert "data-canvas-editor" in html  # the editor again, to correct it
    assert Job.objects.count() == 0


def test_another_members_upload_or_a_foreign_url_is_refused_in_words(
    alice_client, bob_client, funded
):
    bobs = upload(bob_client)
    for src in (bobs, "https://example.com/cat.png", ""):
        page = alice_client.get(PAGE, {"src": src})
        assert page.status_code == 400
        assert "your own uploaded reference images" in page.content.decode()
        made = alice_client.post(PAGE, form(src), headers=HTMX)
        assert made.status_code == 400
        assert "your own uploaded reference images" in made.content.decode()
    assert Job.objects.count() == 0


def test_the_live_price_follows_the_form_and_names_problems(alice_client):
    src = upload(alice_client)
    fine = alice_client.get(PRICE, form(src), headers=HTMX)
    assert fine.status_code == 200
    assert "credits" in fine.content.decode()
    off = {"img_pos": json.dumps({"width": 64, "height": 48, "x": 500, "y": 12})}
    bad = alice_client.get(PRICE, form(src, **off), headers=HTMX)
    html = bad.content.decode()
    assert 'id="issues-paint"' in html and "outside" in html
    assert alice_client.get(PRICE, form(src, mask=""), headers=HTMX).status_code == 400


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(PAGE).status_code == 302
    assert client.post(PAGE).status_code == 302
    assert client.get(PRICE).status_code == 302


def test_another_team_gets_404(carol_client, alice_client):
    src = upload(alice_client)
    assert carol_client.get(PAGE, {"src": src}).status_code == 404
    assert carol_client.post(PAGE, form(src)).status_code == 404
    assert carol_client.get(PRICE, form(src)).status_code == 404


def test_a_viewer_cannot_paint(dave_client, alice_client):
    src = upload(alice_client)
    assert dave_client.get(PAGE, {"src": src}).status_code == 403
    assert dave_client.post(PAGE, form(src), headers=HTMX).status_code == 403
    assert dave_client.get(PRICE, form(src)).status_code == 403


def test_wrong_methods_are_refused(alice_client):
    assert alice_client.put(PAGE).status_code == 405
    assert alice_client.post(PRICE).status_code == 405


def test_painting_starts_on_the_first_provider_in_the_teams_order_that_offers_it(
    alice_client, team, funded, settings, monkeypatch
):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    settings.PROVIDERS = {
        name: {"base_url": f"http://127.0.0.1:1/{name}", "api_key": "k"}
        for name in ("evolink", "reapi", "vtrix")
    }
    # Vtrix has no Upload & paint: the first of the order that does is reAPI.
    team.set_provider_order(["vtrix", "reapi", "evolink"], failover=True)
    src = upload(alice_client)
    assert alice_client.post(PAGE, form(src), headers=HTMX).status_code == 200
    assert Job.objects.get().provider == "reapi"
    # A provider asked for by name still wins, if it offers the operation.
    again = form(src, provider="evolink", client_request_id="f" * 32)
    assert alice_client.post(PAGE, again, headers=HTMX).status_code == 200
    assert Job.objects.latest("pk").provider == "evolink"
