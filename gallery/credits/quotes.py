"""What a request would cost and what is wrong with it, before anything is sent.

Joins the pure catalog and price functions with the admin-edited price table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

from gallery.catalog import operations, permutations, pricing
from gallery.catalog.prompt import Issue
from gallery.credits.models.prices import Price


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


def preview(
    request: operations.Request,
    parent: operations.ParentFacts | None = None,
    *,
    prices: Mapping[pricing.PriceKey, pricing.PriceFigure] | None = None,
) -> Preview:
    """`prices`: the price table, when the caller already read it (a batch reads it once)."""
    issues = operations.validate(request, parent, trusted_url_prefixes=trusted_prefixes())
    errors = tuple(i for i in issues if i.severity == "error")
    warnings = tuple(i for i in issues if i.severity == "warning")
    try:
        quote = pricing.quote(request, Price.objects.as_mapping() if prices is None else prices)
    except (pricing.PriceNotFound, KeyError, ValueError):
        return Preview(errors, warnings, None, "No price is set for this operation yet.")
    return Preview(errors, warnings, quote)


@dataclass(frozen=True)
class BatchPreview:
    """What a prompt with permutations or --repeat would make and cost: the
    request of each job, and their quotes when every one of them passes. A
    prompt without that syntax is a batch of one and reads like its Preview."""

    requests: tuple[operations.Request, ...]
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    quotes: tuple[pricing.Quote, ...]
    price_problem: str = ""

    @property
    def jobs(self) -> int:
        return len(self.requests)

    @property
    def batch(self) -> bool:
        return self.jobs > 1

    @property
    def credits(self) -> int:
        return sum(q.credits for q in self.quotes)

    @property
    def estimate(self) -> bool:
        return any(q.estimate for q in self.quotes)

    @property
    def quote(self) -> pricing.Quote | None:
        """The one job's quote; a batch has its total instead (`credits`)."""
        return self.quotes[0] if len(self.quotes) == 1 and not self.batch else None

    @property
    def ok(self) -> bool:
        return not self.errors and len(self.quotes) == self.jobs > 0


def preview_batch(
    request: operations.Request, parent: operations.ParentFacts | None = None
) -> BatchPreview:
    """Expand the request's prompt (gallery.catalog.permutations) and preview each job.
    The first combination with errors refuses the batch, its errors naming it."""
    try:
        expansion = permutations.expand(request.prompt, cap=settings.MJWEB_BATCH_CAP)
    except permutations.BatchError as problem:
        return BatchPreview((), (problem.issue,), (), ())
    requests = tuple(dataclasses.replace(request, prompt=p) for p in expansion.prompts)
    prices = Price.objects.as_mapping()
    checks = [preview(r, parent, prices=prices) for r in requests]
    warnings = tuple({w.message: w for c in checks for w in c.warnings}.values())
    for number, (one, check) in enumerate(zip(requests, checks, strict=True), start=1):
        if check.errors and expansion.uses_syntax:
            where = f'Job {number} of {len(requests)} ("{_short(one.prompt)}")'
            errors = tuple(
                dataclasses.replace(e, message=f"{where}: {e.message}") for e in check.errors
            )
            return BatchPreview(requests, errors, warnings, ())
    problem = next((c.price_problem for c in checks if c.quote is None), "")
    quotes = () if problem else tuple(c.quote for c in checks)
    errors = checks[0].errors if len(checks) == 1 else ()
    return BatchPreview(requests, errors, warnings, quotes, problem)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
