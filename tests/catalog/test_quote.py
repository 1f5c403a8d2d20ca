"""Prices and quotes (gallery.catalog.pricing): every price rule."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from gallery.catalog.operations import OPERATIONS, PROVIDERS, Request, supports
from gallery.catalog.pricing import (
    FLAT,
    PRICES,
    PriceFigure,
    PriceNotFound,
    credits_for,
    price_figures,
    price_key,
    quote,
)

OREF = "--oref https://example.com/face.png"


def req(operation: str = "mj-v7", provider: str = "reapi", **fields: Any) -> Request:
    if OPERATIONS[operation].prompt == "required":
        fields.setdefault("prompt", "a cat")
    return Request(operation=operation, provider=provider, **fields)


def variants(operation: str) -> tuple[str, ...]:
    op = OPERATIONS[operation]
    if op.speeds:
        return op.speeds
    if operation == "mj-v7-upscale":
        return ("standard", "creative")
    return (FLAT,)


# --- the table -------------------------------------------------------------------


def test_every_supported_operation_has_a_price_for_every_variant() -> None:
    expected = {
        (provider, op, variant)
        for op in OPERATIONS
        for provider in PROVIDERS
        if supports(provider, op)
        for variant in variants(op)
    }
    assert set(PRICES) == expected


def test_prices_are_decimals_never_floats() -> None:
    for figure in price_figures():
        assert type(figure.usd) is Decimal
        assert figure.usd > 0


@pytest.mark.parametrize(
    ("key", "usd"),
    [
        (("evolink", "mj-v7", "draft"), "0.040"),
        (("evolink", "mj-v7", "fast"), "0.079"),
        (("evolink", "mj-v7", "turbo"), "0.159"),
        (("reapi", "mj-v7", "draft"), "0.043659"),
        (("reapi", "mj-v7", "fast"), "0.087318"),
        (("reapi", "mj-v7", "turbo"), "0.174636"),
        (("reapi", "mj-v7-variation", "fast"), "0.130977"),
        (("reapi", "mj-v7-remix", "turbo"), "0.261954"),
        (("reapi", "mj-v7-pan", "fast"), "0.087318"),
        (("reapi", "mj-v7-outpaint", "turbo"), "0.174636"),
        (("reapi", "mj-v7-upscale", "standard"), "0.130977"),
        (("reapi", "mj-v7-enhance", FLAT), "0.087318"),
        (("reapi", "mj-v7-remove-bg", FLAT), "0.087318"),
    ],
)
def test_published_figures_are_the_documented_ones(key: tuple[str, str, str], usd: str) -> None:
    figure = PRICES[key]
    assert figure.usd == Decimal(usd)
    assert figure.status == "published"
    assert "providers.md §" in figure.source


def test_figures_nobody_publishes_are_marked_as_estimates() -> None:
    for figure in price_figures():
        if figure.provider == "vtrix":
            assert figure.status == "estimate"
        if figure.provider == "evolink" and figure.operation != "mj-v7":
            assert figure.status == "estimate"
    assert PRICES["reapi", "mj-v7-upscale", "creative"].status == "estimate"
    assert all(f.source.startswith("estimate") for f in price_figures() if f.status == "estimate")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_creative_upscale_costs_more_than_standard(provider: str) -> None:
    standard = PRICES[provider, "mj-v7-upscale", "standard"].usd
    creative = PRICES[provider, "mj-v7-upscale", "creative"].usd
    assert creative > standard
    assert (
        quote(req("mj-v7-upscale", provider, params={"type": "creative"})).credits
        > quote(req("mj-v7-upscale", provider)).credits
    )


@pytest.mark.parametrize(
    ("provider", "operation"),
    [(p, op) for op in OPERATIONS for p in PROVIDERS if supports(p, op) and OPERATIONS[op].speeds],
)
def test_turbo_costs_more_than_fast_and_fast_more_than_draft(provider: str, operation: str) -> None:
    fast = PRICES[provider, operation, "fast"].usd
    assert PRICES[provider, operation, "turbo"].usd > fast
    if "draft" in OPERATIONS[operation].speeds:
        assert PRICES[provider, operation, "draft"].usd < fast


# --- credits -------------------------------------------------------------------


@pytest.mark.parametrize("figure", price_figures(), ids=lambda f: "/".join(f.key))
def test_credits_are_the_usd_price_times_1000_rounded_up(figure: PriceFigure) -> None:
    assert credits_for(figure.usd) == math.ceil(figure.usd * 1000)
    assert credits_for(figure.usd) >= figure.usd * 1000


@pytest.mark.parametrize(
    ("usd", "credits"),
    [("0.087318", 88), ("0.079", 79), ("0.0790001", 80), ("0", 0), ("0.001", 1), ("1", 1000)],
)
def test_credits_round_up_exactly(usd: str, credits: int) -> None:
    assert credits_for(Decimal(usd)) == credits


def test_the_ui_example_is_reproduced_exactly() -> None:
    q = quote(req(prompt=f"a cat {OREF}"))
    assert q.credits == 175
    assert q.label == "fast · ×2 for --oref · 175 credits"


def test_oref_doubles_the_price_before_rounding() -> None:
    plain = quote(req())
    doubled = quote(req(prompt=f"a cat {OREF}"))
    assert plain.credits == 88
    assert doubled.multiplier == 2
    assert doubled.usd == plain.usd * 2
    assert doubled.credits == math.ceil(plain.usd * 2 * 1000) == 175  # not 2 * 88


@pytest.mark.parametrize("operation", ["mj-v7-remix", "mj-v7-edit", "mj-v7-retexture"])
def test_oref_doubles_edit_prices_too(operation: str) -> None:
    plain = quote(req(operation, provider="evolink"))
    doubled = quote(req(operation, provider="evolink", prompt=f"a cat {OREF}"))
    assert doubled.usd == 2 * plain.usd
    assert "×2 for --oref" in doubled.breakdown


def test_oref_is_found_in_a_prompt_that_has_other_errors() -> None:
    assert quote(req(prompt=f"a cat {OREF} --s 99999")).multiplier == 2


def test_ow_alone_does_not_double() -> None:
    assert quote(req(prompt="a cat --ow 300")).multiplier == 1


# --- variants and breakdown ----------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "variant", "label"),
    [
        (req(speed="draft"), "draft", "draft · 44 credits"),
        (req(speed="turbo"), "turbo", "turbo · 175 credits"),
        (req(provider="evolink"), "fast", "fast · 79 credits"),
        (req(provider="evolink", speed="draft"), "draft", "draft · 40 credits"),
        (req(provider="evolink", speed="turbo"), "turbo", "turbo · 159 credits"),
        (req("mj-v7-upscale"), "standard", "standard · 131 credits"),
        (req("mj-v7-upscale", params={"type": "creative"}), "creative", "creative · 175 credits"),
        (req("mj-v7-enhance"), FLAT, "88 credits"),
        (req("mj-v7-remove-bg"), FLAT, "88 credits"),
        (req("mj-v7-remix", speed="turbo"), "turbo", "turbo · 262 credits"),
        (req("mj-v7-pan"), "fast", "fast · 88 credits"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_breakdown_names_the_variant_and_the_credits(
    request_: Request, variant: str, label: str
) -> None:
    q = quote(request_)
    assert q.variant == variant
    assert q.label == label


def test_a_speed_that_only_applies_with_a_prompt_is_priced_at_fast_without_one() -> None:
    assert price_key(req("mj-v7-variation", speed="turbo")) == (
        "reapi",
        "mj-v7-variation",
        "fast",
    )
    with_prompt = req("mj-v7-variation", speed="turbo", prompt="moody")
    assert quote(with_prompt).variant == "turbo"


def test_an_estimate_is_flagged_on_the_quote() -> None:
    assert quote(req(provider="vtrix")).estimate is True
    assert quote(req(provider="reapi")).estimate is False


# --- overrides from the admin table --------------------------------------------


def admin_price(key: tuple[str, str, str], usd, status: str = "admin") -> dict:
    return {key: PriceFigure(*key, usd=usd, status=status, source="the admin")}


def test_an_admin_price_overrides_the_default() -> None:
    prices = admin_price(("reapi", "mj-v7", "fast"), Decimal("0.1"))
    q = quote(req(), prices)
    assert q.unit_usd == Decimal("0.1")
    assert q.credits == 100
    assert q.estimate is False
    assert quote(req(prompt=f"a cat {OREF}"), prices).credits == 200


def test_a_key_missing_from_the_admin_table_falls_back_to_the_default() -> None:
    prices = admin_price(("reapi", "mj-v7", "turbo"), Decimal("1"))
    assert quote(req(), prices).credits == 88


def test_an_overridden_estimate_is_no_longer_an_estimate() -> None:
    prices = admin_price(("vtrix", "mj-v7", "fast"), Decimal("0.05"))
    assert quote(req(provider="vtrix"), prices).estimate is False


def test_a_table_row_that_is_an_estimate_still_quotes_as_one() -> None:
    prices = admin_price(("reapi", "mj-v7", "fast"), Decimal("0.1"), status="estimate")
    assert quote(req(), prices).estimate is True


def test_a_float_price_is_refused() -> None:
    with pytest.raises(TypeError):
        quote(req(), admin_price(("reapi", "mj-v7", "fast"), 0.1))


def test_a_negative_price_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        quote(req(), admin_price(("reapi", "mj-v7", "fast"), Decimal("-0.1")))


def test_a_one_credit_price_reads_singular() -> None:
    q = quote(req("mj-v7-enhance"), admin_price(("reapi", "mj-v7-enhance", FLAT), Decimal("0.001")))
    assert q.label == "1 credit"


def test_a_free_operation_costs_zero_credits() -> None:
    assert quote(req(), admin_price(("reapi", "mj-v7", "fast"), Decimal(0))).credits == 0


# --- no price, no request --------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        req("mj-v7-pan", provider="vtrix"),
        req("mj-v7-remove-bg", provider="vtrix"),
        Request(operation="mj-v7", provider="piapi", prompt="a cat"),
        Request(operation="mj-v7-variation", provider="reapi", speed="draft", prompt="x"),
    ],
    ids=["vtrix pan", "vtrix remove-bg", "unknown provider", "draft variation"],
)
def test_a_request_without_a_price_raises(request_: Request) -> None:
    with pytest.raises(PriceNotFound):
        quote(request_)


def test_an_unknown_operation_has_no_price() -> None:
    with pytest.raises(PriceNotFound):
        quote(Request(operation="mj-v6", provider="reapi", prompt="a cat"))
