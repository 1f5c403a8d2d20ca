from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from gallery.forms import InviteForm
from gallery.models import Invite, Membership
from gallery.views.helpers import get_admin_membership, get_membership


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Back to the team used last, else the first one; a page that says so if none."""
    memberships = Membership.objects.for_user(request.user)
    current = memberships.filter(team__slug=request.session.get("team", "")).first()
    current = current or memberships.order_by("created", "pk").first()
    if current:
        return redirect(current.team)
    return render(request, "gallery/no_team.html")


@require_GET
def members(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    return render(request, "gallery/members.html", _members_context(membership, InviteForm()))


@require_POST
def create_invite(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    form = InviteForm(request.POST)
    ctx = _members_context(membership, form)
    if form.is_valid():
        invite, token = Invite.create(
            team=membership.team, created_by=request.user, **form.cleaned_data
        )
        ctx["new_invite"] = invite
        ctx["new_invite_url"] = request.build_absolute_uri(f"/invite/{token}/")
        ctx["form"] = InviteForm()
    template = "gallery/members.html#invites" if request.htmx else "gallery/members.html"
    return render(request, template, ctx, status=200 if form.is_valid() else 400)


@require_POST
def revoke_invite(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    invite = get_object_or_404(membership.team.invites.pending(), pk=pk)
    invite.revoke()
    if request.htmx:
        return render(
            request, "gallery/members.html#invites", _members_context(membership, InviteForm())
        )
    messages.success(request, "Invite link revoked.")
    return redirect("members", slug)


def _members_context(membership: Membership, form: InviteForm) -> dict:
    team = membership.team
    return {
        "membership": membership,
        "team": team,
        "members": team.memberships.select_related("user").order_by("user__username"),
        "invites": team.invites.pending() if membership.is_admin else [],
        "form": form,
        "nav": "members",
    }
