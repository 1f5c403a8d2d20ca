"""One throttle for every form that checks a password: the sign-in page, the
admin's sign-in page and the old password on the password change page.

Each attempt takes a slot under its account and under its address *before*
the password is checked (`throttle.attempt`), and is refused without a check
once either limit is passed, so concurrent attempts cannot slip past the
limit. A success gives its slots back: only failures count against anyone.
The three forms share the counters, so an account has one budget however it
is reached.
"""

from __future__ import annotations

import unicodedata

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.http import HttpRequest

from gallery.api.models.tokens import ApiToken
from gallery.net import throttle
from gallery.teams import passwords

WINDOW = 15 * 60
BUSY = "Too many sign-ins are being checked right now. Try again in a few seconds."
PER_ACCOUNT = 10  # failed password checks for one account in 15 minutes
PER_ADDRESS = 30  # failed password checks from one address in 15 minutes


def account_key(username: str) -> str:
    """The counter of the account a sign-in names, however it is spelled.

    Django authenticates the name after NFKC normalisation (UsernameField), so
    "mallory" spelled with a fullwidth m signs in as mallory: the key starts from the same
    NFKC form. Where an account answers to the name, exactly or but for case,
    the key is its pk; otherwise it is the casefolded name, so case variants
    of a name no one has still share one counter.
    """
    name = unicodedata.normalize("NFKC", username)
    folded = name.casefold()
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    found = dict(
        user_model._default_manager.filter(**{f"{field}__iexact": name}).values_list(field, "pk")
    )
    pk = found.get(name) or min(
        (pk for other, pk in found.items() if other.casefold() == folded), default=None
    )
    return f"login:user:{pk}" if pk is not None else f"login:name:{folded}"


def _limits(request: HttpRequest | None, account: str) -> dict[str, tuple[str, int]]:
    limits = {"account": (account, PER_ACCOUNT)}
    if request is not None:
        limits["address"] = (f"login:ip:{throttle.client_address(request)}", PER_ADDRESS)
    return limits


def _refusal(gate: throttle.Attempt, what: str) -> forms.ValidationError:
    return forms.ValidationError(
        f"Too many {what} for this {gate.refused}. "
        f"Try again in {throttle.minutes(gate.retry_after)}.",
        code="throttled",
    )


class ThrottledSignIn:
    """For AuthenticationForm and its subclasses: the throttle around `clean`."""

    def clean(self):
        username = self.cleaned_data.get("username")  # already NFKC, as authenticated
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # nothing to check, nothing to count
        gate = throttle.attempt(_limits(self.request, account_key(username)), window=WINDOW)
        if gate.refused:
            raise _refusal(gate, "failed sign-ins")
        with passwords.checking() as admitted:
            if not admitted:
                gate.succeeded()  # not checked, so not a failure
                raise forms.ValidationError(BUSY, code="busy")
            cleaned = super().clean()  # a wrong password raises: its slots stay taken
        gate.succeeded()
        return cleaned


class ThrottledAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    """The site's sign-in form."""


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    """The Django admin's sign-in form (staff only), on the same counters."""


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Password change: the old password is checked under the sign-in throttle,
    and the member may revoke every API token they have in the same step."""

    revoke_tokens = forms.BooleanField(
        required=False,
        label="Also revoke all my API tokens",
        help_text="In every team. Scripts that use them stop working until you make new "
        "tokens. Do this if someone else may know your password or a token.",
    )

    def __init__(self, user, *args, request: HttpRequest | None = None, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request
        self.revoked = 0

    def clean_old_password(self) -> str:
        gate = throttle.attempt(_limits(self.request, f"login:user:{self.user.pk}"), window=WINDOW)
        if gate.refused:
            raise _refusal(gate, "wrong passwords")
        with passwords.checking() as admitted:
            if not admitted:
                gate.succeeded()
                raise forms.ValidationError(BUSY, code="busy")
            old = super().clean_old_password()  # a wrong one raises: its slots stay taken
        gate.succeeded()
        return old

    def save(self, commit: bool = True):
        user = super().save(commit)
        if commit and self.cleaned_data.get("revoke_tokens"):
            self.revoked = ApiToken.objects.filter(membership__user=user).revoke_all(by=user)
        return user
