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
    reports, unreadable = _reports(month)
    ctx = {
        "month": month,
        "start": start,
        "previous": reconcile.shift_month(month, -1),
        "next": reconcile.shift_month(month, 1) if month < this_month else "",
        "reports": reports,
        "unreadable": [(p, message) for p, message in unreadable.items()],
        "history": _history(month, reports),
        "providers": settings.PROVIDER_NAMES,
    }
    return render(request, "gallery/reconcile.html", ctx)


HISTORY_MONTHS = 6  # the margin table: this month and the five before it


def _reports(month: str) -> tuple[list[reconcile.Report], dict[str, str]]:
    """Each provider's report for the month, and why any could not be made."""
    reports, unreadable = [], {}
    for provider in settings.PROVIDER_NAMES:
        try:
            reports.append(reconcile.report_for(provider, month))
        except ProviderError as exc:
            unreadable[provider] = exc.message
    return reports, unreadable


def _history(month: str, latest: list[reconcile.Report]) -> list[dict]:
    """Month by month, newest first: each provider's margin and unexplained count."""
    rows = []
    for back in range(HISTORY_MONTHS):
        shown = reconcile.shift_month(month, -back)
        reports = latest if back == 0 else _reports(shown)[0]
        by_provider = {r.provider: r for r in reports}
        rows.append(
            {"month": shown, "cells": [by_provider.get(p) for p in settings.PROVIDER_NAMES]}
        )
    return rows
