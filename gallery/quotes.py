"""What a request would cost and what is wrong with it, before anything is sent.

Joins the pure catalog and price functions with the admin-edited price table.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from gallery import operations, pricing
from gallery.models import Price
from gallery.prompt import Issue


@dataclass(frozen=True)
class Preview:
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    quote: pricing.Quote | None
    price_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and self.quote is not None


def trusted_prefixes() -> tuple[str, ...]:
    """This site's own public URLs (signed references), which pass the address check."""
    return (settings.MJWEB_PUBLIC_URL + "/",)


def preview(request: operations.Request, parent: operations.ParentFacts | None = None) -> Preview:
    issues = operations.validate(request, parent, trusted_url_prefixes=trusted_prefixes())
    errors = tuple(i for i in issues if i.severity == "error")
    warnings = tuple(i for i in issues if i.severity == "warning")
    try:
        quote = pricing.quote(request, Price.objects.as_mapping())
    except (pricing.PriceNotFound, KeyError, ValueError):
        return Preview(errors, warnings, None, "No price is set for this operation yet.")
    return Preview(errors, warnings, quote)
