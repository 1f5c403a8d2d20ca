"""A page's live updates: one long stream (Server-Sent Events) under the ASGI
server, or, where a stream cannot be held (runserver, the test client, a proxy
that buffers), the page's poll of the same fragments.

Server-Sent Events rather than WebSockets: the page only listens, htmx's SSE
extension swaps each message's out-of-band fragments as its live refresh did,
a reconnecting EventSource sends `Last-Event-ID` by itself, and plain HTTP
passes proxies, the CSP's `connect-src 'self'`, and the session cookie as is.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.views.decorators.http import require_GET

from gallery.net import numbers
from gallery.studio.live import hub
from gallery.studio.live.render import Page, View, newest_seq, replay_view
from gallery.studio.views.jobs import read_filters
from gallery.teams.views.helpers import get_membership

RETRY_MS = 2000
# Some proxies hold the first bytes of a response back; 2 KB of comment pushes
# the hello through them.
PADDING = b": " + b" " * 2048 + b"\n\n"


class BadParams(ValueError):
    pass


def _params(request: HttpRequest, cursor: str) -> tuple[Page, dict[str, str], int | None, bool]:
    """The page, its filters, the seq it has seen (None: none given) and
    whether it shows the newest jobs; BadParams naming the rule otherwise."""
    params: QueryDict = request.GET
    try:
        page = Page.parse(params.get("page", "gallery"))
    except ValueError as problem:
        raise BadParams(str(problem)) from None
    filters, errors = read_filters(params)
    if errors:
        raise BadParams("; ".join(errors.values()))
    seen = [raw for raw in (params.get(cursor), _header(request, cursor)) if raw]
    try:
        label = f"The last event number ({cursor})"
        numbers_seen = [
            numbers.whole(raw, label=label, minimum=0, maximum=numbers.MAX_ID) for raw in seen
        ]
    except numbers.NumberError as problem:
        raise BadParams(str(problem)) from None
    return page, filters, max(numbers_seen, default=None), "before" not in params


def _header(request: HttpRequest, cursor: str) -> str:
    # A native EventSource reconnect says where it was in this header.
    return request.headers.get("Last-Event-ID", "") if cursor == "last" else ""


def _bad(problem: BadParams) -> HttpResponse:
    return HttpResponse(str(problem), status=400, content_type="text/plain")


@require_GET
def live_stream(request: HttpRequest, slug: str) -> HttpResponse:
    """The page's stream: `hello`, what it missed, then (held by the ASGI
    dispatcher with the hub) every change as it commits."""
    membership = get_membership(request, slug)
    try:
        page, filters, last, newest_only = _params(request, "last")
    except BadParams as problem:
        return _bad(problem)
    if "asgi.scope" not in request.META:  # no server here can hold it: the page polls
        return HttpResponse(status=204)
    view = View(membership, page, filters, get_token(request), newest_only, _origin(request))
    messages, newest = (
        ([], newest_seq(membership.team_id)) if last is None else replay_view(view, last)
    )
    token = hub.subscribe(view, after=newest, session_key=request.session.session_key or "")
    hello = f"retry: {RETRY_MS}\nevent: hello\ndata: {newest}\n\n".encode()
    response = HttpResponse(
        PADDING + hello + b"".join(map(hub.sse, messages)), content_type="text/event-stream"
    )
    response["X-Mjweb-Stream"] = token
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
def live_poll(request: HttpRequest, slug: str) -> HttpResponse:
    """What the stream would have sent after `after`, for a page that cannot
    hold one: its fragments and its new cursor (`reset`: reload the content)."""
    membership = get_membership(request, slug)
    try:
        page, filters, after, newest_only = _params(request, "after")
    except BadParams as problem:
        return _bad(problem)
    view = View(membership, page, filters, get_token(request), newest_only, _origin(request))
    messages, newest = (
        ([], newest_seq(membership.team_id)) if after is None else replay_view(view, after)
    )
    parts = [m.data for m in messages if m.event == "live"]
    if any(m.event == "reset" for m in messages):
        parts = ['<div id="live-reset" hx-swap-oob="true" data-reset="1"></div>']
    cursor = f'<div id="live-cursor" data-seq="{newest}" hx-swap-oob="true"></div>'
    return HttpResponse("\n".join([*parts, cursor]), content_type="text/html; charset=utf-8")


def _origin(request: HttpRequest) -> tuple[str, str]:
    return request.scheme, request.get_host()
