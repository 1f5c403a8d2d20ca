"""Access-checked lookups that every team view starts from."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from gallery.teams.models.teams import Membership


def get_membership(request: HttpRequest, slug: str, *related: str) -> Membership:
    """The user's membership of the team in the URL, or 404 (never 403: a
    stranger must not learn that a team exists). `related` are relations to
    fetch in the same query, such as "account" for a page showing the balance.

    One query reads all the user's memberships: the header's team switcher
    (credits.context_processors.teams) shows the same list, so a page does not
    ask for it twice."""
    memberships = Membership.objects.for_user(request.user)
    if related:
        memberships = memberships.select_related(*related)
    mine = list(memberships)
    request.my_memberships = mine
    membership = next((m for m in mine if m.team.slug == slug), None)
    if membership is None:
        raise Http404("No such team")
    if request.session.get("team") != slug:  # remember it for "/", without a write per page
        request.session["team"] = slug
    return membership


def get_admin_membership(request: HttpRequest, slug: str) -> Membership:
    membership = get_membership(request, slug)
    if not membership.is_admin:
        raise PermissionDenied("Only team admins can do this")
    return membership
