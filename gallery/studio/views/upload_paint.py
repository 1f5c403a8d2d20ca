"""Upload & paint: one of the member's uploaded reference images, placed on a
canvas in the full-screen canvas editor, the area to paint marked on it, and a
prompt for what fills it. The create bar's uploaded chips link here.

    upload_paint        GET the editor for ?src=<the upload's URL>; POST makes the job
    upload_paint_price  the live price and problems, as the form is filled in

The job goes through the pipeline like every edit (one reserve); the upstream
gets the upload at a freshly signed public URL. Only the member's own uploads
can be painted (gallery.studio.references.owned): another member's, or any other
URL, is refused in words.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from gallery.catalog import operations
from gallery.catalog.operations import BOX_RANGES, MAX_SIDE, OPERATIONS, Request
from gallery.credits import ledger
from gallery.credits.quotes import Preview, preview
from gallery.studio import pipeline, public_urls, references
from gallery.studio.edit_fields import BadInput, box, canvas_defaults, drawn_mask
from gallery.studio.models.jobs import Job
from gallery.studio.views import images
from gallery.teams.models.teams import Membership, Team
from gallery.teams.views.helpers import get_membership

OPERATION = "mj-v7-upload-paint"
FORM = "paint"  # the key of the page's one form: ids of its price, issues and result
NOT_YOURS = (
    "Upload & paint starts from one of your own uploaded reference images: "
    "upload one in the create bar and choose Upload & paint on its chip"
)
NO_MASK = "Mark the area to paint on the canvas first"
NO_PROVIDER = "None of this studio's providers offers Upload & paint"
VIEWERS = "Viewers cannot edit images"


class Source(SimpleNamespace):
    """The upload being painted: `name` in storage, `url` signed for the
    upstream, `shown` (same-origin) for the editor, and its pixel size."""

    name: str
    url: str
    shown: str
    width: int
    height: int


def source_for(membership: Membership, src: str) -> Source:
    name = references.owned(membership.user_id, src)
    if name is None:
        raise BadInput(NOT_YOURS)
    try:
        with default_storage.open(name) as handle, PILImage.open(handle) as picture:
            width, height = picture.size  # the header only: uploads were checked on the way in
    except (OSError, UnidentifiedImageError):
        raise BadInput(NOT_YOURS) from None
    token = public_urls.sign(name)
    shown = reverse("public-image", args=[token, name])
    url = public_urls.signed_url(name)
    return Source(name=name, url=url, shown=shown, width=width, height=height)


def provider_for(data: QueryDict, team: Team) -> str:
    """The provider asked for, if it offers Upload & paint; else the first in
    the team's order that does (as the create bar starts on the team's first)."""
    # With no key configured, the site's default, as the create bar falls back to it.
    order = team.providers_in_order() or [settings.MJWEB_PROVIDER]
    offering = [p for p in order if operations.supports(p, OPERATION)]
    asked = data.get("provider", "")
    if asked in offering:
        return asked
    if not offering:
        raise BadInput(NO_PROVIDER)
    return offering[0]


def _mask(data: QueryDict) -> dict[str, Any]:
    raw = data.get("mask", "").strip()
    if not raw:
        raise BadInput(NO_MASK)
    return drawn_mask(raw)


def paint_request(source: Source, data: QueryDict, team: Team) -> Request:
    """What the form asks for; BadInput names a field it cannot read."""
    params = {
        "canvas": box(data, "canvas", "canvas"),
        "img_pos": box(data, "img_pos", "img_pos"),
        "mask": _mask(data),
    }
    return Request(
        operation=OPERATION,
        provider=provider_for(data, team),
        prompt=data.get("prompt", "").strip(),
        speed=data.get("speed") or None,
        params=params,
        image_urls=(source.url,),
    )


def opening_price(source: Source, defaults: dict[str, Any], team: Team) -> images.Button:
    """The price shown before anything is touched: the default placement and a
    stand-in mask (a mask's shape does not change the price), or why it is off."""
    label = OPERATIONS[OPERATION].label
    try:
        provider = provider_for(QueryDict(), team)
    except BadInput as exc:
        return images.Button(key=FORM, operation=OPERATION, label=label, reason=str(exc))
    params = {**defaults, "mask": OPERATIONS[OPERATION].stand_ins["mask"]}
    prompt = "a stand-in prompt"
    check = preview(Request(OPERATION, provider, prompt, params=params, image_urls=(source.url,)))
    quote = check.quote
    return images.Button(
        key=FORM,
        operation=OPERATION,
        label=label,
        credits=quote.credits if quote else None,
        estimate=bool(quote and quote.estimate),
        reason="" if quote else check.price_problem,
    )


def _page(
    request: HttpRequest,
    membership: Membership,
    source: Source | None,
    *,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    ctx: dict[str, Any] = {
        "membership": membership,
        "team": membership.team,
        "nav": "gallery",
        "balance": ledger.account_for(membership).balance,
        "source": source,
        "form_key": FORM,
        "result_form": FORM,  # a refusal without htmx is shown in the form's result slot
        "problem": problem,
        "max_side": MAX_SIDE,
        "box_ranges": json.dumps(dict(BOX_RANGES)),
    }
    if source is not None:
        # The image page's starting placement, for an upload instead of a gallery image.
        defaults = canvas_defaults(source.width, source.height)
        ctx.update(
            defaults,
            form_id=uuid.uuid4().hex,
            price=opening_price(source, defaults, membership.team),
        )
    return render(request, "gallery/upload_paint.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
def upload_paint(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    data = request.POST if request.method == "POST" else request.GET
    try:
        if not membership.can_create:
            raise pipeline.Refused(VIEWERS, status=403)
        source = source_for(membership, data.get("src", ""))
    except (BadInput, pipeline.Refused) as exc:
        status = getattr(exc, "status", 400)
        return _answer(request, membership, None, problem=_words(exc), status=status)
    if request.method == "GET":
        return _page(request, membership, source)
    job, problem, status = None, "", 200
    try:
        edit = paint_request(source, data, membership.team)
        draft = pipeline.Draft(
            request=edit,
            prompt_raw=edit.prompt,
            client_request_id=images.client_request_id(data, edit),
        )
        job = pipeline.create(membership, draft)
    except BadInput as exc:
        problem, status = str(exc), 400
    except pipeline.Refused as refused:
        problem, status = refused.message, refused.status
    return _answer(request, membership, source, job=job, problem=problem, status=status)


def _answer(
    request: HttpRequest,
    membership: Membership,
    source: Source | None,
    *,
    job: Job | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    """A made job or a refusal: in place for htmx; else the job, or the page with the error."""
    if not request.htmx:
        if job is not None:
            return redirect("job-detail", membership.team.slug, job.pk)
        return _page(request, membership, source, problem=problem, status=status)
    ctx = {
        "team": membership.team,
        "created": job,
        "created_title": images.describe(job) if job else "",
        "problem": problem,
    }
    response = render(request, "gallery/image.html#result-message", ctx, status=status)
    return trigger_client_event(response, "credits-changed") if job else response


def _words(exc: Exception) -> str:
    return exc.message if isinstance(exc, pipeline.Refused) else str(exc)


@require_GET
def upload_paint_price(request: HttpRequest, slug: str) -> HttpResponse:
    """What the form would cost and what is wrong with it, as it is filled in."""
    membership = get_membership(request, slug)
    check: Preview | None = None
    problem, status = "", 200
    try:
        if not membership.can_create:
            raise pipeline.Refused(VIEWERS, status=403)
        source = source_for(membership, request.GET.get("src", ""))
        check = preview(paint_request(source, request.GET, membership.team))
    except BadInput as exc:
        problem, status = str(exc), 400
    except pipeline.Refused as refused:
        problem, status = refused.message, refused.status
    ctx = {"check": check, "problem": problem, "form": FORM}
    return render(request, "gallery/image.html#edit-check", ctx, status=status)
