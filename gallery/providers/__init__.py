"""Provider adapters: one module per aggregator behind one interface (see `base`).

    adapter = get_adapter("evolink")           # client built from settings.PROVIDERS
    accepted = adapter.submit(request)         # a gallery.catalog.operations.Request
    snapshot = adapter.fetch(accepted.upstream_id)

Adapter modules are imported on first use, as healthchecks' TRANSPORTS are.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from gallery.catalog.operations import PROVIDERS
from gallery.providers.base import (
    Accepted,
    Adapter,
    Cost,
    Kind,
    ProviderError,
    Snapshot,
    Status,
    TaskError,
)

if TYPE_CHECKING:
    import httpx

ADAPTERS: dict[str, str] = {
    "evolink": "gallery.providers.evolink.EvolinkAdapter",
    "reapi": "gallery.providers.reapi.ReapiAdapter",
    "vtrix": "gallery.providers.vtrix.VtrixAdapter",
}


def adapter_class(provider: str) -> type[Adapter]:
    try:
        dotted = ADAPTERS[provider]
    except KeyError:
        raise ValueError(
            f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}"
        ) from None
    module, _, name = dotted.rpartition(".")
    cls: type[Adapter] = getattr(import_module(module), name)
    return cls


def get_adapter(provider: str, client: httpx.Client | None = None) -> Adapter:
    """The adapter for `provider`, on `client` or on a new client from settings.

    Build one per worker process, not at import: worker processes are forked
    (reliability-performance.md §4.3).
    """
    cls = adapter_class(provider)
    if client is None:
        from gallery.providers.http import client_for

        client = client_for(provider)
    return cls(client)


__all__ = [
    "ADAPTERS",
    "PROVIDERS",
    "Accepted",
    "Adapter",
    "Cost",
    "Kind",
    "ProviderError",
    "Snapshot",
    "Status",
    "TaskError",
    "adapter_class",
    "get_adapter",
]
