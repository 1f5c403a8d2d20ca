"""Stars, delete with undo, private jobs, collections and public share links.

The gallery's cards and the job page post here, and so does the image page's
actions panel: its forms name their image, and get the panel back in its new
state (htmx) or the image page again (a plain POST), see `_for_image_page`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery.net import numbers
from gallery.net.files import stored_file_response
from gallery.studio.forms import CollectionForm
from gallery.studio.models.jobs import Image, Job
from gallery.studio.models.organise import Collection, CollectionItem, ShareLink, Star
from gallery.studio.views.images import actions_context
from gallery.studio.views.jobs import BULK_LIMIT, card_images, team_jobs
from gallery.teams.models.teams import Membership
from gallery.teams.views.errors import refusal
from gallery.teams.views.helpers import get_membership


def _job(
    request: HttpRequest, slug: str, pk: int, *, deleted: bool = False
) -> tuple[Membership, Job]:
    """A job of the team this user may see: shared, or their own private one."""
    membership = get_membership(request, slug)
    return membership, get_object_or_404(Job.objects.visible_in(membership, deleted=deleted), pk=pk)


def _for_image_page(
    request: HttpRequest, membership: Membership, job: Job, done: str = ""
) -> HttpResponse | None:
    """The answer to a form of the image page, which names its image (one of
    this job's): the actions panel for htmx, else back to that page with
    `done` as a message. None for the other pages' forms, which keep their answers."""
    try:
        pk = numbers.whole(request.POST.get("image"), label="", minimum=1, maximum=numbers.MAX_ID)
    except numbers.NumberError:
        return None
    image = Image.objects.filter(job=job, pk=pk).select_related("job__user").first()
    if image is None:
        return None
    if not request.htmx:
        if done:
            messages.success(request, done)
        return redirect("image", membership.team.slug, image.pk)
    ctx = actions_context(membership, image, done)
    return render(request, "gallery/image.html#image-actions", ctx)


@require_POST
def toggle_star(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, job = _job(request, slug, pk)
    starred = Star.toggle(request.user, job)
    if (answer := _for_image_page(request, membership, job)) is not None:
        return answer
    if request.htmx:
        job.starred = starred
        return render(
            request, "gallery/index.html#star-button", {"job": job, "team": membership.team}
        )
    return redirect("gallery", slug)


@require_POST
def delete_job(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, job = _job(request, slug, pk)
    if refused := delete_refusal(job, request.user, membership):
        raise PermissionDenied(refused)
    job.soft_delete()
    if (answer := _for_image_page(request, membership, job, "Deleted.")) is not None:
        return answer
    if request.htmx:
        return render(
            request, "gallery/index.html#deleted-card", {"job": job, "team": membership.team}
        )
    messages.success(request, "Deleted. Restore it here if that was a mistake.")
    return redirect("job-detail", slug, pk)


@require_POST
def restore_job(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, job = _job(request, slug, pk, deleted=True)
    if not job.can_manage(request.user, is_admin=membership.is_admin):
        raise PermissionDenied("Only the author or a team admin can restore a job")
    if not job.restore():
        raise Http404("This job was deleted forever; its images are gone")
    if (answer := _for_image_page(request, membership, job, "Restored.")) is not None:
        return answer
    if request.htmx:
        ctx = {"job": team_jobs(membership).get(pk=job.pk), "team": membership.team}
        return render(request, "gallery/index.html#job-card", {**ctx, "membership": membership})
    messages.success(request, "Restored.")
    return redirect("gallery", slug)


@require_POST
def toggle_private(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, job = _job(request, slug, pk)
    if job.user_id != request.user.pk:
        raise PermissionDenied("Only the author can make a job private or shared")
    if job.private:
        job.share_with_team()
        done = "Shared with the team. Links revoked when it went private stay revoked."
    else:
        revoked = job.make_private()
        were = "share link was" if revoked == 1 else "share links were"
        done = "Made private: only you can see it now."
        if revoked:
            done = f"Made private: {revoked} {were} revoked, and only you can see it now."
    if (answer := _for_image_page(request, membership, job, done)) is not None:
        return answer
    messages.success(request, done)
    return redirect("job-detail", slug, pk)


@require_http_methods(["GET", "POST"])
def collections(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    form = CollectionForm(request.POST or None)
    if request.method == "POST":
        if not membership.can_create:
            raise PermissionDenied("Viewers cannot make collections")
        if form.is_valid():
            board = Collection.objects.create(
                team=membership.team, owner=request.user, **form.cleaned_data
            )
            return redirect("collection", slug, board.pk)
    boards = Collection.objects.visible_to(request.user, membership.team).select_related("owner")
    ctx = {"membership": membership, "team": membership.team, "boards": boards, "form": form}
    return render(
        request,
        "gallery/collections.html",
        {**ctx, "nav": "collections"},
        status=400 if form.errors else 200,
    )


@require_GET
def collection(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug)
    board = get_object_or_404(Collection.objects.visible_to(request.user, membership.team), pk=pk)
    jobs = list(team_jobs(membership).filter(collections=board))
    ctx = {"membership": membership, "team": membership.team, "board": board, "jobs": jobs}
    return render(request, "gallery/collection.html", {**ctx, "nav": "collections"})


@require_POST
def collect(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Add a job to a collection (or take it out with remove=1)."""
    membership, job = _job(request, slug, pk)
    board = _board(request, membership)
    if request.POST.get("remove"):
        CollectionItem.objects.filter(collection=board, job=job).delete()
        messages.success(request, f"Removed from {board.name}.")
        return redirect("collection", slug, board.pk)
    CollectionItem.objects.get_or_create(
        collection=board, job=job, defaults={"added_by": request.user}
    )
    done = f"Added to {board.name}."
    if (answer := _for_image_page(request, membership, job, done)) is not None:
        return answer
    messages.success(request, done)
    return redirect("job-detail", slug, job.pk)


def _board(request: HttpRequest, membership: Membership) -> Collection:
    """The collection a form names, if this member may add to it."""
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot change collections")
    boards = Collection.objects.visible_to(request.user, membership.team)
    return get_object_or_404(boards, pk=_collection_pk(request.POST.get("collection")))


def _collection_pk(raw: str | None) -> int:
    """The collection a form names, or 0, which no collection has (a 404):
    "abc" or "1e5" reached the database as a pk and answered 500."""
    try:
        return numbers.whole(raw, label="The collection", minimum=1, maximum=numbers.MAX_ID)
    except numbers.NumberError:
        return 0


@require_POST
def share_image(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot publish the team's images")
    image = get_object_or_404(
        Image.objects.filter(job__in=team_jobs(membership), status=Image.Status.STORED), pk=pk
    )
    if image.job.private:
        # Private means nobody outside: share the job with the team first.
        raise PermissionDenied(
            "A private job's images cannot be shared publicly; share the job with the team first"
        )
    link = ShareLink.objects.active().filter(image=image).first()
    link = link or ShareLink.objects.create(image=image, created_by=request.user)
    done = f"Anyone with this link can see image {image.index + 1}."
    if (answer := _for_image_page(request, membership, image.job, done)) is not None:
        return answer
    messages.success(request, f"Anyone with this link can see image {image.index + 1}:")
    return redirect("job-detail", slug, image.job_id)


@require_POST
def revoke_share(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot change what the team shares")
    link = get_object_or_404(ShareLink.objects.filter(image__job__in=team_jobs(membership)), pk=pk)
    link.revoke()
    done = "The share link no longer works."
    if (answer := _for_image_page(request, membership, link.image.job, done)) is not None:
        return answer
    messages.success(request, done)
    return redirect("job-detail", slug, link.image.job_id)


@login_not_required
@require_GET
def shared(request: HttpRequest, share: str) -> HttpResponse:
    """The public, read-only page of one shared image."""
    link = get_object_or_404(ShareLink.objects.active().select_related("image__job"), slug=share)
    return render(request, "gallery/shared.html", {"link": link, "image": link.image})


@login_not_required
@require_GET
def shared_file(request: HttpRequest, share: str, size: str) -> HttpResponse:
    link = get_object_or_404(ShareLink.objects.active().select_related("image"), slug=share)
    if size not in ("full", "thumb"):
        raise Http404("No such size")
    field = link.image.original if size == "full" else link.image.thumbnail
    if not field.name:
        raise Http404("No such image")
    # no-cache: a revoked link must stop working at once (a bucket URL already
    # handed out lives on for MJWEB_MEDIA_URL_SECONDS at most).
    return stored_file_response(field.name, filename="image")


# --- the trash ---------------------------------------------------------------------

TRASH_PAGE = 200  # the most recently deleted first; older ones are purged in time anyway


@require_GET
def trash(request: HttpRequest, slug: str) -> HttpResponse:
    """Deleted jobs this member may restore or purge: their own, or an admin's team's."""
    membership = get_membership(request, slug)
    thumbs = Image.objects.filter(status=Image.Status.STORED).exclude(thumbnail="")
    trashed = (
        Job.objects.in_trash(membership)
        .select_related("user")
        .prefetch_related(Prefetch("images", thumbs.order_by("index"), to_attr="thumbs"))
        .order_by("-deleted_at", "-pk")
    )
    ctx = {"membership": membership, "team": membership.team, "nav": "trash"}
    ctx.update(jobs=list(trashed[:TRASH_PAGE]), page=TRASH_PAGE, days=settings.MJWEB_TRASH_DAYS)
    return render(request, "gallery/trash.html", ctx)


def _trashed(request: HttpRequest, slug: str, pk: int) -> tuple[Membership, Job]:
    """A job in this member's trash, or 404 (someone else's, another team's, purged)."""
    membership = get_membership(request, slug)
    return membership, get_object_or_404(Job.objects.in_trash(membership), pk=pk)


@require_POST
def trash_restore(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, job = _trashed(request, slug, pk)
    job.restore()
    return _trash_answer(request, membership, job, "Restored")


@require_POST
def trash_purge(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership, job = _trashed(request, slug, pk)
    job.purge()
    return _trash_answer(request, membership, job, "Deleted forever")


def _trash_answer(request: HttpRequest, membership: Membership, job: Job, done: str):
    """htmx gets the row in its new state; a plain form goes back to the trash."""
    if request.htmx:
        ctx = {"job": job, "team": membership.team, "done": done}
        return render(request, "gallery/trash.html#trash-row", ctx)
    messages.success(request, f"{done}: {job.prompt_text or job.operation}")
    return redirect("trash", membership.team.slug)


@require_GET
def trash_thumb(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A trashed job's first thumbnail, for its row: the media route serves
    only jobs that are not deleted."""
    _, job = _trashed(request, slug, pk)
    image = job.images.filter(status=Image.Status.STORED).exclude(thumbnail="").first()
    if image is None:
        raise Http404("This job has no picture")
    return stored_file_response(image.thumbnail.name)  # no-cache: gone the moment it is purged


# --- many jobs at once: the gallery's selection bar --------------------------------
#
# The single views' rules, for each job of a selection: acting on a job takes
# Job.objects.visible_in (what `_job` finds), deleting it `delete_refusal`
# (which the single delete raises), and undoing a delete the trash's rules.


def delete_refusal(job: Job, user, membership: Membership) -> str:
    """Why this member may not delete this job, or "" if they may."""
    if not job.can_manage(user, is_admin=membership.is_admin):
        return "Only the author or a team admin can delete a job"
    if not job.is_final:
        return "A job still in progress cannot be deleted; cancel it first"
    return ""


class BulkRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def selected_jobs(request: HttpRequest, jobs) -> list[Job]:
    """The jobs of `jobs` that the request's `ids` name, or BulkRefused. A page
    sends only ids it shows, so one the member may not act on (another team's,
    a teammate's private one, gone meanwhile) refuses the whole selection."""
    raw = request.POST.getlist("ids")
    if not raw:
        raise BulkRefused(400, "Select at least one job first.")
    if len(raw) > BULK_LIMIT:
        raise BulkRefused(
            400,
            f"Select at most {BULK_LIMIT} jobs at a time: {len(raw)} were selected."
            " Nothing was changed.",
        )
    try:
        label, top = "A selected job number", numbers.MAX_ID
        ids = {numbers.whole(n, label=label, minimum=1, maximum=top) for n in raw}
    except numbers.NumberError as problem:
        raise BulkRefused(400, str(problem)) from None
    found = list(jobs.with_ids(ids))
    if missing := len(ids) - len(found):
        are = "is" if missing == 1 else "are"
        raise BulkRefused(
            404,
            f"{missing} of the selected jobs {are} no longer there, or not yours to see."
            " Nothing was changed; reload the page to see what is.",
        )
    return found


def _undeletable(jobs: list[Job], user, membership: Membership) -> None:
    """BulkRefused, naming the rule, unless the single delete would take each job."""
    refused: dict[str, int] = {}
    for job in jobs:
        if reason := delete_refusal(job, user, membership):
            refused[reason] = refused.get(reason, 0) + 1
    if refused:
        why = "; ".join(f"{reason} ({n} of the selected)" for reason, n in refused.items())
        raise BulkRefused(403, f"Nothing was deleted. {why}. Unselect those and try again.")


def _count(jobs: list) -> str:
    return f"{len(jobs)} job{'' if len(jobs) == 1 else 's'}"


def _bulk_answer(
    request: HttpRequest, membership: Membership, done: str, cards: list[int], **extra
) -> HttpResponse:
    """htmx gets the bar's status and the changed cards out of band; a plain
    form goes back to the gallery with the status as a message."""
    if not request.htmx:
        messages.success(request, extra.get("no_script", done))
        return redirect("gallery", membership.team.slug)
    jobs = team_jobs(membership).with_ids(cards) if cards else []
    ctx = {"membership": membership, "team": membership.team, "jobs": jobs, "done": done}
    return render(request, "gallery/index.html#bulk-done", {**ctx, **extra})


@require_POST
def bulk_star(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    try:
        jobs = selected_jobs(request, Job.objects.visible_in(membership))
    except BulkRefused as refused:
        return refusal(request, refused.status, refused.message)
    Star.star_all(request.user, jobs)
    return _bulk_answer(request, membership, f"Starred {_count(jobs)}.", [j.pk for j in jobs])


@require_POST
def bulk_collect(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    board = _board(request, membership)
    try:
        jobs = selected_jobs(request, Job.objects.visible_in(membership))
    except BulkRefused as refused:
        return refusal(request, refused.status, refused.message)
    items = [CollectionItem(collection=board, job=j, added_by=request.user) for j in jobs]
    CollectionItem.objects.bulk_create(items, ignore_conflicts=True)
    return _bulk_answer(request, membership, f"Added {_count(jobs)} to {board.name}.", [])


@require_POST
def bulk_delete(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    try:
        jobs = selected_jobs(request, Job.objects.visible_in(membership))
        _undeletable(jobs, request.user, membership)
    except BulkRefused as refused:
        return refusal(request, refused.status, refused.message)
    ids = [job.pk for job in jobs]
    Job.objects.with_ids(ids).soft_delete()
    prefetch_related_objects(jobs, card_images())  # the deleted cards keep their shape
    done = f"Deleted {_count(jobs)}."
    return _bulk_answer(
        request,
        membership,
        done,
        [],
        deleted=jobs,
        undo_ids=ids,
        no_script=f"{done} Restore them from the trash if that was a mistake.",
    )


@require_POST
def bulk_restore(request: HttpRequest, slug: str) -> HttpResponse:
    """Undo of a bulk delete: the trash's rules, for each job."""
    membership = get_membership(request, slug)
    try:
        jobs = selected_jobs(request, Job.objects.in_trash(membership))
    except BulkRefused as refused:
        return refusal(request, refused.status, refused.message)
    ids = [job.pk for job in jobs]
    Job.objects.with_ids(ids).restore()
    return _bulk_answer(request, membership, f"Restored {_count(jobs)}.", ids)
