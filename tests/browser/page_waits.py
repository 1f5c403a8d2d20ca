"""Waiting for a condition in a page that runs under the site's CSP.

Playwright's `page.wait_for_function` compiles a string predicate with `eval`
inside the page when its first check is false, and the site's
Content-Security-Policy (no 'unsafe-eval') refuses that: the wait then fails
only when the page is slow. `page.evaluate` goes through the DevTools protocol,
which the CSP does not govern, so this polls with it instead.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page


def wait_until(page: Page, expression: str, arg: Any = None, timeout_ms: int = 15_000) -> None:
    """Until the JavaScript `expression` (or function of `arg`) is truthy in the page."""
    for _ in range(max(1, timeout_ms // 50)):
        if page.evaluate(expression, arg):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout_ms} ms: {expression}")
