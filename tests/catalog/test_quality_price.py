"""--q 2 and --q 4 cost what the provider bills for them (issue 23, item 11).

evolink says --q "affects cost" and Midjourney meters quality as GPU time in
proportion to the value, so there --q N is N times the price (Vtrix, whose
prices are estimates, is priced the same way). reAPI's billing rule is speed
and operation only (×2 for --oref), with no --q in its parameter table: it
charges every quality the same, and the linter says --q may do nothing there.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from gallery.catalog.operations import OPERATIONS, Request, validate
from gallery.catalog.pricing import PRICES, quote
from gallery.catalog.prompt import Code, quality_of

OREF = "--oref https://example.com/face.png"


def req(provider: str = "evolink", operation: str = "mj-v7", **fields: Any) -> Request:
    if OPERATIONS[operation].prompt == "required":
        fields.setdefault("prompt", "a cat")
    return Request(operation=operation, provider=provider, **fields)


@pytest.mark.parametrize(("flag", "factor"), [("--q 2", 2), ("--quality 4", 4), ("--q 1", 1)])
def test_quality_multiplies_evolinks_price_before_rounding(flag: str, factor: int) -> None:
    unit = PRICES[("evolink", "mj-v7", "fast")].usd  # $0.079
    q = quote(req(prompt=f"a cat {flag}"))
    assert q.usd == unit * factor
    assert q.credits == math.ceil(unit * factor * 1000)
    assert q.multiplier == factor


def test_the_breakdown_says_what_quality_costs() -> None:
    assert quote(req(prompt="a cat --q 2")).label == "fast · ×2 for --q 2 · 158 credits"
    assert quote(req(prompt="a cat --q 4", speed="turbo")).label == (
        "turbo · ×4 for --q 4 · 636 credits"
    )
    assert quote(req(prompt="a cat --q 1")).label == "fast · 79 credits"


def test_quality_and_oref_multiply_together() -> None:
    q = quote(req(prompt=f"a cat --q 2 {OREF}"))
    assert q.multiplier == 4
    assert q.usd == Decimal("0.079") * 4
    assert q.breakdown == ("fast", "×2 for --q 2", "×2 for --oref", "316 credits")


@pytest.mark.parametrize("operation", ["mj-v7-remix", "mj-v7-variation", "mj-v7-edit"])
def test_quality_raises_edit_prices_that_carry_a_prompt(operation: str) -> None:
    plain = quote(req(operation=operation, prompt="moody"))
    better = quote(req(operation=operation, prompt="moody --q 4"))
    assert better.usd == 4 * plain.usd


def test_vtrix_estimates_are_raised_by_quality_too() -> None:
    assert quote(req("vtrix", prompt="a cat --q 2")).usd == 2 * quote(req("vtrix")).usd


def test_reapi_bills_every_quality_the_same() -> None:
    plain = quote(req("reapi"))
    for flag in ("--q 2", "--q 4"):
        q = quote(req("reapi", prompt=f"a cat {flag}"))
        assert (q.credits, q.multiplier) == (plain.credits, 1) == (88, 1)


def test_the_quality_is_found_in_a_prompt_that_has_other_errors() -> None:
    assert quote(req(prompt="a cat --q 2 --s 99999")).multiplier == 2
    assert quality_of("a cat --QUALITY 04") == 4
    assert quality_of("a cat --q 3") == 1  # not a quality: refused by the linter anyway
    assert quality_of("a cat --q") == 1
    assert quality_of("a cat --q 2 --q 4") == 4  # a duplicate is refused; never under-quote


def test_the_linter_says_reapi_may_ignore_quality() -> None:
    issues = validate(req("reapi", prompt="a cat --q 2"))
    assert [(i.code, i.param, i.severity) for i in issues] == [
        (Code.PARAM_IGNORED, "--q", "warning")
    ]
    assert "reAPI does not document --q" in issues[0].message
    assert "--q 2 may have no effect" in issues[0].message


@pytest.mark.parametrize("prompt", ["a cat --q 1", "a cat"])
def test_the_linter_is_quiet_about_the_default_quality_on_reapi(prompt: str) -> None:
    assert validate(req("reapi", prompt=prompt)) == []


@pytest.mark.parametrize("provider", ["evolink", "vtrix"])
def test_the_linter_is_quiet_about_quality_where_it_is_billed(provider: str) -> None:
    assert validate(req(provider, prompt="a cat --q 4")) == []
