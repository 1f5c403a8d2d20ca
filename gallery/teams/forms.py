"""The forms of teams: inviting someone and joining by an invite."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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


class AuditFilterForm(forms.Form):
    """The audit page's filters: an action, a person (who did it or whom it was
    about), and a range of days in the team's time zone."""

    action = forms.ChoiceField(required=False, label="Action")
    member = forms.TypedChoiceField(required=False, label="Person", coerce=int, empty_value=None)
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, people: Iterable[tuple[int, str]] = (), **kwargs: Any) -> None:
        from gallery.teams.models.audit import AuditAction

        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All actions"), *AuditAction.choices]
        self.fields["member"].choices = [("", "Everyone"), *people]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The last day must not be before the first.")
        return data
