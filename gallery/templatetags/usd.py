"""`{{ amount|usd }}`: a Decimal of dollars for people, to a tenth of a cent,
the sign before the dollar: -0.08 → "-$0.080". The reconciliation's sums are
fractions of a cent per task, so cents alone would hide them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def usd(amount: Decimal | None) -> str:
    if amount is None:
        return "unknown"
    value = Decimal(amount).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    return f"-${-value:,}" if value < 0 else f"${value:,}"
