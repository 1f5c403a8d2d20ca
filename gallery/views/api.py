"""The team API: evolink's endpoints, answered for a team member's personal token.

    POST /api/v1/images/generations   create a task (a job in the team gallery)
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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from gallery import api, ledger, openapi, pipeline
from gallery import throttle as throttles  # `throttle` below is the per-token rate limit
from gallery.api import ApiError, invalid
from gallery.files import stored_file_response
from gallery.models import ApiTask, ApiToken, Job, Membership

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

View = Callable[..., HttpResponse]


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def api_endpoint(*methods: str) -> Callable[[View], View]:
    """JSON in and out, in evolink's error envelope, whatever goes wrong."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = error_response(
                    ApiError("method_not_allowed", f"Use {' or '.join(methods)} here")
                )
                response["Allow"] = ", ".join(methods)
            else:
                try:
                    response = view(request, *args, **kwargs)
                except ApiError as exc:
                    response = error_response(exc)
                except Exception:
                    # Still evolink's envelope, so a client's error handling holds.
                    log.exception("Team API request failed: %s %s", request.method, request.path)
                    response = error_response(ApiError("internal_error", "Internal server error"))
            if not response.has_header("Cache-Control"):
                response["Cache-Control"] = "no-store"
            return response

        return wrapper

    return decorate


# --- authentication and rate limits ---------------------------------------------------

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mjweb"'}


def authenticate(request: HttpRequest) -> ApiToken:
    """The active token in the Authorization header, or ApiError 401."""
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
    key = f"api-token:ip:{throttles.client_address(request)}"
    gate = _token_gate(key)
    token = ApiToken.find(plain) if len(plain) <= MAX_TOKEN_LENGTH else None
    if token is None:  # a guess: it counts
        if gate is None:
            throttles.hit(key, limit=AUTH_FAILURES_PER_ADDRESS, window=AUTH_FAILURE_WINDOW)
        raise ApiError("unauthorized", "Invalid token", headers=_CHALLENGE)
    if gate is not None:
        gate.succeeded()  # a real token, even a revoked one, is not a guess
    if not token.membership.user.is_active:
        raise ApiError("unauthorized", "Invalid token", headers=_CHALLENGE)
    if token.revoked_at is not None:
        raise ApiError("unauthorized", "This token was revoked", headers=_CHALLENGE)
    if token.is_expired:
        raise ApiError("unauthorized", "This token has expired", headers=_CHALLENGE)
    token.touch()
    return token


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


def throttle(token: ApiToken) -> dict[str, str]:
    """Count the request against the token's window; ApiError 429 past the limit.

    A fixed window in the shared cache (the database, or Redis), so every web
    process counts together. The database cache's increment is not atomic:
    under a burst a few requests may slip past the limit, never fewer.
    """
    limit, window = rate_limit()
    now = time.time()
    key = f"api-rate:{token.pk}:{int(now // window)}"
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
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - count))}
    if count > limit:
        wait = max(1, int(window - now % window) + 1)
        raise ApiError(
            "rate_limit_exceeded",
            f"Too many requests: a token may make {limit} per {window} s. Try again in {wait} s.",
            headers={**headers, "Retry-After": str(wait)},
        )
    return headers


def _task_response(
    request: HttpRequest, job: Job, token: ApiToken, headers: dict[str, str]
) -> JsonResponse:
    """The task as evolink shows it, its result URLs freshly signed for `token`."""
    base = request.build_absolute_uri("/")
    response = JsonResponse(api.task_body(job, lambda image: api.file_url(base, image, token.pk)))
    for name, value in headers.items():
        response[name] = value
    return response


# --- endpoints --------------------------------------------------------------------------


@api_endpoint("POST")
def create_generation(request: HttpRequest) -> HttpResponse:
    token = authenticate(request)
    headers = throttle(token)
    membership = token.membership
    try:
        data = api.parse_body(request.body)
    except RequestDataTooBig:
        raise invalid("The request body is too large") from None
    submission = api.read_submission(data)
    key = api.client_request_id(request.headers.get("Idempotency-Key"))
    digest = api.request_digest(data)
    if replay := _replay(request, token, key, digest, headers):
        return replay
    api.check_callback_url(submission.callback_url)
    draft = api.to_draft(submission, api.resolve_parent(membership, submission), key)
    url = submission.callback_url or ""
    task = {
        "token": token,
        "request_digest": digest,
        "callback_url": url,
        "callback_state": ApiTask.CallbackState.PENDING if url else "",
    }
    try:
        # The task row is written in the job's own transaction: one commit.
        job = pipeline.create(
            membership, draft, record=lambda job: ApiTask.objects.create(job=job, **task)
        )
    except pipeline.Refused as exc:
        raise api.refused(exc) from None
    except IntegrityError:
        # The same key in flight twice (the other request won), or used before
        # in another of this person's teams: the job table keys it per person.
        if replay := _replay(request, token, key, digest, headers):
            return replay
        raise invalid(
            "This Idempotency-Key was already used for a task in another team",
            "Idempotency-Key",
        ) from None
    # A job this person's Idempotency-Key had already made (a race that
    # create() settled) may have no task row yet.
    ApiTask.objects.get_or_create(job=job, defaults=task)
    return _task_response(request, job, token, headers)


def _replay(
    request: HttpRequest, token: ApiToken, key: str, digest: str, headers: dict[str, str]
) -> JsonResponse | None:
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
    response = _task_response(request, job, token, headers)
    response["Idempotent-Replayed"] = "true"
    return response


@api_endpoint("GET")
def task_detail(request: HttpRequest, task_id: str) -> HttpResponse:
    token = authenticate(request)
    headers = throttle(token)
    membership = token.membership
    pk = api.job_pk(task_id)
    job = (
        Job.objects.visible_in(membership).filter(pk=pk).prefetch_related("images").first()
        if pk
        else None
    )
    if job is None:
        raise ApiError("task_not_found", "Task not found")
    return _task_response(request, job, token, headers)


@api_endpoint("GET")
def balance(request: HttpRequest) -> HttpResponse:
    token = authenticate(request)
    headers = throttle(token)
    membership = token.membership
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
    response = JsonResponse(body)
    for name, value in headers.items():
        response[name] = value
    return response


def _left(limit: int | None, spent: int) -> int | None:
    return None if limit is None else max(0, limit - spent)


@api_endpoint("GET", "HEAD")
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


@api_endpoint("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /api/v1/ answers in the API's envelope, not an HTML page."""
    raise ApiError("not_found", "No such endpoint")


# --- the document and its page ------------------------------------------------------------


@api_endpoint("GET")
def openapi_json(request: HttpRequest) -> HttpResponse:
    document = openapi.build(request.build_absolute_uri("/").rstrip("/"))
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """The document as a page. Behind sign-in like the rest of the site; the
    JSON itself stays public, for tools that cannot sign in."""
    base = request.build_absolute_uri("/").rstrip("/")
    context = {"nav": "api-docs", **openapi.docs_context(openapi.build(base), base)}
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
