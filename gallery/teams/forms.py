"""The forms of teams: inviting someone and joining by an invite."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from gallery.teams.models.teams import Role
from gallery.teams.usernames import DistinctUsername


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    note = forms.CharField(
        max_length=100,
        required=False,
        label="Who is it for?",
        help_text="A name, so you know whose link it is",
    )


class JoinForm(DistinctUsername, UserCreationForm):
    """A new person picks a username and password when accepting an invite."""
