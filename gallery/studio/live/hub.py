"""STAND-IN, replaced by the hub of issue 18 piece P3 (a merge conflict here is expected:
keep P3's file). It only holds a stream open so the ASGI dispatcher (mjweb/asgi.py) can be
served and tested: a `: hb` comment every 15 s until the client goes or `stop()` is called;
no events, no subscriptions.

The interface is the frozen one: `await hold(token, send, receive)` on the event loop after
the stream view's response, `stop()` (sync, thread-safe) ends every held stream with `bye`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

HEARTBEAT_SECONDS = 15.0

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_held: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_lock = threading.Lock()


async def hold(token: str, send: Send, receive: Receive) -> None:
    """Keep the stream `token` open: heartbeats until the client disconnects or stop()."""
    stopping = asyncio.Event()
    entry = (asyncio.get_running_loop(), stopping)
    with _lock:
        _held.add(entry)
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        while not gone.done():
            stopped = asyncio.ensure_future(stopping.wait())
            await asyncio.wait(
                {gone, stopped}, timeout=HEARTBEAT_SECONDS, return_when="FIRST_COMPLETED"
            )
            stopped.cancel()
            if gone.done():
                return
            if stopping.is_set():
                await send({"type": "http.response.body", "body": b"event: bye\ndata:\n\n"})
                return
            await send({"type": "http.response.body", "body": b": hb\n\n", "more_body": True})
    finally:
        with _lock:
            _held.discard(entry)
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone


def stop() -> None:
    """End every held stream with `bye` (the web process is stopping)."""
    with _lock:
        entries = list(_held)
    for loop, stopping in entries:
        with contextlib.suppress(RuntimeError):  # its loop has closed: nothing to end
            loop.call_soon_threadsafe(stopping.set)


async def _disconnected(receive: Receive) -> None:
    # The first message may be the (empty) request body the view never read.
    while (await receive())["type"] != "http.disconnect":
        pass
