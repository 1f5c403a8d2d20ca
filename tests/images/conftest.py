"""Jobs with stored images, made directly in the database (no upstream needed),
for the image page's tests."""

from __future__ import annotations

import io
import itertools
from html.parser import HTMLParser

import pytest
from PIL import Image as PILImage

from gallery import images, ledger
from gallery.models import Image, Job, Membership

_TASKS = itertools.count(1)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png(width: int = 96, height: int = 64, colour: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def make_job(
    user,
    team,
    *,
    operation: str = "mj-v7",
    provider: str = "evolink",
    speed: str = "fast",
    prompt: str = "a lighthouse at dusk --ar 3:2",
    parent: Image | None = None,
    params: dict | None = None,
    source_urls: list[str] | None = None,
    count: int = 4,
    status: str = Job.Status.COMPLETED,
    private: bool = False,
) -> Job:
    """A finished job with `count` stored images, each a different colour."""
    job = Job.objects.create(
        team=team,
        user=user,
        provider=provider,
        operation=operation,
        speed=speed,
        prompt=prompt,
        prompt_raw=prompt,
        parent=parent,
        params=params or {},
        source_urls=source_urls or [],
        status=status,
        upstream_id=f"task-unified-{next(_TASKS)}",
        credits_reserved=79,
        credits_charged=79 if status == Job.Status.COMPLETED else None,
        private=private,
    )
    serial = next(_TASKS)  # a colour of its own, so no two jobs store the same file
    for index in range(count):
        stored = images.store(png(colour=(60 * index, serial % 256, serial // 256 % 256)))
        Image.objects.create(
            job=job,
            index=index,
            status=Image.Status.STORED,
            upstream_url=f"https://cdn.example.com/{job.pk}/{index}.png",
            original=stored.original,
            thumbnail=stored.thumbnail,
            width=stored.width,
            height=stored.height,
            bytes=stored.bytes,
            sha256=stored.sha256,
        )
    return job


def fund(user, team, amount: int = 5000) -> None:
    account = ledger.account_for(Membership.objects.get(user=user, team=team))
    ledger.grant(account=account, amount=amount, by=user, reason="test")


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
