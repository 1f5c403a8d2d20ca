from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from gallery.forms import CreateForm
from gallery.quotes import preview
from gallery.views.helpers import get_membership


@require_POST
def check_prompt(request: HttpRequest, slug: str) -> HttpResponse:
    """Live lint and price for the create bar, as the person types."""
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot generate")
    form = CreateForm(request.POST)
    form.is_valid()  # the linter reports prompt problems; the form only bounds sizes
    ctx = {
        "team": membership.team,
        "membership": membership,
        "check": preview(form.to_request()),
    }
    return render(request, "gallery/index.html#prompt-check", ctx)
