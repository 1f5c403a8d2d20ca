"""The image page's tests: their media folder, and a reader for what a page
shows (the jobs and images themselves come from tests/factories.py)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class Page(HTMLParser):
    """The buttons of a page and the text of every element with an id, to check
    what a person sees and what a screen reader announces."""

    VOID = frozenset(
        ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source")
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        # (attributes, accessible name, all text) of each button
        self.buttons: list[tuple[dict[str, str], str, str]] = []
        self.by_id: dict[str, str] = {}
        self._open: list[tuple[str, dict[str, str], list[str], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in self.VOID:
            self._open.append((tag, {k: v or "" for k, v in attrs}, [], []))

    def handle_endtag(self, tag) -> None:
        while self._open:
            name, attrs, text, named = self._open.pop()
            if self._open:
                self._open[-1][2].extend(text)
                if attrs.get("aria-hidden") != "true":
                    self._open[-1][3].extend(named)
            if name == "button":
                label = attrs.get("aria-label") or " ".join("".join(named).split())
                self.buttons.append((attrs, label, " ".join("".join(text).split())))
            if "id" in attrs:
                self.by_id[attrs["id"]] = " ".join("".join(text).split())
            if name == tag:
                return

    def handle_data(self, data) -> None:
        if self._open:
            self._open[-1][2].append(data)
            self._open[-1][3].append(data)

    def button(self, name: str) -> tuple[dict[str, str], str] | None:
        """(attributes, all text) of the button whose accessible name is `name`."""
        for attrs, label, text in self.buttons:
            if label == name:
                return attrs, text
        return None

    def described(self, attrs: dict[str, str]) -> str:
        """What a screen reader reads after the button's name (its price or reason)."""
        ids = attrs.get("aria-describedby", "").split()
        return " ".join(self.by_id.get(i, "") for i in ids)
