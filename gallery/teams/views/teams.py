from __future__ import annotations

from django.contrib import messages
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from gallery.teams.forms import InviteForm
from gallery.teams.models.teams import Invite, Membership, Role
from gallery.teams.views.helpers import get_admin_membership, get_membership


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


@require_POST
def change_role(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    admin = get_admin_membership(request, slug)
    member = get_object_or_404(admin.team.memberships.current().select_related("user"), pk=pk)
    try:
        member.change_role(request.POST.get("role", ""), by=request.user)
    except Membership.CannotChangeRole as refused:
        return _members_answer(request, admin, refused=(pk, str(refused)))
    if member.pk == admin.pk:  # an admin who stepped down sees the page as a member now
        admin.role = member.role
    return _members_answer(
        request, admin, done=f"{member.user} is now {member.get_role_display()}."
    )


@require_POST
def remove_member(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Their tokens stop, their jobs and ledger stay, their credits stay theirs."""
    admin = get_admin_membership(request, slug)
    member = get_object_or_404(admin.team.memberships.current().select_related("user"), pk=pk)
    try:
        member.remove(by=request.user)
    except Membership.CannotRemove as refused:
        return _members_answer(request, admin, refused=(pk, str(refused)))
    if member.pk == admin.pk:  # they left the team themselves: nothing here is theirs now
        messages.success(request, f"You left {admin.team}.")
        if request.htmx:
            return HttpResponse(headers={"HX-Redirect": "/"})
        return redirect("home")
    return _members_answer(request, admin, done=f"{member.user} was removed from the team.")


def _members_answer(
    request: HttpRequest, admin: Membership, *, done: str = "", refused=(None, "")
) -> HttpResponse:
    """htmx gets the member lists again (a refusal written under its row, with
    400); a plain form is sent back to the page, or shown it with the refusal."""
    if not refused[1] and not request.htmx:
        messages.success(request, done)
        return redirect("members", admin.team.slug)
    ctx = {**_members_context(admin, InviteForm(), refused=refused), "done": done}
    template = "gallery/members.html#members" if request.htmx else "gallery/members.html"
    return render(request, template, ctx, status=400 if refused[1] else 200)


def _members_context(membership: Membership, form: InviteForm, *, refused=(None, "")) -> dict:
    team = membership.team
    rows = (
        team.memberships.select_related("user")
        .annotate(credits=Coalesce(F("account__balance"), Value(0)))
        .order_by("user__username")
    )
    members, former = [], []
    for m in rows:
        m.refusal = refused[1] if m.pk == refused[0] else ""
        m.credits_text = f"{m.credits:,}"  # "1,200", as the credit pages write it
        (former if m.removed_at else members).append(m)
    return {
        "membership": membership,
        "team": team,
        "members": members,
        "former": former,
        "roles": Role.choices,
        "invites": team.invites.pending() if membership.is_admin else [],
        "form": form,
        "nav": "members",
    }
