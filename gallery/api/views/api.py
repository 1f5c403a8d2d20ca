"""The team API: evolink's endpoints, answered for a team member's personal token.

    POST /api/v1/images/generations   create a task (a job in the team gallery)
    POST /api/v1/batches              a batch of rows under a spending cap
    GET  /api/v1/tasks/<task_id>      read it
    GET  /api/v1/balance              the token owner's credits and limits
    GET  /api/v1/files/<name>         a result image (the short-lived URL is the credential)
    GET  /api/v1/openapi.json         the OpenAPI 3.1 document; /api/docs/ renders it

Every request is authenticated by `Authorization: Bearer mjw_…` alone: no
session, so no CSRF exposure. The token acts as its owner in its team, and
every lookup starts from what that person may see there: another team's task
is answered like a missing one (404), never 403. Each token has a request
budget per window in the shared cache (429 with Retry-After); creation also
meets the ledger's budgets, the same as the web form. Past the per-person
in-flight cap a task is accepted as pending and waits in line (200, not 429).

The endpoints are django-ninja operations: the schemas in `gallery.api.schemas`
validate requests and make the OpenAPI document, a bearer-auth class finds the
token, a throttle class counts its requests. Every refusal, ninja's own
included, is answered in evolink's envelope by the exception handlers here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import URLPattern, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from ninja import Header, NinjaAPI
from ninja import Path as PathParam
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as RequestInvalid
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from gallery.api import openapi, schemas
from gallery.api import translate as api
from gallery.api.models.tokens import ApiTask, ApiToken
from gallery.api.translate import ApiError, invalid
from gallery.catalog.prompt import Code, Issue
from gallery.credits import ledger
from gallery.net import throttle as throttles  # the sign-in counters; TokenRate is per token
from gallery.net.files import stored_file_response
from gallery.studio import batches, pipeline
from gallery.studio.models.jobs import Job
from gallery.teams.models.teams import Membership

log = logging.getLogger(__name__)

# Requests per token per window; a poll every second and a few creations fit.
DEFAULT_RATE_LIMIT = 120
DEFAULT_RATE_WINDOW = 60
MAX_TOKEN_LENGTH = 200  # ours are 47 characters; anything far longer is not one
# Unknown tokens one address may present per window: the sign-in throttle's
# address limit, on a counter of its own (a script with a stale token should
# not lock its office out of the site's sign-in page).
AUTH_FAILURES_PER_ADDRESS = 30
AUTH_FAILURE_WINDOW = 15 * 60


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


# --- authentication and rate limits ---------------------------------------------------

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mjweb"'}


class BearerToken(HttpBearer):
    """A personal token (mjw_…) from the team's API tokens page. It acts as you, in the team
    it was made in."""

    openapi_description = __doc__

    def __call__(self, request: HttpRequest) -> ApiToken:
        """The active token in the Authorization header, or ApiError 401.

        Each way of being refused says which (ninja's own bearer parsing
        answers them all with one bare None)."""
        header = request.headers.get("Authorization", "")
        scheme, _, plain = header.strip().partition(" ")
        plain = plain.strip()
        if not header:
            raise ApiError(
                "unauthorized",
                "Missing Authorization header; send 'Authorization: Bearer <token>'",
                headers=_CHALLENGE,
            )
        if scheme.lower() != "bearer" or not plain:
            raise ApiError(
                "unauthorized",
                "The Authorization header must be 'Bearer <token>'",
                headers=_CHALLENGE,
            )
        return self.authenticate(request, plain)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        key = f"api-token:ip:{throttles.client_address(request)}"
        gate = _token_gate(key)
        found = ApiToken.find(token) if len(token) <= MAX_TOKEN_LENGTH else None
        if found is None:  # a guess: it counts
            if gate is None:
                throttles.hit(key, limit=AUTH_FAILURES_PER_ADDRESS, window=AUTH_FAILURE_WINDOW)
            raise ApiError("unauthorized", "Invalid token", headers=_CHALLENGE)
        if gate is not None:
            gate.succeeded()  # a real token, even a revoked one, is not a guess
        if not found.membership.user.is_active:
            raise ApiError("unauthorized", "Invalid token", headers=_CHALLENGE)
        if found.revoked_at is not None:
            raise ApiError("unauthorized", "This token was revoked", headers=_CHALLENGE)
        if found.is_expired:
            raise ApiError("unauthorized", "This token has expired", headers=_CHALLENGE)
        found.touch()
        return found


def _token_gate(key: str) -> throttles.Attempt | None:
    """The address's slot for a token lookup, or ApiError 429 past its limit.

    An address without a failed token this window is let through uncounted
    (None) and counted after a failure: a slot taken and given back on every
    good request would add two committed writes to each poll. Once it has
    failed, each further attempt takes its slot before the lookup, as sign-in
    does, so a guesser is held to the limit (beyond it by no more than its
    first burst of concurrent requests; tokens are 256-bit secrets).
    """
    limit, window = AUTH_FAILURES_PER_ADDRESS, AUTH_FAILURE_WINDOW
    seen = throttles.peek(key, limit=limit, window=window)
    if seen.count == 0:
        return None
    gate = throttles.attempt({"address": (key, limit)}, window=window)
    if gate.refused:
        raise ApiError(
            "rate_limit_exceeded",
            "Too many failed token attempts from this address. "
            f"Try again in {throttles.minutes(gate.retry_after)}.",
            headers={"Retry-After": str(gate.retry_after)},
        )
    return gate


def rate_limit() -> tuple[int, int]:
    limit = getattr(settings, "MJWEB_API_RATE_LIMIT", DEFAULT_RATE_LIMIT)
    window = getattr(settings, "MJWEB_API_RATE_WINDOW", DEFAULT_RATE_WINDOW)
    return limit, window


class TokenRate(BaseThrottle):
    """A fixed window per token in the shared cache (the database, or Redis), so
    every web process counts together; the X-RateLimit headers it leaves on the
    request go out with the answer (`_http`).

    Not ninja's SimpleRateThrottle: that keeps a list of request times per key,
    read and rewritten whole on every request, where one counter incremented
    in place is enough. The database cache's increment is not atomic: under a
    burst a few requests may slip past the limit, never fewer.
    """

    def allow_request(self, request: HttpRequest) -> bool:
        token: ApiToken = request.auth  # type: ignore[attr-defined]  # authentication ran first
        limit, window = rate_limit()
        key = f"api-rate:{token.pk}:{int(time.time() // window)}"
        # Read first: in the database cache a refused add() still takes the write
        # lock, and all but a window's first request would pay for one.
        if cache.get(key) is None and cache.add(key, 1, timeout=window + 5):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the entry expired between add() and incr()
                cache.set(key, 1, timeout=window + 5)
                count = 1
        request.rate_headers = {  # type: ignore[attr-defined]
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - count)),
        }
        return count <= limit

    def wait(self) -> float:
        """Seconds until the window turns (the same for every token)."""
        _, window = rate_limit()
        return max(1, int(window - time.time() % window) + 1)


class JsonObjectParser(Parser):
    """The body as a JSON object, by `api.parse_body`'s rules (no NaN, no lone
    surrogate, no NUL), kept on the request as sent for the request digest."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = api.parse_body(request.body)
        request.api_data = data  # type: ignore[attr-defined]
        return data


team_api = NinjaAPI(
    title="mjweb team API",
    version="1.0.0",
    description=openapi.DESCRIPTION,
    urls_namespace="team-api",
    openapi_url=None,  # served by `openapi_json` below, with this site as its server
    docs_url=None,  # the docs page is the site's own (`api_docs`), under the site's CSP
    parser=JsonObjectParser(),
)
TOKEN = BearerToken()
RATE = TokenRate()


# --- every refusal in evolink's envelope ---------------------------------------------------


@team_api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc)


@team_api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    limit, window = rate_limit()
    wait = RATE.wait() if exc.wait is None else int(exc.wait)
    headers = {**getattr(request, "rate_headers", {}), "Retry-After": str(wait)}
    message = f"Too many requests: a token may make {limit} per {window} s. Try again in {wait} s."
    return error_response(ApiError("rate_limit_exceeded", message, headers=headers))


@team_api.exception_handler(RequestInvalid)
def _invalid_request(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
    return error_response(_from_validation(exc.errors))


@team_api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiError):  # ninja wraps what the body parser raises
        return error_response(exc.__cause__)
    return error_response(invalid(str(exc)))


@team_api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(invalid("The request body is too large"))


@team_api.exception_handler(Exception)
def _failed(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Still evolink's envelope, so a client's error handling holds.
    log.exception("Team API request failed: %s %s", request.method, request.path, exc_info=exc)
    return error_response(ApiError("internal_error", "Internal server error"))


# pydantic's error types -> the catalog's issue codes, so a client reads one vocabulary.
_ISSUE_CODES = {
    "missing": Code.REQUIRED,
    "literal_error": Code.INVALID_CHOICE,
    "greater_than": Code.PARAM_OUT_OF_RANGE,
    "greater_than_equal": Code.PARAM_OUT_OF_RANGE,
    "less_than": Code.PARAM_OUT_OF_RANGE,
    "less_than_equal": Code.PARAM_OUT_OF_RANGE,
    "too_long": Code.TOO_MANY_VALUES,
}
_CATALOG_CODES = frozenset(Code)  # a schema's own checks raise these by name


def _from_validation(errors: list[dict[str, Any]]) -> ApiError:
    """The first problem pydantic found, as the 400 the catalog would give: `param`
    is the top-level field, the model_params entry or the header it is in, and the
    message says where inside (model_params.mask.areas.0.width: ...)."""
    first = errors[0]
    # The location after its source ("body", "header"), without ninja's name for the
    # body and pydantic's for a union's branches (MaskAreas, MaskUrl).
    path = [p for p in first["loc"][1:] if p != "payload" and not _is_schema(p)]
    names = [p for p in path if isinstance(p, str)]
    if names[:1] == ["model_params"] and len(names) > 1:
        names = names[1:]
    if not names:  # no body at all
        return invalid("The request body must be valid JSON (UTF-8)")
    param = names[0]
    kind = first["type"]
    code = Code(kind) if kind in _CATALOG_CODES else _ISSUE_CODES.get(kind, Code.INVALID_VALUE)
    if param == "provider" and code == Code.INVALID_CHOICE:
        code = Code.UNKNOWN_PROVIDER
    message = f"{'.'.join(map(str, path))}: {first['msg']}"
    if code == Code.UNSUPPORTED_SYNTAX:
        message = first["msg"]
    elif param == "model":
        message = "model is required: one of " + ", ".join(schemas.MODELS)
    return invalid(message, param, code)


def _is_schema(name: object) -> bool:
    return isinstance(name, str) and isinstance(getattr(schemas, name, None), type)


# --- the HTTP around every endpoint ------------------------------------------------------------


def _http(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """What every answer of the API has: no cache unless it says so, the token's
    rate headers, and a wrong method refused in the envelope (ninja's 405 is bare)."""

    @csrf_exempt  # a bearer token, no session: there is no CSRF to guard against
    @login_not_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:  # raised where ninja does not catch: its checks, a handler
            response = _failed(request, exc)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(m.strip() for m in response["Allow"].split(","))
            refusal = ApiError("method_not_allowed", f"Use {' or '.join(allowed)} here")
            response = error_response(refusal)
            response["Allow"] = ", ".join(allowed)
        for name, value in getattr(request, "rate_headers", {}).items():
            response.setdefault(name, value)
        response.setdefault("Cache-Control", "no-store")
        return response

    return wrapper


def urlpatterns() -> list[URLPattern]:
    """The endpoints' URL patterns (without ninja's namespace: the rest of the
    site reverses them by their own names), each wrapped in `_http`."""
    # One pattern per name: ninja repeats a path for each operation on it (GET and HEAD).
    named = {p.name: p for p in reversed(team_api.urls[0]) if p.name != "api-root"}
    patterns = list(reversed(named.values()))
    for pattern in patterns:
        pattern.callback = _http(pattern.callback)
    return patterns


def _task_response(request: HttpRequest, job: Job, token: ApiToken) -> JsonResponse:
    """The task as evolink shows it, its result URLs freshly signed for `token`."""
    base = request.build_absolute_uri("/")
    return JsonResponse(api.task_body(job, lambda image: api.file_url(base, image, token.pk)))


# --- endpoints --------------------------------------------------------------------------

IdempotencyKey = Header(
    None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=api.MAX_IDEMPOTENCY_KEY,
    pattern=api.IDEMPOTENCY_KEY_PATTERN,
    description=openapi.IDEMPOTENCY_KEY,
)


@team_api.post(
    "/images/generations",
    url_name="api-generations",
    auth=TOKEN,
    throttle=RATE,
    **openapi.operation("createImageGeneration"),
)
def create_generation(
    request: HttpRequest,
    payload: schemas.ImageGenerationRequest,
    idempotency_key: str = IdempotencyKey,
) -> HttpResponse:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    membership = token.membership
    data = request.api_data  # type: ignore[attr-defined]  # the body as sent
    key = api.client_request_id(idempotency_key)
    digest = api.request_digest(data)
    if replay := _replay(request, token, key, digest):
        return replay
    api.check_callback_url(payload.callback_url)
    draft = api.to_draft(payload, api.resolve_parent(membership, payload), key, membership.team)
    if token.project is not None:
        draft = dataclasses.replace(draft, project=token.project)
    url = payload.callback_url or ""
    task = {
        "token": token,
        "request_digest": digest,
        "callback_url": url,
        "callback_state": ApiTask.CallbackState.PENDING if url else "",
    }
    made: list[Job] = []  # by this request, not found made by another with the same key

    def record(job: Job) -> None:
        made.append(job)
        ApiTask.objects.create(job=job, **task)

    try:
        # The task row is written in the job's own transaction: one commit.
        job = pipeline.create(membership, draft, record=record)
    except pipeline.Refused as exc:
        raise api.refused(exc) from None
    except IntegrityError:
        # The same key in flight twice (the other request won), or used before
        # in another of this person's teams: the job table keys it per person.
        if replay := _replay(request, token, key, digest):
            return replay
        raise invalid(
            "This Idempotency-Key was already used for a task in another team",
            "Idempotency-Key",
        ) from None
    if not made:  # the same key's request that got in first made it: a replay
        # (made by the web form with this id, it may have no task row yet)
        ApiTask.objects.get_or_create(job=job, defaults=task)
        if replay := _replay(request, token, key, digest):
            return replay
    return _task_response(request, job, token)


@team_api.post(
    "/batches",
    url_name="api-batches",
    auth=TOKEN,
    throttle=RATE,
    **openapi.operation("createBatch"),
)
def create_batch(request: HttpRequest, payload: schemas.BatchRequest) -> HttpResponse:
    """A batch of rows under a cap, as the batch page starts one; refused whole
    (nothing made) if any row is, every problem named by row and column."""
    membership = request.auth.membership  # type: ignore[attr-defined]
    records = [row.model_dump(exclude_none=True) for row in payload.rows]
    token = request.auth  # type: ignore[attr-defined]
    checked = batches.preview_records(records, membership.team, token.project)
    if checked.problems:
        issues = tuple(
            Issue(Code.INVALID_VALUE, f"rows[{p.number - 1}].{p.column.replace(' ', '_')}", str(p))
            for p in checked.problems
        )
        raise ApiError(
            "invalid_request",
            f"{len(issues)} problem(s) in the rows; nothing was made. {issues[0].message}",
            param=issues[0].param,
            issues=issues,
        )
    try:
        made = batches.start(membership, payload.name, payload.cap, checked)
    except batches.Refused as exc:
        code = "model_access_denied" if exc.status == 403 else "invalid_request"
        raise ApiError(code, exc.message) from None
    made.refresh_from_db()
    page = request.build_absolute_uri(reverse("batch", args=[membership.team.slug, made.pk]))
    body = {"object": "batch", "id": made.pk, "name": made.name, "status": made.status}
    body.update(cap=made.cap, rows=len(checked.rows), jobs=checked.jobs)
    body.update(total_credits=checked.total, url=page)
    return JsonResponse(body)


def _replay(request: HttpRequest, token: ApiToken, key: str, digest: str) -> JsonResponse | None:
    """The task an Idempotency-Key already made, as it is now; nothing is charged."""
    if not key:
        return None
    membership = token.membership
    job = (
        Job.objects.filter(user=membership.user, team=membership.team, client_request_id=key)
        .select_related("api_task")
        .first()
    )
    if job is None:
        return None
    made_by_api = getattr(job, "api_task", None)
    if made_by_api is not None and made_by_api.request_digest not in ("", digest):
        raise invalid(
            "This Idempotency-Key was already used with a different request; "
            "use a new key for a new task",
            "Idempotency-Key",
        )
    response = _task_response(request, job, token)
    response["Idempotent-Replayed"] = "true"
    return response


@team_api.get(
    "/tasks/{task_id}",
    url_name="api-task",
    auth=TOKEN,
    throttle=RATE,
    **openapi.operation("getTask"),
)
def task_detail(
    request: HttpRequest,
    task_id: str = PathParam(..., description=openapi.TASK_ID),
) -> HttpResponse:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    pk = api.job_pk(task_id)
    job = (
        Job.objects.visible_in(token.membership).filter(pk=pk).prefetch_related("images").first()
        if pk
        else None
    )
    if job is None:
        raise ApiError("task_not_found", "Task not found")
    return _task_response(request, job, token)


@team_api.get(
    "/balance", url_name="api-balance", auth=TOKEN, throttle=RATE, **openapi.operation("getBalance")
)
def balance(request: HttpRequest) -> HttpResponse:
    membership = request.auth.membership  # type: ignore[attr-defined]
    team = membership.team
    account = ledger.account_for(membership)
    spent = ledger.spent_this_month(account, team=team)
    team_spent = ledger.team_spent_this_month(team) if team.monthly_limit is not None else 0
    limit, window = rate_limit()
    body = {
        "object": "balance",
        "team": team.slug,
        "user": membership.user.get_username(),
        "role": membership.role,
        "credits": account.balance,
        "reserved": ledger.reserved_total(account),
        "spent_this_month": spent,
        "in_flight": Job.objects.filter(
            team=team, user=membership.user, status__in=Job.IN_FLIGHT
        ).count(),
        "limits": {
            "monthly": account.monthly_limit,
            "monthly_remaining": _left(account.monthly_limit, spent),
            "team_monthly": team.monthly_limit,
            "team_monthly_remaining": _left(team.monthly_limit, team_spent),
            "max_in_flight": account.max_in_flight,
            "requests_per_window": limit,
            "window_seconds": window,
        },
    }
    return JsonResponse(body)


def _left(limit: int | None, spent: int) -> int | None:
    return None if limit is None else max(0, limit - spent)


@team_api.get("/files/{name}", url_name="api-file", **openapi.operation("getResultFile"))
def result_file(request: HttpRequest, name: str) -> HttpResponse:
    """A stored image, for whoever holds its signed, short-lived URL (see `api.file_image`)."""
    image = api.file_image(name)
    ext = image.original.name.rpartition(".")[2]
    filename = f"{api.task_id(image.job_id)}-{image.index}.{ext}"
    # The URL is a credential that can be cut before it expires (the job made
    # private or deleted, the token revoked): no shared cache keeps the file,
    # and a client asks again each time. Streamed even from a bucket: scripts
    # written for the aggregator's API need not follow redirects.
    try:
        return stored_file_response(
            image.original.name, filename=filename, stream=True, embeddable=True
        )
    except Http404:
        raise ApiError("not_found", "No such file") from None


# HEAD as GET (Django drops the body), left out of the document as before.
team_api.api_operation(["HEAD"], "/files/{name}", url_name="api-file", include_in_schema=False)(
    result_file
)


@team_api.get("/openapi.json", url_name="api-openapi", **openapi.operation("getOpenApi"))
def openapi_json(request: HttpRequest) -> HttpResponse:
    document = openapi.build(team_api, request.build_absolute_uri("/").rstrip("/"))
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /api/v1/ answers in the API's envelope, not an HTML page."""
    response = error_response(ApiError("not_found", "No such endpoint"))
    response["Cache-Control"] = "no-store"
    return response


# --- the docs page ------------------------------------------------------------------------------


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """The document as a page of the site's own (no CDN script, under the site's CSP).
    Behind sign-in like the rest of the site; the JSON itself stays public, for
    tools that cannot sign in."""
    base = request.build_absolute_uri("/").rstrip("/")
    context = {"nav": "api-docs", **openapi.docs_context(openapi.build(team_api, base), base)}
    context["file_url_minutes"] = api.file_url_seconds() // 60
    # The header shows the team used last, as on the team pages.
    memberships = Membership.objects.for_user(request.user)
    membership = (
        memberships.filter(team__slug=request.session.get("team", "")).first()
        or memberships.order_by("created", "pk").first()
    )
    if membership is not None:
        context.update(membership=membership, team=membership.team)
    return render(request, "gallery/api_docs.html", context)
