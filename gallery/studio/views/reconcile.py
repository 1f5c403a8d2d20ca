"""The providers' bill reconciled, month by month: the page of `manage.py reconcile`.

Site staff only (`is_staff`), not team admins: the provider accounts are the
site's (one key per provider, settings.PROVIDERS), so their statements and our
margin on them span every team, and no team may see another's spend.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gallery.providers import ProviderError
from gallery.studio import reconcile


@login_required
@require_GET
def reconciliation(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The providers' bill is for site staff only.")
    this_month = timezone.now().astimezone(reconcile.UTC).strftime("%Y-%m")
    month = request.GET.get("month") or this_month
    try:
        start, _ = reconcile.month_bounds(month)
    except ValueError:
        ctx = {"month": month, "error": "Choose a month as YYYY-MM, for example 2026-07."}
        return render(request, "gallery/reconcile.html", ctx, status=400)
    reports, unreadable = [], []
    for provider in settings.PROVIDER_NAMES:
        try:
            reports.append(reconcile.report_for(provider, month))
        except ProviderError as exc:
            unreadable.append((provider, exc.message))
    ctx = {
        "month": month,
        "start": start,
        "previous": reconcile.shift_month(month, -1),
        "next": reconcile.shift_month(month, 1) if month < this_month else "",
        "reports": reports,
        "unreadable": unreadable,
    }
    return render(request, "gallery/reconcile.html", ctx)
