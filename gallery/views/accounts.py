from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from gallery.forms import JoinForm
from gallery.models import Invite


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


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
