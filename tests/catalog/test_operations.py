"""The operation catalog (gallery.catalog.operations): facts, and validation of every
operation's required, optional, enum, range and parent rules."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from gallery.catalog.operations import (
    OPERATIONS,
    PROVIDERS,
    ParentFacts,
    Request,
    follow_ups,
    model_id,
    normalized,
    supports,
    validate,
)
from gallery.catalog.prompt import Code, Issue

SRC = "https://example.com/source.png"
AREAS = {"areas": [{"width": 1024, "height": 1024, "points": [50, 50, 50, 600, 600, 600]}]}
CANVAS = {"width": 1024, "height": 1024}
IMG_POS = {"width": 512, "height": 512, "x": 256, "y": 256}

# One minimal valid request per operation (provider filled in by `request()`).
MINIMAL: dict[str, dict[str, Any]] = {
    "mj-v7": {"prompt": "a cat"},
    "mj-v7-variation": {"parent_task_id": "t1"},
    "mj-v7-upscale": {"parent_task_id": "t1"},
    "mj-v7-remix": {"parent_task_id": "t1", "prompt": "oil painting"},
    "mj-v7-enhance": {"parent_task_id": "t1"},
    "mj-v7-pan": {"parent_task_id": "t1"},
    "mj-v7-outpaint": {"parent_task_id": "t1"},
    "mj-v7-inpaint": {"parent_task_id": "t1", "params": {"mask": AREAS}},
    "mj-v7-edit": {
        "parent_task_id": "t1",
        "prompt": "mountains",
        "params": {"canvas": CANVAS, "img_pos": IMG_POS},
    },
    "mj-v7-remove-bg": {"image_urls": (SRC,)},
    "mj-v7-retexture": {"image_urls": (SRC,), "prompt": "cyberpunk"},
    "mj-v7-upload-paint": {
        "image_urls": (SRC,),
        "prompt": "a hat",
        "params": {"mask": AREAS, "canvas": CANVAS, "img_pos": IMG_POS},
    },
}
DRAFT = ParentFacts("evolink", "mj-v7", "draft", 4)
FAST = ParentFacts("evolink", "mj-v7", "fast", 4)


def request(operation: str, provider: str = "evolink", **changes: Any) -> Request:
    fields = {**MINIMAL[operation], **changes}
    if "params" in changes and "params" in MINIMAL[operation]:
        fields["params"] = {**MINIMAL[operation]["params"], **changes["params"]}
    fields["params"] = {k: v for k, v in fields.get("params", {}).items() if v is not None}
    return Request(operation=operation, provider=provider, **fields)


def codes(issues: list[Issue], severity: str = "error") -> set[tuple[str, str]]:
    return {(issue.code, issue.param) for issue in issues if issue.severity == severity}


# --- the facts --------------------------------------------------------------------


def test_there_are_twelve_operations_named_by_evolink_model_ids() -> None:
    assert len(OPERATIONS) == 12
    assert set(OPERATIONS) == set(MINIMAL)


def test_operation_labels_are_the_button_names_of_the_design() -> None:
    labels = {op.label for op in OPERATIONS.values()}
    assert {
        "Upscale",
        "Vary",
        "Remix",
        "Pan",
        "Zoom out",
        "Vary region",
        "Edit",
        "Enhance",
        "Retexture",
        "Remove background",
    } <= labels


def test_evolink_and_reapi_use_the_same_model_ids_for_everything() -> None:
    for op in OPERATIONS.values():
        assert model_id("evolink", op.id) == op.id
        assert model_id("reapi", op.id) == op.id


VTRIX = {
    "mj-v7": "midjourney_diffusion",
    "mj-v7-variation": "midjourney_variation",
    "mj-v7-upscale": "midjourney_upscale",
    "mj-v7-remix": "midjourney_remix",
    "mj-v7-inpaint": "midjourney_inpaint",
    "mj-v7-outpaint": "midjourney_outpaint",
    "mj-v7-edit": "midjourney_edit",
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_vtrix_offers_only_the_operations_it_documents(operation: str) -> None:
    assert supports("vtrix", operation) == (operation in VTRIX)
    if operation in VTRIX:
        assert model_id("vtrix", operation) == VTRIX[operation]
    else:
        with pytest.raises(KeyError):
            model_id("vtrix", operation)


def test_supports_is_false_for_unknown_names() -> None:
    assert not supports("evolink", "mj-v6")
    assert not supports("midjourney", "mj-v7")


def test_sources_and_prompt_rules_match_the_design_table() -> None:
    table = {op.id: (op.source, op.prompt) for op in OPERATIONS.values()}
    assert table == {
        "mj-v7": ("prompt", "required"),
        "mj-v7-variation": ("parent", "optional"),
        "mj-v7-upscale": ("parent", "absent"),
        "mj-v7-remix": ("parent", "required"),
        "mj-v7-enhance": ("parent", "absent"),
        "mj-v7-pan": ("parent", "optional"),
        "mj-v7-outpaint": ("parent", "optional"),
        "mj-v7-inpaint": ("parent", "optional"),
        "mj-v7-edit": ("parent", "required"),
        "mj-v7-remove-bg": ("image", "absent"),
        "mj-v7-retexture": ("image", "required"),
        "mj-v7-upload-paint": ("image", "required"),
    }


def test_only_generation_offers_draft_speed() -> None:
    assert OPERATIONS["mj-v7"].speeds == ("draft", "fast", "turbo")
    for op in OPERATIONS.values():
        if op.id != "mj-v7":
            assert "draft" not in op.speeds
    assert [op.id for op in OPERATIONS.values() if not op.speeds] == [
        "mj-v7-upscale",
        "mj-v7-enhance",
        "mj-v7-remove-bg",
    ]


def test_defaults_are_filled_in_for_adapters() -> None:
    assert request("mj-v7-upscale").resolved_params() == {"type": "standard"}
    assert request("mj-v7-variation").resolved_params() == {"type": "subtle"}
    assert request("mj-v7-remix").resolved_params() == {"mode": "strong"}
    assert request("mj-v7-pan").resolved_params() == {"direction": "down", "scale": 1.5}
    assert request("mj-v7-outpaint", params={"scale": 2}).resolved_params() == {"scale": 2}


def test_vtrix_enum_codes_are_declared_with_the_parameters() -> None:
    assert OPERATIONS["mj-v7-upscale"].param("type").vtrix_codes == {"standard": 0, "creative": 1}
    assert OPERATIONS["mj-v7-variation"].param("type").vtrix_codes == {"subtle": 0, "strong": 1}
    assert OPERATIONS["mj-v7-remix"].param("mode").vtrix_codes == {"strong": 0, "subtle": 1}


def test_request_keeps_its_original_fields_in_order() -> None:
    names = [f.name for f in dataclasses.fields(Request)]
    assert names[:9] == [
        "operation",
        "provider",
        "prompt",
        "image_urls",
        "parent_task_id",
        "image_number",
        "speed",
        "params",
        "callback_url",
    ]


# --- valid requests ---------------------------------------------------------------

SUPPORTED = [(p, op) for op in sorted(OPERATIONS) for p in PROVIDERS if supports(p, op)]


@pytest.mark.parametrize(("provider", "operation"), SUPPORTED)
def test_the_minimal_request_is_valid(provider: str, operation: str) -> None:
    assert validate(request(operation, provider)) == []


@pytest.mark.parametrize(
    ("operation", "changes"),
    [
        ("mj-v7", {"speed": "draft"}),
        ("mj-v7", {"speed": "turbo"}),
        ("mj-v7", {"prompt": "https://example.com/a.png https://example.com/b.png"}),
        ("mj-v7-variation", {"prompt": "more dramatic", "speed": "turbo"}),
        ("mj-v7-variation", {"params": {"type": "strong"}, "image_number": 3}),
        ("mj-v7-upscale", {"params": {"type": "creative"}}),
        ("mj-v7-remix", {"params": {"mode": "subtle"}, "speed": "turbo"}),
        ("mj-v7-pan", {"params": {"direction": "left", "scale": Decimal("3")}}),
        ("mj-v7-pan", {"params": {"direction": "up", "scale": 1.1}, "prompt": "sky"}),
        ("mj-v7-outpaint", {"params": {"scale": 2.0}, "prompt": "a beach"}),
        ("mj-v7-inpaint", {"params": {"mask": {"url": "https://example.com/m.png"}}}),
        ("mj-v7-inpaint", {"prompt": "a tree", "speed": "turbo"}),
        ("mj-v7-edit", {"params": {"mask": AREAS}, "speed": "turbo"}),
        ("mj-v7-edit", {"params": {"img_pos": {"width": 5, "height": 5, "x": -3, "y": 9}}}),
        ("mj-v7-retexture", {"speed": "turbo"}),
        ("mj-v7-upload-paint", {"params": {"mask": {"url": "https://example.com/m.png"}}}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_optional_fields_and_every_enum_value_are_accepted(
    operation: str, changes: dict[str, Any]
) -> None:
    assert validate(request(operation, **changes)) == []


@pytest.mark.parametrize(
    ("operation", "param", "values"),
    [
        ("mj-v7-variation", "type", ["subtle", "strong"]),
        ("mj-v7-upscale", "type", ["standard", "creative"]),
        ("mj-v7-remix", "mode", ["strong", "subtle"]),
        ("mj-v7-pan", "direction", ["down", "right", "up", "left"]),
    ],
)
def test_each_documented_enum_value_is_valid_and_others_are_not(
    operation: str, param: str, values: list[str]
) -> None:
    assert OPERATIONS[operation].param(param).choices == tuple(values)
    for value in values:
        assert validate(request(operation, params={param: value})) == []
    issues = validate(request(operation, params={param: "sideways"}))
    assert codes(issues) == {(Code.INVALID_CHOICE, param)}


# --- required, absent, not allowed --------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "change", "param"),
    [
        ("mj-v7", {"prompt": ""}, "prompt"),
        ("mj-v7", {"prompt": "   "}, "prompt"),
        ("mj-v7-variation", {"parent_task_id": None}, "task_id"),
        ("mj-v7-upscale", {"parent_task_id": ""}, "task_id"),
        ("mj-v7-remix", {"prompt": ""}, "prompt"),
        ("mj-v7-remix", {"parent_task_id": None}, "task_id"),
        ("mj-v7-enhance", {"parent_task_id": None}, "task_id"),
        ("mj-v7-pan", {"parent_task_id": None}, "task_id"),
        ("mj-v7-outpaint", {"parent_task_id": None}, "task_id"),
        ("mj-v7-inpaint", {"parent_task_id": None}, "task_id"),
        ("mj-v7-inpaint", {"params": {"mask": None}}, "mask"),
        ("mj-v7-edit", {"prompt": ""}, "prompt"),
        ("mj-v7-edit", {"parent_task_id": None}, "task_id"),
        ("mj-v7-edit", {"params": {"canvas": None}}, "canvas"),
        ("mj-v7-edit", {"params": {"img_pos": None}}, "img_pos"),
        ("mj-v7-remove-bg", {"image_urls": ()}, "image_urls"),
        ("mj-v7-retexture", {"prompt": ""}, "prompt"),
        ("mj-v7-retexture", {"image_urls": ()}, "image_urls"),
        ("mj-v7-upload-paint", {"prompt": ""}, "prompt"),
        ("mj-v7-upload-paint", {"image_urls": ()}, "image_urls"),
        ("mj-v7-upload-paint", {"params": {"mask": None}}, "mask"),
        ("mj-v7-upload-paint", {"params": {"canvas": None}}, "canvas"),
        ("mj-v7-upload-paint", {"params": {"img_pos": None}}, "img_pos"),
    ],
)
def test_a_missing_required_field_is_reported(
    operation: str, change: dict[str, Any], param: str
) -> None:
    assert codes(validate(request(operation, **change))) == {(Code.REQUIRED, param)}


@pytest.mark.parametrize("operation", ["mj-v7-variation", "mj-v7-pan", "mj-v7-outpaint"])
def test_an_optional_prompt_may_be_left_out(operation: str) -> None:
    assert validate(request(operation, prompt="")) == []
    assert validate(request(operation, prompt="a red sky")) == []


@pytest.mark.parametrize(
    ("operation", "change", "param"),
    [
        ("mj-v7-upscale", {"prompt": "sharper"}, "prompt"),
        ("mj-v7-enhance", {"prompt": "sharper"}, "prompt"),
        ("mj-v7-remove-bg", {"prompt": "sharper"}, "prompt"),
        ("mj-v7", {"parent_task_id": "t1"}, "task_id"),
        ("mj-v7-remove-bg", {"parent_task_id": "t1"}, "task_id"),
        ("mj-v7-retexture", {"parent_task_id": "t1"}, "task_id"),
        ("mj-v7-upload-paint", {"parent_task_id": "t1"}, "task_id"),
        ("mj-v7", {"image_number": 0}, "image_number"),
        ("mj-v7-retexture", {"image_number": 1}, "image_number"),
        ("mj-v7", {"image_urls": (SRC,)}, "image_urls"),
        ("mj-v7-variation", {"image_urls": (SRC,)}, "image_urls"),
        ("mj-v7-upscale", {"params": {"scale": 2}}, "scale"),
        ("mj-v7-variation", {"params": {"mode": "strong"}}, "mode"),
        ("mj-v7-remix", {"params": {"type": "subtle"}}, "type"),
        ("mj-v7-pan", {"params": {"directon": "up"}}, "directon"),
        ("mj-v7-enhance", {"params": {"speed": "fast"}}, "speed"),
        ("mj-v7-remove-bg", {"params": {"mask": AREAS}}, "mask"),
        ("mj-v7-outpaint", {"params": {"direction": "up"}}, "direction"),
    ],
)
def test_a_field_the_operation_does_not_take_is_not_allowed(
    operation: str, change: dict[str, Any], param: str
) -> None:
    assert codes(validate(request(operation, **change))) == {(Code.NOT_ALLOWED, param)}


# --- enums and ranges ------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "speed"),
    [
        ("mj-v7", "relax"),
        ("mj-v7", "slow"),
        ("mj-v7-variation", "draft"),
        ("mj-v7-remix", "draft"),
        ("mj-v7-edit", "draft"),
        ("mj-v7-retexture", "draft"),
        ("mj-v7-upload-paint", "relax"),
    ],
)
def test_a_speed_outside_the_operations_choices_is_rejected(operation: str, speed: str) -> None:
    assert (Code.INVALID_CHOICE, "speed") in codes(validate(request(operation, speed=speed)))


@pytest.mark.parametrize("operation", ["mj-v7-upscale", "mj-v7-enhance", "mj-v7-remove-bg"])
def test_a_speed_on_an_operation_without_one_is_only_a_warning(operation: str) -> None:
    issues = validate(request(operation, speed="fast"))
    assert codes(issues) == set()
    assert codes(issues, "warning") == {(Code.PARAM_IGNORED, "speed")}
    assert request(operation, speed="fast").effective_speed() is None


@pytest.mark.parametrize(
    "operation", ["mj-v7-variation", "mj-v7-pan", "mj-v7-outpaint", "mj-v7-inpaint"]
)
def test_turbo_without_a_prompt_warns_and_runs_at_fast(operation: str) -> None:
    without = request(operation, speed="turbo")
    assert codes(validate(without), "warning") == {(Code.PARAM_IGNORED, "speed")}
    assert without.effective_speed() == "fast"
    with_prompt = request(operation, speed="turbo", prompt="a red sky")
    assert validate(with_prompt) == []
    assert with_prompt.effective_speed() == "turbo"


def test_the_default_speed_is_fast() -> None:
    assert request("mj-v7").effective_speed() == "fast"
    assert request("mj-v7-remix").effective_speed() == "fast"


@pytest.mark.parametrize("number", [0, 1, 2, 3, None])
def test_image_number_zero_to_three_is_valid(number: int | None) -> None:
    assert validate(request("mj-v7-upscale", image_number=number)) == []


@pytest.mark.parametrize("number", [4, -1, "1", True, 1.0])
def test_image_number_outside_zero_to_three_is_rejected(number: Any) -> None:
    issues = validate(request("mj-v7-upscale", image_number=number))
    assert codes(issues) == {(Code.INVALID_CHOICE, "image_number")}


@pytest.mark.parametrize(
    ("operation", "scale", "code"),
    [
        ("mj-v7-pan", 1.1, None),
        ("mj-v7-pan", 3, None),
        ("mj-v7-pan", Decimal("2.25"), None),
        ("mj-v7-pan", 1.09, Code.PARAM_OUT_OF_RANGE),
        ("mj-v7-pan", 3.01, Code.PARAM_OUT_OF_RANGE),
        ("mj-v7-pan", 0, Code.PARAM_OUT_OF_RANGE),
        ("mj-v7-outpaint", 1.1, None),
        ("mj-v7-outpaint", 2, None),
        ("mj-v7-outpaint", 2.01, Code.PARAM_OUT_OF_RANGE),
        ("mj-v7-outpaint", 1, Code.PARAM_OUT_OF_RANGE),
        ("mj-v7-outpaint", "1.5", Code.INVALID_VALUE),
        ("mj-v7-outpaint", float("nan"), Code.INVALID_VALUE),
        ("mj-v7-outpaint", float("inf"), Code.INVALID_VALUE),
        ("mj-v7-outpaint", True, Code.INVALID_VALUE),
    ],
)
def test_scale_is_checked_against_its_range(operation: str, scale: Any, code: Code | None) -> None:
    expected = set() if code is None else {(code, "scale")}
    assert codes(validate(request(operation, params={"scale": scale}))) == expected


def test_a_range_message_names_the_bounds() -> None:
    [issue] = validate(request("mj-v7-outpaint", params={"scale": 2.5}))
    assert issue.message == "scale must be between 1.1 and 2 (got 2.5)"


# --- masks, canvas, image position -------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "code"),
    [
        ({"areas": AREAS["areas"], "url": SRC}, Code.INVALID_VALUE),
        ({}, Code.INVALID_VALUE),
        ("a mask", Code.INVALID_VALUE),
        ({"areas": []}, Code.INVALID_VALUE),
        ({"areas": ["square"]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 600, "height": 600, "points": [1, 2, 3, 4, 5]}]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 600, "height": 600, "points": [1, 2, 3, 4]}]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 600, "height": 600, "points": "1,2"}]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 600, "height": 600}]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 0, "height": 600, "points": [1] * 6}]}, Code.PARAM_OUT_OF_RANGE),
        ({"areas": [{"width": "6", "height": 600, "points": [1] * 6}]}, Code.INVALID_VALUE),
        ({"url": "http://192.168.0.5/m.png"}, Code.URL_NOT_PUBLIC),
        ({"url": "file:///etc/passwd"}, Code.INVALID_URL),
        ({"url": 5}, Code.INVALID_URL),
        ({"url": SRC, "feather": 2}, Code.NOT_ALLOWED),
        # Bounded before anything computes with them (the Vtrix fitting multiplies).
        ({"areas": [{"width": 10**30, "height": 600, "points": [1] * 6}]}, Code.PARAM_OUT_OF_RANGE),
        ({"areas": [{"width": 600, "height": 600, "points": [1e308] * 6}]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 600, "height": 600, "points": [-1] * 6}]}, Code.INVALID_VALUE),
        ({"areas": [{"width": 600, "height": 600, "points": [True] * 6}]}, Code.INVALID_VALUE),
        ({"areas": [AREAS["areas"][0]] * 101}, Code.TOO_MANY_VALUES),
        ({"areas": [{"width": 600, "height": 600, "points": [1] * 4002}]}, Code.TOO_MANY_VALUES),
    ],
)
def test_a_malformed_mask_is_rejected(mask: Any, code: Code) -> None:
    assert codes(validate(request("mj-v7-inpaint", params={"mask": mask}))) == {(code, "mask")}


def test_evolink_takes_small_mask_areas_but_vtrix_needs_500_to_4096() -> None:
    small = {"areas": [{"width": 200, "height": 200, "points": [50, 50, 50, 250, 250, 250]}]}
    assert validate(request("mj-v7-inpaint", "evolink", params={"mask": small})) == []
    issues = validate(request("mj-v7-inpaint", "vtrix", params={"mask": small}))
    assert codes(issues) == {(Code.PARAM_OUT_OF_RANGE, "mask")}
    big = {"areas": [{"width": 4097, "height": 500, "points": [1] * 6}]}
    assert codes(validate(request("mj-v7-inpaint", "vtrix", params={"mask": big}))) == {
        (Code.PARAM_OUT_OF_RANGE, "mask")
    }


@pytest.mark.parametrize(
    ("param", "value", "code"),
    [
        ("canvas", {"width": 1024}, Code.REQUIRED),
        ("canvas", {"width": 0, "height": 10}, Code.PARAM_OUT_OF_RANGE),
        ("canvas", {"width": "1024", "height": 10}, Code.INVALID_VALUE),
        ("canvas", {"width": True, "height": 10}, Code.INVALID_VALUE),
        ("canvas", {"width": 10, "height": 10, "depth": 3}, Code.NOT_ALLOWED),
        ("canvas", [1024, 1024], Code.INVALID_VALUE),
        ("img_pos", {"width": 5, "height": 5, "x": 0}, Code.REQUIRED),
        ("img_pos", {"width": 5, "height": -5, "x": 0, "y": 0}, Code.PARAM_OUT_OF_RANGE),
        ("img_pos", {"width": 5, "height": 5, "x": 0.5, "y": 0}, Code.INVALID_VALUE),
        # No side past the catalog's MAX_SIDE, no placement further off than one side.
        ("canvas", {"width": 8193, "height": 10}, Code.PARAM_OUT_OF_RANGE),
        ("canvas", {"width": 10**300, "height": 10}, Code.PARAM_OUT_OF_RANGE),
        ("img_pos", {"width": 5, "height": 5, "x": -8193, "y": 0}, Code.PARAM_OUT_OF_RANGE),
        ("img_pos", {"width": 5, "height": 5, "x": 0, "y": 8193}, Code.PARAM_OUT_OF_RANGE),
    ],
)
def test_canvas_and_image_position_are_checked(param: str, value: Any, code: Code) -> None:
    assert codes(validate(request("mj-v7-edit", params={param: value}))) == {(code, param)}


def test_the_largest_canvas_and_furthest_placement_still_on_it_are_accepted() -> None:
    canvas = {"width": 8192, "height": 8192}
    place = {"width": 8192, "height": 1, "x": -8191, "y": 8191}  # one pixel on the canvas
    assert validate(request("mj-v7-edit", params={"canvas": canvas, "img_pos": place})) == []


@pytest.mark.parametrize(
    "place",
    [
        {"width": 50, "height": 50, "x": 100, "y": 0},  # right of a 100 px canvas
        {"width": 50, "height": 50, "x": 0, "y": 100},  # below it
        {"width": 50, "height": 50, "x": -50, "y": 0},  # touching its left edge only
        {"width": 50, "height": 50, "x": 0, "y": -60},  # above it
    ],
)
def test_an_image_placed_wholly_off_the_canvas_is_refused_naming_both(place) -> None:
    canvas = {"width": 100, "height": 100}
    issues = validate(request("mj-v7-edit", params={"canvas": canvas, "img_pos": place}))
    assert codes(issues) == {(Code.PARAM_OUT_OF_RANGE, "img_pos")}
    assert "outside the 100×100 canvas" in issues[0].message


@pytest.mark.parametrize(
    "points",
    [[10, 10, 10, 10, 10, 10], [0, 0, 50, 50, 100, 100]],  # a dot, a straight line
    ids=["dot", "line"],
)
def test_a_mask_without_an_area_is_refused(points) -> None:
    mask = {"areas": [{"width": 200, "height": 200, "points": points}]}
    issues = validate(request("mj-v7-inpaint", "evolink", params={"mask": mask}))
    assert codes(issues) == {(Code.INVALID_VALUE, "mask")}
    assert "mask.areas[0] has no area" in issues[0].message


# --- source images ---------------------------------------------------------------


@pytest.mark.parametrize("operation", ["mj-v7-remove-bg", "mj-v7-retexture", "mj-v7-upload-paint"])
def test_a_direct_image_edit_takes_exactly_one_public_image(operation: str) -> None:
    two = validate(request(operation, image_urls=(SRC, SRC)))
    assert codes(two) == {(Code.TOO_MANY_VALUES, "image_urls")}
    private = validate(request(operation, image_urls=("http://10.1.2.3/a.png",)))
    assert codes(private) == {(Code.URL_NOT_PUBLIC, "image_urls")}
    broken = validate(request(operation, image_urls=("not a url",)))
    assert codes(broken) == {(Code.INVALID_URL, "image_urls")}


def test_the_apps_own_public_urls_are_trusted_when_said_so() -> None:
    own = request("mj-v7-remove-bg", image_urls=("http://127.0.0.1:8000/public/x.png?sig=1",))
    assert codes(validate(own)) == {(Code.URL_NOT_PUBLIC, "image_urls")}
    assert validate(own, trusted_url_prefixes=["http://127.0.0.1:8000/public"]) == []


# --- the prompt linter runs inside validation ----------------------------------------


@pytest.mark.parametrize(
    ("operation", "changes", "expected"),
    [
        ("mj-v7", {"prompt": "a cat --s 5000"}, (Code.PARAM_OUT_OF_RANGE, "--s")),
        ("mj-v7", {"prompt": "a cat --tile", "speed": "draft"}, (Code.SPEED_CONFLICT, "--tile")),
        (
            "mj-v7",
            {"prompt": "a cat --oref https://example.com/f.png", "speed": "turbo"},
            (Code.SPEED_CONFLICT, "--oref"),
        ),
        (
            "mj-v7-inpaint",
            {"prompt": "a cat --oref https://example.com/f.png"},
            (Code.NOT_ALLOWED, "--oref"),
        ),
        (
            "mj-v7-pan",
            {"prompt": "a cat --oref https://example.com/f.png"},
            (Code.NOT_ALLOWED, "--oref"),
        ),
        (
            "mj-v7-outpaint",
            {"prompt": "a cat --oref https://example.com/f.png"},
            (Code.NOT_ALLOWED, "--oref"),
        ),
        ("mj-v7-remix", {"prompt": "oil --cref x"}, (Code.UNSUPPORTED_PARAM, "--cref")),
        ("mj-v7-retexture", {"prompt": "neon --sw 10"}, (Code.REQUIRES_SREF, "--sw")),
        ("mj-v7", {"prompt": "https://example.com/a.png"}, (Code.IMAGE_WITHOUT_TEXT, "prompt")),
    ],
)
def test_the_prompt_is_linted_with_the_operation_and_speed(
    operation: str, changes: dict[str, Any], expected: tuple[Code, str]
) -> None:
    assert expected in codes(validate(request(operation, **changes)))


def test_oref_on_a_prompted_variation_follows_its_speed() -> None:
    prompt = "a cat --oref https://example.com/f.png"
    assert validate(request("mj-v7-variation", prompt=prompt)) == []
    turbo = validate(request("mj-v7-variation", prompt=prompt, speed="turbo"))
    assert codes(turbo) == {(Code.SPEED_CONFLICT, "--oref")}


def test_prompt_warnings_come_through_validation() -> None:
    issues = validate(request("mj-v7", prompt="a cat --v 7"))
    assert codes(issues, "warning") == {(Code.VERSION_FLAG_REMOVED, "--v")}


# --- operation and provider --------------------------------------------------------


def test_an_unknown_operation_is_rejected() -> None:
    issues = validate(Request(operation="mj-v6", provider="evolink", prompt="a cat"))
    assert codes(issues) == {(Code.UNKNOWN_OPERATION, "operation")}


def test_an_unknown_provider_is_rejected() -> None:
    issues = validate(Request(operation="mj-v7", provider="piapi", prompt="a cat"))
    assert codes(issues) == {(Code.UNKNOWN_PROVIDER, "provider")}


@pytest.mark.parametrize("operation", sorted(set(OPERATIONS) - set(VTRIX)))
def test_an_operation_vtrix_lacks_is_rejected_for_vtrix(operation: str) -> None:
    issues = validate(request(operation, "vtrix"))
    assert codes(issues) == {(Code.UNSUPPORTED_OPERATION, "operation")}


# --- parent rules ------------------------------------------------------------------


def test_enhance_accepts_a_draft_generation() -> None:
    assert validate(request("mj-v7-enhance"), DRAFT) == []


@pytest.mark.parametrize(
    "parent",
    [
        FAST,
        ParentFacts("evolink", "mj-v7", "turbo"),
        ParentFacts("evolink", "mj-v7-variation", "fast"),
        ParentFacts("evolink", "mj-v7-upscale", None, 1),
    ],
)
def test_enhance_rejects_anything_but_a_draft(parent: ParentFacts) -> None:
    assert codes(validate(request("mj-v7-enhance"), parent)) == {(Code.PARENT_NOT_DRAFT, "task_id")}


def test_an_upscale_cannot_be_upscaled_again() -> None:
    upscaled = ParentFacts("evolink", "mj-v7-upscale", None, 1)
    assert codes(validate(request("mj-v7-upscale"), upscaled)) == {
        (Code.UPSCALE_OF_UPSCALE, "task_id")
    }
    assert validate(request("mj-v7-variation"), upscaled) == []


@pytest.mark.parametrize(
    "operation",
    [op for op, spec in OPERATIONS.items() if spec.needs_parent and op != "mj-v7-upscale"],
)
def test_only_an_upscale_may_follow_a_retexture(operation: str) -> None:
    retextured = ParentFacts("evolink", "mj-v7-retexture", "fast")
    assert validate(request("mj-v7-upscale"), retextured) == []
    assert (Code.RETEXTURE_ONLY_UPSCALE, "task_id") in codes(
        validate(request(operation), retextured)
    )


@pytest.mark.parametrize(("count", "number", "ok"), [(4, 3, True), (2, 1, True), (2, 2, False)])
def test_image_number_must_exist_in_the_parent(count: int, number: int, ok: bool) -> None:
    parent = ParentFacts("evolink", "mj-v7", "fast", count)
    issues = validate(request("mj-v7-upscale", image_number=number), parent)
    assert codes(issues) == (set() if ok else {(Code.NO_SUCH_IMAGE, "image_number")})


def test_the_default_image_number_needs_at_least_one_image() -> None:
    empty = ParentFacts("evolink", "mj-v7", "fast", 0)
    assert codes(validate(request("mj-v7-variation"), empty)) == {
        (Code.NO_SUCH_IMAGE, "image_number")
    }


def test_an_edit_goes_to_the_provider_of_its_parent() -> None:
    parent = ParentFacts("reapi", "mj-v7", "fast")
    assert codes(validate(request("mj-v7-remix"), parent)) == {(Code.PROVIDER_MISMATCH, "provider")}
    assert validate(request("mj-v7-remix", "reapi"), parent) == []


def test_a_parent_still_running_cannot_be_edited() -> None:
    running = ParentFacts("evolink", "mj-v7", "fast", 0, completed=False)
    assert (Code.PARENT_NOT_COMPLETED, "task_id") in codes(
        validate(request("mj-v7-upscale"), running)
    )


def test_follow_ups_of_a_draft_include_enhance() -> None:
    assert "mj-v7-enhance" in follow_ups(DRAFT)
    assert "mj-v7-enhance" not in follow_ups(FAST)


def test_follow_ups_of_an_upscale_exclude_upscale() -> None:
    ups = follow_ups(ParentFacts("evolink", "mj-v7-upscale", None, 1))
    assert "mj-v7-upscale" not in ups
    assert "mj-v7-variation" in ups


def test_follow_ups_of_a_retexture_are_upscale_only() -> None:
    assert follow_ups(ParentFacts("reapi", "mj-v7-retexture", "fast")) == ("mj-v7-upscale",)


def test_follow_ups_of_a_vtrix_job_are_what_vtrix_offers() -> None:
    ups = follow_ups(ParentFacts("vtrix", "mj-v7", "draft"))
    assert set(ups) == set(VTRIX) - {"mj-v7"}


def test_a_failed_or_running_parent_has_no_follow_ups() -> None:
    assert follow_ups(ParentFacts("evolink", "mj-v7", "fast", 0, completed=False)) == ()


# --- the prompt sent upstream ------------------------------------------------------


def test_normalized_replaces_the_prompt_with_the_linted_string() -> None:
    raw = request("mj-v7-remix", prompt="  oil  --stylize 50 --v 7 --turbo ", speed="turbo")
    assert normalized(raw).prompt == "oil --s 50"
    assert normalized(raw).speed == "turbo"


def test_normalized_leaves_a_broken_or_absent_prompt_alone() -> None:
    broken = request("mj-v7", prompt="a cat --s 5000")
    assert normalized(broken) is broken
    upscale = request("mj-v7-upscale")
    assert normalized(upscale) is upscale
