"""Download ZIP: a selection of the gallery, a collection, or a filtered search.

Every scope starts from the jobs the member may see (Job.objects.visible_in).
Up to MJWEB_EXPORT_STREAM_MAX images stream at once; more become an Export a
worker builds, whose page shows its progress and then its download. An export
is its asker's alone, and only while they are a member (get_membership).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from gallery.net import numbers
from gallery.net.files import stored_file_response
from gallery.studio import exports
from gallery.studio.models.exports import Export
from gallery.studio.models.jobs import Job
from gallery.studio.models.organise import Collection
from gallery.studio.views.jobs import apply_filters, read_filters
from gallery.studio.views.organise import BulkRefused, selected_jobs
from gallery.teams.models.teams import Membership
from gallery.teams.views.errors import refusal
from gallery.teams.views.helpers import get_membership

SIZE_RULE = 'The size must be "original" (the full images) or "small" (previews).'
SCOPE_RULE = 'Say what to download: the scope must be "selection", "collection" or "search".'


@require_POST
def export_zip(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    size = request.POST.get("size") or "original"
    try:
        if size not in exports.SIZES:
            raise BulkRefused(400, SIZE_RULE)
        label, jobs = _scope(request, membership)
    except BulkRefused as refused:
        return refusal(request, refused.status, refused.message)
    field = exports.SIZES[size]
    plan = exports.plan_for(jobs, field)
    if not plan:
        return refusal(request, 400, f"{label}: there is no stored image to download.")
    if len(plan) <= settings.MJWEB_EXPORT_STREAM_MAX:
        response = StreamingHttpResponse(
            exports.stream(membership, plan, field), content_type="application/zip"
        )
        response["Content-Disposition"] = f'attachment; filename="{zip_name(slug, label)}"'
        response["Cache-Control"] = "private, no-store"
        return response
    export = exports.start(membership, label, plan, size)
    return redirect("export", slug, export.pk)


def _scope(request: HttpRequest, membership: Membership):
    """(label, jobs) of what the form names, or BulkRefused saying why not."""
    visible = Job.objects.visible_in(membership)
    scope = request.POST.get("scope", "")
    if scope == "selection":
        jobs = selected_jobs(request, visible)
        count = f"{len(jobs)} selected job{'' if len(jobs) == 1 else 's'}"
        return count, visible.with_ids([job.pk for job in jobs])
    if scope == "collection":
        boards = Collection.objects.visible_to(request.user, membership.team)
        try:
            pk = numbers.whole(
                request.POST.get("collection"),
                label="The collection",
                minimum=1,
                maximum=numbers.MAX_ID,
            )
        except numbers.NumberError as problem:
            raise BulkRefused(400, str(problem)) from None
        board = boards.filter(pk=pk).first()
        if board is None:
            raise BulkRefused(404, "No such collection, or not yours to see.")
        return board.name, visible.filter(collections=board)
    if scope == "search":
        filters, errors = read_filters(request.POST)
        if errors:
            raise BulkRefused(400, " ".join(errors.values()))
        return search_label(filters), apply_filters(visible, filters, request.user)
    raise BulkRefused(400, SCOPE_RULE)


# How each gallery filter reads in an export's name ("Search for fox, by bob").
FILTER_WORDS = {"q": "for", "who": "by", "op": "of", "since": "from", "until": "to"}


def search_label(filters: dict[str, str]) -> str:
    if not filters:
        return "All jobs"
    words = [
        "starred" if key == "starred" else f"{FILTER_WORDS[key]} {value}"
        for key, value in filters.items()
    ]
    return "Search " + ", ".join(words)


def zip_name(slug: str, label: str) -> str:
    return f"{slug}-{slugify(label)[:60] or 'export'}.zip"


def _mine(request: HttpRequest, slug: str, pk: int) -> tuple[Membership, Export]:
    membership = get_membership(request, slug)
    found = Export.objects.of_member(membership).defer("plan")
    return membership, get_object_or_404(found, pk=pk)


@require_GET
def export(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An export's progress (htmx asks again while it builds), then its download."""
    membership, found = _mine(request, slug, pk)
    ctx = {"membership": membership, "team": membership.team, "export": found}
    ctx["expired"] = found.expires_at is not None and found.expires_at <= timezone.now()
    if request.htmx:
        return render(request, "gallery/export.html#export-status", ctx)
    return render(request, "gallery/export.html", ctx)


@require_GET
def export_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    _, found = _mine(request, slug, pk)
    if found.status != Export.Status.READY or found.expires_at <= timezone.now():
        raise Http404("This download is not ready, or no longer kept")
    name = zip_name(slug, found.label)
    return stored_file_response(
        found.file, filename=name, disposition="attachment", cache="private, no-store"
    )
