"""Prices: what each (provider, operation, variant) costs, and the quote for a request.

The figures below are the defaults; the admin-edited `Price` table (seeded
from `price_figures()` by a data migration) is passed to `quote()` as
`prices` and wins over them. Money is `Decimal` throughout, never float.

Credits follow reAPI's published rule (providers.md §3.6, SEED-004): one
credit is $0.001, `credits = ceil(request_price_usd * 1000)`, and the price
is doubled before rounding when the prompt carries --oref. That gives the
UI's example: reAPI mj-v7 fast with --oref = ceil(0.174636 * 1000) = 175.

Quality: evolink's V7 guide lists --q 1, 2, 4 and says only that it "affects
cost" (providers.md §2.6). Midjourney meters quality as GPU time in
proportion to the value (its docs: --q .25 takes a quarter, --q .5 half the
GPU minutes of --q 1), so --q N is priced at N times, before rounding
[INFERRED: no aggregator publishes the factor]. Vtrix publishes nothing and
is priced the same way, erring high. reAPI bills speed and operation only
(`prompt.QUALITY_NOT_BILLED_BY`), so there --q changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from gallery.catalog.operations import OPERATIONS, Request
from gallery.catalog.prompt import QUALITY_NOT_BILLED_BY, mentions_oref, quality_of

CREDITS_PER_USD = 1000
OREF_MULTIPLIER = 2

PriceKey = tuple[str, str, str]  # (provider, operation, variant)
Status = Literal["published", "estimate", "admin"]  # "admin": set in the Price table
# The variant is the speed for operations with one, the upscaler type for
# mj-v7-upscale, and "flat" for operations priced the same every time.
FLAT = "flat"
TIMES = "\u00d7"  # the multiplication sign the UI shows ("×2 for --oref")


@dataclass(frozen=True)
class PriceFigure:
    provider: str
    operation: str
    variant: str
    usd: Decimal  # per request (one grid of up to four images)
    status: Status
    source: str  # where the figure comes from, or how it was estimated

    @property
    def key(self) -> PriceKey:
        return (self.provider, self.operation, self.variant)


# --- the figures ---------------------------------------------------------------

_EVO_PUBLISHED = "providers.md §2.7: EvoLink's own repo, docs/pricing.md (V7 fixed prices)"
_EVO_ESTIMATE = (
    "estimate: evolink publishes no edit prices (providers.md §2.7); evolink's mj-v7 "
    "price at this speed x reAPI's ratio of this operation to mj-v7 (§3.6)"
)
_REAPI_PUBLISHED = "providers.md §3.6: reAPI model page, via a third-party snapshot (late Jul 2026)"
_REAPI_CREATIVE = (
    "estimate: reAPI lists one upscale price (used for standard); creative costs more "
    "(providers.md §2.7), set to 2x reAPI's mj-v7 fast, the next step of its grid"
)
_VTRIX_ESTIMATE = (
    "estimate: Vtrix publishes no Midjourney prices (providers.md §1.2); reAPI's figure "
    "for the same operation, the higher of the two known tables, so budgets err high"
)

# reAPI's table (providers.md §3.6), per operation and variant.
_REAPI: dict[str, dict[str, Decimal]] = {
    "mj-v7": {
        "draft": Decimal("0.043659"),
        "fast": Decimal("0.087318"),
        "turbo": Decimal("0.174636"),
    },
    **{
        op: {"fast": Decimal("0.130977"), "turbo": Decimal("0.261954")}
        for op in (
            "mj-v7-variation",
            "mj-v7-remix",
            "mj-v7-inpaint",
            "mj-v7-edit",
            "mj-v7-retexture",
            "mj-v7-upload-paint",
        )
    },
    **{
        op: {"fast": Decimal("0.087318"), "turbo": Decimal("0.174636")}
        for op in ("mj-v7-pan", "mj-v7-outpaint")
    },
    "mj-v7-upscale": {"standard": Decimal("0.130977"), "creative": Decimal("0.174636")},
    "mj-v7-enhance": {FLAT: Decimal("0.087318")},
    "mj-v7-remove-bg": {FLAT: Decimal("0.087318")},
}
_EVOLINK_MJ_V7 = {"draft": Decimal("0.040"), "fast": Decimal("0.079"), "turbo": Decimal("0.159")}


def _evolink_estimate(operation: str, variant: str) -> Decimal:
    # Flat and upscale variants scale from the fast price, speeds from their own.
    speed = variant if variant in _EVOLINK_MJ_V7 else "fast"
    ratio = _REAPI[operation][variant] / _REAPI["mj-v7"][speed]
    return _EVOLINK_MJ_V7[speed] * ratio


def _build() -> tuple[PriceFigure, ...]:
    figures: list[PriceFigure] = []
    for operation, variants in _REAPI.items():
        for variant, usd in variants.items():
            if operation == "mj-v7":
                evolink = PriceFigure(
                    "evolink", operation, variant, _EVOLINK_MJ_V7[variant], "published",
                    _EVO_PUBLISHED,
                )  # fmt: skip
            else:
                evolink = PriceFigure(
                    "evolink", operation, variant, _evolink_estimate(operation, variant),
                    "estimate", _EVO_ESTIMATE,
                )  # fmt: skip
            figures.append(evolink)
            if operation == "mj-v7-upscale" and variant == "creative":
                figures.append(
                    PriceFigure("reapi", operation, variant, usd, "estimate", _REAPI_CREATIVE)
                )
            else:
                figures.append(
                    PriceFigure("reapi", operation, variant, usd, "published", _REAPI_PUBLISHED)
                )
            if "vtrix" in OPERATIONS[operation].models:
                figures.append(
                    PriceFigure("vtrix", operation, variant, usd, "estimate", _VTRIX_ESTIMATE)
                )
    return tuple(figures)


_FIGURES = _build()
PRICES: Mapping[PriceKey, PriceFigure] = MappingProxyType({f.key: f for f in _FIGURES})


def price_figures() -> tuple[PriceFigure, ...]:
    """Every default figure, for the data migration and the admin."""
    return _FIGURES


# --- quoting ---------------------------------------------------------------------


class PriceNotFound(LookupError):
    """No price for this (provider, operation, variant): the request cannot be
    charged, so it must not be sent."""


def variant_for(request: Request) -> str:
    """The price variant of a request: effective speed, the value of the
    catalog's `price_param` (the upscaler type), or flat."""
    spec = OPERATIONS[request.operation]
    if spec.speeds:
        speed = request.effective_speed()
        assert speed is not None
        return speed
    if spec.price_param is not None:
        return str(request.resolved_params()[spec.price_param])
    return FLAT


def price_key(request: Request) -> PriceKey:
    return (request.provider, request.operation, variant_for(request))


# USD per unit of what each provider reports and bills, to set its bill beside
# what members were charged (our credit is $0.001). evolink's credit is
# inferred from its published V7 prices: $0.079 for 5.4 credits, $0.040 for
# 2.7, $0.159 for 10.8 (providers.md §2.7) [INFERRED]; reAPI's is its rule,
# $0.001 (§3.6); Vtrix bills USD.
UNIT_USD: dict[tuple[str, str], Decimal] = {
    ("evolink", "credits"): Decimal("0.0147"),
    ("reapi", "credits"): Decimal("0.001"),
}


def usd_of(provider: str, amount: Decimal, unit: str) -> Decimal | None:
    """A provider's amount in USD; None for a unit whose rate is unknown."""
    if unit.lower() == "usd":
        return amount
    rate = UNIT_USD.get((provider, unit.lower()))
    return amount * rate if rate is not None else None


def credits_for(usd: Decimal) -> int:
    """Whole credits for a USD amount: ceil(usd * 1000), exact in Decimal."""
    return math.ceil(usd * CREDITS_PER_USD)


@dataclass(frozen=True)
class Quote:
    provider: str
    operation: str
    variant: str
    unit_usd: Decimal  # the table's price
    multiplier: int  # quality × (2 with --oref, else 1)
    usd: Decimal  # unit_usd * multiplier
    credits: int
    estimate: bool  # the default figure is an estimate (False once an admin set it)
    breakdown: tuple[str, ...]  # ("fast", "×2 for --q 2", "×2 for --oref", "316 credits")
    quality: int = 1  # the --q the price was multiplied by (1 where it is not billed)

    @property
    def label(self) -> str:
        """The breakdown joined for the UI: "fast · ×2 for --oref · 175 credits"."""
        return " · ".join(self.breakdown)


def quote(request: Request, prices: Mapping[PriceKey, PriceFigure] | None = None) -> Quote:
    """The cost of `request`. `prices` (the admin-edited table) overrides the
    defaults key by key, each row with its own status (a seeded estimate is
    still an estimate); keys it lacks fall back to the figures above.

    Raises PriceNotFound for an unknown operation or one the provider lacks.
    """
    if request.operation not in OPERATIONS:
        raise PriceNotFound(f"unknown operation {request.operation!r}")
    key = price_key(request)
    figure = (prices or {}).get(key) or PRICES.get(key)
    if figure is None:
        raise PriceNotFound(f"no price for {key}")
    unit, estimate = figure.usd, figure.status == "estimate"
    if not isinstance(unit, Decimal | int) or isinstance(unit, bool):
        raise TypeError(f"price for {key} must be a Decimal, not {type(unit).__name__}")
    unit = Decimal(unit)
    if not unit.is_finite() or unit < 0:
        raise ValueError(f"price for {key} must be a non-negative amount, got {unit}")
    quality = billed_quality(request)
    oref = OREF_MULTIPLIER if mentions_oref(request.prompt) else 1
    multiplier = quality * oref
    usd = unit * multiplier
    credits = credits_for(usd)
    breakdown: list[str] = []
    if key[2] != FLAT:
        breakdown.append(key[2])
    if quality != 1:
        breakdown.append(f"{TIMES}{quality} for --q {quality}")
    if oref != 1:
        breakdown.append(f"{TIMES}{oref} for --oref")
    breakdown.append(f"{credits} credit" if credits == 1 else f"{credits} credits")
    return Quote(
        provider=request.provider,
        operation=request.operation,
        variant=key[2],
        unit_usd=unit,
        multiplier=multiplier,
        usd=usd,
        credits=credits,
        estimate=estimate,
        breakdown=tuple(breakdown),
        quality=quality,
    )


def billed_quality(request: Request) -> int:
    """What the provider multiplies the price by for the prompt's --q (see the
    module docstring): the value itself, or 1 where --q is not billed."""
    if request.provider in QUALITY_NOT_BILLED_BY:
        return 1
    return quality_of(request.prompt)
