from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from gallery.models import Membership


def site(request: HttpRequest) -> dict:
    """The CSP nonce under the name django-htmx's {% htmx_script %} looks for."""
    return {"csp_nonce": getattr(request, "csp_nonce", None)}


def teams(request: HttpRequest) -> dict:
    """The user's teams for the header switcher, queried only if a page shows them."""
    return {
        "my_memberships": SimpleLazyObject(lambda: list(Membership.objects.for_user(request.user)))
    }
