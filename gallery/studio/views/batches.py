"""Batches from a table: paste or upload it, see every row priced or refused,
set a cap and start; then the batch's page with its rows, thumbnails,
progress and spend, and pause, resume or cancel.

A batch is its member's (and their team admins'): Batch.objects.visible_in.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery.catalog.tables import COLUMNS, MAX_REPEAT, MAX_ROWS
from gallery.studio import batches
from gallery.studio.forms import BatchForm
from gallery.studio.models.batches import Batch, BatchJob, BatchRow
from gallery.studio.models.jobs import Image, Job
from gallery.teams.models.teams import Membership
from gallery.teams.views.errors import refusal
from gallery.teams.views.helpers import get_membership

CONTROL_RULE = 'Say what to do with the batch: "pause", "resume" or "cancel".'


@require_http_methods(["GET", "POST"])
def batch_new(request: HttpRequest, slug: str) -> HttpResponse:
    """The table's preview (every row priced, or its column and rule), then the start."""
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot run batches")
    starting = request.POST.get("action") == "start"
    posted = request.method == "POST"
    form = BatchForm(request.POST if posted else None, request.FILES or None, starting=starting)
    checked, status = None, 200
    if posted:
        valid = form.is_valid()
        data = form.cleaned_data
        # The rows are shown whatever else is wrong (a missing cap is named beside them).
        table = data.get("table", "").strip()
        checked = batches.preview(data["table"], membership.team) if table else None
        status = 200 if valid else 400
        if valid and starting:
            try:
                made = batches.start(membership, data["name"], data["cap"], checked)
            except batches.Refused as refused:
                form.add_error(None, refused.message)
                status = refused.status
            else:
                return redirect("batch", slug, made.pk)
    ctx = {"membership": membership, "team": membership.team, "form": form, "preview": checked}
    ctx.update(columns=COLUMNS, max_rows=MAX_ROWS, max_repeat=MAX_REPEAT, nav="gallery")
    ctx["table_text"] = form.cleaned_data.get("table", "") if posted else ""
    ctx["recent"] = Batch.objects.visible_in(membership).filter(membership=membership)[:10]
    return render(request, "gallery/batch_new.html", ctx, status=status)


def _batch(request: HttpRequest, slug: str, pk: int) -> tuple[Membership, Batch]:
    membership = get_membership(request, slug)
    found = Batch.objects.visible_in(membership).select_related("membership__user")
    return membership, get_object_or_404(found, pk=pk)


def batch_context(membership: Membership, batch: Batch) -> dict:
    thumbs = Image.objects.filter(status=Image.Status.STORED).exclude(thumbnail="")
    jobs = Job.objects.prefetch_related(Prefetch("images", thumbs.order_by("index")))
    links = BatchJob.objects.order_by("job_id")
    rows = list(
        BatchRow.objects.filter(batch=batch)
        .prefetch_related(Prefetch("links", links.prefetch_related(Prefetch("job", jobs))))
        .order_by("number")
    )
    made = [link.job for row in rows for link in row.links.all()]
    planned = sum(row.repeat for row in rows)
    finished = [job for job in made if job.is_final]
    spent = sum((j.credits_charged or 0) if j.is_final else j.credits_reserved for j in made)
    return {
        "membership": membership,
        "team": membership.team,
        "batch": batch,
        "rows": rows,
        "planned": planned,
        "made": len(made),
        "finished": len(finished),
        "completed": sum(j.status == Job.Status.COMPLETED for j in made),
        "spent": spent,
        "live": batch.status == Batch.Status.RUNNING or len(finished) < len(made),
        "nav": "gallery",
    }


@require_GET
def batch(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, found = _batch(request, slug, pk)
    ctx = batch_context(membership, found)
    if request.htmx:
        return render(request, "gallery/batch.html#batch-status", ctx)
    return render(request, "gallery/batch.html", ctx)


@require_POST
def batch_control(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, found = _batch(request, slug, pk)
    action = request.POST.get("do", "")
    if action not in ("pause", "resume", "cancel"):
        return refusal(request, 400, CONTROL_RULE)
    if action == "cancel":
        was = found.status
        refunded = batches.cancel(found)
        changed = found.status == Batch.Status.CANCELLED and was != found.status
        done = f"Cancelled: {refunded} waiting job{'' if refunded == 1 else 's'} refunded."
    else:
        changed = (batches.pause if action == "pause" else batches.resume)(found)
        done = "Paused." if action == "pause" else "Resumed."
    if not changed:
        return refusal(request, 409, f"This batch is {found.status}: it cannot {action} now.")
    if request.htmx:
        ctx = batch_context(membership, found)
        return render(request, "gallery/batch.html#batch-status", {**ctx, "done": done})
    messages.success(request, done)
    return redirect("batch", slug, found.pk)
