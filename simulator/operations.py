"""Provider-neutral model of the twelve V7 operations: requests, prompt flags, prices, errors.

The canonical operation names are evolink's model ids (reAPI uses the same ids;
Vtrix's ``midjourney_*`` models are translated to them by its dialect).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

MAX_PROMPT = 8192
MAX_CANVAS = 4096  # not documented; protects the renderer from absurd canvases

GENERATE = "mj-v7"
VARIATION = "mj-v7-variation"
UPSCALE = "mj-v7-upscale"
REMIX = "mj-v7-remix"
ENHANCE = "mj-v7-enhance"
PAN = "mj-v7-pan"
OUTPAINT = "mj-v7-outpaint"
INPAINT = "mj-v7-inpaint"
EDIT = "mj-v7-edit"
REMOVE_BG = "mj-v7-remove-bg"
RETEXTURE = "mj-v7-retexture"
UPLOAD_PAINT = "mj-v7-upload-paint"

OPERATIONS = (
    GENERATE,
    VARIATION,
    UPSCALE,
    REMIX,
    ENHANCE,
    PAN,
    OUTPAINT,
    INPAINT,
    EDIT,
    REMOVE_BG,
    RETEXTURE,
    UPLOAD_PAINT,
)
PARENT_OPS = frozenset({VARIATION, UPSCALE, REMIX, ENHANCE, PAN, OUTPAINT, INPAINT, EDIT})
IMAGE_URL_OPS = frozenset({REMOVE_BG, RETEXTURE, UPLOAD_PAINT})
SINGLE_IMAGE_OPS = frozenset({UPSCALE, REMOVE_BG})
# Ops whose speed only applies when a prompt is given (evolink docs, providers.md §2.5).
SPEED_NEEDS_PROMPT = frozenset({VARIATION, PAN, OUTPAINT, INPAINT})
FLAT_PRICE_OPS = frozenset({UPSCALE, ENHANCE, REMOVE_BG})
# --oref: "not for inpaint/pan/outpaint" (providers.md §2.6).
NO_OREF_OPS = frozenset({INPAINT, PAN, OUTPAINT})

FAILURE_CODES = (
    "generation_failed",
    "content_policy_violation",
    "image_processing_error",
    "generation_timeout",
    "service_error",
)


class SimError(Exception):
    """A request the real provider would refuse; each dialect renders it in its own envelope.

    ``kind`` is provider-neutral; ``provider_code`` lets a dialect pin an exact
    code it knows (Vtrix's per-field numeric codes).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        field: str | None = None,
        provider_code: Any = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
        self.provider_code = provider_code
        self.retry_after = retry_after
        self.status = status


@dataclass
class CreateRequest:
    """A validated create request, whatever dialect it arrived in."""

    operation: str
    model: str  # the model id exactly as the client sent it
    prompt: str | None = None
    speed: str = "fast"
    parent_id: str | None = None
    image_number: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    image_urls: list[str] = field(default_factory=list)
    callback_url: str | None = None


# ---------------------------------------------------------------------------
# Prompt parsing

_URL_RE = re.compile(r"^https?://\S+\.(?:png|gif|webp|jpe?g)(?:\?\S*)?$", re.IGNORECASE)
_MARKER_RE = re.compile(r"\[sim:([a-z_]+)(?:=([^\]]*))?\]", re.IGNORECASE)

# (min, max) ranges from the V7 prompt guide (providers.md §2.6); ints unless noted.
_INT_RANGES: dict[str, tuple[int, int]] = {
    "c": (0, 100),
    "chaos": (0, 100),
    "s": (0, 1000),
    "stylize": (0, 1000),
    "w": (0, 3000),
    "weird": (0, 3000),
    "exp": (0, 100),
    "sw": (0, 1000),
    "sv": (1, 6),
    "ow": (1, 1000),
    "seed": (0, 4294967295),
}


@dataclass
class ParsedPrompt:
    text: str  # words before the first --flag, image URLs removed
    image_urls: list[str]
    flags: dict[str, str]
    markers: dict[str, str]
    aspect: tuple[int, int] = (1, 1)
    seed: int | None = None
    oref: bool = False
    speed_flag: str | None = None

    def words(self, limit: int = 6) -> str:
        return " ".join(self.text.split()[:limit])


def strip_markers(prompt: str) -> str:
    return " ".join(_MARKER_RE.sub(" ", prompt).split())


def parse_prompt(prompt: str) -> ParsedPrompt:
    """Split a native Midjourney prompt; raises SimError for flags V7 refuses."""
    markers = {m.group(1).lower(): (m.group(2) or "") for m in _MARKER_RE.finditer(prompt)}
    clean = strip_markers(prompt)
    # A flag is "--name" at the start or after whitespace; URLs may contain "--".
    head, *chunks = re.split(r"(?:^|\s)--(?=[A-Za-z])", clean)
    tokens = head.split()
    urls: list[str] = []
    while tokens and _URL_RE.match(tokens[0]):
        urls.append(tokens.pop(0))
    flags: dict[str, str] = {}
    for chunk in chunks:
        name, _, value = chunk.strip().partition(" ")
        flags[name.lower()] = value.strip()
    parsed = ParsedPrompt(text=" ".join(tokens), image_urls=urls, flags=flags, markers=markers)
    _check_flags(parsed)
    return parsed


def _check_flags(parsed: ParsedPrompt) -> None:
    flags = parsed.flags
    if "ar" in flags or "aspect" in flags:
        raw = flags.get("ar", flags.get("aspect", ""))
        match = re.fullmatch(r"(\d+):(\d+)", raw)
        if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
            raise SimError(
                "invalid_param", f"Invalid --ar value {raw!r}: use positive integers W:H"
            )
        parsed.aspect = (int(match.group(1)), int(match.group(2)))
    for name, (low, high) in _INT_RANGES.items():
        if name not in flags:
            continue
        raw = flags[name]
        if not re.fullmatch(r"\d+", raw) or not low <= int(raw) <= high:
            raise SimError("invalid_param", f"Invalid --{name} value {raw!r} (range {low}-{high})")
    if "seed" in flags:
        parsed.seed = int(flags["seed"])
    if "q" in flags or "quality" in flags:
        raw = flags.get("q", flags.get("quality", ""))
        if raw not in {"1", "2", "4"}:
            raise SimError("invalid_param", f"Invalid --q value {raw!r} (1, 2 or 4)")
    if "iw" in flags:
        try:
            iw = float(flags["iw"])
        except ValueError:
            iw = -1.0
        if not 0 <= iw <= 3:
            raise SimError("invalid_param", f"Invalid --iw value {flags['iw']!r} (range 0-3)")
    if "oref" in flags:
        if not flags["oref"].startswith(("http://", "https://")):
            raise SimError("invalid_param", "--oref needs one image URL")
        parsed.oref = True
    for speed in ("draft", "turbo", "fast"):
        if speed in flags:
            parsed.speed_flag = speed


# ---------------------------------------------------------------------------
# Prices. Per request (four images), by (operation, speed).

# reAPI's USD rates (providers.md §3.6, a third-party snapshot of reapi.ai's model
# page). Also used for Vtrix, whose MJ prices are not published.
USD_RATES: dict[str, dict[str, Decimal]] = {
    GENERATE: {
        "draft": Decimal("0.043659"),
        "fast": Decimal("0.087318"),
        "turbo": Decimal("0.174636"),
    },
    **{
        op: {"fast": Decimal("0.130977"), "turbo": Decimal("0.261954")}
        for op in (VARIATION, REMIX, INPAINT, EDIT, RETEXTURE, UPLOAD_PAINT)
    },
    **{op: {"fast": Decimal("0.087318"), "turbo": Decimal("0.174636")} for op in (PAN, OUTPAINT)},
    UPSCALE: {"flat": Decimal("0.130977")},
    ENHANCE: {"flat": Decimal("0.087318")},
    REMOVE_BG: {"flat": Decimal("0.087318")},
}

# evolink credits. Only mj-v7 is published (providers.md §2.7: 2.7 / 5.4 / 10.8);
# the edits are derived from the reAPI ratios and are the simulator's own.
EVOLINK_CREDITS: dict[str, dict[str, Decimal]] = {
    GENERATE: {"draft": Decimal("2.7"), "fast": Decimal("5.4"), "turbo": Decimal("10.8")},
    **{
        op: {"fast": Decimal("8.1"), "turbo": Decimal("16.2")}
        for op in (VARIATION, REMIX, INPAINT, EDIT, RETEXTURE, UPLOAD_PAINT)
    },
    **{op: {"fast": Decimal("5.4"), "turbo": Decimal("10.8")} for op in (PAN, OUTPAINT)},
    # "creative costs more" than standard; how much is not published.
    UPSCALE: {"standard": Decimal("8.1"), "creative": Decimal("10.8")},
    ENHANCE: {"flat": Decimal("5.4")},
    REMOVE_BG: {"flat": Decimal("5.4")},
}


def price_speed(req: CreateRequest) -> str:
    """The speed that is billed and timed: ops whose speed needs a prompt run at fast without."""
    if req.operation in SPEED_NEEDS_PROMPT and not req.prompt:
        return "fast"
    if req.operation in FLAT_PRICE_OPS:
        return "fast"
    return req.speed


def price(dialect: str, req: CreateRequest, oref: bool) -> Decimal:
    """Price in the dialect's own unit: evolink credits, reAPI credits, Vtrix USD."""
    factor = 2 if oref else 1
    speed = price_speed(req)
    if dialect == "evolink":
        table = EVOLINK_CREDITS[req.operation]
        if req.operation == UPSCALE:
            key = "creative" if req.params.get("type") == "creative" else "standard"
            return table[key] * factor
        return table.get(speed, table.get("flat", Decimal(0))) * factor
    rates = USD_RATES[req.operation]
    usd = rates.get(speed, rates.get("flat", Decimal(0))) * factor
    if dialect == "reapi":
        # reAPI: credits = ceil(request_price_usd x 1000), integer credits.
        return (usd * 1000).to_integral_value(rounding=ROUND_CEILING)
    return usd


# ---------------------------------------------------------------------------
# Output geometry


def size_for_aspect(aspect: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = aspect
    if w >= h:
        return long_side, max(16, round(long_side * h / w))
    return max(16, round(long_side * w / h)), long_side


def cap_size(width: int, height: int, limit: int = MAX_CANVAS) -> tuple[int, int]:
    """Scale down proportionally so neither side exceeds ``limit``."""
    longest = max(width, height)
    if longest <= limit:
        return width, height
    ratio = limit / longest
    return max(1, math.floor(width * ratio)), max(1, math.floor(height * ratio))
