from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from gallery.credits.quotes import preview_batch
from gallery.net import throttle, uploads
from gallery.studio import public_urls, references
from gallery.studio.forms import CreateForm
from gallery.studio.models.jobs import Job
from gallery.studio.views.jobs import open_projects
from gallery.teams.views.helpers import get_membership


@require_POST
def check_prompt(request: HttpRequest, slug: str) -> HttpResponse:
    """Live lint and price for the create bar, as the person types."""
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot generate")
    form = CreateForm(request.POST, team=membership.team, projects=open_projects(membership))
    form.is_valid()  # the linter reports prompt problems; the form only bounds sizes
    # Nothing typed yet is not a mistake: say nothing until there is a prompt
    # (two reference chips are one, with no text).
    typed = bool(form.composed_prompt())
    ctx = {
        "team": membership.team,
        "membership": membership,
        # A prompt with permutations or --repeat is checked job by job and priced whole.
        "check": preview_batch(form.to_request()) if typed else None,
    }
    return render(request, "gallery/index.html#prompt-check", ctx)


HISTORY_SIZE = 50  # the prompts the history menu offers


@require_GET
def prompt_history(request: HttpRequest, slug: str) -> HttpResponse:
    """The member's own recent prompts in this team, newest first, each once:
    the create bar's history menu, and ↑ in an empty prompt box. Only their
    own jobs, so a teammate's private prompt is never offered."""
    membership = get_membership(request, slug)
    search = request.GET.get("q", "").strip()
    mine = Job.objects.visible_in(membership).filter(user_id=request.user.pk)
    ctx = {
        "membership": membership,
        "team": membership.team,
        "nav": "gallery",
        "prompts": mine.recent_prompts(search, HISTORY_SIZE),
        "search": search,
        "size": HISTORY_SIZE,
    }
    template = "gallery/prompts.html" + ("#history-list" if request.htmx else "")
    return render(request, template, ctx)


@require_POST
def upload_reference(request: HttpRequest, slug: str) -> HttpResponse:
    """A reference image for the prompt (image prompt, --sref or --oref): checked,
    stripped of metadata, kept for the member (gallery.studio.references), and handed
    back as a signed URL the provider can fetch for the next 24 hours."""
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot generate")
    limit, window = settings.MJWEB_UPLOAD_RATE_LIMIT, settings.MJWEB_UPLOAD_RATE_WINDOW
    # Counted before the file is read: decoding 40 megapixels is the cost to bound.
    verdict = throttle.hit(f"upload:{request.user.pk}", limit=limit, window=window)
    if not verdict.allowed:
        error = (
            f"Too many uploads: at most {limit} every {_duration(window)}. "
            f"Try again in {_duration(verdict.retry_after)}."
        )
        response = _upload_answer(request, membership, error=error, status=429)
        response["Retry-After"] = str(verdict.retry_after)
        return response
    upload = request.FILES.get("image")
    if upload is None:
        return _upload_answer(
            request, membership, error="Choose an image file to upload.", status=400
        )
    try:
        clean = uploads.clean_upload(upload)
        name = references.store(request.user.pk, clean)
    except uploads.UploadRejected as exc:
        return _upload_answer(request, membership, error=exc.message, status=exc.status)
    url = public_urls.signed_url(name)
    return _upload_answer(request, membership, url=url, size=(clean.width, clean.height))


def _upload_answer(request, membership, *, url="", size=(0, 0), error="", status=200):
    ctx = {"team": membership.team, "upload_url": url, "upload_size": size, "upload_error": error}
    return render(request, "gallery/index.html#upload-result", ctx, status=status)


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"
