from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    prefetch_related_objects,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from gallery.catalog.operations import OPERATIONS
from gallery.credits import ledger
from gallery.credits.forms import AskForMoreForm
from gallery.credits.quotes import preview_batch
from gallery.net import numbers, throttle
from gallery.net.files import stored_file_response
from gallery.studio import pipeline
from gallery.studio.forms import CreateForm
from gallery.studio.models.jobs import Image, Job
from gallery.studio.models.live import LiveSeq
from gallery.studio.models.organise import Collection, Star
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_membership

PAGE_SIZE = 48
BULK_LIMIT = 100  # jobs per request of the selection bar (organise.py), which says so
SUBMITS_PER_MINUTE = 30  # per member; the in-flight cap bounds spend, this bounds requests
ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9")


# What no card shows, left in the database: decoding it (JSON, dates) for 48
# cards and their 192 images is a good part of the page's time. A template
# that starts using one of these costs a query per card, which the query-count
# tests catch.
CARD_SKIPS = (
    *("snapshot", "source_urls", "params", "prompt_raw", "client_request_id", "upstream_id"),
    *("error_kind", "error_code", "finished_at", "deadline", "next_poll_at"),
    *("callback_token_hash", "user__password", "user__last_login", "user__date_joined"),
)
IMAGE_SKIPS = ("upstream_url", "bytes", "sha256", "fetch_attempts", "created")


def card_images() -> Prefetch:
    images = Image.objects.order_by("index").defer(*IMAGE_SKIPS)
    return Prefetch("images", queryset=images, to_attr="fetched_images")


def team_jobs(membership: Membership):
    """The team's jobs this user may see, with what a card shows, in two queries."""
    mine = Star.objects.filter(user=membership.user, job=OuterRef("pk"))
    return (
        Job.objects.visible_in(membership)
        .select_related("user", "parent")
        .prefetch_related(card_images())
        .annotate(starred=Exists(mine), parent_shown=parent_visible_to(membership))
        .with_flight_facts()  # a waiting card's place in line, a running one's time left
        .defer(*CARD_SKIPS, *(f"parent__{name}" for name in IMAGE_SKIPS))
    )


def parent_visible_to(membership: Membership) -> ExpressionWrapper:
    """Whether the member may still see the image an edit was made from (its
    job may have gone private or been deleted since): the card shows its
    thumbnail only then, read in the cards' own query."""
    parent_job = Q(parent__job__deleted_at__isnull=True) & (
        Q(parent__job__private=False) | Q(parent__job__user_id=membership.user_id)
    )
    return ExpressionWrapper(parent_job, output_field=BooleanField())


FILTERS = ("who", "starred", "op", "project", "since", "until", "q")
# The date filters: (field, lookup, what the error calls it).
DATE_FILTERS = (
    ("since", "created__date__gte", "The start date"),
    ("until", "created__date__lte", "The end date"),
)


def read_filters(params) -> tuple[dict[str, str], dict[str, str]]:
    """The gallery's filters that can be used, and apart, by field, why the
    others cannot (shown next to them): an impossible date filters nothing."""
    usable = {key: params[key] for key in FILTERS if params.get(key)}
    errors = {}
    for key, _, label in DATE_FILTERS:
        if key in usable:
            try:
                numbers.day(usable[key], label=label)
            except numbers.NumberError as problem:
                errors[key] = str(problem)
                del usable[key]
    return usable, errors


def apply_filters(jobs, filters: dict[str, str], user):
    """The gallery's filters (as `read_filters` leaves them), shared by the
    page and its live updates (studio/live/render.py)."""
    who = filters.get("who", "")
    if who == "mine":
        jobs = jobs.filter(user=user)
    elif who and who != "everyone":
        jobs = jobs.filter(user__username=who)
    if filters.get("starred"):
        jobs = jobs.starred_by(user)
    if filters.get("op") in OPERATIONS:
        jobs = jobs.filter(operation=filters["op"])
    project = filters.get("project", "")
    if project == "none":
        jobs = jobs.filter(project__isnull=True)
    elif project.isascii() and project.isdigit() and len(project) < 19:
        jobs = jobs.filter(project_id=int(project))
    for key, lookup, _ in DATE_FILTERS:
        if key in filters:
            jobs = jobs.filter(**{lookup: date.fromisoformat(filters[key])})
    if filters.get("q", "").strip():
        jobs = jobs.search(filters["q"][:200])
    return jobs


def filter_query(filters: dict[str, str]) -> str:
    return urlencode(filters)


# A page's place in the gallery is the (created, id) of its last card: the
# gallery's order and its index. The time is whole microseconds since 1970, so
# the cursor is exact, short and needs no escaping in a URL.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
CURSOR_TIMES = tuple(  # the years a date filter may name, as for every date typed
    (datetime(year, 1, 1, tzinfo=UTC) - EPOCH) // MICROSECOND
    for year in (numbers.FIRST_YEAR, numbers.LAST_YEAR + 1)
)
CURSOR_RULE = (
    "The page position (before) must be a time in microseconds and a job number joined"
    ' by "-", as the "Load older jobs" link gives; start again from the newest jobs'
)


def cursor_of(job: Job) -> str:
    return f"{(job.created - EPOCH) // MICROSECOND}-{job.pk}"


def read_cursor(raw: str) -> tuple[datetime, int] | None:
    """The (created, id) a page starts after, None for the newest page; or
    NumberError: a cursor is only ever one the page gave, so any other is refused."""
    if not raw:
        return None
    micros, dash, pk = raw.partition("-")
    try:
        low, high = CURSOR_TIMES
        when = numbers.whole(micros if dash else "", label="", minimum=low, maximum=high - 1)
        return EPOCH + when * MICROSECOND, _job_number(pk, "", 1)
    except numbers.NumberError:
        raise numbers.NumberError(CURSOR_RULE) from None


def gallery_page(
    membership: Membership, filters: dict[str, str], before: tuple[datetime, int] | None = None
) -> tuple[list[Job], str]:
    """PAGE_SIZE cards under the filters, after `before` (None: the newest), and
    the cursor of the page after them ("" at the end). One row past the page
    says whether there is one, in the same query; it gets no images."""
    jobs = apply_filters(team_jobs(membership).prefetch_related(None), filters, membership.user)
    if before is not None:
        jobs = jobs.older_than(*before)
    page = list(jobs[: PAGE_SIZE + 1])
    more, page = len(page) > PAGE_SIZE, page[:PAGE_SIZE]
    prefetch_related_objects(page, card_images())
    return page, cursor_of(page[-1]) if more else ""


def older_url(slug: str, filters: dict[str, str], cursor: str) -> str:
    """The next page's address, with the filters; "" when there is none."""
    if not cursor:
        return ""
    return f"{reverse('gallery', args=[slug])}?{filter_query({**filters, 'before': cursor})}"


def live_links(membership: Membership, page: str, query: str = "") -> dict[str, object]:
    """How a page listens (static/js/live.js): its stream, the poll it falls
    back to, and the event number it was drawn at. Read before the page's rows,
    so a change committed while it is drawn is sent again, never missed."""
    params = f"?page={page}" + (f"&{query}" if query else "")
    slug = membership.team.slug
    return {
        "live_stream_url": reverse("live-stream", args=[slug]) + params,
        "live_poll_url": reverse("live-poll", args=[slug]) + params,
        "live_seq": LiveSeq.of_team(membership.team),
    }


def _page_context(membership: Membership, jobs: list[Job], **extra) -> dict:
    return {
        "membership": membership,
        "team": membership.team,
        "jobs": jobs,
        "balance": ledger.balance_of(membership),
        "ratios": ASPECT_RATIOS,
        "bulk_limit": BULK_LIMIT,
        # The selection bar's "Add to collection": read only by a whole page, if at all.
        "boards": Collection.objects.visible_to(membership.user_id, membership.team_id),
        **extra,
    }


def _job_number(raw: str, label: str, minimum: int) -> int:
    return numbers.whole(raw, label=label, minimum=minimum, maximum=numbers.MAX_ID)


@require_GET
def gallery(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, "account", "team__live_seq")
    usable, errors = read_filters(request.GET)
    page_query = filter_query({**usable, **({"before": "1"} if "before" in request.GET else {})})
    listening = live_links(membership, "gallery", page_query)
    try:
        before, cursor_error = read_cursor(request.GET.get("before", "")), ""
        jobs, cursor = gallery_page(membership, usable, before)
    except numbers.NumberError as problem:
        before, cursor_error, jobs, cursor = None, str(problem), [], ""
    ctx = _page_context(membership, jobs, before=before, cursor_error=cursor_error)
    ctx["older_url"] = older_url(slug, usable, cursor)
    ctx["filter_qs"] = filter_query(usable)  # links carry only usable filters
    status = 400 if errors or cursor_error else 200
    if request.htmx and "before" in request.GET:  # scrolled to the end: the next cards
        return render(request, "gallery/index.html#older-page", ctx, status=status)
    prompt = request.GET.get("prompt", "")  # whole: one too long is named by the live check
    projects, last = team_projects(membership)
    initial = {"client_request_id": uuid.uuid4().hex, "prompt": prompt, "project": last}
    open_ones = [p for p in projects if p.archived_at is None]
    form = CreateForm(initial=initial, team=membership.team, show_health=True, projects=open_ones)
    filters = {key: request.GET.get(key, "") for key in FILTERS}  # no misses in the template
    ctx.update(nav="gallery", form=form, check=None, operations=OPERATIONS, **listening)
    ctx.update(filters=filters, filter_errors=errors)
    members = membership.team.memberships.order_by("user__username")
    ctx["members"] = members.values_list("user__username", flat=True)
    ctx["projects"] = projects  # the filter's list: archived ones too, for their jobs
    return render(request, "gallery/index.html", ctx, status=status)


@require_POST
def create_job(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot generate")
    verdict = throttle.hit(f"submit:{request.user.pk}", limit=SUBMITS_PER_MINUTE, window=60)
    if not verdict.allowed:
        response = HttpResponse(
            f"Too many jobs at once: wait {verdict.retry_after} seconds.", status=429
        )
        response["Retry-After"] = str(verdict.retry_after)
        return response
    form = CreateForm(
        request.POST, team=membership.team, show_health=True, projects=open_projects(membership)
    )
    made, problem, known, ask = [], "", set(), None
    if form.is_valid():
        draft = form.to_draft()
        known = made_for_request(membership, draft.client_request_id)
        try:  # one job, or every job a permutation or --repeat stands for
            made = pipeline.create_batch(membership, draft)
        except pipeline.Refused as refused:
            problem, status = refused.message, refused.status
            ask = AskForMoreForm.for_refusal(refused)
    else:
        problem, status = "; ".join(e for errs in form.errors.values() for e in errs), 400
    if not request.htmx:
        if made:
            return redirect("gallery", slug)
        jobs, cursor = gallery_page(membership, {})
        ctx = _page_context(membership, jobs, older_url=older_url(slug, {}, cursor))
        ctx.update(nav="gallery", form=form, check=None, problem=problem, ask=ask)
        return render(request, "gallery/index.html", ctx, status=status)
    # A repeated press (the same request id) answers with the jobs it made
    # before: their cards are on the page already, and no credit moved.
    fresh = [job for job in made if job.pk not in known]
    ctx = _page_context(membership, fresh, form=form, problem=problem, ask=ask)
    ctx["check"] = preview_batch(form.to_request()) if made else None
    response = render(request, "gallery/index.html#created", ctx, status=200 if made else status)
    return trigger_client_event(response, "credits-changed") if fresh else response


def team_projects(membership: Membership) -> tuple[list[Project], Project | None]:
    """The team's projects, and the project of the member's newest job while
    it is still open (what the create panel offers first), in one query: each
    row carries that job's project id."""
    newest = (
        Job.objects.of_member(membership.team_id, membership.user_id)
        .order_by("-created", "-pk")
        .values("project_id")[:1]
    )
    projects = Project.objects.of_team(membership.team_id).annotate(members_last=Subquery(newest))
    found = list(projects)
    last = next((p for p in found if p.pk == p.members_last and p.archived_at is None), None)
    return found, last


def open_projects(membership: Membership):
    """The projects the create panel offers: the team's open ones."""
    return Project.objects.of_team(membership.team_id).open()


def made_for_request(membership: Membership, key: str) -> set[int]:
    """The jobs this person already made with the create bar's request id `key`
    (a batch's are `key#1`, `key#2`… : gallery.catalog.permutations.job_request_id)."""
    if not key:
        return set()
    mine = Job.objects.filter(user_id=membership.user_id, team_id=membership.team_id)
    same = mine.filter(Q(client_request_id=key) | Q(client_request_id__startswith=f"{key}#"))
    return set(same.values_list("pk", flat=True))


@require_GET
def media(request: HttpRequest, name: str) -> HttpResponse:
    """Stored images, to the members of a team that has a visible job using them."""
    visible = Job.objects.visible_to(request.user)
    found = Image.objects.filter(Q(original=name) | Q(thumbnail=name), job__in=visible).exists()
    if not found:
        raise Http404("No such image")
    # Content-hashed names never change; keep them in the browser, not in shared caches.
    return stored_file_response(name, cache="private, max-age=31536000, immutable")


@require_GET
def job_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One job: its images (each opening its image page, where the edits are),
    what it cost, and every event, so a person can see why it took long or
    failed. While it is in flight the page asks this URL again every 2 s with
    htmx, for its live part alone, until the job is final."""
    membership = get_membership(request, slug, "team__live_seq")
    listening = {} if request.htmx else live_links(membership, f"job:{pk}")
    job = job_for_page(membership, pk)
    can_manage = job is not None and job.can_manage(request.user, is_admin=membership.is_admin)
    if job is None or (job.deleted_at and not can_manage):
        if request.htmx.target == "job-live":
            # The page was open when it went (deleted, made private): say so
            # once and stop asking (htmx stops polling on 286).
            return render(
                request, "gallery/job.html#job-gone", {"team": membership.team}, status=286
            )
        raise Http404("No such job")  # a deleted job stays restorable by its author or an admin
    ctx = {**job_page_context(membership, job), **listening}
    template = "gallery/job.html#job-update" if request.htmx else "gallery/job.html"
    return render(request, template, ctx)


def job_for_page(membership: Membership, pk: int) -> Job | None:
    """The job a job page shows, with what it shows, or None if the member may
    not see it (a deleted one is returned: its page stays open to whoever may
    restore it, which the caller decides)."""
    return (
        Job.objects.visible_in(membership, deleted=None)
        .select_related("user", "parent")
        .prefetch_related("events", "images__share_links")
        .filter(pk=pk)
        .first()
    )


def job_page_context(membership: Membership, job: Job) -> dict:
    """What the job page and its live updates (the stream's too) draw it with."""
    can_manage = job.can_manage(membership.user, is_admin=membership.is_admin)
    ctx = {"membership": membership, "team": membership.team, "job": job, "nav": "gallery"}
    ctx["can_cancel"] = not job.is_final and can_manage
    ctx["can_manage"] = can_manage
    ctx["starred"] = job.stars.filter(user_id=membership.user_id).exists()
    ctx["boards"] = Collection.objects.visible_to(membership.user, membership.team)
    return ctx


@require_POST
def cancel_job(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug)
    job = get_object_or_404(Job.objects.visible_in(membership), pk=pk)
    if job.user_id != request.user.pk and not membership.is_admin:
        raise PermissionDenied("Only the author or a team admin can cancel a job")
    if job.is_final:
        messages.info(request, f"The job had already {job.status}.")
    elif pipeline.cancel(job):
        messages.success(request, f"Cancelled; {job.credits_reserved} credits refunded.")
    else:
        messages.info(request, "The job already reached the provider; its images will be kept.")
    return redirect("job-detail", slug, pk)
