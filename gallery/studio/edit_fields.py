"""Reading an edit form's fields: what the image page's edits and Upload &
paint share (the canvas editor's boxes, its drawn mask, numbers typed where
JavaScript is off, and where the canvas editor starts).

Each reader returns the value or raises BadInput, whose message names the
field in words; the catalog then checks the values against its rules.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict

from gallery.catalog.operations import BOX_RANGES, mask_issues
from gallery.net import numbers


class BadInput(Exception):
    """A form field could not be read; the message says which, in words."""


def json_object(raw: str, label: str) -> dict[str, Any]:
    """A JSON object an editor wrote into a hidden field."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise BadInput(f"The {label} could not be read; set it again") from None
    if not isinstance(value, dict):
        raise BadInput(f"The {label} could not be read; set it again")
    return value


def whole(raw: str | None, label: str, bounds: tuple[int, int]) -> int:
    """Pixels typed into a field: a whole number within the catalog's `bounds`."""
    low, high = bounds
    try:
        return numbers.whole(raw, label=label, minimum=low, maximum=high)
    except numbers.NumberError as problem:
        raise BadInput(str(problem)) from None


def drawn_mask(raw: str) -> dict[str, Any]:
    """The mask editor's JSON, its shape checked by the catalog's one check of
    a mask (callers may compute with its numbers after this)."""
    mask = json_object(raw, "mask")
    problems = mask_issues(mask)
    if problems:
        raise BadInput(problems[0].message)
    return mask


# The canvas editor's numeric fields by box, read when its JSON is missing (no
# JavaScript): (key in the box, field name, label).
BOX_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "canvas": (
        ("width", "canvas_width", "The canvas width"),
        ("height", "canvas_height", "The canvas height"),
    ),
    "img_pos": (
        ("width", "img_width", "The image width"),
        ("height", "img_height", "The image height"),
        ("x", "img_x", "The image's x"),
        ("y", "img_y", "The image's y"),
    ),
}


def box(data: QueryDict, name: str, kind: str) -> dict[str, Any]:
    """Box `name` of kind "canvas" or "img_pos": the canvas editor's JSON (the
    catalog checks it), or its numeric fields, each within the catalog's range."""
    raw = data.get(name, "").strip()
    if raw:
        return json_object(raw, name.replace("_", " "))
    return {
        key: whole(data.get(field_name), label, BOX_RANGES[key])
        for key, field_name, label in BOX_FIELDS[kind]
    }


def canvas_defaults(width: int | None, height: int | None) -> dict[str, dict[str, int]]:
    """Where the canvas editor starts for a picture of `width`×`height`: at its
    size, centred on a canvas half as large again, room to extend on every side."""
    width, height = width or 1024, height or 1024
    canvas = {"width": round(width * 1.5), "height": round(height * 1.5)}
    place = {
        "width": width,
        "height": height,
        "x": (canvas["width"] - width) // 2,
        "y": (canvas["height"] - height) // 2,
    }
    return {"canvas": canvas, "img_pos": place}
