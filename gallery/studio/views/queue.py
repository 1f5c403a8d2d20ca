"""The team's queue: jobs accepted past their member's in-flight cap (or a busy
provider's), waiting to be sent. Admins see the team's, members their own."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from gallery.credits.models.credits import DEFAULT_MAX_IN_FLIGHT
from gallery.studio import pipeline
from gallery.studio.models.jobs import Job
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_membership

QUEUE_ROWS = 200  # the oldest waiting jobs; past this the page says how many more


@require_GET
def team_queue(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    waiting = Job.objects.in_line_for(membership)
    jobs = list(
        waiting.with_flight_facts()
        .select_related("user")
        .only("pk", "user", "user__username", "provider", "operation", "title", "prompt", "created")
        .order_by("created", "pk")[:QUEUE_ROWS]
    )
    ctx = {
        "membership": membership,
        "team": membership.team,
        "nav": "members",
        "jobs": jobs,
        "more": waiting.count() - len(jobs) if len(jobs) == QUEUE_ROWS else 0,
        "lines": member_lines(membership) if membership.is_admin else [],
        "now": timezone.now(),
    }
    template = "gallery/queue.html#queue" if request.htmx else "gallery/queue.html"
    return render(request, template, ctx)


def member_lines(membership: Membership) -> list[dict]:
    """Per member with jobs sent or waiting: how many of each, and their cap.
    Counted over the jobs the admin may see: others' private jobs stay out."""
    jobs = Job.objects.visible_in(membership).order_by()
    sent = dict(
        jobs.filter(status__in=pipeline.UPSTREAM_BUSY)
        .values_list("user_id")
        .annotate(n=Count("pk"))
    )
    waiting = dict(jobs.waiting().values_list("user_id").annotate(n=Count("pk")))
    members = (
        membership.team.memberships.filter(user_id__in={*sent, *waiting})
        .select_related("user", "account")
        .order_by("user__username")
    )
    return [
        {
            "username": m.user.username,
            "sent": sent.get(m.user_id, 0),
            "waiting": waiting.get(m.user_id, 0),
            "cap": getattr(getattr(m, "account", None), "max_in_flight", DEFAULT_MAX_IN_FLIGHT),
        }
        for m in members
    ]
