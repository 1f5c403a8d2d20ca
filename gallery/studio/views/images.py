"""The image page and the edits made from it.

    image          one image large (100% on a click, ←/→ through the gallery's
                   order, Esc back to it): star, collection, share link,
                   download, private, delete with Undo (gallery.studio.views.organise
                   answers those forms with this page's actions panel), prompt,
                   what it cost, its lineage, and a button for every edit the
                   catalog allows on it, each with its price or the reason it is off
    image_download the original as an attachment, named after its job and slot
    edit_image     a pressed button becomes a job through the pipeline
    image_price    the live price and problems of one edit form, as it is filled in
    image_children the "made from this image" list, polled while one is running
    public_image   a stored file at a signed, expiring URL, for the upstream

Every lookup starts from the images of jobs the user may see in the team of
the URL, so a stranger gets 404 and a viewer sees no edit controls.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from gallery.catalog import operations
from gallery.catalog.operations import (
    BOX_RANGES,
    MASK_POINT_RANGE,
    MAX_SIDE,
    OPERATIONS,
    VTRIX_MASK_SIZE,
    ButtonSpec,
    Request,
)
from gallery.credits import ledger
from gallery.credits.quotes import Preview, preview
from gallery.net import numbers
from gallery.net.files import stored_file_response
from gallery.studio import pipeline, public_urls
from gallery.studio.edit_fields import BadInput, box, canvas_defaults, drawn_mask, whole
from gallery.studio.models.jobs import Image, Job
from gallery.studio.models.organise import Collection, ShareLink, Star
from gallery.studio.views.jobs import apply_filters, filter_query, live_links, read_filters
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_membership

# The edits the page offers and the names of their forms (which say where an
# answer goes; only these become ids): both are facts of the catalog's entries.
PAGE_OPERATIONS = operations.image_page_operations()
FORMS = frozenset(OPERATIONS[op].form for op in PAGE_OPERATIONS)
# (value, arrow, visible name) laid out as a d-pad by the stylesheet.
PAN_DIRECTIONS = (
    ("up", "↑", "Up"),
    ("left", "←", "Left"),
    ("right", "→", "Right"),
    ("down", "↓", "Down"),
)
RETEXTURE_ONLY_UPSCALE = "A retextured image can only be upscaled"
MAX_LINEAGE = 50  # parent links followed; far more than any real chain
_CLIENT_ID = re.compile(r"^[0-9a-f]{8,32}$")


# --- what the user may see -------------------------------------------------------


def team_images(membership: Membership) -> QuerySet[Image]:
    """Images of the team's jobs this user may see (not others' private or deleted ones)."""
    jobs = Job.objects.visible_in(membership)
    return Image.objects.filter(job__in=jobs).select_related("job", "job__user")


def trashed_images(membership: Membership) -> QuerySet[Image]:
    """Images of jobs in this member's trash: a deleted image's page stays
    open to whoever may restore it, with "Deleted · Undo" and no edits."""
    jobs = Job.objects.in_trash(membership)
    return Image.objects.filter(job__in=jobs).select_related("job", "job__user")


def neighbours(
    membership: Membership, image: Image, filters: dict[str, str] | None = None
) -> tuple[Image | None, Image | None]:
    """The stored images before and after this one in gallery order (newest
    job first, then image 1-4), among the jobs the gallery shows under
    `filters`, for the ←/→ links. Each side is a keyset lookup from this job
    along the gallery's (team, -created, -id) index: the same few queries for a
    team of ten jobs or of ten thousand."""
    job = image.job
    stored = Image.objects.filter(status=Image.Status.STORED)
    jobs = apply_filters(Job.objects.visible_in(membership), filters or {}, membership.user)
    jobs = jobs.filter(Exists(stored.filter(job=OuterRef("pk"))))
    siblings = stored.filter(job=job)
    before = siblings.filter(index__lt=image.index).order_by("-index").first()
    if before is None:
        newer = jobs.newer_than(job.created, job.pk).order_by("created", "pk")
        before = stored.filter(job=Subquery(newer.values("pk")[:1])).order_by("-index").first()
    after = siblings.filter(index__gt=image.index).order_by("index").first()
    if after is None:
        older = jobs.older_than(job.created, job.pk).order_by("-created", "-pk")
        after = stored.filter(job=Subquery(older.values("pk")[:1])).order_by("index").first()
    return before, after


# --- lineage ---------------------------------------------------------------------------


def describe(job: Job) -> str:
    """What a job did, in the catalog's words ("Upscale (Creative)", "Pan left
    ×1.5"); a generation, untitled on its card, is a step of a lineage here."""
    return operations.step_title(job.operation, job.params, job.speed)


def source_of(visible: QuerySet[Image], job: Job) -> Image | None:
    """The image a job started from: its parent, or for retexture and
    remove-background (which have none) the image behind its signed source URL."""
    if job.parent_id:
        return visible.filter(pk=job.parent_id).first()
    for url in job.source_urls or ():
        name = public_urls.name_from_url(str(url))
        if name:
            return visible.filter(original=name).order_by("pk").first()
    return None


def ancestors(membership: Membership, image: Image) -> list[Image]:
    """The chain this image was made from, first prompt first, nearest last."""
    visible = team_images(membership)
    chain: list[Image] = []
    current = image
    for _ in range(MAX_LINEAGE):
        parent = source_of(visible, current.job)
        if parent is None or parent in chain or parent == image:
            break
        chain.append(parent)
        current = parent
    return chain[::-1]


@dataclass
class Child:
    job: Job
    title: str
    images: list[Image] = field(default_factory=list)


def made_from(image: Image) -> Q:
    """The jobs made from an image: edits naming it as parent, and retextures /
    background removals that were sent its signed URL."""
    found = Q(parent=image)
    if image.original:
        found |= Q(parent__isnull=True, source_urls__icontains=image.original.name)
    return found


def children(membership: Membership, image: Image) -> list[Child]:
    """Jobs made from this image, oldest first: edits naming it as parent, and
    retextures / background removals that were sent its signed URL."""
    jobs = (
        Job.objects.visible_in(membership)
        .filter(made_from(image))
        .select_related("user")
        .prefetch_related(Prefetch("images", queryset=Image.objects.order_by("index")))
        .order_by("created", "pk")
    )
    return [Child(job, describe(job), list(job.images.all())) for job in jobs]


def children_context(membership: Membership, image: Image) -> dict[str, Any]:
    # The list changes through the page's live stream (or its poll), not a poll of its own.
    return {"children": children(membership, image)}


def shown_params(job: Job) -> list[str]:
    """The job's settings as chips; the editors' geometry is summarised, not dumped."""
    shown = []
    for key, value in (job.params or {}).items():
        if key == "image_number":
            continue
        if key == "mask" and isinstance(value, dict):
            count = len(value.get("areas") or ())
            plural = "" if count == 1 else "s"
            shown.append(f"mask: {count} area{plural}" if count else "mask: image")
        elif key in ("canvas", "img_pos") and isinstance(value, dict):
            where = f" at {value.get('x')}, {value.get('y')}" if "x" in value else ""
            shown.append(f"{key}: {value.get('width')}×{value.get('height')}{where}")
        else:
            shown.append(f"{key}: {value}")
    return shown


# --- the buttons ---------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """One edit button: its price, or why it is off."""

    key: str
    operation: str
    label: str
    credits: int | None = None
    estimate: bool = False
    reason: str = ""  # why a rule forbids it; "" when it may be pressed


def buttons(image: Image) -> dict[str, Button]:
    """Every button the image's provider offers, keyed for the template; an
    operation the provider lacks has no button at all. Each is priced with the
    catalog's stand-ins for what the person still has to fill in."""
    facts = pipeline.parent_facts(image)
    result = {}
    for operation in PAGE_OPERATIONS:
        spec = OPERATIONS[operation]
        if image.job.provider not in spec.models:
            continue
        for button in spec.buttons:
            request = base_request(
                image,
                operation,
                prompt="a stand-in prompt" if spec.prompt == "required" else "",
                params={**spec.stand_ins, **button.params},
            )
            check = preview(request, facts if spec.needs_parent else None)
            result[button.key] = _button(image, spec, button, check)
    return result


def _button(image: Image, spec: operations.Operation, button: ButtonSpec, check: Preview) -> Button:
    reason = page_rule(image, spec.id) or (check.errors[0].message if check.errors else "")
    if not reason and check.quote is None:
        reason = check.price_problem
    quote = check.quote
    return Button(
        key=button.key,
        operation=spec.id,
        label=operations.button_label(spec, button),
        credits=quote.credits if quote else None,
        estimate=bool(quote and quote.estimate),
        reason=reason,
    )


def page_rule(image: Image, operation: str) -> str:
    """Rules the catalog cannot see, for edits that take this image by URL
    (the catalog only knows parents): why `operation` is off, or ""."""
    if not OPERATIONS[operation].needs_image:
        return ""
    if image.job.operation == "mj-v7-retexture":
        return RETEXTURE_ONLY_UPSCALE
    if image.status != Image.Status.STORED:
        return "The image is not stored yet, so it cannot be sent"
    return ""


# --- reading an edit form ------------------------------------------------------------


def base_request(
    image: Image,
    operation: str,
    *,
    prompt: str = "",
    params: dict[str, Any] | None = None,
    speed: str | None = None,
) -> Request:
    """The request for `operation` on this image: a parent edit names the
    parent's upstream task and the image's slot; retexture and remove-background
    get the image itself, at a signed public URL, and no parent."""
    job = image.job
    spec = OPERATIONS[operation]
    common: dict[str, Any] = {
        "operation": operation,
        "provider": job.provider,
        "prompt": prompt,
        "speed": speed,
        "params": params or {},
    }
    if spec.needs_parent:
        return Request(**common, parent_task_id=job.upstream_id or None, image_number=image.index)
    source = public_urls.signed_url(image.original.name) if image.original else ""
    return Request(**common, image_urls=(source,) if source else ())


def request_from(image: Image, data: QueryDict) -> Request:
    """The request a submitted edit form asks for; BadInput names a field it cannot read."""
    operation = data.get("operation", "")
    if operation not in PAGE_OPERATIONS:
        raise BadInput("Choose one of the edits on this page")
    spec = OPERATIONS[operation]
    prompt = data.get("prompt", "").strip() if spec.prompt != "absent" else ""
    speed = (data.get("speed") or None) if spec.speeds else None
    params = read_params(image, spec, data)
    return base_request(image, operation, prompt=prompt, params=params, speed=speed)


def _scale_param(param: operations.ParamSpec, raw: str | None, label: str) -> int | float:
    """A number parameter, read within the catalog's range for it."""
    assert param.minimum is not None and param.maximum is not None
    try:
        value = numbers.number(raw, label=label, minimum=param.minimum, maximum=param.maximum)
    except numbers.NumberError as problem:
        raise BadInput(str(problem)) from None
    return numbers.as_json(value)


def read_params(image: Image, spec: operations.Operation, data: QueryDict) -> dict[str, Any]:
    """The catalog's parameters of `spec` as its form sends them, each read
    by its kind: a choice as sent (the catalog's default when absent), a
    number within the catalog's range, the editors' mask and boxes."""
    params: dict[str, Any] = {}
    for param in spec.params:
        if param.kind == "choice":
            params[param.name] = data.get(param.name, param.default)
        elif param.kind == "number":
            params[param.name] = _number_param(param, data, param.name in spec.custom_fields)
        elif param.kind == "mask":
            mask = _mask(image, data, required=param.required)
            if mask is not None:
                params[param.name] = mask
        else:
            params[param.name] = box(data, param.name, param.kind)
    return params


def _number_param(param: operations.ParamSpec, data: QueryDict, custom: bool) -> int | float:
    # With presets and a custom field, a preset button sends its factor, and
    # "custom" or no button (the live price sends none) reads the typed value;
    # a plain field left blank is the catalog's default.
    raw = data.get(param.name)
    if custom and (raw or "custom") == "custom":
        raw = data.get(f"custom_{param.name}")
    elif not raw:
        raw = str(param.default)
    return _scale_param(param, raw, f"The {param.label.lower()}")


def _mask(image: Image, data: QueryDict, *, required: bool) -> dict[str, Any] | None:
    """The drawn mask (JSON from the editor), or the no-JavaScript rectangle."""
    raw = data.get("mask", "").strip()
    if raw:
        mask = drawn_mask(raw)  # its shape checked before the Vtrix fitting computes with it
    elif any(data.get(f"rect_{k}") for k in ("width", "height")):
        mask = {"areas": [_rectangle(image, data)]}
    elif required:
        raise BadInput("Draw the area to change on the image first")
    else:
        return None
    if image.job.provider == "vtrix":
        mask = _fit_vtrix(mask)
    return mask


def _rectangle(image: Image, data: QueryDict) -> dict[str, Any]:
    width, height = image.width or 1024, image.height or 1024
    sides, offsets = (1, MAX_SIDE), MASK_POINT_RANGE
    x = whole(data.get("rect_x") or "0", "The rectangle's x", offsets)
    y = whole(data.get("rect_y") or "0", "The rectangle's y", offsets)
    w = whole(data.get("rect_width"), "The rectangle's width", sides)
    h = whole(data.get("rect_height"), "The rectangle's height", sides)
    right, bottom = min(width, x + w), min(height, y + h)
    if right <= x or bottom <= y:
        raise BadInput(f"The rectangle must lie inside the image ({width}×{height} pixels)")
    return {"width": width, "height": height, "points": [x, y, right, y, right, bottom, x, bottom]}


def _fit_vtrix(mask: dict[str, Any]) -> dict[str, Any]:
    """Vtrix wants each area's frame 500-4096 px a side; a smaller (or larger)
    image's areas are scaled, points and frame together, so they cover the same
    part. Only a mask that passed `mask_issues` comes here: every area is an
    object of whole sides and bounded points, so the arithmetic stays small."""
    if "areas" not in mask:
        return mask  # a mask image ({url}) has no geometry to scale
    low, high = VTRIX_MASK_SIZE
    fitted = []
    for area in mask["areas"]:
        w, h = area["width"], area["height"]
        factor = min(max(1.0, low / min(w, h)), high / max(w, h))
        fitted.append(
            {
                "width": round(w * factor),
                "height": round(h * factor),
                "points": [round(p * factor) for p in area["points"]],
            }
        )
    return {**mask, "areas": fitted}


def client_request_id(data: QueryDict, request: Request) -> str:
    """The form's one-time id plus a digest of what was asked: a double click
    makes one job, but pressing "Upscale (Creative)" after "Upscale (Subtle)"
    on the same form makes two."""
    form_id = data.get("client_request_id", "")
    if not _CLIENT_ID.match(form_id):
        return ""
    asked = json.dumps(
        [request.operation, request.prompt, request.speed, request.params, request.image_number],
        sort_keys=True,
        default=str,
    )
    return f"{form_id}-{hashlib.sha256(asked.encode()).hexdigest()[:16]}"


# --- views -------------------------------------------------------------------------------


def _page(membership: Membership, image: Image, **extra: Any) -> dict:
    filters = extra.pop("filters", {})
    before, after = neighbours(membership, image, filters)
    lineage = ancestors(membership, image)
    prompt_job = next(
        (i.job for i in [image, *lineage[::-1]] if i.job.prompt), image.job
    )  # an upscale has no prompt of its own: show the one it descends from
    deleted = image.job.deleted_at is not None
    ctx = {
        "nav": "gallery",
        "balance": ledger.balance_of(membership),
        "title": describe(image.job),
        "prompt_job": prompt_job,
        "before": before,
        "after": after,
        # A page opened from a filtered gallery browses, and goes back to, that gallery.
        "filter_qs": filter_query(filters),
        "prompt_title": describe(prompt_job),
        "lineage": [(i, describe(i.job)) for i in lineage],
        **children_context(membership, image),
        "shown_params": shown_params(image.job),
        "ops": buttons(image) if membership.can_create and not deleted else {},
        "pan_directions": PAN_DIRECTIONS,
        "form_id": uuid.uuid4().hex,
        "max_side": MAX_SIDE,
        # The canvas editor names the catalog's own ranges before anything is sent.
        "box_ranges": json.dumps(dict(BOX_RANGES)),
        "pan_scale": OPERATIONS["mj-v7-pan"].param("scale"),
        "zoom_scale": OPERATIONS["mj-v7-outpaint"].param("scale"),
        **canvas_defaults(image.width, image.height),
        **actions_context(membership, image),
        **extra,
    }
    return ctx


def actions_context(membership: Membership, image: Image, done: str = "") -> dict[str, Any]:
    """What the page's actions panel shows: its own context, since the organise
    views answer the panel's forms with the panel alone. `done` says what the
    last action did."""
    job = image.job
    can_create = membership.can_create  # viewers may star and download, nothing more
    boards = Collection.objects.visible_to(membership.user, membership.team)
    links = ShareLink.objects.active().filter(image=image)
    return {
        "membership": membership,
        "team": membership.team,
        "image": image,
        "job": job,
        "deleted": job.deleted_at is not None,
        "starred": Star.objects.filter(user_id=membership.user_id, job=job).exists(),
        "boards": list(boards) if can_create else [],
        "share_link": links.first() if can_create else None,
        "can_manage": job.can_manage(membership.user, is_admin=membership.is_admin),
        "download_name": download_name(image),
        "done": done,
    }


def download_name(image: Image) -> str:
    extension = image.original.name.rsplit(".", 1)[-1] if image.original else "png"
    return f"mjweb-{image.job_id}-{image.index + 1}.{extension}"


@require_GET
def image(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug, "team__live_seq")
    listening = live_links(membership, f"image:{pk}")
    found = team_images(membership).filter(pk=pk).first()
    found = found or get_object_or_404(trashed_images(membership), pk=pk)
    filters, _ = read_filters(request.GET)  # a filter that cannot be used filters nothing
    ctx = _page(membership, found, filters=filters, **listening)
    return render(request, "gallery/image.html", ctx)


@require_GET
def image_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The original as a file to save, not to show: named after its job and slot."""
    membership = get_membership(request, slug)
    found = get_object_or_404(team_images(membership), pk=pk, status=Image.Status.STORED)
    if not found.original.name:
        raise Http404("No such image")
    name = download_name(found)
    return stored_file_response(found.original.name, filename=name, disposition="attachment")


@require_POST
def edit_image(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One edit of this image becomes a job, or is refused in words."""
    membership = get_membership(request, slug)
    found = get_object_or_404(team_images(membership), pk=pk)
    form = _form_key(request.POST)
    job, problem, status = None, "", 200
    try:
        job = _submit(membership, found, request.POST)
    except BadInput as exc:
        problem, status = str(exc), 400
    except pipeline.Refused as refused:
        problem, status = refused.message, refused.status
    if not request.htmx:
        if job is not None:
            return redirect("job-detail", slug, job.pk)
        ctx = _page(membership, found, result_form=form, problem=problem)
        return render(request, "gallery/image.html", ctx, status=status)
    ctx = {
        "team": membership.team,
        "image": found,
        "created": job,
        "created_title": describe(job) if job else "",
        "problem": problem,
        "result_form": form,
        **(children_context(membership, found) if job else {}),
    }
    response = render(request, "gallery/image.html#edit-result", ctx, status=status)
    return trigger_client_event(response, "credits-changed") if job else response


def _form_key(data: QueryDict) -> str:
    key = data.get("form", "")
    return key if key in FORMS else ""


def _submit(membership: Membership, image: Image, data: QueryDict) -> Job:
    if not membership.can_create:
        raise pipeline.Refused("Viewers cannot edit images", status=403)
    edit = request_from(image, data)
    rule = page_rule(image, edit.operation)
    if rule:
        raise pipeline.Refused(rule)
    draft = pipeline.Draft(
        request=edit,
        prompt_raw=edit.prompt,
        parent=image if OPERATIONS[edit.operation].needs_parent else None,
        client_request_id=client_request_id(data, edit),
    )
    return pipeline.create(membership, draft)


@require_GET
def image_price(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """What the edit form would cost and what is wrong with it, as it is filled in."""
    membership = get_membership(request, slug)
    found = get_object_or_404(team_images(membership), pk=pk)
    check: Preview | None = None
    problem, status = "", 200
    if not membership.can_create:
        problem = "Viewers cannot edit images"
    else:
        try:
            edit = request_from(found, request.GET)
        except BadInput as exc:
            problem, status = str(exc), 400
        else:
            problem = page_rule(found, edit.operation)
            parent = OPERATIONS[edit.operation].needs_parent
            check = preview(edit, pipeline.parent_facts(found) if parent else None)
    ctx = {"check": check, "problem": problem, "form": _form_key(request.GET)}
    return render(request, "gallery/image.html#edit-check", ctx, status=status)


@require_GET
def image_children(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug)
    found = get_object_or_404(team_images(membership), pk=pk)
    ctx = {"team": membership.team, "image": found, **children_context(membership, found)}
    return render(request, "gallery/image.html#children", ctx)


@login_not_required
@require_GET
def public_image(request: HttpRequest, token: str, name: str) -> HttpResponse:
    """A stored file for the upstream, which has no session: the signature in
    the URL is the permission, for 24 hours (gallery.studio.public_urls)."""
    left = public_urls.seconds_left(token, name)
    if left is None or ".." in name.split("/"):
        raise Http404("No such image")
    # Streamed even from a bucket: an upstream's fetcher need not follow a
    # redirect. Not in shared caches, and never past the link's own end.
    return stored_file_response(name, cache=f"private, max-age={left}", stream=True)
