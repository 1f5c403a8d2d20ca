from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from gallery.models import Role
from gallery.operations import Request
from gallery.pipeline import Draft


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    note = forms.CharField(
        max_length=100,
        required=False,
        label="Who is it for?",
        help_text="A name, so you know whose link it is",
    )


class JoinForm(UserCreationForm):
    """A new person picks a username and password when accepting an invite."""


SPEEDS = [("draft", "Draft"), ("fast", "Fast"), ("turbo", "Turbo")]


class CreateForm(forms.Form):
    """The create bar: a prompt in Midjourney syntax and a speed."""

    prompt = forms.CharField(
        label="Prompt",
        max_length=8192,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "a lighthouse at dusk, oil painting --ar 16:9 --s 250",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    speed = forms.ChoiceField(label="Speed", choices=SPEEDS, initial="fast")
    # One per rendering of the form: a double-click or a retried POST makes one job.
    client_request_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def to_request(self, provider: str) -> Request:
        data = getattr(self, "cleaned_data", None) or self.data
        return Request(
            operation="mj-v7",
            provider=provider,
            prompt=data.get("prompt", "") or "",
            speed=data.get("speed") or "fast",
        )

    def to_draft(self, provider: str) -> Draft:
        return Draft(
            request=self.to_request(provider),
            prompt_raw=self.cleaned_data["prompt"],
            client_request_id=self.cleaned_data.get("client_request_id", ""),
        )
