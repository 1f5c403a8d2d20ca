from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from gallery.credits import ledger
from gallery.teams.models.teams import Membership


def site(request: HttpRequest) -> dict:
    """The CSP nonce under the name django-htmx's {% htmx_script %} looks for."""
    return {"csp_nonce": getattr(request, "csp_nonce", None)}


def teams(request: HttpRequest) -> dict:
    """The user's teams for the header switcher: those a team view has read
    already (teams.views.helpers.get_membership), else queried only if a page
    shows them."""

    def lookup() -> list[Membership]:
        known = getattr(request, "my_memberships", None)
        return known if known is not None else list(Membership.objects.for_user(request.user))

    return {"my_memberships": SimpleLazyObject(lookup)}


def header_balance(request: HttpRequest) -> dict:
    """The user's balance in the team being viewed, for the header, queried only
    if the page shows it (the view has put the team in the session by then)."""

    def lookup() -> int | None:
        slug = request.session.get("team") if hasattr(request, "session") else None
        if not slug or not request.user.is_authenticated:
            return None
        return ledger.balance_in(request.user, slug)

    return {"header_balance": SimpleLazyObject(lambda: _Box(lookup()))}


class _Box:
    """SimpleLazyObject needs an object; this one renders as its value."""

    def __init__(self, value: int | None) -> None:
        self.value = value

    def __str__(self) -> str:
        return "" if self.value is None else str(self.value)
