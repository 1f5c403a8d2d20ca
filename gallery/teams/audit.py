"""`record()`: the one way anything writes the team's audit log.

Call it inside the transaction that makes the change, so the entry exists
exactly when the change does. `before` and `after` hold only the fields that
changed (or the amount moved), as JSON-ready values.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from gallery.teams.models.audit import AuditAction, AuditEntry

__all__ = ["AuditAction", "record"]


def record(
    team: models.Model | int,  # a Team (not imported: Team's methods call this)
    actor: Any,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    subject: Any = None,
) -> AuditEntry:
    """Append one entry. `actor`: the user who did it (None: the system);
    `target`: what it was about, in words; `subject`: the user it was about."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    return AuditEntry.objects.create(
        team_id=team if isinstance(team, int) else team.pk,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        subject=subject,
        target=target[:200],
        before=before or {},
        after=after or {},
    )
