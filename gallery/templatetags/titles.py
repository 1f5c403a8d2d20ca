"""Operations in people's words wherever a page would show a model id.

    {{ job|job_title }}          "Upscale (Creative)"; "" for a generation (its prompt is its title)
    {{ job|job_label }}          the same, and "Generate" for a generation (bylines, the ledger)
    {{ "mj-v7-pan"|operation_label }}   "Pan"
    {{ entry.reason|ledger_reason }}    "mj-v7-pan · reserved" → "Pan · reserved"

The words come from the catalog (`gallery.catalog.operations.title` / `label`); the
stored rows keep their ids.
"""

from __future__ import annotations

from django import template

from gallery.catalog import operations

register = template.Library()


@register.filter
def job_title(job) -> str:
    """The title stored on the job; for a row from before titles, its
    operation's label (the params the full title needs are not loaded on cards)."""
    if job.title or job.operation == "mj-v7":
        return job.title
    return operations.label(job.operation)


@register.filter
def job_label(job) -> str:
    return job_title(job) or operations.label(job.operation)


@register.filter
def operation_label(operation: str) -> str:
    return operations.label(str(operation))


@register.filter
def ledger_reason(reason: str) -> str:
    """A ledger reason as the page shows it: the ledger writes
    "{operation} · reserved"; history stays as written, the page names the
    operation in words."""
    head, sep, tail = str(reason).partition(" · ")
    if sep and head in operations.OPERATIONS:
        return f"{operations.label(head)}{sep}{tail}"
    return str(reason)
