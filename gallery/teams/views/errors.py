"""Error pages: a styled page for a browser, a message in place for htmx.

An htmx request gets a short fragment marked `X-Error-In-Place`, which the
page's script shows next to the control the member used instead of swapping
it anywhere; a plain request gets a whole page with the header and
navigation, so nobody is left on bare text.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from gallery.teams.models.teams import Membership

NOT_FOUND = "This page does not exist, or it is not yours to see."
GONE_IN_PLACE = "That is no longer there, or not yours to see. Reload the page to see what is."
TEAM_PATH = re.compile(r"^/t/([-\w]+)/")


def _team_context(request: HttpRequest) -> dict:
    """The team navigation, when the page was one of the user's teams' pages."""
    found = TEAM_PATH.match(request.path)
    user = getattr(request, "user", None)
    if not found or user is None:
        return {}
    membership = Membership.objects.for_user(user).filter(team__slug=found.group(1)).first()
    return {"team": membership.team, "membership": membership} if membership else {}


def _answer(
    request: HttpRequest, status: int, title: str, message: str, in_place: str = ""
) -> HttpResponse:
    ctx = {"status": status, "title": title, "message": message}
    if getattr(request, "htmx", False):
        ctx["message"] = in_place or message
        response = render(request, "errors/inline.html", ctx, status=status)
        response["X-Error-In-Place"] = "1"
        return response
    return render(request, "errors/page.html", ctx | _team_context(request), status=status)


TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 422: "Not possible"}


def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A refusal a view writes for people: a page, or for htmx a message in
    place. Unlike a 404 raised as Http404, its words are shown as they are."""
    return _answer(request, status, TITLES.get(status, "Not possible"), message)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # This project's PermissionDenied messages are written for people.
    message = str(exception) if exception and exception.args else ""
    return _answer(request, 403, "Not allowed", message or "You are not allowed to do that.")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Never the exception's text: it could tell another team's object exists.
    return _answer(request, 404, "Not found", NOT_FOUND, GONE_IN_PLACE)


def server_error(request: HttpRequest) -> HttpResponse:
    """No request context and no database: whatever failed may fail again."""
    body = loader.get_template("errors/500.html").render()
    response = HttpResponseServerError(body)
    if request.headers.get("HX-Request") == "true":
        response["X-Error-In-Place"] = "1"
    return response
