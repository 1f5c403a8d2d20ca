"""Rendered images: deterministic, distinct, sized by the operation, and expiring."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from PIL import Image, ImageChops, ImageStat
from simclient import HTTP, Api, Control, download, result_urls


def digests(urls: list[str]) -> list[str]:
    return [hashlib.sha256(HTTP.get(url).content).hexdigest() for url in urls]


def test_the_same_prompt_seed_and_operation_give_the_same_bytes(evolink: Api) -> None:
    body = {"model": "mj-v7", "prompt": "a red kite --seed 42 --ar 3:2"}
    first = digests(evolink.run(body)["results"])
    second = digests(evolink.run(body)["results"])
    assert first == second


def test_edits_of_identical_parents_give_identical_bytes(evolink: Api) -> None:
    def chain() -> list[str]:
        parent = evolink.run({"model": "mj-v7", "prompt": "a kite --seed 1"})["id"]
        upscale = {"model": "mj-v7-upscale", "model_params": {"task_id": parent, "image_number": 1}}
        return digests(evolink.run(upscale)["results"])

    assert chain() == chain()


def test_prompts_seeds_and_grid_slots_all_look_different(evolink: Api) -> None:
    a = digests(evolink.run({"model": "mj-v7", "prompt": "a kite --seed 1"})["results"])
    b = digests(evolink.run({"model": "mj-v7", "prompt": "a kite --seed 2"})["results"])
    c = digests(evolink.run({"model": "mj-v7", "prompt": "a dragon --seed 1"})["results"])
    assert len(set(a)) == 4, "each grid slot is its own picture"
    assert not set(a) & set(b)
    assert not set(a) & set(c)


def test_grid_slots_differ_visibly_not_just_in_bytes(evolink: Api) -> None:
    images = download(evolink.run({"model": "mj-v7", "prompt": "a meadow"})["results"])
    first, second = (im.convert("RGB") for im in images[:2])
    diff = ImageChops.difference(first, second).convert("L")
    changed = diff.point(lambda value: 255 if value > 40 else 0).histogram()[255]
    assert changed > first.width * first.height * 0.2


def size_of(api: Api, body: dict[str, Any]) -> set[tuple[int, int]]:
    return {im.size for im in download(result_urls(api.dialect, api.run(body)))}


def test_upscale_doubles_the_parent_and_returns_one_image(evolink: Api) -> None:
    parent = evolink.run({"model": "mj-v7", "prompt": "tall --ar 9:16"})["id"]
    done = evolink.run({"model": "mj-v7-upscale", "model_params": {"task_id": parent}})
    images = download(done["results"])
    assert [im.size for im in images] == [(576, 1024)]


def test_pan_extends_the_canvas_in_the_requested_direction_and_scale(evolink: Api) -> None:
    parent = evolink.run({"model": "mj-v7", "prompt": "a road --ar 1:1"})
    pid = parent["id"]
    sizes = {
        direction: size_of(
            evolink,
            {
                "model": "mj-v7-pan",
                "model_params": {"task_id": pid, "direction": direction, "scale": 1.5},
            },
        )
        for direction in ("left", "right", "up", "down")
    }
    assert sizes == {
        "left": {(768, 512)},
        "right": {(768, 512)},
        "up": {(512, 768)},
        "down": {(512, 768)},
    }


def test_pan_right_keeps_the_parent_on_the_left(evolink: Api) -> None:
    parent = evolink.run({"model": "mj-v7", "prompt": "a road --seed 3"})
    original = download(parent["results"][:1])[0].convert("RGB")
    body = {
        "model": "mj-v7-pan",
        "model_params": {"task_id": parent["id"], "direction": "right", "scale": 2.0},
    }
    panned = download(evolink.run(body)["results"][:1])[0].convert("RGB")
    assert panned.size == (1024, 512)
    left = panned.crop((0, 0, 512, 512))
    assert _similar(left, original)
    assert not _similar(panned.crop((512, 0, 1024, 512)), original)


def _similar(a: Image.Image, b: Image.Image) -> bool:
    diff = ImageChops.difference(a, b).convert("L")
    return ImageStat.Stat(diff).mean[0] < 8


def test_outpaint_scales_both_sides(evolink: Api) -> None:
    parent = evolink.run({"model": "mj-v7", "prompt": "a hill --ar 2:1"})["id"]
    body = {"model": "mj-v7-outpaint", "model_params": {"task_id": parent, "scale": 1.5}}
    assert size_of(evolink, body) == {(768, 384)}


def test_remove_bg_returns_one_rgba_image_with_a_transparent_background(reapi: Api) -> None:
    parent = reapi.run({"model": "mj-v7", "prompt": "a vase"})
    done = reapi.run(
        {"model": "mj-v7-remove-bg", "image_urls": [parent["output"]["image_urls"][0]]}
    )
    [image] = download(done["output"]["image_urls"])
    assert image.mode == "RGBA"
    assert image.size == (512, 512)
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((256, 256))[3] == 255


def test_edit_renders_on_the_requested_canvas(evolink: Api) -> None:
    parent = evolink.run({"model": "mj-v7", "prompt": "a chair"})["id"]
    body = {
        "model": "mj-v7-edit",
        "prompt": "a room around it",
        "model_params": {
            "task_id": parent,
            "canvas": {"width": 640, "height": 480},
            "img_pos": {"width": 200, "height": 200, "x": -20, "y": 100},
        },
    }
    assert size_of(evolink, body) == {(640, 480)}


def test_a_loopback_source_that_cannot_be_fetched_fails_the_task(evolink: Api) -> None:
    missing = f"{evolink.sim.base_url}/files/nothing-here.png"
    done = evolink.run({"model": "mj-v7-retexture", "prompt": "neon", "image_urls": [missing]})
    assert done["status"] == "failed"
    assert done["error"]["code"] == "image_processing_error"


def test_image_urls_expire_after_the_ttl(evolink: Api, control: Control) -> None:
    control.post("/_sim/timing", {"url_ttl": 0.3})
    urls = evolink.run({"model": "mj-v7", "prompt": "short lived"})["results"]
    assert HTTP.get(urls[0]).status_code == 200
    time.sleep(0.4)
    assert HTTP.get(urls[0]).status_code == 404


def test_the_control_endpoint_can_expire_a_tasks_urls_at_once(
    evolink: Api, control: Control
) -> None:
    done = evolink.run({"model": "mj-v7", "prompt": "expire me"})
    control.post(f"/_sim/tasks/{done['id']}/expire")
    assert {HTTP.get(url).status_code for url in done["results"]} == {404}


def test_unknown_file_tokens_are_404(sim: Any) -> None:
    assert HTTP.get(f"{sim.base_url}/files/doesnotexist.png").status_code == 404
