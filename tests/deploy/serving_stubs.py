"""Stand-ins for the serving tests (not test files): a fake live hub, and a URL
that answers like the live stream view does (a body, then the private header that
hands the connection to the hub), so the dispatcher and the worker are tested
without the real hub or its views. tests/deploy/serving_settings.py points a
served site at them; in-process tests set settings.MJWEB_LIVE_HUB."""

from __future__ import annotations

import asyncio
import secrets

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

held: list[str] = []  # tokens, in the order hold() got them (in-process tests)
_stopping: set[asyncio.Event] = set()


async def hold(token: str, send, receive) -> None:
    """One heartbeat at once (a client knows it is held), then wait for the client
    to go or stop(): the stand-in hub's contract, without its 15 s."""
    held.append(token)
    await send({"type": "http.response.body", "body": b": hb\n\n", "more_body": True})
    stopping = asyncio.Event()
    _stopping.add(stopping)
    try:
        gone = asyncio.ensure_future(_disconnected(receive))
        stopped = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({gone, stopped}, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        stopped.cancel()
        if stopping.is_set():
            await send({"type": "http.response.body", "body": b"event: bye\ndata:\n\n"})
    finally:
        _stopping.discard(stopping)


def stop() -> None:
    # Called on the event loop by the worker's shutdown: no thread hop needed here.
    for event in list(_stopping):
        event.set()


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


@login_not_required
def stream(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        b"retry: 2000\n\n",
        content_type="text/event-stream",
        headers={"X-Mjweb-Stream": secrets.token_hex(8), "Cache-Control": "no-store"},
    )


urlpatterns = [path("test-stream/", stream), path("", include("mjweb.urls"))]
