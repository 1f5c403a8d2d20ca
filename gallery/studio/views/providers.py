"""The providers page: each provider's health and the team's provider order.

Team admins see it: they set the order, and they are the ones asked why a
job is slow. The figures are the provider's, over every team's calls, as
shares and latencies only (no counts, no jobs), so they tell nothing of
another team's work.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from gallery.studio import health
from gallery.studio.forms import ProviderOrderForm
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_admin_membership


@require_GET
def providers(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    form = ProviderOrderForm(team=membership.team)
    return render(request, "gallery/providers.html", _context(membership, form))


@require_POST
def provider_order(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    team = membership.team
    form = ProviderOrderForm(request.POST, team=team)
    saved = form.is_valid()
    if saved:
        data = form.cleaned_data
        team.set_provider_order(data["order"], failover=data["failover"], by=request.user)
        form = ProviderOrderForm(team=team)
    if not request.htmx and saved:
        messages.success(request, "Saved the provider order.")
        return redirect("providers", slug)
    ctx = {**_context(membership, form), "order_notice": "Saved." if saved else ""}
    template = "gallery/providers.html#order" if request.htmx else "gallery/providers.html"
    return render(request, template, ctx, status=200 if saved else 400)


def _context(membership: Membership, form: ProviderOrderForm) -> dict:
    team = membership.team
    return {
        "membership": membership,
        "team": team,
        "report": health.report(team.providers_in_order()),
        "form": form,
        "nav": "providers",
    }
