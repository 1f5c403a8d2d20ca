"""Each dialect end to end over real HTTP: create -> poll -> completed -> download."""

from __future__ import annotations

import time
from typing import Any

import pytest
from simclient import Api, Control, download, result_urls

from simulator import start_simulator

GENERATE = {
    "evolink": lambda prompt, speed="fast": {
        "model": "mj-v7",
        "prompt": prompt,
        "model_params": {"speed": speed},
    },
    "reapi": lambda prompt, speed="fast": {
        "model": "mj-v7",
        "prompt": prompt,
        "model_params": {"speed": speed},
    },
    "vtrix": lambda prompt, speed="fast": {
        "model": "midjourney_diffusion",
        "text": f"{prompt} --{speed}",
    },
}


def generate(api: Api, prompt: str, speed: str = "fast") -> dict[str, Any]:
    return GENERATE[api.dialect](prompt, speed)


@pytest.mark.parametrize(
    ("ar", "size"),
    [("1:1", (512, 512)), ("16:9", (512, 288)), ("2:3", (341, 512))],
)
def test_a_generation_goes_from_pending_through_processing_to_four_images(
    api: Api, ar: str, size: tuple[int, int]
) -> None:
    created = api.create(generate(api, f"a lighthouse at dusk --ar {ar}"))
    assert created.status_code == 200
    task_id = created.json()["id"]
    seen = []
    progress = []
    while True:
        body = api.poll(task_id).json()
        seen.append(body["status"])
        if "progress" in body:
            progress.append(body["progress"])
        if body["status"] in ("completed", "failed"):
            break
        time.sleep(0.02)
    assert body["status"] == "completed"
    assert "processing" in seen
    assert progress == sorted(progress), "progress never goes backwards"
    images = download(result_urls(api.dialect, body))
    assert len(images) == 4
    for image in images:
        assert image.size == size
        assert image.width / image.height == pytest.approx(size[0] / size[1], rel=0.01)


def test_draft_images_are_smaller_and_draft_finishes_before_fast(
    evolink: Api, control: Control
) -> None:
    control.post("/_sim/timing", {"draft": 0.1, "fast": 1.5})
    fast = evolink.submit(generate(evolink, "a fox"))
    draft = evolink.submit(generate(evolink, "a fox", "draft"))
    draft_body = evolink.wait(draft)
    assert evolink.poll(fast).json()["status"] in ("pending", "processing")
    evolink.wait(fast)
    images = download(draft_body["results"])
    assert {im.size for im in images} == {(256, 256)}


def test_evolink_create_response_carries_id_object_status_progress_estimate_and_credits(
    evolink: Api,
) -> None:
    body = evolink.create(generate(evolink, "a cat", "turbo")).json()
    assert body["id"].startswith("task-unified-")
    assert body["object"] == "image.generation.task"
    assert body["status"] == "pending"
    assert body["progress"] == 0
    assert body["type"] == "image"
    assert body["task_info"]["estimated_time"] >= 1
    assert body["usage"] == {
        "billing_rule": "per_call",
        "credits_reserved": 10.8,
        "user_group": "default",
    }


def test_reapi_reports_processing_from_the_start_and_output_image_urls(reapi: Api) -> None:
    created = reapi.create(generate(reapi, "a cat")).json()
    assert created["id"].startswith("task_")
    assert created["status"] == "processing"
    assert set(created) == {"id", "model", "status", "created_at"}
    first = reapi.poll(created["id"]).json()
    assert first["status"] == "processing"
    assert first["output"] is None and first["error"] is None
    done = reapi.wait(created["id"])
    assert len(done["output"]["image_urls"]) == 4
    assert done["error"] is None


def test_vtrix_reports_float_progress_output_content_and_usage_cost(vtrix: Api) -> None:
    created = vtrix.create(generate(vtrix, "a cat")).json()
    assert created["id"] == created["task_id"]
    assert created["status"] == "pending"
    done = vtrix.wait(created["id"])
    assert done["progress"] == 1.0
    content = done["output"][0]["content"]
    assert [c["type"] for c in content] == ["image"] * 4
    assert done["usage"]["cost"] == "0.087318"
    assert "error" not in done


def test_vtrix_accepts_the_cli_input_params_wrapper(vtrix: Api) -> None:
    body = {"model": "midjourney_diffusion", "input": [{"params": {"text": "a wrapped cat"}}]}
    done = vtrix.wait(vtrix.submit(body))
    assert done["status"] == "completed"


def test_vtrix_follow_ups_use_jobid_imageno_and_integer_enums(vtrix: Api) -> None:
    parent = vtrix.run(generate(vtrix, "a tower --ar 3:2"))["id"]
    upscale = vtrix.run({"model": "midjourney_upscale", "jobId": parent, "imageNo": 3, "type": 1})
    assert [im.size for im in download(result_urls("vtrix", upscale))] == [(1024, 682)]
    remix = vtrix.run(
        {
            "model": "midjourney_remix",
            "jobId": parent,
            "imageNo": 0,
            "remixPrompt": "oil",
            "mode": 1,
        }
    )
    assert len(result_urls("vtrix", remix)) == 4
    variation = vtrix.run(
        {"model": "midjourney_variation", "jobId": parent, "imageNo": 1, "type": 0}
    )
    assert len(result_urls("vtrix", variation)) == 4
    outpaint = vtrix.run(
        {"model": "midjourney_outpaint", "jobId": parent, "imageNo": 2, "scale": 2.0}
    )
    assert {im.size for im in download(result_urls("vtrix", outpaint))} == {(1024, 682)}
    inpaint = vtrix.run(
        {
            "model": "midjourney_inpaint",
            "jobId": parent,
            "imageNo": 0,
            "mask": {"areas": [{"width": 600, "height": 600, "points": [0, 0, 500, 0, 500, 500]}]},
        }
    )
    assert len(result_urls("vtrix", inpaint)) == 4
    edit = vtrix.run(
        {
            "model": "midjourney_edit",
            "jobId": parent,
            "imageNo": 0,
            "remixPrompt": "more sky",
            "canvas": {"width": 1200, "height": 900},
            "imgPos": {"width": 600, "height": 400, "x": 100, "y": 50},
        }
    )
    assert {im.size for im in download(result_urls("vtrix", edit))} == {(1200, 900)}


OPERATION_BODIES: dict[str, Any] = {
    "mj-v7-variation": {"model_params": {"type": "strong"}},
    "mj-v7-remix": {"prompt": "as an oil painting", "model_params": {"mode": "subtle"}},
    "mj-v7-pan": {"model_params": {"direction": "left", "scale": 2.0}},
    "mj-v7-outpaint": {"model_params": {"scale": 1.5}},
    "mj-v7-inpaint": {
        "prompt": "a tree",
        "model_params": {
            "mask": {
                "areas": [{"width": 200, "height": 200, "points": [50, 50, 50, 250, 250, 250]}]
            }
        },
    },
    "mj-v7-edit": {
        "prompt": "mountains behind",
        "model_params": {
            "canvas": {"width": 1024, "height": 1024},
            "img_pos": {"width": 512, "height": 512, "x": 256, "y": 256},
        },
    },
}


@pytest.mark.parametrize("dialect", ["evolink", "reapi"])
def test_all_twelve_operations_complete_with_the_documented_image_counts(
    sim: Any, dialect: str, control: Control
) -> None:
    api = Api(sim, dialect)
    draft = api.run({"model": "mj-v7", "prompt": "a bridge", "model_params": {"speed": "draft"}})
    parent = api.run({"model": "mj-v7", "prompt": "a bridge --ar 4:3"})
    counts = {"mj-v7": len(result_urls(dialect, parent))}
    for model, extra in OPERATION_BODIES.items():
        body = {"model": model, **extra}
        body["model_params"] = {"task_id": parent["id"], "image_number": 1, **extra["model_params"]}
        counts[model] = len(result_urls(dialect, api.run(body)))
    counts["mj-v7-upscale"] = len(
        result_urls(
            dialect, api.run({"model": "mj-v7-upscale", "model_params": {"task_id": parent["id"]}})
        )
    )
    counts["mj-v7-enhance"] = len(
        result_urls(
            dialect, api.run({"model": "mj-v7-enhance", "model_params": {"task_id": draft["id"]}})
        )
    )
    source = result_urls(dialect, parent)[0]
    counts["mj-v7-remove-bg"] = len(
        result_urls(dialect, api.run({"model": "mj-v7-remove-bg", "image_urls": [source]}))
    )
    counts["mj-v7-retexture"] = len(
        result_urls(
            dialect,
            api.run({"model": "mj-v7-retexture", "prompt": "neon", "image_urls": [source]}),
        )
    )
    counts["mj-v7-upload-paint"] = len(
        result_urls(
            dialect,
            api.run(
                {
                    "model": "mj-v7-upload-paint",
                    "prompt": "a moon",
                    "image_urls": ["https://example.com/photo.jpg"],
                    "model_params": {
                        "mask": {"url": "https://example.com/mask.png"},
                        "canvas": {"width": 800, "height": 600},
                        "img_pos": {"width": 400, "height": 300, "x": 0, "y": 0},
                    },
                }
            ),
        )
    )
    api.close()
    assert counts == {
        "mj-v7": 4,
        "mj-v7-variation": 4,
        "mj-v7-remix": 4,
        "mj-v7-pan": 4,
        "mj-v7-outpaint": 4,
        "mj-v7-inpaint": 4,
        "mj-v7-edit": 4,
        "mj-v7-upscale": 1,
        "mj-v7-enhance": 4,
        "mj-v7-remove-bg": 1,
        "mj-v7-retexture": 4,
        "mj-v7-upload-paint": 4,
    }


def test_result_urls_are_absolute_urls_served_by_the_simulator(sim: Any, evolink: Api) -> None:
    body = evolink.run(generate(evolink, "a boat"))
    assert all(url.startswith(f"{sim.base_url}/files/") for url in body["results"])


def test_images_are_1024_on_the_long_side_by_default(tmp_path: Any) -> None:
    simulator = start_simulator(tmp_path, durations={"fast": 0.05, "draft": 0.05})
    api = Api(simulator, "reapi")
    try:
        done = api.wait(api.submit({"model": "mj-v7", "prompt": "a wide view --ar 16:9"}))
        draft = api.wait(
            api.submit({"model": "mj-v7", "prompt": "a sketch", "model_params": {"speed": "draft"}})
        )
        assert {im.size for im in download(result_urls("reapi", done))} == {(1024, 576)}
        assert {im.size for im in download(result_urls("reapi", draft))} == {(512, 512)}
    finally:
        api.close()
        simulator.stop()
