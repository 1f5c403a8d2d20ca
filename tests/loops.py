"""Running an asyncio loop from a test when the main thread already runs one.

The browser tests' Playwright (sync API) leaves an event loop running in the
main thread for the whole session, and asyncio refuses to start a second loop
in a thread that runs one. Whatever a test drives on its own loop therefore
runs in a short-lived thread of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_elsewhere(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a new thread; its result, or its exception raised here."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args)
        except BaseException as problem:  # re-raised in the caller's thread
            outcome["error"] = problem

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
