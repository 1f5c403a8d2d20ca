from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from gallery.teams.forms import JoinForm
from gallery.teams.forms_auth import ThrottledPasswordChangeForm
from gallery.teams.models.teams import Invite


@login_not_required
@require_http_methods(["GET", "POST"])
def accept_invite(request: HttpRequest, token: str) -> HttpResponse:
    invite = Invite.find_pending(token)
    if invite is None:
        return render(request, "gallery/invite_invalid.html", status=404)
    signed_in = request.user.is_authenticated
    form = None if signed_in else JoinForm(request.POST or None)
    if request.method == "POST" and (signed_in or form.is_valid()):
        try:
            with transaction.atomic():
                user = request.user if signed_in else form.save()
                invite.accept(user)
        except Invite.DoesNotExist:
            return render(request, "gallery/invite_invalid.html", status=404)
        if not signed_in:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session["team"] = invite.team.slug
        return redirect(invite.team)
    status = 400 if form is not None and form.errors else 200
    return render(request, "gallery/invite.html", {"invite": invite, "form": form}, status=status)


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    """The old password is checked under the sign-in throttle; the member may
    revoke all their API tokens in the same step (tokens outlive passwords)."""
    data = request.POST if request.method == "POST" else None
    form = ThrottledPasswordChangeForm(request.user, data, request=request)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)  # other sessions end, this one stays
        if form.cleaned_data["revoke_tokens"]:
            n = form.revoked
            messages.success(request, f"Revoked {n} API token{'s' if n != 1 else ''}.")
        return redirect("password_change_done")
    return render(request, "registration/password_change_form.html", {"form": form})


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
