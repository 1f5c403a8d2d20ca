"""The admins' approvals queue: jobs waiting for approval (their credits
reserved), to approve or decline one by one or all of a member's at once; and
members' requests for more budget, to grant with an end date or dismiss."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from gallery.credits.forms import RaiseForm
from gallery.credits.models.budgets import BudgetRequest
from gallery.credits.models.credits import zone_named
from gallery.studio import pipeline
from gallery.studio.models.jobs import Job
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_admin_membership

ACTIONS = {"approve": pipeline.approve, "decline": pipeline.decline}


@require_GET
def approvals(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    return render(request, "gallery/approvals.html", _context(membership))


@require_POST
def decide_job(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    """Approve or decline one waiting job of the team."""
    membership = get_admin_membership(request, slug)
    job = get_object_or_404(Job.objects.filter(team_id=membership.team_id), pk=pk)
    done = ACTIONS[action](job, request.user)
    verb = "Approved" if action == "approve" else "Declined"
    notice = f"{verb} job {job.pk}." if done else f"Job {job.pk} was already decided."
    return _answer(request, membership, notice)


@require_POST
def decide_member(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    """Approve or decline every waiting job of one member, oldest first."""
    membership = get_admin_membership(request, slug)
    member = get_object_or_404(Membership.objects.filter(team_id=membership.team_id), pk=pk)
    done = _decide_all(member, action, request.user)
    verb = "Approved" if action == "approve" else "Declined"
    return _answer(request, membership, f"{verb} {done} of {member.user.username}'s jobs.")


@require_POST
def grant_request(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Raise the asked budget until a chosen day; the member's waiting jobs start."""
    membership = get_admin_membership(request, slug)
    asked = get_object_or_404(
        BudgetRequest.objects.filter(budget__team_id=membership.team_id), pk=pk
    )
    zone = zone_named(membership.team.time_zone)
    form = RaiseForm(
        request.POST, auto_id=f"id_r{asked.pk}_%s", today=timezone.localdate(None, zone)
    )
    if not form.is_valid():
        forms = {asked.pk: form}
        return _answer(request, membership, "", status=400, forms=forms)
    until = datetime.combine(form.cleaned_data["until"], time(), tzinfo=zone)
    raised = asked.grant(amount=form.cleaned_data["amount"], expires_at=until, by=request.user)
    started = _decide_all(asked.membership, "approve", request.user) if raised else 0
    notice = f"Raised {asked.budget.name} by {form.cleaned_data['amount']} credits"
    notice += f" until {form.cleaned_data['until']:%b %-d}; {started} waiting job(s) started."
    return _answer(request, membership, notice if raised else "That request was already decided.")


@require_POST
def dismiss_request(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    asked = get_object_or_404(
        BudgetRequest.objects.filter(budget__team_id=membership.team_id), pk=pk
    )
    asked.dismiss(by=request.user)
    return _answer(request, membership, f"Dismissed {asked.membership.user.username}'s request.")


def _decide_all(member: Membership, action: str, by) -> int:
    waiting = Job.objects.of_member(member.team_id, member.user_id).awaiting_approval()
    return sum(ACTIONS[action](job, by) for job in waiting.order_by("created", "pk"))


def _answer(
    request: HttpRequest, membership: Membership, notice: str, *, status: int = 200, forms=None
) -> HttpResponse:
    if request.htmx:
        ctx = _context(membership, notice=notice, forms=forms)
        return render(request, "gallery/approvals.html#queue-body", ctx, status=status)
    if status == 200:
        messages.success(request, notice)
        return redirect("approvals", membership.team.slug)
    return render(request, "gallery/approvals.html", _context(membership, forms=forms), status=400)


def _context(membership: Membership, *, notice: str = "", forms=None) -> dict:
    """Waiting jobs by member (others' private jobs show no prompt, as
    everywhere), and the open budget requests with their grant forms."""
    forms = forms or {}
    team = membership.team
    jobs = list(
        Job.objects.filter(team_id=team.pk)
        .awaiting_approval()
        .select_related("user", "project")
        .order_by("user__username", "created", "pk")
    )
    members = {m.user_id: m for m in team.memberships.select_related("user")}
    groups: dict[int, dict] = {}
    for job in jobs:
        job.shown = job.visible_to_member(membership.team_id, membership.user_id)
        group = groups.setdefault(job.user_id, {"member": members[job.user_id], "jobs": []})
        group["jobs"].append(job)
    zone = zone_named(team.time_zone)
    week = timezone.localdate(None, zone) + timedelta(days=7)
    asked = list(
        BudgetRequest.objects.open()
        .filter(budget__team_id=team.pk)
        .select_related("membership__user", "budget__project", "budget__membership__user")
    )
    for one in asked:
        one.form = forms.get(one.pk) or RaiseForm(
            auto_id=f"id_r{one.pk}_%s", initial={"amount": one.amount, "until": week}
        )
    return {
        "membership": membership,
        "team": team,
        "nav": "spend",
        "groups": list(groups.values()),
        "requests": asked,
        "notice": notice,
    }
