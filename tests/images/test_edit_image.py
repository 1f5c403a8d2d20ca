"""Pressing an edit button: each operation becomes the right job through the
pipeline, and what reaches the upstream (the simulator's request log) is what
the button said; refusals are answered in words, with the pipeline's status."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client

from gallery.catalog.operations import Request
from gallery.models import CreditAccount, Image, Job, Membership
from gallery.studio import pipeline
from tests.factories import finished_job, fund, in_flight_job
from tests.pipeline.conftest import run_until_final

pytestmark = pytest.mark.django_db

AREA = {"areas": [{"width": 256, "height": 171, "points": [10, 10, 120, 10, 120, 90, 10, 90]}]}


@pytest.fixture
def member(alice, team) -> Membership:
    fund(alice, team, 5000)
    CreditAccount.objects.filter(membership__user=alice).update(max_in_flight=10)
    return Membership.objects.get(user=alice, team=team)


def generate(member: Membership, *, provider: str = "evolink", speed: str = "fast") -> Job:
    """A real generation in the simulator, its four images stored."""
    request = Request(
        operation="mj-v7", provider=provider, prompt="a harbour --ar 3:2", speed=speed
    )
    job = run_until_final(pipeline.create(member, pipeline.Draft(request=request)))
    assert job.status == "completed", job.error_message
    return job


def press(client: Client, image: Image, form: str, **fields) -> httpx.Response:
    data = {"form": form, "client_request_id": "0123456789abcdef0123456789abcdef", **fields}
    return client.post(f"/t/acme/images/{image.pk}/edit/", data)


def sent(sim, job: Job) -> dict:
    """Send the queued job as the worker would, and return the body the upstream got."""
    pipeline.run_submit(job.pk)
    job.refresh_from_db()
    assert job.upstream_id, job.error_message
    log = httpx.get(
        f"{sim.base_url}/_sim/requests",
        params={"dialect": job.provider, "endpoint": "create", "task_id": job.upstream_id},
    ).json()["requests"]
    assert len(log) == 1
    return log[0]["body"]


def new_job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:500]
    job = Job.objects.latest("pk")
    assert response["Location"] == f"/t/acme/jobs/{job.pk}/"
    return job


# --- each operation --------------------------------------------------------------------


def test_upscale_creative_upscales_this_image_of_its_parent_task(sim, member, alice_client):
    parent = generate(member)
    image = parent.images.get(index=1)
    job = new_job(press(alice_client, image, "upscale", operation="mj-v7-upscale", type="creative"))
    assert (job.operation, job.parent, job.credits_reserved) == ("mj-v7-upscale", image, 158)
    body = sent(sim, job)
    assert body["model"] == "mj-v7-upscale"
    assert body["model_params"] == {
        "task_id": parent.upstream_id,
        "image_number": 1,
        "type": "creative",
    }
    job = run_until_final(job)
    assert job.status == "completed"
    assert job.images.get().width == image.width * 2


def test_vary_strong_sends_the_variation_type(sim, member, alice_client):
    image = generate(member).images.get(index=3)
    job = new_job(press(alice_client, image, "vary", operation="mj-v7-variation", type="strong"))
    body = sent(sim, job)
    assert body["model"] == "mj-v7-variation"
    assert body["model_params"]["type"] == "strong"
    assert body["model_params"]["image_number"] == 3


def test_remix_sends_the_new_prompt_mode_and_speed(sim, member, alice_client):
    image = generate(member).images.first()
    response = press(
        alice_client,
        image,
        "remix",
        operation="mj-v7-remix",
        prompt="the same harbour in winter --s 300",
        mode="subtle",
        speed="turbo",
    )
    job = new_job(response)
    body = sent(sim, job)
    assert body["prompt"] == "the same harbour in winter --s 300"
    assert body["model_params"]["mode"] == "subtle"
    assert body["model_params"]["speed"] == "turbo"
    assert job.prompt_raw == "the same harbour in winter --s 300"


def test_pan_left_sends_the_direction_and_scale(sim, member, alice_client):
    image = generate(member).images.first()
    job = new_job(
        press(alice_client, image, "pan", operation="mj-v7-pan", direction="left", scale="2")
    )
    params = sent(sim, job)["model_params"]
    assert (params["direction"], params["scale"]) == ("left", 2)
    assert run_until_final(job).images.first().width > image.width


def test_zoom_out_sends_a_preset_or_the_custom_factor(sim, member, alice_client):
    image = generate(member).images.first()
    preset = new_job(press(alice_client, image, "zoom", operation="mj-v7-outpaint", scale="2"))
    assert sent(sim, preset)["model_params"]["scale"] == 2
    custom = new_job(
        press(
            alice_client,
            image,
            "zoom",
            operation="mj-v7-outpaint",
            scale="custom",
            custom_scale="1.3",
        )
    )
    assert sent(sim, custom)["model_params"]["scale"] == 1.3


def test_vary_region_sends_the_drawn_polygons(sim, member, alice_client):
    image = generate(member).images.get(index=2)
    job = new_job(
        press(
            alice_client,
            image,
            "region",
            operation="mj-v7-inpaint",
            mask=json.dumps(AREA),
            prompt="a red boat",
        )
    )
    body = sent(sim, job)
    assert body["model_params"]["mask"] == AREA
    assert body["prompt"] == "a red boat"
    assert run_until_final(job).status == "completed"


def test_vary_region_without_javascript_sends_the_typed_rectangle(sim, member, alice_client):
    image = generate(member).images.first()
    job = new_job(
        press(
            alice_client,
            image,
            "region",
            operation="mj-v7-inpaint",
            mask="",
            rect_x="20",
            rect_y="10",
            rect_width="100",
            rect_height="500",  # clipped to the image
        )
    )
    area = sent(sim, job)["model_params"]["mask"]["areas"][0]
    bottom = image.height
    assert area == {
        "width": image.width,
        "height": image.height,
        "points": [20, 10, 120, 10, 120, bottom, 20, bottom],
    }


def test_a_vtrix_mask_is_scaled_to_the_sizes_vtrix_accepts(sim, member, alice_client):
    image = generate(member, provider="vtrix").images.first()
    job = new_job(
        press(alice_client, image, "region", operation="mj-v7-inpaint", mask=json.dumps(AREA))
    )
    area = job.params["mask"]["areas"][0]
    factor = 500 / 171
    assert area["height"] == 500 and area["width"] == round(256 * factor)
    assert area["points"][:2] == [round(10 * factor), round(10 * factor)]
    sent(sim, job)  # the simulator's Vtrix checks 500-4096 too


def test_edit_sends_the_canvas_and_placement_from_the_editor(sim, member, alice_client):
    image = generate(member).images.first()
    canvas = {"width": 512, "height": 384}
    place = {"width": 256, "height": 171, "x": 128, "y": 100}
    job = new_job(
        press(
            alice_client,
            image,
            "edit",
            operation="mj-v7-edit",
            prompt="a wide bay around it",
            canvas=json.dumps(canvas),
            img_pos=json.dumps(place),
            canvas_width="1",  # the editor's JSON wins over the fields it mirrors
        )
    )
    params = sent(sim, job)["model_params"]
    assert (params["canvas"], params["img_pos"]) == (canvas, place)
    assert "mask" not in params


def test_edit_without_javascript_reads_the_numeric_fields(sim, member, alice_client):
    image = generate(member).images.first()
    fields = {
        "canvas_width": "600",
        "canvas_height": "400",
        "img_width": "256",
        "img_height": "171",
        "img_x": "0",
        "img_y": "0",
    }
    job = new_job(
        press(alice_client, image, "edit", operation="mj-v7-edit", prompt="sky", **fields)
    )
    params = sent(sim, job)["model_params"]
    assert params["canvas"] == {"width": 600, "height": 400}
    assert params["img_pos"] == {"width": 256, "height": 171, "x": 0, "y": 0}


def test_enhance_sends_a_draft_for_full_quality(sim, member, alice_client):
    image = generate(member, speed="draft").images.first()
    job = new_job(press(alice_client, image, "enhance", operation="mj-v7-enhance"))
    assert sent(sim, job)["model"] == "mj-v7-enhance"


@pytest.mark.parametrize(
    ("operation", "form", "fields"),
    [
        ("mj-v7-retexture", "retexture", {"prompt": "made of stained glass"}),
        ("mj-v7-remove-bg", "removebg", {}),
    ],
)
def test_direct_image_edits_send_a_signed_url_of_the_original_and_no_parent(
    sim, member, alice_client, operation, form, fields
):
    image = generate(member).images.get(index=2)
    job = new_job(press(alice_client, image, form, operation=operation, **fields))
    assert job.parent is None
    body = sent(sim, job)
    assert "task_id" not in body.get("model_params", {})
    (url,) = body["image_urls"]
    assert url == job.source_urls[0]
    assert url.startswith("http://127.0.0.1:1/p/") and url.endswith(image.original.name)
    served = Client().get(httpx.URL(url).raw_path.decode())  # signed out, as the upstream
    assert b"".join(served.streaming_content) == image.original.open("rb").read()


# --- htmx and repeats ---------------------------------------------------------------


def test_htmx_gets_a_confirmation_with_a_link_to_the_new_job(sim, member, alice_client):
    image = generate(member).images.first()
    response = alice_client.post(
        f"/t/acme/images/{image.pk}/edit/",
        {"form": "pan", "operation": "mj-v7-pan", "direction": "up", "scale": "1.5"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    job = Job.objects.latest("pk")
    assert response.status_code == 200 and "<html" not in html
    assert "<strong>Pan up ×1.5</strong> started · 79 credits reserved" in html
    assert f'href="/t/acme/jobs/{job.pk}/"' in html
    assert 'id="children" hx-swap-oob="true"' in html and "hx-trigger" not in html
    assert json.loads(response["HX-Trigger"]) == {"credits-changed": {}}


def test_a_double_click_makes_one_job_but_another_button_makes_another(member, alice_client):
    image = finished_job(member.user, member.team).images.first()
    for _ in range(2):
        press(alice_client, image, "upscale", operation="mj-v7-upscale", type="standard")
    press(alice_client, image, "upscale", operation="mj-v7-upscale", type="creative")
    types = sorted(j.params["type"] for j in Job.objects.filter(operation="mj-v7-upscale"))
    assert types == ["creative", "standard"]


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "fields", "status", "message"),
    [
        ("remix", {"operation": "mj-v7-remix", "prompt": " "}, 400, "Remix needs a prompt"),
        (
            "region",
            {"operation": "mj-v7-inpaint", "mask": ""},
            400,
            "Draw the area to change on the image first",
        ),
        (
            "region",
            {"operation": "mj-v7-inpaint", "mask": "{not json"},
            400,
            "The mask could not be read; set it again",
        ),
        (
            "pan",
            {"operation": "mj-v7-pan", "direction": "left", "scale": "wide"},
            400,
            "The pan scale must be a number",
        ),
        (
            "zoom",
            {"operation": "mj-v7-outpaint", "scale": "custom", "custom_scale": "3"},
            400,
            "The zoom must be a number from 1.1 to 2",
        ),
        (
            "edit",
            {"operation": "mj-v7-edit", "prompt": "sky", "canvas_width": "big"},
            400,
            "The canvas width must be a whole number from 1 to 8192",
        ),
        ("upscale", {"operation": "mj-v7"}, 400, "Choose one of the edits on this page"),
    ],
)
def test_a_refusal_is_shown_in_words_next_to_its_form(
    member, alice_client, form, fields, status, message
):
    image = finished_job(member.user, member.team).images.first()
    response = press(alice_client, image, form, **fields)
    html = response.content.decode()
    assert response.status_code == status
    slot = html[html.index(f'id="result-{form}"') :]
    assert slot[: slot.index("</div>")].count(message) == 1
    assert not Job.objects.exclude(pk=image.job_id).exists()


def test_running_out_of_credits_is_402_in_words(alice, team, alice_client):
    fund(alice, team, amount=100)
    image = finished_job(alice, team).images.first()
    response = press(alice_client, image, "upscale", operation="mj-v7-upscale", type="creative")
    assert response.status_code == 402
    assert "credits" in response.content.decode().split('id="result-upscale"')[1][:400]


def test_an_edit_past_the_in_flight_cap_is_accepted_and_waits_in_line(member, alice_client):
    CreditAccount.objects.filter(membership=member).update(max_in_flight=1)
    image = finished_job(member.user, member.team).images.first()
    in_flight_job(member.user, member.team)
    response = press(alice_client, image, "vary", operation="mj-v7-variation", type="subtle")
    waiting = new_job(response)
    assert list(Job.objects.waiting()) == [waiting]
    assert waiting.credits_reserved > 0 and waiting.entries.filter(kind="reserve").exists()


def test_an_upscale_of_an_upscale_is_refused(member, alice_client):
    parent = finished_job(member.user, member.team).images.first()
    upscale = finished_job(
        member.user, member.team, operation="mj-v7-upscale", parent=parent, images=1, prompt=""
    ).images.get()
    response = press(alice_client, upscale, "upscale", operation="mj-v7-upscale", type="creative")
    assert response.status_code == 400
    assert "An upscaled image cannot be upscaled again" in response.content.decode()


def test_a_retexture_of_a_retexture_is_refused(member, alice_client):
    retextured = finished_job(
        member.user, member.team, operation="mj-v7-retexture", prompt="glass"
    ).images.first()
    response = press(
        alice_client, retextured, "retexture", operation="mj-v7-retexture", prompt="wood"
    )
    assert response.status_code == 400
    assert "A retextured image can only be upscaled" in response.content.decode()


def test_htmx_refusals_are_a_fragment_with_the_status(member, alice_client):
    image = finished_job(member.user, member.team).images.first()
    response = alice_client.post(
        f"/t/acme/images/{image.pk}/edit/",
        {"form": "remix", "operation": "mj-v7-remix", "prompt": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 400 and "<html" not in html
    assert '<p class="form-error" role="alert">Remix needs a prompt</p>' in html
    assert "HX-Trigger" not in response


def test_the_edit_url_only_takes_post(member, alice_client):
    image = finished_job(member.user, member.team).images.first()
    assert alice_client.get(f"/t/acme/images/{image.pk}/edit/").status_code == 405
