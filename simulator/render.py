"""Deterministic PNG rendering with Pillow.

Every pixel decision comes from a SHA-256 key built from (prompt, seed,
operation, parent, slot), so the same request gives the same bytes, while two
prompts or two grid slots look obviously different (palette, shapes, the slot
number and the first words of the prompt are drawn on the image). Only whole-
image primitives are used (gradients, shapes, resize, paste, composite), never
per-pixel Python loops, because tests render hundreds of images.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

RGB = tuple[int, int, int]


@dataclass
class RenderSpec:
    """One output image. ``kind`` chooses how the source image (if any) is used."""

    kind: str  # fresh | upscale | blend | pan | outpaint | inpaint | place | cutout
    width: int
    height: int
    key: bytes
    label: str
    slot: int
    total: int
    operation: str
    source: Image.Image | None = None
    mask: Image.Image | None = None
    geometry: dict[str, Any] = field(default_factory=dict)


def slot_key(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def _stream(key: bytes, salt: str) -> bytes:
    return hashlib.sha256(key + salt.encode()).digest()


def _palette(key: bytes) -> list[RGB]:
    data = _stream(key, "palette") + _stream(key, "palette2")
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, 30, 3)]


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def fresh(
    width: int, height: int, key: bytes, label: str, slot: int, total: int, op: str
) -> Image.Image:
    colors = _palette(key)
    data = _stream(key, "layout") + _stream(key, "layout2")
    gradient = Image.radial_gradient("L") if data[0] % 3 == 0 else Image.linear_gradient("L")
    if data[1] % 2:
        gradient = gradient.transpose(Image.Transpose.ROTATE_90)
    mask = gradient.resize((width, height), Image.Resampling.BILINEAR)
    image = Image.composite(
        Image.new("RGB", (width, height), colors[0]),
        Image.new("RGB", (width, height), colors[1]),
        mask,
    )
    draw = ImageDraw.Draw(image, "RGBA")
    shortest = min(width, height)
    for i in range(7):
        b = data[2 + i * 4 : 6 + i * 4]
        cx, cy = b[0] / 255 * width, b[1] / 255 * height
        r = (0.08 + b[2] / 255 * 0.25) * shortest
        color = (*colors[2 + i % 8], 150 + b[3] % 100)
        box = (cx - r, cy - r, cx + r, cy + r)
        shape = b[3] % 3
        if shape == 0:
            draw.ellipse(box, fill=color)
        elif shape == 1:
            draw.rectangle(box, fill=color)
        else:
            draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=color)
    _caption(image, label, slot, total, op)
    return image


def _caption(image: Image.Image, label: str, slot: int, total: int, op: str) -> None:
    width, height = image.size
    shortest = min(width, height)
    draw = ImageDraw.Draw(image, "RGBA")
    big = _font(max(12, shortest // 5))
    small = _font(max(10, shortest // 22))
    pad = max(4, shortest // 40)
    draw.text(
        (pad, pad),
        f"{slot + 1}/{total}",
        font=big,
        fill=(255, 255, 255, 255),
        stroke_width=max(1, shortest // 160),
        stroke_fill=(0, 0, 0, 255),
    )
    band = small.size * 3 + pad if isinstance(small, ImageFont.FreeTypeFont) else 40
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, 140))
    draw.text((pad, height - band + pad // 2), op, font=small, fill=(255, 255, 0, 255))
    draw.text((pad, height - band // 2), label[:80], font=small, fill=(255, 255, 255, 255))


def _fit(source: Image.Image, width: int, height: int) -> Image.Image:
    return source.convert("RGB").resize((max(1, width), max(1, height)), Image.Resampling.BICUBIC)


def render(spec: RenderSpec) -> Image.Image:
    image = _compose(spec)
    if spec.kind in ("pan", "outpaint", "inpaint", "place") and spec.source is not None:
        # The parent's own caption is pasted over; say what this image is.
        _badge(image, f"{spec.operation}  {spec.slot + 1}/{spec.total}  {spec.label}")
    return image


def _compose(spec: RenderSpec) -> Image.Image:
    w, h = spec.width, spec.height
    if spec.kind == "fresh" or (spec.source is None and spec.kind != "cutout"):
        return fresh(w, h, spec.key, spec.label, spec.slot, spec.total, spec.operation)
    base = fresh(w, h, spec.key, spec.label, spec.slot, spec.total, spec.operation)
    source = spec.source
    geo = spec.geometry
    if spec.kind == "upscale":
        assert source is not None
        image = _fit(source, w, h)
        _badge(image, f"{spec.operation} x{geo.get('factor', 2)} {geo.get('type', '')}".strip())
        return image
    if spec.kind == "blend":
        assert source is not None
        return Image.blend(_fit(source, w, h), base, float(geo.get("strength", 0.5)))
    if spec.kind == "pan":
        assert source is not None
        return _pan(base, source, str(geo["direction"]), float(geo["scale"]))
    if spec.kind == "outpaint":
        assert source is not None
        scale = float(geo["scale"])
        inner_w, inner_h = round(w / scale), round(h / scale)
        base.paste(_fit(source, inner_w, inner_h), ((w - inner_w) // 2, (h - inner_h) // 2))
        return base
    if spec.kind == "inpaint":
        assert source is not None
        image = _fit(source, w, h)
        image.paste(base, (0, 0), _region_mask(w, h, geo.get("areas"), spec.mask))
        return image
    if spec.kind == "place":
        assert source is not None
        pos = geo["img_pos"]
        base.paste(
            _fit(source, int(pos["width"]), int(pos["height"])), (int(pos["x"]), int(pos["y"]))
        )
        if geo.get("areas") or spec.mask is not None:
            again = fresh(
                w, h, _stream(spec.key, "fill"), spec.label, spec.slot, spec.total, spec.operation
            )
            base.paste(again, (0, 0), _region_mask(w, h, geo.get("areas"), spec.mask))
        return base
    if spec.kind == "cutout":
        subject = _fit(source, w, h) if source is not None else base
        alpha = Image.new("L", (w, h), 0)
        ImageDraw.Draw(alpha).ellipse((w * 0.15, h * 0.1, w * 0.85, h * 0.9), fill=255)
        cut = subject.convert("RGBA")
        cut.putalpha(alpha)
        return cut
    raise ValueError(f"unknown render kind {spec.kind!r}")


def _pan(base: Image.Image, source: Image.Image, direction: str, scale: float) -> Image.Image:
    """Paste the parent on the side opposite to the pan; the new strip is fresh content."""
    w, h = base.size
    if direction in ("left", "right"):
        inner_w = min(w, round(w / scale))
        inner = _fit(source, inner_w, h)
        base.paste(inner, (0 if direction == "right" else w - inner_w, 0))
    else:
        inner_h = min(h, round(h / scale))
        inner = _fit(source, w, inner_h)
        base.paste(inner, (0, 0 if direction == "down" else h - inner_h))
    return base


def _region_mask(
    width: int, height: int, areas: Sequence[dict[str, Any]] | None, mask: Image.Image | None
) -> Image.Image:
    if mask is not None:
        grey = ImageOps.grayscale(mask).resize((width, height), Image.Resampling.NEAREST)
        return grey.point(lambda v: 255 if v >= 128 else 0)
    region = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(region)
    polygons = [a.get("points") or [] for a in areas or []]
    drawn = False
    for points in polygons:
        pairs = list(zip(points[0::2], points[1::2], strict=False))
        if len(pairs) >= 3:
            draw.polygon(pairs, fill=255)
            drawn = True
    if not drawn:
        draw.ellipse((width * 0.3, height * 0.3, width * 0.7, height * 0.7), fill=255)
    return region


def _badge(image: Image.Image, text: str) -> None:
    w, h = image.size
    font = _font(max(10, min(w, h) // 24))
    draw = ImageDraw.Draw(image, "RGBA")
    draw.rectangle((0, 0, w, font.size * 2 if hasattr(font, "size") else 30), fill=(0, 0, 0, 120))
    draw.text((8, 4), text, font=font, fill=(255, 255, 255, 255))


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Level 1: several times faster than the default and still a real PNG.
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def load_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
