"""The admins' budgets page: the team's projects, and every budget (team,
project, member) with what it has used this period."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from gallery.credits import budgets
from gallery.credits.forms import ApprovalsForm, AskForMoreForm, BudgetForm, ProjectForm
from gallery.credits.models.budgets import Budget, BudgetRequest
from gallery.credits.models.credits import CreditAccount
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_admin_membership, get_membership


@require_GET
def budgets_page(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    return render(request, "gallery/budgets.html", _context(membership))


@require_POST
def set_budget(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    team = membership.team
    form = BudgetForm(request.POST, team=team)
    if not form.is_valid():
        return _answer(request, membership, budget_form=form, status=400)
    project, member = form.scope()
    data = form.cleaned_data
    budget = budgets.set_budget(
        team,
        project=project,
        membership=member,
        period=data["period"],
        limit=data["limit"],
        thresholds=data["thresholds"],
        webhook_url=data["webhook_url"],
        by=request.user,
    )
    return _answer(request, membership, notice=f"Saved {budget.name}.")


@require_POST
def remove_budget(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    budget = get_object_or_404(Budget.objects.filter(team=membership.team), pk=pk)
    budgets.remove_budget(budget, by=request.user)
    return _answer(request, membership, notice=f"Removed {budget.name}.")


@require_POST
def add_project(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    form = ProjectForm(request.POST, team=membership.team)
    if not form.is_valid():
        return _answer(request, membership, project_form=form, status=400)
    project = Project.add(membership.team, form.cleaned_data["name"], by=request.user)
    return _answer(request, membership, notice=f"Added project {project.name}.")


@require_POST
def archive_project(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An archived project takes no new work; its jobs and spend stay."""
    membership = get_admin_membership(request, slug)
    project = get_object_or_404(Project.objects.of_team(membership.team_id), pk=pk)
    project.archive(by=request.user)
    return _answer(request, membership, notice=f"Archived project {project.name}.")


@require_POST
def set_approvals(request: HttpRequest, slug: str) -> HttpResponse:
    """Which jobs wait for an admin: above a price, and all of the members marked."""
    membership = get_admin_membership(request, slug)
    team = membership.team
    form = ApprovalsForm(request.POST, team=team)
    if not form.is_valid():
        return _answer(request, membership, approvals_form=form, status=400)
    marked = [int(pk) for pk in form.cleaned_data["needs_approval"]]
    above = form.cleaned_data["approval_above"]
    budgets.set_approvals(team, approval_above=above, marked=marked, by=request.user)
    return _answer(request, membership, notice="Saved who needs approval.")


@require_POST
def ask_for_more(request: HttpRequest, slug: str) -> HttpResponse:
    """A member who hit a budget asks for more room in it: the admins see the
    request on the approvals page."""
    membership = get_membership(request, slug)
    if not membership.can_create:
        raise PermissionDenied("Viewers cannot generate")
    form = AskForMoreForm(request.POST)
    budget = None
    if form.is_valid():
        covering = Budget.objects.covering(membership.team_id, None, membership.pk)
        project_budgets = Budget.objects.filter(team_id=membership.team_id, project__isnull=False)
        budget = (covering | project_budgets).filter(pk=form.cleaned_data["budget"]).first()
        if budget is None:
            form.add_error(None, "That budget is not one of yours to ask about.")
    if budget is None:
        ctx = {"team": membership.team, "ask": form}
        return render(request, "gallery/index.html#ask-for-more", ctx, status=400)
    BudgetRequest.objects.create(
        budget=budget,
        membership=membership,
        amount=form.cleaned_data["amount"],
        note=form.cleaned_data["note"].strip(),
    )
    asked = f"Asked the team's admins for {form.cleaned_data['amount']} more credits."
    if request.htmx:
        return render(request, "gallery/index.html#ask-for-more", {"asked": asked})
    messages.success(request, asked)
    return redirect("gallery", slug)


def _answer(
    request: HttpRequest, membership: Membership, *, notice: str = "", status: int = 200, **forms
) -> HttpResponse:
    """The page's budgets section (htmx) or the page; after a change without
    htmx, back to the page (post/redirect/get)."""
    if request.htmx:
        ctx = _context(membership, notice=notice, **forms)
        return render(request, "gallery/budgets.html#budgets-body", ctx, status=status)
    if status == 200:
        messages.success(request, notice)
        return redirect("budgets", membership.team.slug)
    return render(request, "gallery/budgets.html", _context(membership, **forms), status=status)


def _context(membership: Membership, *, notice: str = "", **forms) -> dict:
    team = membership.team
    return {
        "membership": membership,
        "team": team,
        "nav": "spend",
        "uses": budgets.team_budgets(team),
        "projects": Project.objects.of_team(team.pk),
        "budget_form": forms.get("budget_form") or BudgetForm(team=team),
        "project_form": forms.get("project_form") or ProjectForm(team=team),
        "approvals_form": forms.get("approvals_form") or _approvals_form(team),
        "notice": notice,
    }


def _approvals_form(team) -> ApprovalsForm:
    marked = CreditAccount.objects.filter(
        membership__team=team, membership__removed_at__isnull=True, needs_approval=True
    ).values_list("membership_id", flat=True)
    initial = {"approval_above": team.approval_above, "needs_approval": [str(pk) for pk in marked]}
    return ApprovalsForm(initial=initial, team=team)
