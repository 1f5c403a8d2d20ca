"""Sign-in with throttling per account and per address."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from gallery import throttle

WINDOW = 15 * 60
PER_ACCOUNT = 10  # failed sign-ins for one username in 15 minutes
PER_ADDRESS = 30  # failed sign-ins from one address in 15 minutes


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses further tries once an account or an address has failed too often.

    Only failures count, and the account limit is higher than a person's typos
    need, so a stranger cannot lock a colleague out for long: the window ends
    after 15 minutes whatever happens.
    """

    def clean(self):
        username = (self.data.get("username") or "").strip().lower()[:150]
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        keys = {
            "account": (f"login:user:{username}", PER_ACCOUNT),
            "address": (f"login:ip:{address}", PER_ADDRESS),
        }
        for what, (key, limit) in keys.items():
            verdict = throttle.peek(key, limit=limit, window=WINDOW)
            if not verdict.allowed:
                minutes = max(1, round(verdict.retry_after / 60))
                raise forms.ValidationError(
                    f"Too many failed sign-ins for this {what}. Try again in {minutes} minute"
                    f"{'s' if minutes != 1 else ''}.",
                    code="throttled",
                )
        try:
            return super().clean()
        except forms.ValidationError:
            for key, limit in keys.values():
                throttle.hit(key, limit=limit, window=WINDOW)
            raise
