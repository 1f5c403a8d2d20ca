"""Each operation's catalog entry holds every fact the pages need about it
(issue 17): its form's name, its buttons, the stand-ins its price is quoted
with, its parameters and its price variant. The image page reads them from
there rather than from tables of its own."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from gallery.catalog import operations, pricing
from gallery.catalog.operations import OPERATIONS, ParentFacts, Request, validate
from gallery.studio.views import images

SRC = "https://example.com/source.png"
PAGE = [op for op in OPERATIONS.values() if op.on_image_page]


def test_the_image_page_offers_exactly_the_operations_the_catalog_marks_for_it():
    assert operations.image_page_operations() == images.PAGE_OPERATIONS
    assert {op.id for op in PAGE} == set(images.PAGE_OPERATIONS)
    assert "mj-v7" not in images.PAGE_OPERATIONS  # a generation starts from a prompt
    assert "mj-v7-upload-paint" not in images.PAGE_OPERATIONS  # it starts from a file


def test_the_image_pages_form_names_are_the_catalogs():
    assert frozenset(op.form for op in PAGE) == images.FORMS
    assert len(images.FORMS) == len(PAGE)  # one form each: the answer finds its slot


def test_upload_and_paint_has_a_complete_entry_for_its_own_page():
    entry = OPERATIONS["mj-v7-upload-paint"]
    assert entry.label == "Upload & paint"
    assert entry.form and entry.buttons
    assert {p.name for p in entry.params} == {"mask", "canvas", "img_pos"}
    assert [operations.button_label(entry, b) for b in entry.buttons] == ["Upload & paint"]


@pytest.mark.parametrize("op", [*PAGE, OPERATIONS["mj-v7-upload-paint"]], ids=lambda op: op.id)
def test_each_buttons_stand_ins_make_a_request_the_catalog_accepts(op):
    """The price a button shows is quoted with the stand-ins and the button's
    own params: they must make a request that passes, or every button would be off."""
    parent = ParentFacts(provider="evolink", operation="mj-v7", speed="draft")
    for button in op.buttons:
        request = Request(
            operation=op.id,
            provider="evolink",
            prompt="a stand-in prompt" if op.prompt == "required" else "",
            parent_task_id="t1" if op.needs_parent else None,
            image_urls=(SRC,) if op.needs_image else (),
            params={**op.stand_ins, **button.params},
        )
        errors = [
            i
            for i in validate(request, parent if op.needs_parent else None)
            if i.severity == "error"
        ]
        assert errors == [], (op.id, button.key)


def test_the_buttons_are_named_in_the_catalogs_words():
    upscale = OPERATIONS["mj-v7-upscale"]
    named = [operations.button_label(upscale, b) for b in upscale.buttons]
    assert named == ["Upscale (Subtle)", "Upscale (Creative)"]
    pan = OPERATIONS["mj-v7-pan"]
    assert [operations.button_label(pan, b) for b in pan.buttons] == ["Pan"]


def test_the_upscale_price_variant_is_the_parameter_the_catalog_names():
    assert OPERATIONS["mj-v7-upscale"].price_param == "type"
    request = Request("mj-v7-upscale", "evolink", parent_task_id="t1", params={"type": "creative"})
    assert pricing.variant_for(request) == "creative"
    assert all(op.price_param is None for op in OPERATIONS.values() if op.id != "mj-v7-upscale")


@pytest.mark.parametrize("op", PAGE, ids=lambda op: op.id)
def test_a_filled_in_form_is_read_into_the_catalogs_parameters_only(op):
    data = QueryDict(mutable=True)
    data.update({"operation": op.id, "rect_width": "10", "rect_height": "10"})
    data.update({"canvas_width": "100", "canvas_height": "100", "custom_scale": "1.5"})
    data.update({"img_width": "50", "img_height": "50", "img_x": "0", "img_y": "0"})

    class Job:
        provider = "evolink"

    class Img:
        job, width, height = Job(), 64, 64

    params = images.read_params(Img(), op, data)  # type: ignore[arg-type]
    assert set(params) <= {p.name for p in op.params}
    assert {p.name for p in op.params if p.required} <= set(params)


def test_a_lineage_step_is_named_by_the_catalog():
    assert operations.step_title("mj-v7", {}, "draft") == "Draft"
    assert operations.step_title("mj-v7", {}, "fast") == "Generate"
    assert operations.step_title("mj-v7-pan", {"direction": "left"}, "fast") == "Pan left ×1.5"


def test_a_number_is_read_from_its_preset_its_custom_field_or_the_catalogs_default():
    zoom = OPERATIONS["mj-v7-outpaint"]
    pan = OPERATIONS["mj-v7-pan"]

    def read(op, **fields):
        data = QueryDict(mutable=True)
        data.update(fields)
        return images.read_params(None, op, data)["scale"]  # type: ignore[arg-type]

    assert read(zoom, scale="2", custom_scale="1.3") == 2  # a preset pressed
    assert read(zoom, scale="custom", custom_scale="1.3") == 1.3
    assert read(zoom, custom_scale="1.7") == 1.7  # the live price sends no button
    assert read(pan) == 1.5  # a plain field left blank: the catalog's default
    assert read(pan, direction="up", scale="2.5") == 2.5
    with pytest.raises(images.BadInput, match=r"The zoom must be a number from 1\.1 to 2"):
        read(zoom, scale="custom")  # custom chosen, nothing typed
    with pytest.raises(images.BadInput, match=r"The zoom must be a number"):
        read(zoom)  # the zoom form always sends a preset or its custom field
    with pytest.raises(images.BadInput, match="The pan scale must be a number"):
        read(pan, scale="wide")
