"""The team's audit log for its admins: a filterable page and its CSV.

The CSV is its own file (not a section of the spend CSV): the spend CSV is one
ledger entry per row for a month, the audit log is one change per row over
any range, and the two have different columns.
"""

from __future__ import annotations

import csv
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from gallery.net import numbers
from gallery.teams.forms import AuditFilterForm
from gallery.teams.models.audit import AuditEntry, AuditQuerySet
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_admin_membership

PAGE_SIZE = 50
MAX_PAGE = 100_000


@require_GET
@vary_on_headers("HX-Request")
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    admin = get_admin_membership(request, slug)
    form, entries = _filtered(admin, request.GET)
    try:
        number = numbers.whole(
            request.GET.get("page") or "1", label="The page", minimum=1, maximum=MAX_PAGE
        )
        page_error = ""
    except numbers.NumberError as error:
        number, page_error = 1, str(error)
    ctx = {
        "membership": admin,
        "team": admin.team,
        "nav": "members",
        "form": form,
        "page": Paginator(entries.select_related("actor"), PAGE_SIZE).get_page(number),
        "page_error": page_error,
        "filtered": any(form.data.get(name) for name in form.fields),
    }
    status = 200 if form.is_valid() and not page_error else 400
    template = "gallery/audit.html#results" if request.htmx else "gallery/audit.html"
    return render(request, template, ctx, status=status)


class Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def audit_csv(request: HttpRequest, slug: str) -> HttpResponse | StreamingHttpResponse:
    admin = get_admin_membership(request, slug)
    form, entries = _filtered(admin, request.GET)
    if not form.is_valid():  # refused before the first line, not cut off mid-stream
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(Echo())
    header = ["when (UTC)", "who", "action", "what", "before", "after"]
    rows = (
        [
            entry.at.isoformat(),
            entry.actor.username if entry.actor else "system",
            entry.get_action_display(),
            entry.target,
            _compact(entry.before),
            _compact(entry.after),
        ]
        for entry in entries.select_related("actor").iterator()
    )
    lines = (writer.writerow(row) for row in _chain([header], rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-audit.csv"'
    return response


def _chain(*parts):
    for part in parts:
        yield from part


def _compact(values: dict) -> str:
    return "; ".join(f"{key}={value}" for key, value in values.items())


def _filtered(admin: Membership, data) -> tuple[AuditFilterForm, AuditQuerySet]:
    """The form and the team's entries it selects; an invalid field filters nothing."""
    team = admin.team
    people = (
        team.memberships.select_related("user")
        .order_by("user__username")
        .values_list("user_id", "user__username")
    )
    form = AuditFilterForm(data, people=list(people))
    form.is_valid()
    clean = form.cleaned_data
    zone = zoneinfo.ZoneInfo(team.time_zone)
    entries = (
        AuditEntry.objects.filter(team=team)
        .of_action(clean.get("action") or "")
        .involving(clean.get("member"))
        .between(_day_start(clean.get("since"), zone), _day_start(clean.get("until"), zone, 1))
    )
    return form, entries


def _day_start(day: date | None, zone: zoneinfo.ZoneInfo, plus: int = 0) -> datetime | None:
    return datetime.combine(day + timedelta(days=plus), time(), zone) if day else None
