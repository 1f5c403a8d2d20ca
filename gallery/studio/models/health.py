"""What the pipeline saw of each provider: one row per call, and each provider's circuit."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Outcome(models.TextChoices):
    OK = "ok", "Success"
    CLIENT_ERROR = "4xx", "Refused (4xx)"
    SERVER_ERROR = "5xx", "Server error (5xx)"
    RATE_LIMITED = "429", "Rate limited (429)"
    UNREACHABLE = "unreachable", "Timeout or no connection"


# What an outage looks like: the provider, not the request, is at fault.
OUTAGE_OUTCOMES = (Outcome.SERVER_ERROR, Outcome.RATE_LIMITED, Outcome.UNREACHABLE)


class ProviderCall(models.Model):
    """One create or status read, as the pipeline saw it: written with a single
    INSERT per call; rows older than health.KEEP are pruned as new ones come."""

    class Call(models.TextChoices):
        CREATE = "create"
        READ = "read"

    provider = models.CharField(max_length=20)
    call = models.CharField(max_length=6, choices=Call.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["provider", "at"], name="provider_call_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[o.value for o in Outcome]), name="provider_call_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.call} {self.outcome} {self.latency_ms} ms"


class ProviderCircuit(models.Model):
    """A provider marked down gets no new creates until `next_probe_at`, when
    one create goes through as the probe (a conditional UPDATE picks it, so
    only one worker of many sends it). A create that succeeds closes it."""

    provider = models.CharField(max_length=20, unique=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    backoff_seconds = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.provider}: {'open' if self.opened_at else 'closed'}"
