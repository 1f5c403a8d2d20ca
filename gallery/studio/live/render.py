"""What a page's stream (or its poll) sends after a cursor: the team's events since
then, turned into the out-of-band fragments the page swaps in.

Visibility is decided here, when sending, from the rows as they are now: a job's
card comes only from `team_jobs(membership)` (= Job.objects.visible_in), an event
addressed to one member (`user_id`) only to that member, and the events read are
the stream's own team's. The fragments are the partials the page draws itself
with, so a card looks the same however it arrived.

One call renders a batch of events at once: each touched job is drawn once, in
its current state, with one query per kind of thing (jobs, their images, the
filter, the balance), however many events touched it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

from gallery.credits import ledger
from gallery.studio.models.jobs import Job
from gallery.studio.models.live import LiveEvent, LiveSeq
from gallery.studio.views import images as image_views
from gallery.studio.views.jobs import (
    apply_filters,
    card_images,
    filter_query,
    job_for_page,
    job_page_context,
    team_jobs,
)
from gallery.teams.models.teams import Membership

MAX_BEHIND = 1000  # events; further behind, the page reloads its content (`reset`)
PAGE_RULE = 'page must be "gallery", "job:<job number>" or "image:<image number>"'
Kind = LiveEvent.Kind
# Events that change what a job's card shows; `log` is the job page's alone.
CARD_KINDS = {
    Kind.CREATED, Kind.STATUS, Kind.PROGRESS, Kind.IMAGES, Kind.QUEUE,
    Kind.DELETED, Kind.RESTORED, Kind.HIDDEN, Kind.SHOWN,
}  # fmt: skip
# Events about one member's own view, sent to nobody else.
OWN_KINDS = {Kind.STARRED, Kind.BALANCE, Kind.MEMBER_REMOVED, Kind.SESSION_ENDED}


@dataclass(frozen=True)
class Page:
    """Which page a stream feeds: the gallery, or one job's or image's page."""

    kind: str  # "gallery" | "job" | "image"
    pk: int | None = None

    @classmethod
    def parse(cls, raw: str) -> Page:
        """The page a `page=` parameter names; ValueError (naming the rule) otherwise."""
        if raw == "gallery":
            return cls("gallery")
        kind, colon, number = raw.partition(":")
        digits = colon and number.isascii() and number.isdigit()
        if kind in ("job", "image") and digits and 0 < int(number) < 2**63:
            return cls(kind, int(number))
        raise ValueError(f"The {PAGE_RULE}.")


@dataclass(frozen=True)
class Message:
    """One server-sent event: `live` (OOB HTML) or `reset`, numbered by the
    newest team seq it covers."""

    event: str
    seq: int
    data: str


@dataclass
class View:
    """Who is looking at what: fixed when the stream opens (its team with it)."""

    membership: Membership
    page: Page
    filters: dict[str, str]
    csrf_token: str = ""
    newest_only: bool = True  # False for a gallery page scrolled to older jobs: no prepends
    origin: tuple[str, str] = ("https", "")  # scheme and host, for the share links drawn


class _Origin:
    """What the templates read of a request (share links' scheme and host) when
    a fragment is drawn away from one, on the hub's thread."""

    def __init__(self, scheme: str, host: str) -> None:
        self.scheme, self._host = scheme, host

    def get_host(self) -> str:
        return self._host


def newest_seq(team_id: int) -> int:
    return LiveSeq.newest(team_id)


def events_after(team_id: int, after: int, limit: int = MAX_BEHIND) -> list[LiveEvent]:
    return list(LiveEvent.objects.filter(team_id=team_id, seq__gt=after).order_by("seq")[:limit])


def replay(
    membership: Membership, page: Page, filters: dict[str, str], after: int, **options: Any
) -> tuple[list[Message], int]:
    """Everything the page missed after seq `after`, as messages, and the
    newest seq they bring it to. `options` are View's (csrf_token, ...)."""
    return replay_view(View(membership, page, filters, **options), after)


def replay_view(view: View, after: int) -> tuple[list[Message], int]:
    """As `replay`, for a stream's view. A cursor the kept events no longer
    reach (pruned, another database's, more than MAX_BEHIND behind) gets `reset`."""
    newest = newest_seq(view.membership.team_id)
    if after >= newest:
        return ([Message("reset", newest, "")] if after > newest else []), newest
    if newest - after > MAX_BEHIND:
        return [Message("reset", newest, "")], newest
    events = events_after(view.membership.team_id, after)
    if not events or events[0].seq != after + 1:  # the next one it needs was pruned
        return [Message("reset", newest, "")], newest
    return [render(view, events)], events[-1].seq


def render(view: View, events: list[LiveEvent]) -> Message:
    """One `live` message for a batch of the view's team's events (seq order):
    what they changed that this member may see, then the page's new cursor."""
    seq = events[-1].seq
    mine = [e for e in events if e.user_id is None or e.user_id == view.membership.user_id]
    if view.page.kind == "gallery":
        parts = _gallery(view, mine)
    elif view.page.kind == "job":
        parts = _job_page(view, mine)
    else:
        parts = _image_page(view, mine)
    if any(e.kind == Kind.BALANCE for e in mine):
        parts.append(_balance(view))
    parts.append(f'<div id="live-cursor" data-seq="{seq}" hx-swap-oob="true"></div>')
    return Message("live", seq, "\n".join(p.strip() for p in parts if p.strip()))


def _context(view: View, **extra: Any) -> dict[str, Any]:
    membership = view.membership
    return {
        "membership": membership,
        "team": membership.team,
        "user": membership.user,
        # The viewer's own token, never a shared one: another's would leak his secret.
        "csrf_token": view.csrf_token,
        "filter_qs": filter_query(view.filters),
        "request": _Origin(*view.origin),
        **extra,
    }


def _gallery(view: View, events: list[LiveEvent]) -> list[str]:
    touched: dict[int, set[str]] = {}
    for event in events:
        if event.job_id and (event.kind in CARD_KINDS or event.kind == Kind.STARRED):
            touched.setdefault(event.job_id, set()).add(event.kind)
    if not touched:
        return []
    membership = view.membership
    jobs = {j.pk: j for j in team_jobs(membership).with_ids(touched)}
    created = [pk for pk, kinds in touched.items() if Kind.CREATED in kinds and pk in jobs]
    if created and view.filters:
        filtered = apply_filters(Job.objects.visible_in(membership), view.filters, membership.user)
        created = list(filtered.with_ids(created).values_list("pk", flat=True))
    if not view.newest_only:
        created = []
    # Only a job that went from the page says so: one that never was on it
    # (another's private job) sends nothing, not even its number.
    gone = [pk for pk in touched if pk not in jobs and touched[pk] & {Kind.DELETED, Kind.HIDDEN}]
    parts = [_removed(view, gone, touched)] if gone else []
    template = "gallery/index.html#"
    for pk in sorted(created, key=lambda pk: (jobs[pk].created, pk)):  # the newest lands on top
        card = render_to_string(template + "job-card", _context(view, job=jobs[pk]))
        parts.append(f'<div hx-swap-oob="afterbegin:#job-grid">{card}</div>')
    for pk, job in jobs.items():
        if Kind.CREATED in touched[pk]:
            continue  # drawn whole above if the page shows it; a card it lacks is not news
        if touched[pk] == {Kind.PROGRESS} and job.status in Job.BEFORE_IMAGES:
            bar = {"pk": pk, "progress": job.progress, "left": job.time_left, "bar_oob": True}
            parts.append(render_to_string(template + "progress-bar", _context(view, **bar)))
        else:
            parts.append(render_to_string(template + "job-card", _context(view, job=job, oob=True)))
    return parts


def _removed(view: View, gone: list[int], touched: dict[int, set[str]]) -> str:
    """Cards of jobs deleted or made private that the member may no longer
    see: those in the trash that they may restore keep their place with an
    Undo (as after deleting them here); others just go, saying nothing of
    why. A deleted job that was private was never on another's page: its
    number is not sent to them."""
    membership = view.membership
    rows = Job.objects.with_ids(gone).values_list("pk", "private", "user_id")
    me = membership.user_id
    shown = [
        pk
        for pk, private, author in rows
        if not private or author == me or Kind.HIDDEN in touched[pk]
    ]
    trash = Job.objects.in_trash(membership).with_ids(shown).prefetch_related(card_images())
    restorable = {job.pk: job for job in trash}
    parts = []
    for pk in shown:
        if pk in restorable:
            ctx = _context(view, job=restorable[pk], oob=True)
            parts.append(render_to_string("gallery/index.html#deleted-card", ctx))
        else:
            parts.append(f'<div id="job-{pk}" hx-swap-oob="delete"></div>')
    return "\n".join(parts)


def _job_page(view: View, events: list[LiveEvent]) -> list[str]:
    pk = view.page.pk
    own = {Kind.STARRED}  # only the member's own star (already filtered) changes this page
    if not any(e.job_id == pk and (e.kind in CARD_KINDS or e.kind in own or e.kind == Kind.LOG)
               for e in events):  # fmt: skip
        return []
    membership = view.membership
    job = job_for_page(membership, pk)
    if job is None or (
        job.deleted_at and not job.can_manage(membership.user, is_admin=membership.is_admin)
    ):
        return [render_to_string("gallery/job.html#job-gone", _context(view, live_oob=True))]
    ctx = {**job_page_context(membership, job), **_context(view, live_oob=True)}
    return [render_to_string("gallery/job.html#job-update", ctx)]


def _image_page(view: View, events: list[LiveEvent]) -> list[str]:
    touched = {e.job_id for e in events if e.job_id and e.kind in CARD_KINDS}
    if not touched:
        return []
    image = image_views.team_images(view.membership).filter(pk=view.page.pk).first()
    if (
        image is None
        or not Job.objects.with_ids(touched).filter(image_views.made_from(image)).exists()
    ):
        return []
    ctx = _context(
        view, image=image, oob=True, **image_views.children_context(view.membership, image)
    )
    return [render_to_string("gallery/image.html#children", ctx)]


def _balance(view: View) -> str:
    balance = ledger.balance_in(view.membership.user, view.membership.team.slug)
    text = render_to_string("gallery/_balance.html", {"balance": balance})
    return f'<span class="balance" id="balance" hx-swap-oob="true">{text}</span>'
