"""The admins' budgets page: the team's projects, and every budget (team,
project, member) with what it has used this period."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from gallery.credits import budgets
from gallery.credits.forms import BudgetForm, ProjectForm
from gallery.credits.models.budgets import Budget
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_admin_membership


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
    )
    return _answer(request, membership, notice=f"Saved {budget.name}.")


@require_POST
def remove_budget(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    budget = get_object_or_404(Budget.objects.filter(team=membership.team), pk=pk)
    name = budget.name
    budget.delete()
    return _answer(request, membership, notice=f"Removed {name}.")


@require_POST
def add_project(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    form = ProjectForm(request.POST, team=membership.team)
    if not form.is_valid():
        return _answer(request, membership, project_form=form, status=400)
    project = Project.objects.create(team=membership.team, name=form.cleaned_data["name"])
    return _answer(request, membership, notice=f"Added project {project.name}.")


@require_POST
def archive_project(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An archived project takes no new work; its jobs and spend stay."""
    membership = get_admin_membership(request, slug)
    project = get_object_or_404(Project.objects.of_team(membership.team_id), pk=pk)
    Project.objects.filter(pk=project.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    return _answer(request, membership, notice=f"Archived project {project.name}.")


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
        "notice": notice,
    }
