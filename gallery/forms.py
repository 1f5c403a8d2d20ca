from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from gallery.models import Role


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
