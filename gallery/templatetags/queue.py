"""Waiting and running jobs in people's words, for cards and the team's queue.

{{ job.queue_position|in_line }}   "next in line", "2nd in line", "11th in line"
{{ job.time_left|time_left }}      "about 40 s left", "about 2 min left", "almost done"
"""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@register.filter
def in_line(position: int | None) -> str:
    if position is None:
        return ""
    return "next in line" if position == 1 else f"{ordinal(position)} in line"


@register.filter
def time_left(seconds: int | None) -> str:
    """From the provider's estimate; "" when there is none (reAPI gives none)."""
    if seconds is None or seconds == "":
        return ""
    if seconds <= 0:
        return "almost done"
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {-(-seconds // 60)} min left"


@register.filter
def waited(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"for {seconds} s"
    if seconds < 3600:
        return f"for {seconds // 60} min"
    return f"for {seconds // 3600} h"
