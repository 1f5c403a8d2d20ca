"""Forms of the credit pages: the ledger filter and the admins' credit actions."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from functools import cache
from typing import Any

from django import forms

from gallery.credits.models.budgets import Period
from gallery.credits.models.credits import LedgerEntry
from gallery.credits.spend import Month
from gallery.net.fields import WholeNumberField
from gallery.net.numbers import LAST_YEAR

# One action can move at most $100,000 worth; a slip of the finger is more
# likely than a grant that big, and it keeps amounts far from integer limits.
MAX_CREDITS = 100_000_000
MAX_IN_FLIGHT = 50


class MonthField(forms.CharField):
    """`YYYY-MM`, as `<input type="month">` sends it; cleans to a Month."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": Month.RULE}

    def __init__(self, **kwargs: Any) -> None:
        # Month.parse trims the value itself; whitespace alone is no month
        # (as for the number fields), not a blank filter.
        super().__init__(strip=False, **kwargs)

    def to_python(self, value: str | None) -> Month | None:  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        month = Month.parse(value)
        if month is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return month


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("", "All kinds"), *LedgerEntry.Kind.choices], required=False, label="Kind"
    )
    month = MonthField(required=False, label="Month", widget=forms.Select)

    def __init__(self, *args: Any, months: Iterable[Month] = (), **kwargs: Any) -> None:
        """`months`: those the ledger has entries in, newest first, for the menu."""
        super().__init__(*args, **kwargs)
        options = list(months)
        asked = Month.parse(self.data.get("month"))
        if asked and asked not in options:  # a month typed into the URL stays visible
            options = sorted([*options, asked], reverse=True)
        choices = [("", "All months"), *((str(m), m.label) for m in options)]
        self.fields["month"].widget.choices = choices


class GrantForm(forms.Form):
    amount = WholeNumberField(
        label="Credits to grant",
        min_value=1,
        max_value=MAX_CREDITS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 1000"}),
    )
    reason = forms.CharField(label="Note", max_length=300, required=False)


class AdjustForm(forms.Form):
    amount = WholeNumberField(
        label="Change by",
        min_value=-MAX_CREDITS,
        max_value=MAX_CREDITS,
        help_text="Negative takes credits away.",
        widget=forms.NumberInput(attrs={"placeholder": "e.g. -250"}),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        error_messages={"required": "Say why: an adjustment needs a reason."},
    )

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Enter a change other than zero.")
        return amount

    def clean_reason(self) -> str:
        # Whitespace alone is not a reason; the ledger would refuse it anyway.
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why: an adjustment needs a reason.")
        return reason


class LimitsForm(forms.Form):
    monthly_limit = WholeNumberField(
        label="Monthly limit",
        required=False,
        min_value=0,
        max_value=MAX_CREDITS,
        help_text="Credits a month; blank for no limit.",
        widget=forms.NumberInput(attrs={"placeholder": "No limit"}),
    )
    max_in_flight = WholeNumberField(
        label="Jobs at once",
        min_value=0,
        max_value=MAX_IN_FLIGHT,
        help_text="0 pauses this member.",
    )


class TeamLimitForm(forms.Form):
    monthly_limit = WholeNumberField(
        label="Team monthly limit",
        required=False,
        min_value=0,
        max_value=MAX_CREDITS * 100,
        help_text="Credits the whole team may spend a month; blank for no limit.",
        widget=forms.NumberInput(attrs={"placeholder": "No limit"}),
    )
    time_zone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        help_text="Where the team's months begin and end, e.g. Europe/Berlin or America/New_York.",
        widget=forms.TextInput(attrs={"placeholder": "UTC", "autocomplete": "off"}),
    )

    def clean_time_zone(self) -> str:
        """An IANA name, in its canonical spelling; blank keeps the team's zone."""
        name = self.cleaned_data["time_zone"].strip()
        if not name:
            return ""
        canonical = _time_zones().get(name.casefold())
        if canonical is None:
            raise forms.ValidationError(
                f"'{name}' is not a time zone name; use one such as Europe/Berlin, "
                "America/New_York or UTC."
            )
        return canonical


@cache
def _time_zones() -> dict[str, str]:
    """Every IANA name tzdata knows, by its case-folded spelling (read once:
    listing them walks the zone files)."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


# --- projects and budgets ----------------------------------------------------------------

TEAM_SCOPE = "team"


class ProjectForm(forms.Form):
    name = forms.CharField(label="Project name", max_length=80)

    def __init__(self, *args: Any, team=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the project a name.")
        if self.team is not None and self.team.projects.filter(name__iexact=name).exists():
            raise forms.ValidationError(f"The team already has a project called {name}.")
        return name


class BudgetForm(forms.Form):
    """One budget: what it applies to (the team, a project or a member), its
    period, its limit and the percentages that send alerts."""

    applies_to = forms.ChoiceField(label="Applies to")
    period = forms.ChoiceField(label="Period", choices=Period.choices, initial=Period.MONTH)
    limit = WholeNumberField(
        label="Limit",
        min_value=0,
        max_value=MAX_CREDITS * 100,
        help_text="Credits its jobs may cost in a period.",
    )
    thresholds = forms.CharField(
        label="Alerts at",
        required=False,
        max_length=40,
        initial="80, 100",
        help_text="Percentages of the limit, comma-separated; each alerts once a period.",
    )

    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Optional: alerts are also posted here as JSON (https only).",
    )

    def __init__(self, *args: Any, team=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scopes: dict[str, tuple[Any, Any]] = {TEAM_SCOPE: (None, None)}
        choices = [(TEAM_SCOPE, "The whole team")]
        if team is not None:
            for project in team.projects.filter(archived_at__isnull=True):
                self.scopes[f"project-{project.pk}"] = (project, None)
                choices.append((f"project-{project.pk}", f"Project: {project.name}"))
            members = team.memberships.filter(removed_at__isnull=True).select_related("user")
            for member in members.order_by("user__username"):
                self.scopes[f"member-{member.pk}"] = (None, member)
                choices.append((f"member-{member.pk}", f"Member: {member.user.username}"))
        self.fields["applies_to"].choices = choices

    def clean_thresholds(self) -> list[int]:
        raw = self.cleaned_data["thresholds"].strip()
        if not raw:
            return []
        found = set()
        for part in raw.split(","):
            part = part.strip().rstrip("%").strip()
            if not (part.isascii() and part.isdigit()) or not 1 <= int(part) <= 100:
                raise forms.ValidationError(
                    "Enter whole percentages from 1 to 100, comma-separated, e.g. 80, 100."
                )
            found.add(int(part))
        if len(found) > 5:
            raise forms.ValidationError("At most 5 alert thresholds.")
        return sorted(found)

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if url and not url.lower().startswith("https://"):
            raise forms.ValidationError("A webhook URL must start with https://.")
        return url

    def scope(self) -> tuple[Any, Any]:
        """(project, membership) of the chosen scope; both None for the team."""
        return self.scopes[self.cleaned_data["applies_to"]]


class AskForMoreForm(forms.Form):
    """A member who hit a budget asks for more room in it: one click, with
    the shortfall filled in and an optional note."""

    budget = WholeNumberField(min_value=1, max_value=2**62, widget=forms.HiddenInput)
    amount = WholeNumberField(label="Credits to ask for", min_value=1, max_value=MAX_CREDITS * 100)
    note = forms.CharField(label="Note for the admins", required=False, max_length=300)

    @classmethod
    def for_refusal(cls, refused) -> AskForMoreForm | None:
        """The form a refusal offers: only one by a budget (`Refused.budget`)."""
        if getattr(refused, "budget", None) is None:
            return None
        return cls(initial={"budget": refused.budget.pk, "amount": max(refused.short, 1)})


class RaiseForm(forms.Form):
    """An admin grants a member's request: how much more, until when."""

    amount = WholeNumberField(label="Raise by", min_value=1, max_value=MAX_CREDITS * 100)
    until = forms.DateField(
        label="Until",
        help_text="The raise ends at midnight at the start of this day, in the team's time zone.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, today=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self):
        until = self.cleaned_data["until"]
        if self.today is not None and until <= self.today:
            raise forms.ValidationError("Choose a day after today.")
        if until.year > LAST_YEAR:
            raise forms.ValidationError(f"Choose a day before {LAST_YEAR + 1}.")
        return until


class ApprovalsForm(forms.Form):
    """Which jobs wait for an admin: those above a price, and every job of
    the members marked."""

    approval_above = WholeNumberField(
        label="Approve jobs above",
        required=False,
        min_value=0,
        max_value=MAX_CREDITS,
        help_text="Credits; jobs costing more wait for an admin. Blank: none wait for their price.",
        widget=forms.NumberInput(attrs={"placeholder": "No approval"}),
    )
    needs_approval = forms.MultipleChoiceField(
        label="Members whose every job needs approval",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, team=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if team is not None:
            members = team.memberships.filter(removed_at__isnull=True).select_related("user")
            self.fields["needs_approval"].choices = [
                (str(m.pk), m.user.username) for m in members.order_by("user__username")
            ]
