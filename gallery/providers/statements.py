"""The providers' account statements: what each says it billed, task by task.

None of the three aggregators documents a statement endpoint (providers.md:
evolink's `usage.credits_reserved`, Vtrix's `usage.cost` and reAPI's nothing
are per task only), so a statement is read only where one is configured:
`settings.PROVIDERS[p]["statement_url"]`, which `make run` and docker-compose
point at the simulator's `GET /_sim/statement` (simulator/README.md). Its JSON
is the one shape read here; a provider that ever publishes one gets its own
translator beside `parse`. Without one, `fetch` returns None and the
reconciliation says what it could not see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from gallery.providers.base import decimal, text
from gallery.providers.errors import Kind, ProviderError


@dataclass(frozen=True)
class Line:
    """One task on a provider's statement, in the provider's unit."""

    task_id: str
    operation: str
    status: str  # running | completed | failed, as the provider has it
    created_at: datetime
    finished_at: datetime | None
    charged: Decimal
    refunded: Decimal
    images: int = 0

    @property
    def net(self) -> Decimal:
        return self.charged - self.refunded


@dataclass(frozen=True)
class Statement:
    provider: str
    month: str  # YYYY-MM, UTC
    unit: str  # "credits" | "usd"
    lines: tuple[Line, ...]

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal(0))


def fetch(provider: str, month: str) -> Statement | None:
    """The provider's statement for `month`, or None when none is configured."""
    from django.conf import settings

    from gallery.providers.http import make_client

    conf = settings.PROVIDERS.get(provider) or {}
    url = conf.get("statement_url") or ""
    if not url:
        return None
    with make_client(url, conf.get("api_key") or "none") as client:
        try:
            # The account is the bearer key's, as for any other call to the provider.
            response = client.get("", params={"dialect": provider, "month": month})
        except httpx.HTTPError as exc:
            raise ProviderError(
                Kind.UNAVAILABLE, f"The statement could not be read: {exc}", provider=provider
            ) from None
    if not response.is_success:
        raise ProviderError(
            Kind.UNAVAILABLE,
            f"The statement answered HTTP {response.status_code}",
            http_status=response.status_code,
            provider=provider,
        )
    return parse(provider, month, response.json())


def parse(provider: str, month: str, data: Any) -> Statement:
    """The simulator's statement JSON as a Statement; unreadable rows are an error,
    never skipped: a statement that silently loses a line reconciles wrongly."""
    block = data.get("dialects", {}).get(provider) if isinstance(data, Mapping) else None
    if not isinstance(block, Mapping) or not isinstance(block.get("tasks"), list):
        raise ProviderError(
            Kind.UNAVAILABLE, f"The statement has no {provider} section", provider=provider
        )
    return Statement(
        provider=provider,
        month=month,
        unit=str(block.get("unit", "")).lower(),  # as Job.provider_cost_unit: credits | usd
        lines=tuple(_line(provider, row) for row in block["tasks"]),
    )


def _line(provider: str, row: Any) -> Line:
    task_id = text(row.get("task_id")) if isinstance(row, Mapping) else None
    charged = decimal(row.get("charged")) if task_id else None
    refunded = decimal(row.get("refunded")) if task_id else None
    created = _when(row.get("created_at")) if task_id else None
    if task_id is None or charged is None or refunded is None or created is None:
        raise ProviderError(
            Kind.UNAVAILABLE, f"Unreadable statement line: {row!r:.200}", provider=provider
        )
    images = row.get("images")
    return Line(
        task_id=task_id,
        operation=text(row.get("operation")) or "",
        status=text(row.get("status")) or "",
        created_at=created,
        finished_at=_when(row.get("finished_at")),
        charged=charged,
        refunded=refunded,
        images=images if isinstance(images, int) and not isinstance(images, bool) else 0,
    )


def _when(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)
