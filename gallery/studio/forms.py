from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings

from gallery.catalog.operations import Request
from gallery.catalog.prompt import (
    MAX_IMAGE_PROMPTS,
    MAX_PROMPT_LENGTH,
    MAX_STYLE_REFERENCES,
    PANEL,
    REFERENCE_ROLES,
    PromptParam,
    ReferenceRole,
    compose,
)
from gallery.net.fields import WholeNumberField
from gallery.studio import health
from gallery.studio.pipeline import UNKNOWN_PROJECT, Draft
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import configured_providers

SPEEDS = [("draft", "Draft"), ("fast", "Fast"), ("turbo", "Turbo")]
PROVIDER_LABELS = health.LABELS


class PromptField(forms.CharField):
    """A prompt, bounded at the linter's limit with the linter's words. The box
    carries no maxlength: a browser would cut a long paste without a word, and
    the person must see the limit named instead (the live check names it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_PROMPT_LENGTH)
        super().__init__(**kwargs)
        self.error_messages["max_length"] = (
            "The prompt is %(show_value)d characters long; the limit is %(limit_value)d"
        )

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


class ProjectField(forms.ChoiceField):
    """One of the projects `offer` was given (the team's open ones), or none.
    A ChoiceField over a list rather than a ModelChoiceField: the gallery reads
    its projects once for the filter and the panel, and a ModelChoiceField
    would ask the database again to draw and to check the choice."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[("", "No project")], required=False, **kwargs)
        self.projects: dict[str, Project] = {}

    def offer(self, projects: Iterable[Project]) -> None:
        self.projects = {str(p.pk): p for p in projects}
        self.choices = [("", "No project"), *((pk, p.name) for pk, p in self.projects.items())]

    def prepare_value(self, value: Any) -> Any:
        return value.pk if isinstance(value, Project) else value

    def clean(self, value: Any) -> Project | None:
        chosen = super().clean(value)
        return self.projects.get(chosen) if chosen else None


MAX_REFERENCES = MAX_IMAGE_PROMPTS + MAX_STYLE_REFERENCES + 1  # and one --oref
MAX_URL_LENGTH = 2048


class ReferencesField(forms.Field):
    """The create bar's reference chips, in their order, each sent as
    "<role> <url>" (static/js/create-bar.js). Only shapes and sizes are checked
    here; what Midjourney allows (how many of each, which speed) is the
    linter's to say, on the composed prompt."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[tuple[str, str]]:
        if not value:
            return []
        if len(value) > MAX_REFERENCES:
            raise forms.ValidationError(
                f"A prompt takes at most {MAX_REFERENCES} reference images (got {len(value)})"
            )
        found = []
        for item in value:
            role, _, url = str(item).partition(" ")
            if role not in REFERENCE_ROLES:
                roles = ", ".join(REFERENCE_ROLES)
                raise forms.ValidationError(f"A reference's role must be one of {roles}")
            if not url or len(url) > MAX_URL_LENGTH or url != "".join(url.split()):
                raise forms.ValidationError(
                    f"A reference must be one URL of at most {MAX_URL_LENGTH} characters"
                )
            found.append((role, url))
        return found


class CreateForm(forms.Form):
    """The create bar: a prompt in Midjourney syntax and a speed, and the
    reference chips with a weight per role, which compose() puts into the
    prompt where Midjourney expects them. Without JavaScript there are no
    chips: the URLs are in the prompt as typed, and it is sent as it is."""

    prompt = PromptField(
        label="Prompt",
        # Two image-prompt chips need no text; the linter names an empty prompt.
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "a lighthouse at dusk, oil painting --ar 16:9 --s 250",
                "autocomplete": "off",
                "spellcheck": "false",
                # Enter generates (static/js/prompt-history.js); say so to screen readers.
                "aria-keyshortcuts": "Enter Shift+Enter ArrowUp",
            }
        ),
    )
    speed = forms.ChoiceField(label="Speed", choices=SPEEDS, initial="fast")
    provider = forms.ChoiceField(label="Provider", required=False)
    # One per rendering of the form: a double-click or a retried POST makes one job.
    # static/js/request-guard.js renews it once a job is made and the form changes.
    client_request_id = forms.CharField(
        max_length=64,
        required=False,
        widget=forms.HiddenInput(attrs={"data-request-id": True}),
    )
    ref = ReferencesField(required=False)
    project = ProjectField(label="Project", error_messages={"invalid_choice": UNKNOWN_PROJECT})

    def __init__(
        self, *args, team=None, show_health: bool = False, projects=None, **kwargs
    ) -> None:
        """`team`: its provider order picks the default provider. `show_health`:
        name a provider that is not healthy (pages, not the live check).
        `projects`: the team's open projects, which the panel offers (a list
        the view read once, or a queryset)."""
        super().__init__(*args, **kwargs)
        if projects is not None:
            self.fields["project"].offer(projects)
        for role in REFERENCE_ROLES.values():  # --iw, --sw, --ow: the linter judges the value
            weight = forms.CharField(max_length=16, required=False, label=role.weight.label)
            weight.error_messages["max_length"] = f"{role.weight.flag} takes a number"
            self.fields[role.weight.name] = weight
        configured = team.providers_in_order() if team is not None else configured_providers()
        self.default_provider = configured[0] if configured else settings.MJWEB_PROVIDER
        # A provider that is not healthy says so next to its name.
        states = health.states(configured) if show_health else {}
        self.provider_states = {p: s for p, s in states.items() if s != health.HEALTHY}
        self.fields["provider"].choices = [
            (
                p,
                f"{PROVIDER_LABELS[p]} ({self.provider_states[p]})"
                if p in self.provider_states
                else PROVIDER_LABELS[p],
            )
            for p in configured
        ]
        self.fields["provider"].initial = self.default_provider

    @property
    def panel(self) -> tuple[PromptParam, ...]:
        """The parameter panel's controls: ranges, defaults and help from the catalog."""
        return PANEL

    @property
    def provider_label(self) -> str:
        """The provider the form starts with, by its name for people."""
        chosen = self["provider"].value() or self.default_provider
        return PROVIDER_LABELS.get(chosen, chosen)

    @property
    def provider_warning(self) -> str:
        """What the panel says of the providers that are not healthy (each
        choice also carries its state, but a closed list hides the others)."""
        said = []
        for provider, state in self.provider_states.items():
            name = PROVIDER_LABELS.get(provider, provider)
            if state == health.DOWN:
                said.append(
                    f"{name} is down: new generations go to the team's next provider, edits wait"
                )
            else:
                said.append(f"{name} is degraded: some of its calls fail or answer slowly")
        return "; ".join(said)

    @property
    def offers_providers(self) -> bool:
        return len(self.fields["provider"].choices) > 1

    @property
    def reference_roles(self) -> tuple[ReferenceRole, ...]:
        """The chips' roles and their weights' ranges, from the catalog."""
        return tuple(REFERENCE_ROLES.values())

    def composed_prompt(self) -> str:
        """The prompt as sent: the text with the chips' URLs and weights put
        where Midjourney expects them. Chips the form refused are left out
        (the form's error says why); the text is read as typed even when over
        the limit, so the linter names the limit."""
        cleaned = getattr(self, "cleaned_data", {})
        text = cleaned.get("prompt", self.data.get("prompt", "")) or ""
        weights = {
            role.name: cleaned.get(role.weight.name, "") or "" for role in REFERENCE_ROLES.values()
        }
        return compose(str(text), cleaned.get("ref") or [], weights)

    def to_request(self) -> Request:
        # A field the form refused (a prompt over the limit) is read as typed,
        # so the linter names what is wrong with it instead of "needs a prompt".
        data = {**dict(self.data.items()), **getattr(self, "cleaned_data", {})}
        chosen = data.get("provider") or ""
        if chosen not in dict(self.fields["provider"].choices):
            chosen = self.default_provider
        return Request(
            operation="mj-v7",
            provider=chosen,
            prompt=self.composed_prompt(),
            speed=data.get("speed") or "fast",
        )

    def to_draft(self) -> Draft:
        return Draft(
            request=self.to_request(),
            # As composed, so "Use again" and the history bring the references back too.
            prompt_raw=self.composed_prompt(),
            client_request_id=self.cleaned_data.get("client_request_id", ""),
            project=self.cleaned_data.get("project"),
        )

    @property
    def offers_projects(self) -> bool:
        return bool(self.fields["project"].projects)


class CollectionForm(forms.Form):
    name = forms.CharField(label="Name", max_length=80)
    private = forms.BooleanField(
        label="Private",
        required=False,
        help_text="Only you will see it; otherwise the whole team can add to it",
    )


ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth")


class ProviderOrderForm(forms.Form):
    """The team's provider order, one choice per place, and whether new work fails over."""

    failover = forms.BooleanField(
        label="Fail over: send a new generation another provider can take when one is down",
        required=False,
    )

    def __init__(self, *args, team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        order = team.providers_in_order()
        choices = [(p, PROVIDER_LABELS.get(p, p)) for p in configured_providers()]
        places = {}
        for index, provider in enumerate(order):
            places[f"place_{index + 1}"] = forms.ChoiceField(
                label=f"{ORDINALS[index]} provider", choices=choices, initial=provider
            )
        self.fields = {**places, **self.fields}
        self.fields["failover"].initial = team.failover

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        order = [v for k, v in cleaned.items() if k.startswith("place_")]
        if len(order) == len(self.fields) - 1 and len(set(order)) != len(order):
            names = ", ".join(PROVIDER_LABELS.get(p, p) for p in configured_providers())
            raise forms.ValidationError(f"Choose each provider once ({names}).")
        cleaned["order"] = order
        return cleaned


MAX_TABLE_BYTES = 1024 * 1024


class BatchForm(forms.Form):
    """A batch: its name, its table (pasted, or a CSV/TSV file) and its cap.
    The cap is asked for once the prices are shown (`starting`)."""

    name = forms.CharField(label="Batch name", max_length=80)
    table = forms.CharField(
        label="Table (CSV or TSV, with a header row)",
        required=False,
        max_length=MAX_TABLE_BYTES,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )
    file = forms.FileField(label="Or a CSV/TSV file", required=False)
    cap = WholeNumberField(
        label="Spending cap (credits)",
        required=False,
        min_value=1,
        max_value=10**9,
        help_text="The batch never spends more than this; rows past it are not run",
    )

    def __init__(self, *args: Any, starting: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.starting = starting

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_TABLE_BYTES:
                self.add_error("file", f"The file is over {MAX_TABLE_BYTES // 1024} KB; split it")
                return data
            try:
                data["table"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", "The file must be UTF-8 text (CSV or TSV)")
                return data
        if not (data.get("table") or "").strip() and "table" not in self.errors:
            self.add_error("table", "Paste a table or choose a file")
        if self.starting and data.get("cap") is None and "cap" not in self.errors:
            self.add_error("cap", "Set a spending cap to start the batch")
        return data
