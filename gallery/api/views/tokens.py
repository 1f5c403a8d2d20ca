"""The API tokens page: a member makes, names, lists and revokes personal tokens;
a team admin also sees, and can revoke, everyone else's in the team.

A new token is shown once, in the answer to the POST that made it (never
stored, never redirected through the session), with caching forbidden.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from gallery.api.models.tokens import ApiToken
from gallery.credits import ledger
from gallery.net.fields import WholeNumberField
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_membership

MAX_ACTIVE_TOKENS = 20  # per person and team; more is a sign they are being handed out


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What will use it, so you know which one to revoke",
        widget=forms.TextInput(attrs={"placeholder": "render-script on my laptop"}),
    )
    expires_in_days = WholeNumberField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires after (days)",
        help_text="Leave empty for a token that works until you revoke it",
    )

    project = forms.ModelChoiceField(
        label="Project",
        queryset=Project.objects.none(),
        required=False,
        empty_label="No project (an edit keeps its original's)",
        help_text="Every job the token makes goes to this project",
    )

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        projects = Project.objects.none()
        if membership is not None:
            projects = Project.objects.of_team(membership.team_id).open()
        if projects.exists():
            self.fields["project"].queryset = projects
        else:  # a team without projects is not asked
            del self.fields["project"]

    def clean(self) -> dict:
        data = super().clean()
        if self.membership is not None:
            active = ApiToken.objects.active().filter(membership=self.membership).count()
            if active >= MAX_ACTIVE_TOKENS:
                raise forms.ValidationError(
                    f"You already have {active} active tokens; revoke one you no longer use."
                )
        return data


def _context(membership: Membership, form: TokenForm, **extra) -> dict:
    visible = ApiToken.objects.visible_to(membership).filter(revoked_at__isnull=True)
    visible = visible.select_related("membership__user", "project").order_by("-created", "-pk")
    mine = [t for t in visible if t.membership_id == membership.pk]
    others = [t for t in visible if t.membership_id != membership.pk]
    return {
        "membership": membership,
        "team": membership.team,
        "nav": "tokens",
        "form": form,
        "tokens": mine,
        "team_tokens": others,
        "balance": ledger.balance_of(membership),
        **extra,
    }


def _template(request: HttpRequest) -> str:
    return "gallery/tokens.html#api-tokens" if request.htmx else "gallery/tokens.html"


@require_GET
def tokens(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    return render(
        request, _template(request), _context(membership, TokenForm(membership=membership))
    )


@require_POST
@never_cache
def create_token(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    form = TokenForm(request.POST, membership=membership)
    if not form.is_valid():
        return render(request, _template(request), _context(membership, form), status=400)
    days = form.cleaned_data["expires_in_days"]
    token, plain = ApiToken.issue(
        membership,
        form.cleaned_data["name"],
        expires_in=timedelta(days=days) if days else None,
        project=form.cleaned_data.get("project"),
    )
    blank = TokenForm(membership=membership)
    ctx = _context(membership, blank, new_token=token, new_token_plain=plain)
    return render(request, _template(request), ctx)


@require_POST
def revoke_token(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = get_membership(request, slug)
    # Another member's token is "not found" to a non-admin, as is any other team's.
    token = get_object_or_404(
        ApiToken.objects.visible_to(membership).filter(revoked_at__isnull=True), pk=pk
    )
    token.revoke(by=request.user)
    if request.htmx:
        return render(
            request, _template(request), _context(membership, TokenForm(membership=membership))
        )
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("tokens", slug)


@require_POST
def revoke_my_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    """Every token of mine in this team, at once (a leak, a lost laptop)."""
    membership = get_membership(request, slug)
    n = ApiToken.objects.filter(membership=membership).revoke_all(by=request.user)
    if request.htmx:
        return render(
            request, _template(request), _context(membership, TokenForm(membership=membership))
        )
    messages.success(request, f"Revoked {n} token{'s' if n != 1 else ''}.")
    return redirect("tokens", slug)
