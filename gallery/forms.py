from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from gallery.models import Role
from gallery.operations import Request


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

    def to_request(self, provider: str) -> Request:
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return Request(
            operation="mj-v7",
            provider=provider,
            prompt=data.get("prompt", self.data.get("prompt", "")),
            speed=data.get("speed") or self.data.get("speed") or "fast",
        )
